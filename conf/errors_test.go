package conf_test

import (
	"strings"
	"testing"

	"collectd.org/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
)

const (
	wantDuration  = `want one duration: seconds, or a string like "5m" or "1d"`
	paramNames    = `PageRate, AssetRate, SessionRate, PaymentRate, TrafficMultiplier, PageError400, PageError500, AssetError400, AssetError500, PageLatencyMean, PageLatencyStdDev, AssetLatencyMean, AssetLatencyStdDev`
	providerNames = `Weight, UserError, ProviderError or Fraud`
)

type errorCase struct {
	name   string
	blocks []config.Block // children of <Plugin anomaly>
	want   string
}

func checkErrors(t *testing.T, cases []errorCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := conf.Parse(pluginBlock(tc.blocks...))
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
			assert.Nil(t, s, "no half-parsed settings")
		})
	}
}

// Every error names the block, the option and the offending value.
func TestParseTopLevelErrors(t *testing.T) {
	checkErrors(t, []errorCase{
		{"MaxSeries string", []config.Block{opt("MaxSeries", "many")},
			`<Plugin anomaly>: option MaxSeries "many": want one number`},
		{"MaxSeries zero", []config.Block{opt("MaxSeries", 0)},
			`<Plugin anomaly>: option MaxSeries 0: want a whole number from 1 to 2147483647`},
		{"MaxSeries fraction", []config.Block{opt("MaxSeries", 1.5)},
			`<Plugin anomaly>: option MaxSeries 1.5: want a whole number from 1 to 2147483647`},
		{"MaxSeries too large", []config.Block{opt("MaxSeries", 3e9)},
			`<Plugin anomaly>: option MaxSeries 3e+09: want a whole number from 1 to 2147483647`},
		{"MaxSeries two values", []config.Block{opt("MaxSeries", 1, 2)},
			`<Plugin anomaly>: option MaxSeries 1 2: want one number`},
		{"MaxSeries no value", []config.Block{opt("MaxSeries")},
			`<Plugin anomaly>: option MaxSeries: want one number`},
		{"MaxSeries bool", []config.Block{opt("MaxSeries", true)},
			`<Plugin anomaly>: option MaxSeries true: want one number`},
		{"MaxSeries as a block", []config.Block{{Key: "MaxSeries", Values: config.Values(5), Children: []config.Block{opt("X", 1)}}},
			`<Plugin anomaly>: option MaxSeries 5: takes no block`},
		{"Statistics number", []config.Block{opt("Statistics", 1)},
			`<Plugin anomaly>: option Statistics 1: want true or false`},
		{"BurstLimit zero", []config.Block{opt("BurstLimit", 0)},
			`<Plugin anomaly>: option BurstLimit 0: want a whole number from 1 to 2147483647`},
		{"BurstWindow negative", []config.Block{opt("BurstWindow", -1)},
			`<Plugin anomaly>: option BurstWindow -1: must not be negative`},
		{"AllowedLateness text", []config.Block{opt("AllowedLateness", "soon")},
			`<Plugin anomaly>: option AllowedLateness "soon": want one duration: seconds, or a string like "5m" or "1d"`},
		{"StateFile relative", []config.Block{opt("StateFile", "anomaly.state")},
			`<Plugin anomaly>: option StateFile "anomaly.state": want an absolute path`},
		{"StateInterval zero", []config.Block{opt("StateInterval", 0)},
			`<Plugin anomaly>: option StateInterval 0: must be more than zero`},
		{"StateInterval a microsecond", []config.Block{opt("StateInterval", 0.000001)},
			`<Plugin anomaly>: option StateInterval 1e-06: must be at least 100ms: each write syncs the whole state to disk`},
		{"AllowedLateness past 292 years", []config.Block{opt("AllowedLateness", "10000w10000w")},
			`<Plugin anomaly>: option AllowedLateness "10000w10000w": must be at most 100 years`},
		{"SilenceFile relative", []config.Block{opt("SilenceFile", "silences")},
			`<Plugin anomaly>: option SilenceFile "silences": want an absolute path`},
		{"SilenceFile number", []config.Block{opt("SilenceFile", 3)},
			`<Plugin anomaly>: option SilenceFile 3: want one string in quotes`},
		{"Hostname number", []config.Block{opt("Hostname", 5)},
			`<Plugin anomaly>: option Hostname 5: want one string in quotes`},
		{"Hostname two values", []config.Block{opt("Hostname", "a", "b")},
			`<Plugin anomaly>: option Hostname "a" "b": want one string in quotes`},
		{"Hostname as a block", []config.Block{named("Hostname", "a", opt("X", 1))},
			`<Plugin anomaly>: option Hostname "a": takes no block`},
		{"two Simulation blocks", []config.Block{bare("Simulation"), bare("Simulation", opt("Seed", 1))},
			`<Plugin anomaly>: <Simulation>: only one <Simulation> block is allowed`},
		{"Simulation with an argument", []config.Block{named("Simulation", "x")},
			`<Plugin anomaly>: <Simulation "x">: takes no argument`},
		{"rule without a name", []config.Block{bare("Ratio", opt("Numerator", "a/b"))},
			`<Plugin anomaly>: <Ratio>: want one name in quotes, like <Ratio "my-rule">`},
		{"rule with an empty name", []config.Block{named("Ratio", "")},
			`<Plugin anomaly>: <Ratio "">: want one name in quotes, like <Ratio "my-rule">`},
		{"rule named by a number", []config.Block{{Key: "Ratio", Values: config.Values(5)}},
			`<Plugin anomaly>: <Ratio 5>: want one name in quotes, like <Ratio "my-rule">`},
		{"rule with two names", []config.Block{{Key: "Ratio", Values: config.Values("a", "b")}},
			`<Plugin anomaly>: <Ratio "a" "b">: want one name in quotes, like <Ratio "my-rule">`},
		{"duplicate rule names", []config.Block{minimalRatio("r"), minimalRatio("other"), minimalRatio("r")},
			`<Plugin anomaly>: <Ratio "r">: another rule has the name "r"`},
	})
}

