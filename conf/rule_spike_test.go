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

func onlySpike(t *testing.T, s *conf.Settings) *detect.SpikeRule {
	t.Helper()
	require.Len(t, s.Rules, 1)
	r, ok := s.Rules[0].(*detect.SpikeRule)
	require.True(t, ok, "rule is a %T", s.Rules[0])
	return r
}

func minimalSpike(name string, extra ...config.Block) config.Block {
	return named("Spike", name, append([]config.Block{opt("Series", "ecommerce/gauge-page-hits-total")}, extra...)...)
}

func TestParseSpikeWithEveryOption(t *testing.T) {
	r := onlySpike(t, parseOne(t, named("Spike", "payment-drop",
		opt("Series", "ecommerce/gauge-payment-provider-*"),
		opt("Series", "ecommerce/gauge-extra-payments", "/^shop\\/gauge-(?P<group>x|y)$/"),
		opt("Window", "30m"),
		opt("Baseline", 6*3600),
		opt("Direction", "Down"),
		opt("Model", "poisson"),
		opt("Probability", 1e-7),
		opt("WarningProbability", 1e-5),
		opt("MinFactor", 2),
		opt("MinExpected", 8),
		opt("RecoveryFactor", 100),
		opt("OverDispersion", false),
		opt("Season", "1w"),
		opt("Hits", 2),
		opt("Host", "shop-*"),
	)))
	assert.Equal(t, "spike", r.Kind())
	spec := r.Spec()
	assert.Equal(t, "payment-drop", spec.Name)
	require.Len(t, spec.Inputs, 1)
	assert.Equal(t, "Series", spec.Inputs[0].Name)
	assert.Equal(t, []string{"ecommerce/gauge-payment-provider-*", "ecommerce/gauge-extra-payments", "/^shop\\/gauge-(?P<group>x|y)$/"},
		selectorTexts(spec.Inputs[0].Selectors))
	assert.Equal(t, detect.SpikeParams{
		Window:      30 * time.Minute,
		Baseline:    6 * time.Hour,
		Direction:   detect.DirectionDown,
		Model:       detect.PoissonModel,
		TailBounds:  detect.TailBounds{Probability: 1e-7, WarningProbability: 1e-5, RecoveryFactor: 100},
		MinFactor:   2,
		MinExpected: 8,
		Season:      7 * 24 * time.Hour,
	}, r.SpikeParams, "every option, OverDispersion false")
	assert.Equal(t, 2, spec.Lifecycle.Hits)
	assert.False(t, spec.Hosts.Match("db-1"))
}

func TestParseSpikeDefaults(t *testing.T) {
	r := onlySpike(t, parseOne(t, minimalSpike("web-traffic-spike")))
	p := r.SpikeParams
	assert.Equal(t, time.Minute, p.Window)
	assert.Equal(t, time.Hour, p.Baseline)
	assert.Equal(t, detect.DirectionUp, p.Direction)
	assert.Equal(t, detect.PoissonModel, p.Model)
	assert.Equal(t, 1e-6, p.Probability)
	assert.True(t, math.IsNaN(p.WarningProbability), "no warning by default")
	assert.Equal(t, 1.5, p.MinFactor)
	assert.Equal(t, 5.0, p.MinExpected)
	assert.True(t, p.OverDispersion, "judged with the dispersion it shows")
	assert.Equal(t, 1000.0, p.RecoveryFactor)
	assert.Equal(t, detect.Lifecycle{Hits: 1}, r.Spec().Lifecycle)

	// The normal model has no MinFactor guard unless one is set.
	r = onlySpike(t, parseOne(t, minimalSpike("latency", opt("Model", "normal"))))
	assert.Equal(t, detect.NormalModel, r.Model)
	assert.Equal(t, 1.0, r.MinFactor)
	r = onlySpike(t, parseOne(t, minimalSpike("latency", opt("MinFactor", 1.2), opt("Model", "normal"))))
	assert.Equal(t, 1.2, r.MinFactor)

	// TimeScale applies to the default windows as to the set ones.
	s := parseOne(t, opt("TimeScale", 60), minimalSpike("a"), minimalSpike("b", opt("Window", "30m")))
	require.Len(t, s.Rules, 2)
	a, b := s.Rules[0].(*detect.SpikeRule), s.Rules[1].(*detect.SpikeRule)
	assert.Equal(t, time.Second, a.Window)
	assert.Equal(t, time.Minute, a.Baseline)
	assert.Equal(t, 30*time.Second, b.Window)
}

