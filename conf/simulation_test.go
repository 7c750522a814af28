package conf_test

import (
	"testing"
	"time"

	"collectd.org/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/simulate"
)

func TestParseSimulationWithEveryOption(t *testing.T) {
	s := parseOne(t, bare("Simulation",
		opt("Seed", 42),
		opt("Mode", "counter"),
		opt("Host", "shop-sim"),
		opt("Interval", "1s"),
		opt("PageRate", 20),
		opt("AssetRate", 150),
		opt("SessionRate", 3),
		opt("PaymentRate", 0.5),
		opt("TrafficMultiplier", 2),
		opt("PageError400", 0.01),
		opt("PageError500", 0.002),
		opt("AssetError400", 0.009),
		opt("AssetError500", 0.0002),
		opt("PageLatencyMean", 200),
		opt("PageLatencyStdDev", 40),
		opt("AssetLatencyMean", 12),
		opt("AssetLatencyStdDev", 2),
		named("Provider", "a", opt("Weight", 0.5), opt("UserError", 0.02), opt("ProviderError", 0.002), opt("Fraud", 0.004)),
		named("Provider", "e", opt("Weight", 0.25), opt("Fraud", 0.01)),
		named("Incident", "errors",
			opt("Start", "2h"),
			opt("Duration", 900),
			opt("PageError400", 0.2),
			named("Provider", "b", opt("ProviderError", 0.3)),
		),
		named("Incident", "quiet", opt("Duration", "10m"), opt("TrafficMultiplier", 0)),
	))
	sim := s.Simulation
	require.NotNil(t, sim)
	assert.True(t, sim.SeedSet)
	assert.Equal(t, "shop-sim", sim.Host)
	assert.Equal(t, time.Second, sim.Interval)

	want := simulate.DefaultParams()
	want.PageRate, want.AssetRate, want.SessionRate, want.PaymentRate, want.TrafficMultiplier = 20, 150, 3, 0.5, 2
	want.Page = simulate.Responses{Error400: 0.01, Error500: 0.002}
	want.Asset = simulate.Responses{Error400: 0.009, Error500: 0.0002}
	want.PageLatency = simulate.Latency{Mean: 200, StdDev: 40}
	want.AssetLatency = simulate.Latency{Mean: 12, StdDev: 2}
	want.Providers[0] = simulate.Provider{Name: "a", Weight: 0.5, UserError: 0.02, ProviderError: 0.002, Fraud: 0.004}
	// A new provider gets the default outcome rates unless it sets them.
	want.Providers = append(want.Providers, simulate.Provider{Name: "e", Weight: 0.25, UserError: 0.01, ProviderError: 0.001, Fraud: 0.01})
	assert.Equal(t, simulate.Config{
		Params: want,
		Seed:   42,
		Mode:   simulate.Counter,
		Incidents: []simulate.Incident{
			{Name: "errors", Start: 2 * time.Hour, Duration: 15 * time.Minute, Changes: []simulate.Change{
				{Param: "PageError400", Value: 0.2},
				{Provider: "b", Param: "ProviderError", Value: 0.3},
			}},
			{Name: "quiet", Duration: 10 * time.Minute, Changes: []simulate.Change{{Param: "TrafficMultiplier", Value: 0}}},
		},
	}, sim.Config)

	// The result is a configuration the simulator accepts, and it dispatches
	// the new provider's values.
	sm, err := simulate.New(sim.Config, sim.Interval)
	require.NoError(t, err)
	assert.Contains(t, sm.Names(), "payment-provider-e.fraud")
	assert.Equal(t, []string{"errors"}, sm.ActiveIncidents(int64(2*time.Hour/time.Second)))
	assert.Equal(t, []string{"quiet"}, sm.ActiveIncidents(0))
}

