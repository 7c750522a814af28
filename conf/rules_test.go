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

const (
	failedRE = `/^ecommerce\/gauge-(?P<group>page|asset)-response-(?:400|500)$/`
	hitsRE   = `/^ecommerce\/gauge-(?P<group>page|asset)-hits-total$/`
)

func TestParseRatioRuleWithEveryOption(t *testing.T) {
	s := parseOne(t,
		opt("MaxSeries", 1000),
		opt("Hostname", "central"),
		named("Ratio", "web-failed-requests",
			opt("Numerator", failedRE),
			opt("Numerator", "ecommerce/gauge-extra-*-errors"),
			opt("Denominator", hitsRE, "ecommerce/gauge-extra-hits"),
			opt("Window", 120),
			opt("WarningMin", 0.001),
			opt("WarningMax", 0.05),
			opt("FailureMin", 0.0001),
			opt("FailureMax", 0.10),
			opt("Hysteresis", 0.02),
			opt("MinDenominator", 50),
			opt("Hits", 3),
			opt("MinDuration", "2m"),
			opt("Repeat", 3600),
			opt("Host", "shop-*"),
			opt("AggregateHosts", true),
			opt("DataSource", "rx"),
			opt("Resolution", "15s"),
		),
	)
	assert.Equal(t, 1000, s.MaxSeries)
	assert.Equal(t, "central", s.Hostname)
	assert.Nil(t, s.Simulation)

	r := onlyRatio(t, s)
	assert.Equal(t, "ratio", r.Kind())
	spec := r.Spec()
	assert.Equal(t, "web-failed-requests", spec.Name)
	require.Len(t, spec.Inputs, 2)
	assert.Equal(t, "Numerator", spec.Inputs[0].Name)
	assert.Equal(t, []string{failedRE, "ecommerce/gauge-extra-*-errors"}, selectorTexts(spec.Inputs[0].Selectors))
	assert.Equal(t, "Denominator", spec.Inputs[1].Name)
	assert.Equal(t, []string{hitsRE, "ecommerce/gauge-extra-hits"}, selectorTexts(spec.Inputs[1].Selectors))

	// The selectors work as parsed: the regular expression captures the group.
	label, ok := spec.Inputs[0].Selectors[0].Match("ecommerce/gauge-page-response-500")
	assert.True(t, ok)
	assert.Equal(t, "page", label)
	_, ok = spec.Inputs[0].Selectors[0].Match("ecommerce/gauge-page-response-200")
	assert.False(t, ok)
	_, ok = spec.Inputs[0].Selectors[1].Match("ecommerce/gauge-extra-shop-errors")
	assert.True(t, ok, "glob")
	_, ok = spec.Inputs[1].Selectors[1].Match("ecommerce/gauge-extra-hits")
	assert.True(t, ok, "exact")

	assert.Equal(t, 2*time.Minute, r.Window)
	assert.Equal(t, detect.Thresholds{WarningMin: 0.001, WarningMax: 0.05, FailureMin: 0.0001, FailureMax: 0.10, Hysteresis: 0.02}, r.Thresholds)
	assert.Equal(t, 50.0, r.MinDenominator)
	assert.Equal(t, detect.Lifecycle{Hits: 3, MinDuration: 2 * time.Minute, Repeat: time.Hour}, spec.Lifecycle)
	assert.True(t, spec.Hosts.Match("shop-1"))
	assert.False(t, spec.Hosts.Match("db-1"))
	assert.True(t, spec.AggregateHosts)
	assert.Equal(t, "rx", spec.DataSource)
	assert.Equal(t, 15*time.Second, spec.Resolution)
}

