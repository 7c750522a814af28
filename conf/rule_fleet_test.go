package conf_test

import (
	"testing"
	"time"

	"collectd.org/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

func TestParseFleetRule(t *testing.T) {
	s := parseOne(t, opt("TimeScale", 60), opt("StateSeries", true), named("Fleet", "fleet-failed",
		opt("Rule", "web-failed-requests"),
		opt("FailureHosts", 3),
		opt("WarningShare", 0.2),
		opt("MinHosts", 5),
		opt("MinSeverity", "failure"),
		opt("Expire", "2m"),
	))
	assert.True(t, s.StateSeries)
	require.Len(t, s.Rules, 1)
	r, ok := s.Rules[0].(*detect.FleetRule)
	require.True(t, ok, "rule is a %T", s.Rules[0])
	assert.Equal(t, "fleet", r.Kind())
	assert.Equal(t, "web-failed-requests", r.Rule)
	assert.Equal(t, 3, r.FailureHosts)
	assert.Equal(t, 0.2, r.WarningShare)
	assert.Equal(t, 5, r.MinHosts)
	assert.Equal(t, detect.Failure, r.MinSeverity)
	assert.Equal(t, 2*time.Second, r.Expire, "TimeScale applies")
	assert.True(t, r.Spec().AggregateHosts, "a fleet rule always aggregates hosts")
	sel := r.Spec().Inputs[0].Selectors[0]
	for series, group := range map[string]string{
		"anomaly/gauge-web-failed-requests-state":      "",
		"anomaly-page/gauge-web-failed-requests-state": "page",
	} {
		label, ok := sel.Match(series)
		assert.True(t, ok, series)
		assert.Equal(t, group, label, series)
	}
	for _, series := range []string{"anomaly-page/gauge-web-failed-requests", "anomaly-page/gauge-xweb-failed-requests-state", "ecommerce/gauge-web-failed-requests-state"} {
		_, ok := sel.Match(series)
		assert.False(t, ok, series)
	}
}

func TestParseFleetRuleErrors(t *testing.T) {
	checkErrors(t, []errorCase{
		{"no rule", []config.Block{named("Fleet", "f", opt("FailureHosts", 2))},
			`<Plugin anomaly>: <Fleet "f">: a fleet rule needs Rule: the name of the rule whose states it counts`},
		{"no bound", []config.Block{named("Fleet", "f", opt("Rule", "x"))},
			`<Plugin anomaly>: <Fleet "f">: rule "f": set at least one of WarningHosts, FailureHosts, WarningShare, FailureShare`},
		{"share", []config.Block{named("Fleet", "f", opt("Rule", "x"), opt("FailureShare", 50))},
			`<Plugin anomaly>: <Fleet "f">: option FailureShare 50: must be above 0 and at most 1 (a share: 0.5 is half the hosts)`},
		{"severity", []config.Block{named("Fleet", "f", opt("Rule", "x"), opt("FailureHosts", 2), opt("MinSeverity", "okay"))},
			`<Plugin anomaly>: <Fleet "f">: option MinSeverity "okay": want "warning" or "failure"`},
	})
	_ = conf.Parse
}