func TestParseSimulationDefaults(t *testing.T) {
	s := parseOne(t, bare("Simulation"))
	assert.Equal(t, &conf.Simulation{Config: simulate.Config{Params: simulate.DefaultParams(), Mode: simulate.Gauge}}, s.Simulation)
	assert.False(t, s.Simulation.SeedSet, "no Seed: the plugin picks one")
	assert.Empty(t, s.Rules)
}

// Seed 0 is a seed like any other: SeedSet tells it from no Seed.
func TestParseSimulationSeedZero(t *testing.T) {
	sim := parseOne(t, bare("Simulation", opt("Seed", 0))).Simulation
	assert.True(t, sim.SeedSet)
	assert.Zero(t, sim.Config.Seed)
	sim = parseOne(t, bare("Simulation", opt("Seed", 2147483647))).Simulation
	assert.Equal(t, uint64(2147483647), sim.Config.Seed)
}

// Every model parameter can be set by its option name.
func TestParseSimulationEveryModelParameter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value float64
		get   func(p simulate.Params) float64
	}{
		{"PageRate", 1.5, func(p simulate.Params) float64 { return p.PageRate }},
		{"AssetRate", 2.5, func(p simulate.Params) float64 { return p.AssetRate }},
		{"SessionRate", 3.5, func(p simulate.Params) float64 { return p.SessionRate }},
		{"PaymentRate", 4.5, func(p simulate.Params) float64 { return p.PaymentRate }},
		{"TrafficMultiplier", 5.5, func(p simulate.Params) float64 { return p.TrafficMultiplier }},
		{"PageError400", 0.25, func(p simulate.Params) float64 { return p.Page.Error400 }},
		{"PageError500", 0.35, func(p simulate.Params) float64 { return p.Page.Error500 }},
		{"AssetError400", 0.45, func(p simulate.Params) float64 { return p.Asset.Error400 }},
		{"AssetError500", 0.55, func(p simulate.Params) float64 { return p.Asset.Error500 }},
		{"PageLatencyMean", 123, func(p simulate.Params) float64 { return p.PageLatency.Mean }},
		{"PageLatencyStdDev", 12, func(p simulate.Params) float64 { return p.PageLatency.StdDev }},
		{"AssetLatencyMean", 7, func(p simulate.Params) float64 { return p.AssetLatency.Mean }},
		{"AssetLatencyStdDev", 0.7, func(p simulate.Params) float64 { return p.AssetLatency.StdDev }},
	} {
		sim := parseOne(t, bare("Simulation", opt(tc.name, tc.value))).Simulation
		assert.Equal(t, tc.value, tc.get(sim.Config.Params), tc.name)
		// Nothing else changed.
		p := sim.Config.Params
		require.NoError(t, p.Set(tc.name, tc.get(simulate.DefaultParams())))
		assert.Equal(t, simulate.DefaultParams(), p, tc.name)
	}
	for _, tc := range []struct {
		name string
		get  func(p simulate.Provider) float64
	}{
		{"Weight", func(p simulate.Provider) float64 { return p.Weight }},
		{"UserError", func(p simulate.Provider) float64 { return p.UserError }},
		{"ProviderError", func(p simulate.Provider) float64 { return p.ProviderError }},
		{"Fraud", func(p simulate.Provider) float64 { return p.Fraud }},
	} {
		sim := parseOne(t, bare("Simulation", named("Provider", "c", opt(tc.name, 0.125)))).Simulation
		assert.Equal(t, 0.125, tc.get(sim.Config.Params.Providers[2]), tc.name)
		assert.Equal(t, "c", sim.Config.Params.Providers[2].Name)
		assert.Equal(t, simulate.DefaultParams().Providers[1], sim.Config.Params.Providers[1], "other providers unchanged")
	}
}

func TestParseSimulationModes(t *testing.T) {
	for value, want := range map[string]simulate.Mode{"gauge": simulate.Gauge, "counter": simulate.Counter, "GAUGE": simulate.Gauge, "Counter": simulate.Counter} {
		sim := parseOne(t, bare("Simulation", opt("Mode", value))).Simulation
		assert.Equal(t, want, sim.Config.Mode, value)
	}
}