func TestParseRatioDefaults(t *testing.T) {
	s := parseOne(t, minimalRatio("r"))
	assert.Equal(t, detect.DefaultMaxSeries, s.MaxSeries)
	assert.Empty(t, s.Hostname)
	assert.Nil(t, s.Simulation)
	r := onlyRatio(t, s)
	spec := r.Spec()
	assert.Equal(t, 5*time.Minute, r.Window, "default Window")
	assert.Equal(t, detect.Lifecycle{Hits: 1}, spec.Lifecycle, "default Hits 1, no MinDuration, no Repeat")
	assert.Equal(t, 0.1, r.Thresholds.FailureMax)
	for name, bound := range map[string]float64{"WarningMin": r.Thresholds.WarningMin, "WarningMax": r.Thresholds.WarningMax, "FailureMin": r.Thresholds.FailureMin} {
		assert.True(t, math.IsNaN(bound), "%s unset", name)
	}
	assert.Zero(t, r.Thresholds.Hysteresis)
	assert.Zero(t, r.MinDenominator)
	assert.True(t, spec.Hosts.Match("any-host"), "every host by default")
	assert.False(t, spec.AggregateHosts)
	assert.Empty(t, spec.DataSource)
	assert.Zero(t, spec.Resolution)
}

func TestParseNothing(t *testing.T) {
	for _, blocks := range [][]config.Block{nil, {pluginBlock()}} {
		s, err := conf.Parse(blocks...)
		require.NoError(t, err)
		assert.Empty(t, s.Rules)
		assert.Equal(t, detect.DefaultMaxSeries, s.MaxSeries)
		assert.Empty(t, s.Hostname)
		assert.Nil(t, s.Simulation)
		assert.Equal(t, 1.0, s.TimeScale)
		assert.Zero(t, s.AllowedLateness, "2 intervals of each rule's values")
	}
}

// AllowedLateness is about the network and collectd's queues, not the
// rules' windows: TimeScale leaves it as it is.
func TestParseAllowedLateness(t *testing.T) {
	s, err := conf.Parse(pluginBlock(opt("TimeScale", 60), opt("AllowedLateness", "90s")))
	require.NoError(t, err)
	assert.Equal(t, 90*time.Second, s.AllowedLateness)
}

func TestParseSeveralRulesKeepTheirOrder(t *testing.T) {
	s := parseOne(t, minimalRatio("first"), minimalRatio("second", opt("Window", 60)), minimalRatio("third"))
	var names []string
	for _, r := range s.Rules {
		names = append(names, r.Spec().Name)
	}
	assert.Equal(t, []string{"first", "second", "third"}, names)
	assert.Equal(t, time.Minute, s.Rules[1].(*detect.RatioRule).Window)
}

// Several <Plugin anomaly> blocks add up, as collectd.conf.d files do.
func TestParseSeveralBlocksAddUp(t *testing.T) {
	s, err := conf.Parse(
		pluginBlock(minimalRatio("a"), opt("MaxSeries", 10)),
		pluginBlock(minimalRatio("b"), bare("Simulation", opt("Seed", 7))),
	)
	require.NoError(t, err)
	require.Len(t, s.Rules, 2)
	assert.Equal(t, "a", s.Rules[0].Spec().Name)
	assert.Equal(t, "b", s.Rules[1].Spec().Name)
	assert.Equal(t, 10, s.MaxSeries)
	require.NotNil(t, s.Simulation)
	assert.Equal(t, uint64(7), s.Simulation.Config.Seed)
}

