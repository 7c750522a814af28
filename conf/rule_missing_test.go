package conf_test

import (
	"testing"
	"time"

	"collectd.org/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

func onlyMissing(t *testing.T, s []detect.Rule) *detect.MissingRule {
	t.Helper()
	require.Len(t, s, 1)
	r, ok := s[0].(*detect.MissingRule)
	require.True(t, ok, "rule is a %T", s[0])
	return r
}

func TestParseMissingRule(t *testing.T) {
	s := parseOne(t, named("Missing", "shop-alive",
		opt("Series", "ecommerce/gauge-page-hits-total", "ecommerce/gauge-new-sessions"),
		opt("Series", "/^ecommerce/gauge-payment-provider-.*$/"),
		opt("Timeout", "45s"),
		opt("PerSeries", true),
		opt("Host", "shop-*"),
	))
	r := onlyMissing(t, s.Rules)
	assert.Equal(t, "missing", r.Kind())
	spec := r.Spec()
	assert.Equal(t, "shop-alive", spec.Name)
	require.Len(t, spec.Inputs, 1)
	assert.Equal(t, "Series", spec.Inputs[0].Name)
	assert.Equal(t, []string{"ecommerce/gauge-page-hits-total", "ecommerce/gauge-new-sessions", "/^ecommerce/gauge-payment-provider-.*$/"},
		selectorTexts(spec.Inputs[0].Selectors))
	assert.Equal(t, 45*time.Second, r.Timeout)
	assert.True(t, spec.PerSeries)
	assert.True(t, spec.Hosts.Match("shop-1"))
}

func TestParseMissingDefaults(t *testing.T) {
	r := onlyMissing(t, parseOne(t, named("Missing", "m", opt("Series", "a/b"))).Rules)
	assert.Zero(t, r.Timeout, "0: three slot widths")
	assert.False(t, r.Spec().PerSeries, "one alert per host")
	assert.Equal(t, detect.Lifecycle{Hits: 1}, r.Spec().Lifecycle)

	r = onlyMissing(t, parseOne(t, opt("TimeScale", 10), named("Missing", "m", opt("Series", "a/b"), opt("Timeout", 300), opt("PerSeries", false))).Rules)
	assert.Equal(t, 30*time.Second, r.Timeout, "TimeScale applies")
	assert.False(t, r.Spec().PerSeries)
	r = onlyMissing(t, parseOne(t, named("Missing", "m", opt("Series", "a/b"), opt("Timeout", 0))).Rules)
	assert.Zero(t, r.Timeout, "0 may be written")
}

func TestParseMissingErrors(t *testing.T) {
	in := func(extra ...config.Block) []config.Block {
		return []config.Block{named("Missing", "m", append([]config.Block{opt("Series", "a/b")}, extra...)...)}
	}
	const m = `<Plugin anomaly>: <Missing "m">: `
	checkErrors(t, []errorCase{
		{"no Series", []config.Block{named("Missing", "m", opt("Timeout", 30))}, m + `a missing rule needs Series`},
		{"Series not an identifier", in(opt("Series", "nonsense")),
			m + `option Series "nonsense": series selector: identifier "nonsense": want [host/]plugin[-instance]/type[-instance]`},
		{"Timeout negative", in(opt("Timeout", -30)), m + `option Timeout -30: must not be negative`},
		{"Timeout bad", in(opt("Timeout", "30 seconds")), m + `option Timeout "30 seconds": ` + wantDuration},
		{"Timeout as a block", in(config.Block{Key: "Timeout", Values: config.Values(30), Children: []config.Block{opt("X", 1)}}),
			m + `option Timeout 30: takes no block`},
		{"PerSeries string", in(opt("PerSeries", "yes")), m + `option PerSeries "yes": want true or false`},
		{"Window is not an option", in(opt("Window", 60)), m + `unknown option "Window"`},
	})
}