// Changing a provider twice, or in two places, adds up; a provider that is
// already known needs no Weight.
func TestParseSimulationProviderBlocksAddUp(t *testing.T) {
	sim := parseOne(t, bare("Simulation",
		named("Provider", "x", opt("Weight", 1)),
		named("Provider", "x", opt("Fraud", 0.5)),
		named("Provider", "d", opt("UserError", 0.2)),
	)).Simulation
	ps := sim.Config.Params.Providers
	require.Len(t, ps, 5)
	assert.Equal(t, simulate.Provider{Name: "x", Weight: 1, UserError: 0.01, ProviderError: 0.001, Fraud: 0.5}, ps[4])
	assert.Equal(t, 0.2, ps[3].UserError)
	assert.Equal(t, 0.2, ps[3].Weight)
}

func TestParseIncidentStartDefaultsToZero(t *testing.T) {
	sim := parseOne(t, bare("Simulation", named("Incident", "now", opt("Duration", 60)))).Simulation
	require.Len(t, sim.Config.Incidents, 1)
	assert.Equal(t, simulate.Incident{Name: "now", Duration: time.Minute}, sim.Config.Incidents[0])
}

// <Profile> shapes the simulated traffic: a daily curve, weekdays, a wander.
func TestParseSimulationProfile(t *testing.T) {
	s := parseOne(t, bare("Simulation", bare("Profile",
		opt("DailyAmplitude", 0.7), opt("PeakHour", 15), opt("Weekdays", 0.8, 1, 1, 1, 1, 1.2, 0.9),
		opt("WanderStdDev", 0.1), opt("WanderTime", "2h"), opt("LatencyLoad", 0.2))))
	assert.Equal(t, simulate.Profile{DailyAmplitude: 0.7, PeakHour: 15, Weekdays: [7]float64{0.8, 1, 1, 1, 1, 1.2, 0.9},
		WanderStdDev: 0.1, WanderTime: 2 * time.Hour, LatencyLoad: 0.2}, s.Simulation.Config.Profile)
	s = parseOne(t, bare("Simulation", bare("Profile",
		opt("Hours", 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 1, 1.2, 1.3, 1.4, 1.5, 1.4, 1.3, 1.3, 1.3, 1.4, 1.6, 1.8, 1.9, 1.5, 1, 0.5))))
	assert.Equal(t, [24]float64{0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 1, 1.2, 1.3, 1.4, 1.5, 1.4, 1.3, 1.3, 1.3, 1.4, 1.6, 1.8, 1.9, 1.5, 1, 0.5},
		s.Simulation.Config.Profile.Hours)

	for _, tc := range []struct {
		block config.Block
		want  string
	}{
		{bare("Profile", opt("DailyAmplitude", 1.5)), "DailyAmplitude = 1.5: must be at least 0 and below 1"},
		{bare("Profile", opt("Weekdays", 1, 2)), "want 7 numbers: the weights of Sunday to Saturday"},
		{bare("Profile", opt("WanderStdDev", 0.1)), "WanderTime must be positive when WanderStdDev is set"},
		{bare("Profile", opt("Amplitude", 0.5)), `unknown option "Amplitude" (options: DailyAmplitude, PeakHour, Hours, Weekdays, WanderStdDev, WanderTime, LatencyLoad)`},
		{bare("Profile", opt("Hours", 1, 2, 3)), "option Hours 1 2 3: want 24 numbers: the weights of 0:00 to 23:00"},
		{bare("Profile", opt("DailyAmplitude", 0.5), opt("Hours", 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2)),
			"Hours and DailyAmplitude: set one daily curve, not both"},
	} {
		_, err := conf.Parse(pluginBlock(bare("Simulation", tc.block)))
		assert.ErrorContains(t, err, tc.want)
	}
}