// Durations are seconds as numbers (collectd's convention) or Go duration strings.
func TestParseDurations(t *testing.T) {
	for _, tc := range []struct {
		value any
		want  time.Duration
	}{
		{300, 5 * time.Minute},
		{0.5, 500 * time.Millisecond},
		{1, time.Second},
		{"5m", 5 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"90s", 90 * time.Second},
		{"250ms", 250 * time.Millisecond},
	} {
		r := onlyRatio(t, parseOne(t, minimalRatio("r",
			opt("Window", tc.value), opt("MinDuration", tc.value), opt("Repeat", tc.value), opt("Resolution", tc.value))))
		assert.Equal(t, tc.want, r.Window, "Window %v", tc.value)
		assert.Equal(t, tc.want, r.Spec().Lifecycle.MinDuration, "MinDuration %v", tc.value)
		assert.Equal(t, tc.want, r.Spec().Lifecycle.Repeat, "Repeat %v", tc.value)
		assert.Equal(t, tc.want, r.Spec().Resolution, "Resolution %v", tc.value)
	}
	// MinDuration and Repeat may be zero; Window and Resolution may not (see the error tests).
	r := onlyRatio(t, parseOne(t, minimalRatio("r", opt("MinDuration", 0), opt("Repeat", "0s"))))
	assert.Zero(t, r.Spec().Lifecycle.MinDuration)
	assert.Zero(t, r.Spec().Lifecycle.Repeat)
}

func TestParseHostPatterns(t *testing.T) {
	for _, tc := range []struct {
		pattern   string
		match     []string
		mismatchs []string
	}{
		{"shop-?", []string{"shop-1", "shop-a"}, []string{"shop-10", "db-1"}},
		{"/^(web|shop)-[0-9]+$/", []string{"web-1", "shop-22"}, []string{"web-x", "db-1"}},
		{"exact.example.com", []string{"exact.example.com"}, []string{"other.example.com"}},
	} {
		spec := onlyRatio(t, parseOne(t, minimalRatio("r", opt("Host", tc.pattern)))).Spec()
		for _, h := range tc.match {
			assert.True(t, spec.Hosts.Match(h), "%s matches %s", tc.pattern, h)
		}
		for _, h := range tc.mismatchs {
			assert.False(t, spec.Hosts.Match(h), "%s does not match %s", tc.pattern, h)
		}
	}
}

// Option and block names are case-insensitive, as everywhere in collectd.
func TestParseIsCaseInsensitive(t *testing.T) {
	s := parseOne(t,
		opt("maxseries", 77),
		opt("HOSTNAME", "central"),
		named("RATIO", "shouty",
			opt("numerator", "a/b-num"),
			opt("DENOMINATOR", "a/b-den"),
			opt("window", "1m"),
			opt("failuremax", 0.2),
			opt("WARNINGMAX", 0.1),
			opt("hysteresis", 0.01),
			opt("mindenominator", 5),
			opt("HITS", 2),
			opt("minduration", 30),
			opt("REPEAT", "10m"),
			opt("host", "h*"),
			opt("aggregatehosts", true),
			opt("datasource", "value"),
			opt("RESOLUTION", 5),
		),
		named("ratio", "lower", opt("NUMERATOR", "a/b-num"), opt("denominator", "a/b-den"), opt("FailureMin", 0.5)),
		bare("SIMULATION",
			opt("seed", 3),
			opt("MODE", "Counter"),
			opt("host", "sim"),
			opt("INTERVAL", 2),
			opt("pageerror400", 0.2),
			opt("PAGERATE", 5),
			named("provider", "a", opt("weight", 0.9), opt("FRAUD", 0.05)),
			named("INCIDENT", "i", opt("start", 60), opt("DURATION", 30), opt("trafficmultiplier", 3),
				named("PROVIDER", "b", opt("providererror", 0.4))),
		),
	)
	assert.Equal(t, 77, s.MaxSeries)
	assert.Equal(t, "central", s.Hostname)
	require.Len(t, s.Rules, 2)
	r := s.Rules[0].(*detect.RatioRule)
	assert.Equal(t, "shouty", r.Spec().Name)
	assert.Equal(t, []string{"a/b-num"}, selectorTexts(r.Spec().Inputs[0].Selectors))
	assert.Equal(t, []string{"a/b-den"}, selectorTexts(r.Spec().Inputs[1].Selectors))
	assert.Equal(t, time.Minute, r.Window)
	assert.Equal(t, 0.2, r.Thresholds.FailureMax)
	assert.Equal(t, 0.1, r.Thresholds.WarningMax)
	assert.Equal(t, 0.01, r.Thresholds.Hysteresis)
	assert.Equal(t, 5.0, r.MinDenominator)
	assert.Equal(t, detect.Lifecycle{Hits: 2, MinDuration: 30 * time.Second, Repeat: 10 * time.Minute}, r.Spec().Lifecycle)
	assert.True(t, r.Spec().Hosts.Match("h1"))
	assert.False(t, r.Spec().Hosts.Match("x1"))
	assert.True(t, r.Spec().AggregateHosts)
	assert.Equal(t, "value", r.Spec().DataSource)
	assert.Equal(t, 5*time.Second, r.Spec().Resolution)
	assert.Equal(t, "lower", s.Rules[1].Spec().Name)
	assert.Equal(t, 0.5, s.Rules[1].(*detect.RatioRule).Thresholds.FailureMin)

	sim := s.Simulation
	require.NotNil(t, sim)
	assert.Equal(t, uint64(3), sim.Config.Seed)
	assert.True(t, sim.SeedSet)
	assert.Equal(t, "counter", sim.Config.Mode.String())
	assert.Equal(t, "sim", sim.Host)
	assert.Equal(t, 2*time.Second, sim.Interval)
	assert.Equal(t, 0.2, sim.Config.Params.Page.Error400)
	assert.Equal(t, 5.0, sim.Config.Params.PageRate)
	assert.Equal(t, 0.9, sim.Config.Params.Providers[0].Weight)
	assert.Equal(t, 0.05, sim.Config.Params.Providers[0].Fraud)
	require.Len(t, sim.Config.Incidents, 1)
	inc := sim.Config.Incidents[0]
	assert.Equal(t, time.Minute, inc.Start)
	assert.Equal(t, 30*time.Second, inc.Duration)
	require.Len(t, inc.Changes, 2)
	assert.Equal(t, 3.0, inc.Changes[0].Value)
	assert.Equal(t, "b", inc.Changes[1].Provider)
	assert.Equal(t, 0.4, inc.Changes[1].Value)
}