// The list of rule kinds grows; the message names the option and lists them.
func TestParseUnknownTopLevelOption(t *testing.T) {
	for _, b := range []config.Block{opt("Bogus", 1), named("Bogus", "x", opt("FailureMax", 1)), opt("Bogus", "ratio")} {
		s, err := conf.Parse(pluginBlock(minimalRatio("r"), b))
		require.Error(t, err)
		assert.Nil(t, s)
		msg := err.Error()
		assert.True(t, strings.HasPrefix(msg, `<Plugin anomaly>: unknown option "Bogus" (rules are <`), msg)
		assert.Contains(t, msg, "<Ratio>")
		assert.True(t, strings.HasSuffix(msg, "; other options: MaxSeries, Hostname, TimeScale, AllowedLateness, BurstLimit, BurstWindow, Statistics, StateSeries, SilenceFile, StateFile, StateInterval, SeriesIdleTimeout, <Simulation>, <InfluxDB>)"), msg)
	}
}

func TestParseDuplicateRuleAcrossBlocks(t *testing.T) {
	s, err := conf.Parse(pluginBlock(minimalRatio("web")), pluginBlock(minimalRatio("web", opt("Window", 60))))
	require.Error(t, err)
	assert.Nil(t, s)
	assert.Equal(t, `<Plugin anomaly>: <Ratio "web">: another rule has the name "web"`, err.Error())
	s, err = conf.Parse(pluginBlock(bare("Simulation")), pluginBlock(bare("Simulation")))
	require.Error(t, err)
	assert.Nil(t, s)
	assert.Equal(t, `<Plugin anomaly>: <Simulation>: only one <Simulation> block is allowed`, err.Error())
}

