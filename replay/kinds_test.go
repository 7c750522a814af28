package replay_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/replay"
)

// Scores are 0 for nothing unusual, 1/2 at the bound that raises the first
// alert, and grow towards 1 beyond it.
func TestScore(t *testing.T) {
	spec := detect.RuleSpec{Name: "r", Lifecycle: detect.Lifecycle{Hits: 1}}
	th := detect.Unbounded()
	th.WarningMax, th.FailureMax = 0.05, 0.1
	ratio, err := detect.NewRatioRule(spec, []detect.Selector{detect.MustSelector("a/b")}, []detect.Selector{detect.MustSelector("a/c")}, detect.RatioParams{Window: time.Minute, Thresholds: th, MinDenominator: 0})
	require.NoError(t, err)
	verdict := func(obs float64) *detect.Verdict {
		return &detect.Verdict{Decided: true, Observed: obs, Threshold: math.NaN(), Baseline: math.NaN()}
	}
	assert.Equal(t, 0.0, replay.Score(ratio, verdict(0)))
	assert.InDelta(t, 0.5, replay.Score(ratio, verdict(0.05)), 1e-12, "the warning bound")
	assert.InDelta(t, 2.0/3, replay.Score(ratio, verdict(0.1)), 1e-12)
	assert.Equal(t, 0.0, replay.Score(ratio, &detect.Verdict{Observed: math.NaN()}), "no verdict")

	sp := detect.DefaultSpikeParams()
	spike, err := detect.NewSpikeRule(spec, []detect.Selector{detect.MustSelector("a/b")}, sp)
	require.NoError(t, err)
	p := func(p float64) *detect.Verdict { v := verdict(10); v.Probability = p; return v }
	assert.Equal(t, 0.0, replay.Score(spike, p(1)))
	assert.InDelta(t, 0.5, replay.Score(spike, p(1e-6)), 1e-12, "p at Probability")
	assert.Greater(t, replay.Score(spike, p(1e-12)), replay.Score(spike, p(1e-6)))
	assert.Equal(t, 1.0, replay.Score(spike, p(0)))

	missing, err := detect.NewMissingRule(spec, []detect.Selector{detect.MustSelector("a/b")}, 30*time.Second)
	require.NoError(t, err)
	v := verdict(30)
	v.Threshold = 30
	assert.InDelta(t, 0.5, replay.Score(missing, v), 1e-12)

	// A fleet rule's bound is a number of hosts, "at least": 1/2 between
	// one host short of it and it.
	fleet, err := detect.NewFleetRule(spec, "other", detect.FleetRule{FailureHosts: 3})
	require.NoError(t, err)
	hosts := func(n float64) *detect.Verdict { v := verdict(n); v.Threshold = 3; return v }
	assert.Equal(t, 0.0, replay.Score(fleet, hosts(0)))
	assert.Less(t, replay.Score(fleet, hosts(2)), 0.5, "2 hosts of 3 needed")
	assert.Greater(t, replay.Score(fleet, hosts(3)), 0.5, "3 hosts raise it")
}

// A chart's y axis says what the rule judges, in the unit and over the span
// of its configuration.
func TestUnitNamesWhatTheRuleJudges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "units.conf")
	require.NoError(t, os.WriteFile(path, []byte(`<Plugin anomaly>
  <Count "fraud">
    Series "shop/gauge-fraud"
    Window "2h"
    FailureMax 3
    Unit "fraud outcomes"
  </Count>
  <Ratio "errors">
    Numerator "web/gauge-errors"
    Denominator "web/gauge-requests"
    Window "5m"
    FailureMax 0.1
  </Ratio>
  <PeriodRatio "conversion">
    Numerator "shop/gauge-payments"
    Denominator "shop/gauge-sessions"
    Period "1h"
    Scale 100
  </PeriodRatio>
  <Health "health">
    Latency "web/gauge-latency"
    Errors "web/gauge-errors"
    Requests "web/gauge-requests"
    Period 300
    LatencyWarning 300
    LatencyFailure 500
    ErrorWarning 0.02
    ErrorFailure 0.05
  </Health>
  <Aggregate "slow">
    Series "web/gauge-latency"
    Function "percentile"
    Percentile 95
    Window "10m"
    FailureMax 400
  </Aggregate>
  <Aggregate "disk">
    Series "df/gauge-used"
    Function "predict"
    Horizon "4h"
    Window "1h30m"
    FailureMax 100
  </Aggregate>
</Plugin>
`), 0o644))
	src, err := conf.ReadSource(path)
	require.NoError(t, err)
	settings, problems := src.Check()
	require.Empty(t, problems)
	want := map[string]string{
		"fraud":      "fraud outcomes per 2h",
		"errors":     "share over 5m",
		"conversion": "percent per 1h",
		"health":     "mean latency per 5m (ms)",
		"slow":       "95th percentile over 10m",
		"disk":       "predicted in 4h (fit over 1h30m)",
	}
	require.Len(t, settings.Rules, len(want))
	for _, r := range settings.Rules {
		assert.Equal(t, want[r.Spec().Name], replay.Unit(r), r.Spec().Name)
	}
}
