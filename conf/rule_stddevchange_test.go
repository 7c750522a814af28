package conf_test

import (
	"math"
	"testing"
	"time"

	"collectd.org/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

func onlyStdDevChange(t *testing.T, s *conf.Settings) *detect.StdDevChangeRule {
	t.Helper()
	require.Len(t, s.Rules, 1)
	r, ok := s.Rules[0].(*detect.StdDevChangeRule)
	require.True(t, ok, "rule is a %T", s.Rules[0])
	return r
}

func minimalStdDevChange(name string, extra ...config.Block) config.Block {
	return named("StdDevChange", name, append([]config.Block{opt("Series", "ecommerce/gauge-page-latency-mean")}, extra...)...)
}

func TestParseStdDevChangeWithEveryOption(t *testing.T) {
	r := onlyStdDevChange(t, parseOne(t, named("StdDevChange", "web-latency-spread",
		opt("Series", "/^ecommerce\\/gauge-(?P<group>page|asset)-latency-mean$/"),
		opt("Window", 600),
		opt("Baseline", "2h"),
		opt("FailureFactor", 3),
		opt("WarningFactor", 2),
		opt("Direction", "both"),
		opt("MinCount", 20),
		opt("Hysteresis", 0.5),
		opt("Season", "1d"),
		opt("MinDuration", "1m"),
	)))
	assert.Equal(t, "stddevchange", r.Kind())
	spec := r.Spec()
	assert.Equal(t, "web-latency-spread", spec.Name)
	require.Len(t, spec.Inputs, 1)
	assert.Equal(t, []string{"/^ecommerce\\/gauge-(?P<group>page|asset)-latency-mean$/"}, selectorTexts(spec.Inputs[0].Selectors))
	label, ok := spec.Inputs[0].Selectors[0].Match("ecommerce/gauge-asset-latency-mean")
	assert.True(t, ok)
	assert.Equal(t, "asset", label)
	assert.Equal(t, detect.StdDevChangeParams{
		Window:        10 * time.Minute,
		Baseline:      2 * time.Hour,
		FailureFactor: 3,
		WarningFactor: 2,
		Direction:     detect.DirectionBoth,
		MinCount:      20,
		Hysteresis:    0.5,
		Season:        24 * time.Hour,
	}, r.StdDevChangeParams)
	assert.Equal(t, time.Minute, spec.Lifecycle.MinDuration)
}

func TestParseStdDevChangeDefaults(t *testing.T) {
	r := onlyStdDevChange(t, parseOne(t, minimalStdDevChange("spread")))
	p := r.StdDevChangeParams
	assert.Equal(t, 5*time.Minute, p.Window)
	assert.Equal(t, time.Hour, p.Baseline)
	assert.Equal(t, 2.0, p.FailureFactor)
	assert.True(t, math.IsNaN(p.WarningFactor), "no warning by default")
	assert.Equal(t, detect.DirectionUp, p.Direction)
	assert.Equal(t, 10, p.MinCount)
	assert.Equal(t, 0.25, p.Hysteresis)

	s := parseOne(t, opt("TimeScale", 60), minimalStdDevChange("spread"))
	r = onlyStdDevChange(t, s)
	assert.Equal(t, 5*time.Second, r.Window)
	assert.Equal(t, time.Minute, r.Baseline)
}

func TestParseStdDevChangeErrors(t *testing.T) {
	in := func(extra ...config.Block) []config.Block { return []config.Block{minimalStdDevChange("s", extra...)} }
	const r = `<Plugin anomaly>: <StdDevChange "s">: `
	checkErrors(t, []errorCase{
		{"no Series", []config.Block{named("StdDevChange", "s", opt("FailureFactor", 2))}, r + `a stddev change needs Series`},
		{"Series bad glob", in(opt("Series", "ecommerce/gauge-[a")),
			r + `option Series "ecommerce/gauge-[a": series selector "ecommerce/gauge-[a": syntax error in pattern`},
		{"unknown option", in(opt("Factor", 2)), r + `unknown option "Factor"`},
		{"Window zero", in(opt("Window", 0)), r + `option Window 0: must be more than zero`},
		{"Baseline bad", in(opt("Baseline", "an hour")), r + `option Baseline "an hour": ` + wantDuration},
		{"FailureFactor 1", in(opt("FailureFactor", 1)), r + `option FailureFactor 1: must be more than 1`},
		{"FailureFactor string", in(opt("FailureFactor", "2x")), r + `option FailureFactor "2x": want one number`},
		{"WarningFactor 0.5", in(opt("WarningFactor", 0.5)), r + `option WarningFactor 0.5: must be more than 1`},
		{"WarningFactor above FailureFactor", in(opt("WarningFactor", 3)),
			r + `rule "s": WarningFactor must be between 1 and FailureFactor`},
		{"Direction unknown", in(opt("Direction", "wider")), r + `option Direction "wider": want "up", "down" or "both"`},
		{"MinCount 1", in(opt("MinCount", 1)), r + `option MinCount 1: want a whole number from 2 to 2147483647`},
		{"MinCount fraction", in(opt("MinCount", 10.5)), r + `option MinCount 10.5: want a whole number from 2 to 2147483647`},
		{"Hysteresis negative", in(opt("Hysteresis", -0.1)), r + `option Hysteresis -0.1: must not be negative`},
		{"Hysteresis too large", in(opt("Hysteresis", 1)),
			r + `rule "s": Hysteresis must be at least 0 and less than FailureFactor - 1`},
		{"Season shorter than the windows", in(opt("Season", "1h")),
			r + `rule "s": Season 1h0m0s must be at least twice Window plus Baseline (2h10m0s)`},
		{"Season of two weeks", in(opt("Season", "2w")), r + `rule "s": Season must be between 0 and 1w`},
	})
}