func TestParseRuleErrors(t *testing.T) {
	in := func(extra ...config.Block) []config.Block { return []config.Block{minimalRatio("r", extra...)} }
	const r = `<Plugin anomaly>: <Ratio "r">: `
	checkErrors(t, []errorCase{
		{"unknown option", in(opt("Bogus", 1)), r + `unknown option "Bogus"`},
		{"unknown block", in(named("Numerators", "x")), r + `unknown option "Numerators"`},
		{"Window not a duration", in(opt("Window", "soon")), r + `option Window "soon": ` + wantDuration},
		{"Window without unit", in(opt("Window", "5")), r + `option Window "5": ` + wantDuration},
		{"Window bool", in(opt("Window", true)), r + `option Window true: ` + wantDuration},
		{"Window two values", in(opt("Window", 5, 10)), r + `option Window 5 10: ` + wantDuration},
		{"Window no value", in(opt("Window")), r + `option Window: ` + wantDuration},
		{"Window absurd", in(opt("Window", 1e10)), r + `option Window 1e+10: ` + wantDuration},
		{"Window zero", in(opt("Window", 0)), r + `option Window 0: must be more than zero`},
		{"Window zero string", in(opt("Window", "0s")), r + `option Window "0s": must be more than zero`},
		{"Window negative", in(opt("Window", -5)), r + `option Window -5: must not be negative`},
		{"Window negative string", in(opt("Window", "-5m")), r + `option Window "-5m": must not be negative`},
		{"Window as a block", in(config.Block{Key: "Window", Values: config.Values(300), Children: []config.Block{opt("X", 1)}}),
			r + `option Window 300: takes no block`},
		{"MinDuration negative", in(opt("MinDuration", -1)), r + `option MinDuration -1: must not be negative`},
		{"MinDuration bad", in(opt("MinDuration", "2 minutes")), r + `option MinDuration "2 minutes": ` + wantDuration},
		{"Repeat negative", in(opt("Repeat", "-1h")), r + `option Repeat "-1h": must not be negative`},
		{"Resolution zero", in(opt("Resolution", 0)), r + `option Resolution 0: must be more than zero`},
		{"Hits zero", in(opt("Hits", 0)), r + `option Hits 0: want a whole number from 1 to 2147483647`},
		{"Hits fraction", in(opt("Hits", 2.5)), r + `option Hits 2.5: want a whole number from 1 to 2147483647`},
		{"Hits string", in(opt("Hits", "3")), r + `option Hits "3": want one number`},
		{"FailureMax string", in(opt("FailureMax", "high")), r + `option FailureMax "high": want one number`},
		{"WarningMin two values", in(opt("WarningMin", 0.1, 0.2)), r + `option WarningMin 0.1 0.2: want one number`},
		{"Hysteresis negative", in(opt("Hysteresis", -0.1)), r + `option Hysteresis -0.1: must not be negative`},
		{"MinDenominator negative", in(opt("MinDenominator", -1)), r + `option MinDenominator -1: must not be negative`},
		{"MinDenominator string", in(opt("MinDenominator", "50")), r + `option MinDenominator "50": want one number`},
		{"AggregateHosts string", in(opt("AggregateHosts", "yes")), r + `option AggregateHosts "yes": want true or false`},
		{"AggregateHosts number", in(opt("AggregateHosts", 1)), r + `option AggregateHosts 1: want true or false`},
		{"DataSource number", in(opt("DataSource", 1)), r + `option DataSource 1: want one string in quotes`},
		{"Host bad regex", in(opt("Host", "/(/")), r + "option Host \"/(/\": host pattern \"/(/\": error parsing regexp: missing closing ): `(`"},
		{"Host bad glob", in(opt("Host", "shop-[")), r + `option Host "shop-[": host pattern "shop-[": syntax error in pattern`},
		{"Host number", in(opt("Host", 7)), r + `option Host 7: want one string in quotes`},
		{"Numerator bad regex", in(opt("Numerator", "/(/")), r + "option Numerator \"/(/\": series selector \"/(/\": error parsing regexp: missing closing ): `(`"},
		{"Denominator bad glob", in(opt("Denominator", "ecommerce/gauge-[a")), r + `option Denominator "ecommerce/gauge-[a": series selector "ecommerce/gauge-[a": syntax error in pattern`},
		{"Numerator not an identifier", in(opt("Numerator", "nonsense")),
			r + `option Numerator "nonsense": series selector: identifier "nonsense": want [host/]plugin[-instance]/type[-instance]`},
		{"Numerator empty", in(opt("Numerator", "")), r + `option Numerator "": empty series selector`},
		{"Numerator no value", in(opt("Numerator")), r + `option Numerator: want one or more series in quotes`},
		{"Numerator number", in(opt("Numerator", "a/b", 5)), r + `option Numerator "a/b" 5: want series in quotes`},
		{"Numerator as a block", in(named("Numerator", "a/b", opt("X", 1))), r + `option Numerator "a/b": takes no block`},
		{"no Numerator", []config.Block{named("Ratio", "r", opt("Denominator", "a/b"), opt("FailureMax", 1))},
			r + `a ratio needs Numerator and Denominator series`},
		{"no Denominator", []config.Block{named("Ratio", "r", opt("Numerator", "a/b"), opt("FailureMax", 1))},
			r + `a ratio needs Numerator and Denominator series`},
		{"no threshold", []config.Block{named("Ratio", "r", opt("Numerator", "a/b"), opt("Denominator", "a/c"), opt("Hysteresis", 0.1))},
			r + `rule "r": set at least one of WarningMin, WarningMax, FailureMin, FailureMax`},
	})
}

