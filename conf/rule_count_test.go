package conf_test

import (
	"math"
	"testing"
	"time"

	"collectd.org/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

const countFraudRE = `/^ecommerce/gauge-payment-provider-[^.]+[.]fraud$/`

func onlyCount(t *testing.T, s []detect.Rule) *detect.CountRule {
	t.Helper()
	require.Len(t, s, 1)
	r, ok := s[0].(*detect.CountRule)
	require.True(t, ok, "rule is a %T", s[0])
	return r
}

func TestParseCountRule(t *testing.T) {
	s := parseOne(t, named("Count", "payment-fraud",
		opt("Series", countFraudRE),
		opt("Series", "ecommerce/gauge-extra-fraud", "ecommerce/gauge-more-fraud"),
		opt("Window", "30m"),
		opt("FailureMax", 10),
		opt("WarningMax", 5),
		opt("WarningMin", 1),
		opt("FailureMin", 0.5),
		opt("Hysteresis", 2),
		opt("Unit", "fraud outcomes"),
		opt("Hits", 2),
		opt("AggregateHosts", true),
	))
	r := onlyCount(t, s.Rules)
	assert.Equal(t, "count", r.Kind())
	assert.Equal(t, "payment-fraud", r.Spec().Name)
	require.Len(t, r.Spec().Inputs, 1)
	assert.Equal(t, "Series", r.Spec().Inputs[0].Name)
	assert.Equal(t, []string{countFraudRE, "ecommerce/gauge-extra-fraud", "ecommerce/gauge-more-fraud"}, selectorTexts(r.Spec().Inputs[0].Selectors))
	_, ok := r.Spec().Inputs[0].Selectors[0].Match("ecommerce/gauge-payment-provider-c.fraud")
	assert.True(t, ok)
	assert.Equal(t, 30*time.Minute, r.Window)
	assert.Equal(t, detect.Thresholds{WarningMin: 1, WarningMax: 5, FailureMin: 0.5, FailureMax: 10, Hysteresis: 2}, r.Thresholds)
	assert.Equal(t, "fraud outcomes", r.Unit)
	assert.Equal(t, 2, r.Spec().Lifecycle.Hits)
	assert.True(t, r.Spec().AggregateHosts)
}

func TestParseCountDefaults(t *testing.T) {
	r := onlyCount(t, parseOne(t, named("Count", "c", opt("Series", countFraudRE), opt("FailureMax", 3))).Rules)
	assert.Equal(t, time.Hour, r.Window, "default Window")
	assert.Equal(t, "events", r.Unit, "default Unit")
	assert.Equal(t, 3.0, r.Thresholds.FailureMax)
	assert.True(t, math.IsNaN(r.Thresholds.WarningMax))
	assert.Zero(t, r.Thresholds.Hysteresis)

	// TimeScale applies to the default window too.
	r = onlyCount(t, parseOne(t, opt("TimeScale", 60), named("Count", "c", opt("Series", countFraudRE), opt("FailureMax", 3))).Rules)
	assert.Equal(t, time.Minute, r.Window)
}

func TestParseCountErrors(t *testing.T) {
	in := func(extra ...config.Block) []config.Block {
		return []config.Block{named("Count", "c", append([]config.Block{opt("Series", countFraudRE), opt("FailureMax", 1)}, extra...)...)}
	}
	const c = `<Plugin anomaly>: <Count "c">: `
	checkErrors(t, []errorCase{
		{"no Series", []config.Block{named("Count", "c", opt("FailureMax", 1))}, c + `a count needs Series`},
		{"no threshold", []config.Block{named("Count", "c", opt("Series", "a/b"))},
			c + `rule "c": set at least one of WarningMin, WarningMax, FailureMin, FailureMax`},
		{"Series bad regex", in(opt("Series", "/(/")), c + "option Series \"/(/\": series selector \"/(/\": error parsing regexp: missing closing ): `(`"},
		{"Series number", in(opt("Series", 5)), c + `option Series 5: want series in quotes`},
		{"Series no value", in(opt("Series")), c + `option Series: want one or more series in quotes`},
		{"Window zero", in(opt("Window", 0)), c + `option Window 0: must be more than zero`},
		{"Window bad", in(opt("Window", "an hour")), c + `option Window "an hour": ` + wantDuration},
		{"FailureMax string", in(opt("FailureMax", "ten")), c + `option FailureMax "ten": want one number`},
		{"Hysteresis negative", in(opt("Hysteresis", -1)), c + `option Hysteresis -1: must not be negative`},
		{"Unit number", in(opt("Unit", 5)), c + `option Unit 5: want one string in quotes`},
		{"Unit empty", in(opt("Unit", "")), c + `option Unit "": must not be empty`},
		{"unknown option", in(opt("Timeout", 5)), c + `unknown option "Timeout"`},
	})
}

// A count relative to the usual for the time: Season with the factors,
// durations scaled by TimeScale like every rule duration.
func TestParseSeasonalCount(t *testing.T) {
	s := parseOne(t, named("Count", "logins",
		opt("Series", "auth/count-rejected"),
		opt("Season", "1d"),
		opt("FailureFactor", 3),
		opt("WarningFactor", 2),
		opt("FailureMax", 10),
		opt("WarningMax", 5),
		opt("Probability", 1e-5),
	))
	r := onlyCount(t, s.Rules)
	assert.Equal(t, 24*time.Hour, r.Season)
	assert.Equal(t, 3.0, r.FailureFactor)
	assert.Equal(t, 2.0, r.WarningFactor)
	assert.Equal(t, 1e-5, r.Probability)

	plain := onlyCount(t, parseOne(t, named("Count", "c", opt("Series", "a/b"), opt("FailureMax", 1))).Rules)
	assert.Equal(t, detect.DefaultCountParams().Probability, plain.Probability)
	assert.Zero(t, plain.Season)

	checkErrors(t, []errorCase{
		{"factor not above 1", []config.Block{named("Count", "c", opt("Series", "a/b"), opt("Season", "1d"), opt("FailureMax", 5), opt("FailureFactor", 1))},
			`<Plugin anomaly>: <Count "c">: option FailureFactor 1: must be more than 1`},
		{"factor without a season", []config.Block{named("Count", "c", opt("Series", "a/b"), opt("FailureMax", 5), opt("FailureFactor", 3))},
			`<Plugin anomaly>: <Count "c">: rule "c": FailureFactor and WarningFactor need a Season, the time the usual count is learnt over`},
		{"factor without its floor", []config.Block{named("Count", "c", opt("Series", "a/b"), opt("Season", "1d"), opt("WarningMax", 5), opt("FailureFactor", 3))},
			`<Plugin anomaly>: <Count "c">: rule "c": FailureFactor needs FailureMax, the fewest events that may raise a FAILURE (more than F times the usual and more than N)`},
		{"probability", []config.Block{named("Count", "c", opt("Series", "a/b"), opt("FailureMax", 5), opt("Probability", 2))},
			`<Plugin anomaly>: <Count "c">: option Probability 2: must be between 0 and 1`},
		{"probability without a season", []config.Block{named("Count", "c", opt("Series", "a/b"), opt("FailureMax", 5), opt("Probability", 0.01))},
			`<Plugin anomaly>: <Count "c">: option Probability 0.01: is for a count relative to the usual: set Season and FailureFactor`},
	})
}
