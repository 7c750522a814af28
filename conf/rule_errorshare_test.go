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

const (
	errorShareErrorsRE = `/^ecommerce/gauge-payment-provider-(?P<group>[^.]+)[.]provider_error$/`
	errorShareTotalRE  = `/^ecommerce/gauge-payment-provider-(?P<group>[^.]+)[.].*$/`
)

func onlyErrorShare(t *testing.T, s []detect.Rule) *detect.ErrorShareRule {
	t.Helper()
	require.Len(t, s, 1)
	r, ok := s[0].(*detect.ErrorShareRule)
	require.True(t, ok, "rule is a %T", s[0])
	return r
}

func minimalErrorShare(name string, extra ...config.Block) config.Block {
	return named("ErrorShare", name, append([]config.Block{opt("Errors", errorShareErrorsRE), opt("Total", errorShareTotalRE)}, extra...)...)
}

func TestParseErrorShareRule(t *testing.T) {
	s := parseOne(t, minimalErrorShare("provider-errors",
		opt("Errors", "ecommerce/gauge-other-errors"),
		opt("Total", "ecommerce/gauge-other-total"),
		opt("Window", "12h"),
		opt("ExpectedShare", 0.002),
		opt("Probability", 1e-7),
		opt("WarningProbability", 1e-4),
		opt("MinErrors", 5),
		opt("RecoveryFactor", 100),
		opt("Repeat", "1h"),
	))
	r := onlyErrorShare(t, s.Rules)
	assert.Equal(t, "errorshare", r.Kind())
	spec := r.Spec()
	assert.Equal(t, "provider-errors", spec.Name)
	require.Len(t, spec.Inputs, 2)
	assert.Equal(t, "Errors", spec.Inputs[0].Name)
	assert.Equal(t, []string{errorShareErrorsRE, "ecommerce/gauge-other-errors"}, selectorTexts(spec.Inputs[0].Selectors))
	assert.Equal(t, "Total", spec.Inputs[1].Name)
	assert.Equal(t, []string{errorShareTotalRE, "ecommerce/gauge-other-total"}, selectorTexts(spec.Inputs[1].Selectors))
	// both patterns capture the provider; Total also matches the errors
	for _, sel := range []detect.Selector{spec.Inputs[0].Selectors[0], spec.Inputs[1].Selectors[0]} {
		label, ok := sel.Match("ecommerce/gauge-payment-provider-b.provider_error")
		assert.True(t, ok)
		assert.Equal(t, "b", label)
	}
	assert.Equal(t, detect.ErrorShareParams{
		Window: 12 * time.Hour, ExpectedShare: 0.002, MinErrors: 5,
		TailBounds: detect.TailBounds{Probability: 1e-7, WarningProbability: 1e-4, RecoveryFactor: 100},
	}, r.ErrorShareParams)
	assert.Equal(t, time.Hour, spec.Lifecycle.Repeat)
}

func TestParseErrorShareDefaults(t *testing.T) {
	r := onlyErrorShare(t, parseOne(t, minimalErrorShare("e")).Rules)
	assert.Equal(t, 6*time.Hour, r.Window)
	assert.Equal(t, 0.001, r.ExpectedShare)
	assert.Equal(t, 1e-6, r.Probability)
	assert.True(t, math.IsNaN(r.WarningProbability), "no warning")
	assert.Equal(t, 3, r.MinErrors)
	assert.Equal(t, 1000.0, r.RecoveryFactor)
	assert.Equal(t, detect.Lifecycle{Hits: 1}, r.Spec().Lifecycle)

	r = onlyErrorShare(t, parseOne(t, opt("TimeScale", 60), minimalErrorShare("e")).Rules)
	assert.Equal(t, 6*time.Minute, r.Window, "TimeScale applies to the default")
	r = onlyErrorShare(t, parseOne(t, minimalErrorShare("e", opt("MinErrors", 0))).Rules)
	assert.Zero(t, r.MinErrors)
}

func TestParseErrorShareErrors(t *testing.T) {
	in := func(extra ...config.Block) []config.Block { return []config.Block{minimalErrorShare("e", extra...)} }
	const e = `<Plugin anomaly>: <ErrorShare "e">: `
	const between = `must be between 0 and 1`
	checkErrors(t, []errorCase{
		{"no Errors", []config.Block{named("ErrorShare", "e", opt("Total", "a/b"))}, e + `an error share needs Errors and Total series`},
		{"no Total", []config.Block{named("ErrorShare", "e", opt("Errors", "a/b"))}, e + `an error share needs Errors and Total series`},
		{"Errors bad glob", in(opt("Errors", "ecommerce/gauge-[a")), e + `option Errors "ecommerce/gauge-[a": series selector "ecommerce/gauge-[a": syntax error in pattern`},
		{"Total number", in(opt("Total", 1)), e + `option Total 1: want series in quotes`},
		{"Window zero", in(opt("Window", 0)), e + `option Window 0: must be more than zero`},
		{"Window bad", in(opt("Window", "6 hours")), e + `option Window "6 hours": ` + wantDuration},
		{"ExpectedShare zero", in(opt("ExpectedShare", 0)), e + `option ExpectedShare 0: ` + between},
		{"ExpectedShare one", in(opt("ExpectedShare", 1)), e + `option ExpectedShare 1: ` + between},
		{"ExpectedShare string", in(opt("ExpectedShare", "0.1%")), e + `option ExpectedShare "0.1%": want one number`},
		{"Probability negative", in(opt("Probability", -1e-6)), e + `option Probability -1e-06: ` + between},
		{"Probability two values", in(opt("Probability", 1e-6, 1e-5)), e + `option Probability 1e-06 1e-05: want one number`},
		{"WarningProbability above 1", in(opt("WarningProbability", 2)), e + `option WarningProbability 2: ` + between},
		{"WarningProbability below Probability", in(opt("WarningProbability", 1e-7)),
			e + `rule "e": WarningProbability must be between Probability and 1`},
		{"MinErrors fraction", in(opt("MinErrors", 2.5)), e + `option MinErrors 2.5: want a whole number from 0 to 2147483647`},
		{"MinErrors negative", in(opt("MinErrors", -1)), e + `option MinErrors -1: want a whole number from 0 to 2147483647`},
		{"RecoveryFactor below 1", in(opt("RecoveryFactor", 0.5)), e + `option RecoveryFactor 0.5: must be at least 1`},
		{"RecoveryFactor string", in(opt("RecoveryFactor", "x")), e + `option RecoveryFactor "x": want one number`},
		{"threshold options are not for this kind", in(opt("FailureMax", 0.1)), e + `unknown option "FailureMax"`},
	})
}