func TestParseSimulationErrors(t *testing.T) {
	in := func(children ...config.Block) []config.Block { return []config.Block{bare("Simulation", children...)} }
	const s = `<Plugin anomaly>: <Simulation>: `
	checkErrors(t, []errorCase{
		{"unknown option", in(opt("Bogus", 1)), s + `option Bogus 1: unknown parameter "Bogus" (want one of ` + paramNames + `)`},
		// A misspelt option is unknown, whatever its value looks like.
		{"unknown option with a string", in(opt("Hostname", "web-1")), s + `option Hostname "web-1": unknown parameter "Hostname" (want one of ` + paramNames + `)`},
		{"unknown block", in(named("Rule", "x", opt("A", 1))), s + `option Rule "x": unknown parameter "Rule" (want one of ` + paramNames + `)`},
		{"parameter string", in(opt("PageRate", "fast")), s + `option PageRate "fast": want one number`},
		{"parameter two values", in(opt("PageRate", 1, 2)), s + `option PageRate 1 2: want one number`},
		{"parameter as a block", in(config.Block{Key: "PageRate", Values: config.Values(5), Children: []config.Block{opt("X", 1)}}),
			s + `option PageRate 5: takes no block`},
		{"weight above 1", in(opt("PageError400", 1.5)), s + `option PageError400 1.5: PageError400 = 1.5: must be between 0 and 1`},
		{"negative rate", in(opt("PageRate", -1)), s + `option PageRate -1: PageRate = -1: must not be negative`},
		{"negative stddev", in(opt("AssetLatencyStdDev", -2)), s + `option AssetLatencyStdDev -2: AssetLatencyStdDev = -2: must not be negative`},
		{"weights above 1 together", in(opt("PageError400", 0.6), opt("PageError500", 0.6)),
			s + `PageError400 + PageError500 = 1.2: must be at most 1`},
		{"payments without providers", in(named("Provider", "a", opt("Weight", 0)), named("Provider", "b", opt("Weight", 0)),
			named("Provider", "c", opt("Weight", 0)), named("Provider", "d", opt("Weight", 0))),
			s + `PaymentRate = 0.012 but the payment providers' Weights sum to 0: need a provider with a positive Weight`},
		{"Seed negative", in(opt("Seed", -1)), s + `option Seed -1: want a whole number from 0 to 2147483647`},
		{"Seed fraction", in(opt("Seed", 1.5)), s + `option Seed 1.5: want a whole number from 0 to 2147483647`},
		{"Seed string", in(opt("Seed", "42")), s + `option Seed "42": want one number`},
		{"Mode bogus", in(opt("Mode", "bogus")), s + `option Mode "bogus": want "gauge" or "counter"`},
		{"Mode number", in(opt("Mode", 1)), s + `option Mode 1: want one string in quotes`},
		{"Host number", in(opt("Host", 1)), s + `option Host 1: want one string in quotes`},
		{"Interval zero", in(opt("Interval", 0)), s + `option Interval 0: must be more than zero`},
		{"Interval bad", in(opt("Interval", "1x")), s + `option Interval "1x": ` + wantDuration},
		{"Interval negative", in(opt("Interval", -10)), s + `option Interval -10: must not be negative`},
	})
}

func TestParseProviderErrors(t *testing.T) {
	in := func(children ...config.Block) []config.Block { return []config.Block{bare("Simulation", children...)} }
	const s = `<Plugin anomaly>: <Simulation>: `
	checkErrors(t, []errorCase{
		{"unknown option", in(named("Provider", "a", opt("Bogus", 1))),
			s + `<Provider "a">: option Bogus 1: unknown parameter "Bogus" of payment provider "a" (want ` + providerNames + `)`},
		{"unknown option with a string", in(named("Provider", "a", opt("Name", "b"))),
			s + `<Provider "a">: option Name "b": unknown parameter "Name" of payment provider "a" (want ` + providerNames + `)`},
		{"rate above 1", in(named("Provider", "a", opt("Fraud", 2))),
			s + `<Provider "a">: option Fraud 2: provider a Fraud = 2: must be between 0 and 1`},
		{"negative weight", in(named("Provider", "b", opt("Weight", -1))),
			s + `<Provider "b">: option Weight -1: provider b Weight = -1: must not be negative`},
		{"string", in(named("Provider", "a", opt("Fraud", "lots"))),
			s + `<Provider "a">: option Fraud "lots": want one number`},
		{"rates above 1 together", in(named("Provider", "c", opt("UserError", 0.5), opt("ProviderError", 0.5), opt("Fraud", 0.5))),
			s + `provider c UserError + ProviderError + Fraud = 1.5: must be at most 1`},
		{"no name", in(bare("Provider", opt("Weight", 1))),
			s + `<Provider>: want one name in quotes, like <Provider "my-rule">`},
		{"new provider without Weight", in(named("Provider", "e", opt("Fraud", 0.1))),
			s + `<Provider "e">: a provider that is not among the defaults needs a Weight`},
		{"new provider without options", in(named("Provider", "e")),
			s + `<Provider "e">: a provider that is not among the defaults needs a Weight`},
		{"bad provider name", in(named("Provider", "e.x", opt("Weight", 1))),
			s + `provider 5: provider Name "e.x": only letters, digits, '_' and '-' are allowed`},
	})
}

