package replay_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/replay"
)

// Scores are 0 for nothing unusual, 1/2 at the bound that raises the first
// alert, and grow towards 1 beyond it.
func TestScore(t *testing.T) {
	spec := detect.RuleSpec{Name: "r", Lifecycle: detect.Lifecycle{Hits: 1}}
	th := detect.Unbounded()
	th.WarningMax, th.FailureMax = 0.05, 0.1
	ratio, err := detect.NewRatioRule(spec, []detect.Selector{detect.MustSelector("a/b")}, []detect.Selector{detect.MustSelector("a/c")}, time.Minute, th, 0)
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
}