// collectd's parser reads 1e-6 as the text "1e" and the number -6, and a
// quoted "1e-6" is text: the error says how to write it.
func TestNumberWrittenAsTextSaysHow(t *testing.T) {
	_, err := conf.Parse(config.Block{Key: "Plugin", Values: config.Values("anomaly"), Children: []config.Block{{
		Key: "Ratio", Values: config.Values("r"), Children: []config.Block{
			{Key: "FailureMax", Values: config.Values("1e-6")},
		}}}})
	require.Error(t, err)
	assert.Equal(t, `<Plugin anomaly>: <Ratio "r">: option FailureMax "1e-6": want one number: collectd reads 1e-6 as text; write it with a decimal point and a signed exponent (1.0e-06) or in full (0.000001)`, err.Error())
}

// A rule's fingerprint (for the state file) changes with what it judges -
// a threshold, a window, TimeScale - and not with its wording or layout.
func TestRuleFingerprint(t *testing.T) {
	fp := func(children ...config.Block) string {
		t.Helper()
		return parseOne(t, children...).Rules[0].Spec().Fingerprint
	}
	base := fp(minimalRatio("r"))
	require.NotEmpty(t, base)
	assert.Equal(t, base, fp(minimalRatio("r")), "the same block, the same fingerprint")
	assert.Equal(t, base, fp(minimalRatio("r", opt("Message", "{severity}: {rule}"), opt("Runbook", "https://x"))), "wording only")
	for name, other := range map[string]string{
		"threshold": fp(minimalRatio("r", opt("WarningMax", 0.05))),
		"window":    fp(minimalRatio("r", opt("Window", 600))),
		"name":      fp(minimalRatio("s")),
		"TimeScale": fp(opt("TimeScale", 60), minimalRatio("r")),
	} {
		assert.NotEqual(t, base, other, name)
	}
}