// The rule pack's uses of <Spike> (web task 3, payments task 4, the latency
// level shift of web task 2) parse as intended.
func TestParseSpikeRulePackUses(t *testing.T) {
	s := parseOne(t,
		named("Spike", "web-traffic-spike",
			opt("Series", "ecommerce/gauge-page-hits-total", "ecommerce/gauge-asset-hits-total")),
		named("Spike", "payment-drop",
			opt("Series", "ecommerce/gauge-payment-provider-*"),
			opt("Direction", "down"), opt("Window", "30m"), opt("Baseline", "6h")),
		named("Spike", "web-latency-shift",
			opt("Series", "ecommerce/gauge-page-latency-mean"),
			opt("Model", "normal"), opt("Direction", "both"), opt("Window", "5m")),
	)
	require.Len(t, s.Rules, 3)
	traffic, drop, shift := s.Rules[0].(*detect.SpikeRule), s.Rules[1].(*detect.SpikeRule), s.Rules[2].(*detect.SpikeRule)
	assert.Len(t, traffic.Spec().Inputs[0].Selectors, 2)
	assert.Equal(t, detect.DirectionDown, drop.Direction)
	assert.Equal(t, 6*time.Hour, drop.Baseline)
	_, ok := drop.Spec().Inputs[0].Selectors[0].Match("ecommerce/gauge-payment-provider-c.provider_error")
	assert.True(t, ok)
	assert.Equal(t, detect.DirectionBoth, shift.Direction)
	assert.Equal(t, detect.NormalModel, shift.Model)
}

func TestParseSpikeErrors(t *testing.T) {
	in := func(extra ...config.Block) []config.Block { return []config.Block{minimalSpike("s", extra...)} }
	const r = `<Plugin anomaly>: <Spike "s">: `
	checkErrors(t, []errorCase{
		{"no Series", []config.Block{named("Spike", "s", opt("Window", 60))}, r + `a spike needs Series`},
		{"Series empty", in(opt("Series", "")), r + `option Series "": empty series selector`},
		{"Series number", in(opt("Series", 5)), r + `option Series 5: want series in quotes`},
		{"unknown option", in(opt("FailureMax", 3)), r + `unknown option "FailureMax"`},
		{"Window zero", in(opt("Window", 0)), r + `option Window 0: must be more than zero`},
		{"Window bad", in(opt("Window", "soon")), r + `option Window "soon": ` + wantDuration},
		{"Baseline negative", in(opt("Baseline", -60)), r + `option Baseline -60: must not be negative`},
		{"Baseline bad", in(opt("Baseline", "1 hour")), r + `option Baseline "1 hour": ` + wantDuration},
		{"Direction unknown", in(opt("Direction", "sideways")), r + `option Direction "sideways": want "up", "down" or "both"`},
		{"Direction number", in(opt("Direction", 1)), r + `option Direction 1: want one string in quotes`},
		{"Model unknown", in(opt("Model", "gaussian")), r + `option Model "gaussian": want "poisson" or "normal"`},
		{"Model two", in(opt("Model", "normal", "poisson")), r + `option Model "normal" "poisson": want one string in quotes`},
		{"Probability zero", in(opt("Probability", 0)), r + `option Probability 0: must be between 0 and 1`},
		{"Probability one", in(opt("Probability", 1)), r + `option Probability 1: must be between 0 and 1`},
		{"Probability string", in(opt("Probability", "tiny")), r + `option Probability "tiny": want one number`},
		{"WarningProbability above 1", in(opt("WarningProbability", 2)), r + `option WarningProbability 2: must be between 0 and 1`},
		{"WarningProbability below Probability", in(opt("WarningProbability", 1e-7)),
			r + `rule "s": WarningProbability must be between Probability and 1`},
		{"MinFactor below 1", in(opt("MinFactor", 0.5)), r + `option MinFactor 0.5: must be at least 1`},
		{"MinFactor bool", in(opt("MinFactor", true)), r + `option MinFactor true: want one number`},
		{"MinExpected negative", in(opt("MinExpected", -1)), r + `option MinExpected -1: must not be negative`},
		{"RecoveryFactor below 1", in(opt("RecoveryFactor", 0)), r + `option RecoveryFactor 0: must be at least 1`},
		{"RecoveryFactor as a block", in(named("RecoveryFactor", "x", opt("A", 1))), r + `option RecoveryFactor "x": takes no block`},
	})
}

// Reference: the series the counts follow, a second input of the rule.
func TestParseSpikeReference(t *testing.T) {
	s, err := conf.Parse(pluginBlock(named("Spike", "drop", opt("Series", "shop/gauge-payments"),
		opt("Reference", "shop/gauge-sessions"), opt("Direction", "down"))))
	require.NoError(t, err)
	r := s.Rules[0].(*detect.SpikeRule)
	require.Len(t, r.Inputs, 2)
	assert.Equal(t, "Reference", r.Inputs[1].Name)
	assert.Equal(t, "shop/gauge-sessions", r.Inputs[1].Selectors[0].String())

	_, err = conf.Parse(pluginBlock(named("Spike", "drop", opt("Series", "shop/gauge-x"),
		opt("Reference", "shop/gauge-y"), opt("Model", "normal"))))
	assert.ErrorContains(t, err, `rule "drop": Reference needs Model poisson`)
}