func TestParseIncidentErrors(t *testing.T) {
	in := func(children ...config.Block) []config.Block {
		return []config.Block{bare("Simulation", named("Incident", "i", children...))}
	}
	const s = `<Plugin anomaly>: <Simulation>: `
	const i = s + `<Incident "i">: `
	checkErrors(t, []errorCase{
		{"unknown option", in(opt("Duration", 60), opt("Bogus", 1)), i + `option Bogus 1: unknown parameter "Bogus" (want one of ` + paramNames + `)`},
		{"unknown option with a string", in(opt("Duration", 60), opt("End", "2h")), i + `option End "2h": unknown parameter "End" (want one of ` + paramNames + `)`},
		{"no Duration", in(opt("Start", 60), opt("PageRate", 0)), i + `an incident needs a Duration`},
		{"Duration zero", in(opt("Duration", 0)), i + `option Duration 0: must be more than zero`},
		{"Duration bad", in(opt("Duration", "long")), i + `option Duration "long": ` + wantDuration},
		{"Start negative", in(opt("Duration", 60), opt("Start", -5)), i + `option Start -5: must not be negative`},
		{"Start bad", in(opt("Duration", 60), opt("Start", "later")), i + `option Start "later": ` + wantDuration},
		{"parameter invalid", in(opt("Duration", 60), opt("PageError500", 2)), i + `option PageError500 2: PageError500 = 2: must be between 0 and 1`},
		{"parameter string", in(opt("Duration", 60), opt("PageError500", "high")), i + `option PageError500 "high": want one number`},
		{"provider parameter invalid", in(opt("Duration", 60), named("Provider", "b", opt("ProviderError", 1.5))),
			i + `<Provider "b">: option ProviderError 1.5: provider b ProviderError = 1.5: must be between 0 and 1`},
		{"provider unknown parameter", in(opt("Duration", 60), named("Provider", "b", opt("Bogus", 1))),
			i + `<Provider "b">: option Bogus 1: unknown parameter "Bogus" of payment provider "b" (want ` + providerNames + `)`},
		{"provider without a name", in(opt("Duration", 60), bare("Provider", opt("Fraud", 1))),
			i + `<Provider>: want one name in quotes, like <Provider "my-rule">`},
		{"unknown provider", in(opt("Duration", 60), named("Provider", "zz", opt("Fraud", 0.5))),
			s + `incident "i": unknown payment provider "zz"`},
		{"weights above 1 during the incident", in(opt("Duration", 60), opt("PageError400", 1)),
			s + `incident "i": PageError400 + PageError500 = 1.001: must be at most 1`},
		{"duplicate name", []config.Block{bare("Simulation", named("Incident", "i", opt("Duration", 60)),
			named("Incident", "j", opt("Duration", 60)), named("Incident", "i", opt("Start", 600), opt("Duration", 60)))},
			s + `<Incident "i">: another incident has the name "i"`},
		{"no name", []config.Block{bare("Simulation", bare("Incident", opt("Duration", 60)))},
			s + `<Incident>: want one name in quotes, like <Incident "my-rule">`},
		{"incidents overlapping", []config.Block{bare("Simulation",
			named("Incident", "a", opt("Duration", 60), opt("PageError400", 0.6)),
			named("Incident", "b", opt("Start", 30), opt("Duration", 60), opt("PageError500", 0.6)))},
			s + `incidents "a", "b" together (active at 30s): PageError400 + PageError500 = 1.2: must be at most 1`},
	})
}
