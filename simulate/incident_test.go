package simulate

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// compareRuns steps a simulator without incidents and one with them side by side.
// Outside the active steps the two must be bit-identical; inside, check decides.
func compareRuns(t *testing.T, base Config, incidents []Incident, steps int64, active func(k int64) bool, check func(k int64, without, with []Value)) {
	t.Helper()
	withC := base
	withC.Incidents = incidents
	a, b := newSim(t, base, 10*time.Second), newSim(t, withC, 10*time.Second)
	for k := range steps {
		without, with := snapshot(a, k), snapshot(b, k)
		if !active(k) {
			require.Equal(t, without, with, "step %d is outside the incident", k)
			require.Empty(t, b.ActiveIncidents(k), "step %d", k)
			continue
		}
		require.NotEmpty(t, b.ActiveIncidents(k), "step %d", k)
		check(k, without, with)
	}
}

func TestIncidentChangesOnlyItsParameterForItsSpan(t *testing.T) {
	// Step k covers [10k s, 10(k+1) s) and follows the state at its start, 10k s. The
	// span [3605 s, 5405 s) begins inside step 360 and ends inside step 540, so steps
	// 361..540 are affected: 360 starts before the span, 540 starts inside it.
	inc := Incident{
		Name: "latency-spike", Start: time.Hour + 5*time.Second, Duration: 30 * time.Minute,
		Changes: []Change{{Param: "PageLatencyStdDev", Value: 500}},
	}
	const first, last = 361, 540
	p := DefaultParams()
	activeSteps := 0
	compareRuns(t, Config{Params: p, Seed: 41}, []Incident{inc}, 800,
		func(k int64) bool { return k >= first && k <= last },
		func(k int64, without, with []Value) {
			activeSteps++
			for i := range with {
				if i != idxPageLatency {
					require.Equal(t, without[i], with[i], "step %d: %s is not named by the incident", k, with[i].TypeInstance)
				}
			}
			// The same standard normal draw z, now scaled by the raised stddev.
			x, y := without[idxPageLatency].Value, with[idxPageLatency].Value
			m := p.PageLatency
			if x == 0 { // clamped: z <= -mean/stddev, so the wider draw is clamped too
				assert.Zero(t, y, "step %d", k)
				return
			}
			z := (x - m.Mean) / m.StdDev
			assert.InDelta(t, max(0, m.Mean+500*z), y, 1e-9, "step %d", k)
		})
	assert.Equal(t, last-first+1, activeSteps)

	s := newSim(t, Config{Params: p, Incidents: []Incident{inc}}, 10*time.Second)
	assert.Empty(t, s.ActiveIncidents(first-1))
	assert.Equal(t, []string{"latency-spike"}, s.ActiveIncidents(first))
	assert.Equal(t, []string{"latency-spike"}, s.ActiveIncidents(last))
	assert.Empty(t, s.ActiveIncidents(last+1))
}

func TestIncidentBoundariesFollowStepStart(t *testing.T) {
	s := newSim(t, Config{Params: DefaultParams(), Incidents: []Incident{
		{Name: "aligned", Start: 20 * time.Second, Duration: 10 * time.Second, Changes: []Change{{Param: "PageRate", Value: 0}}},
		{Name: "straddling", Start: 25 * time.Second, Duration: 10 * time.Second, Changes: []Change{{Param: "PageRate", Value: 0}}},
		// Contains no step start, so no step sees it.
		{Name: "inside-one-interval", Start: 41 * time.Second, Duration: 8 * time.Second, Changes: []Change{{Param: "PageRate", Value: 0}}},
	}}, 10*time.Second)
	want := map[int64][]string{2: {"aligned"}, 3: {"straddling"}}
	for k := range int64(8) {
		assert.Equal(t, want[k], s.ActiveIncidents(k), "step %d", k)
		assert.Equal(t, want[k] != nil, s.Step(k)[idxPageHits].Value == 0, "step %d page hits", k)
	}
}

func TestIncidentsApplyInConfiguredOrder(t *testing.T) {
	a := Incident{Name: "A", Start: 0, Duration: 20 * time.Second, Changes: []Change{
		{Param: "PageLatencyMean", Value: 500}, {Param: "PageLatencyStdDev", Value: 0},
	}}
	b := Incident{Name: "B", Start: 10 * time.Second, Duration: 20 * time.Second, Changes: []Change{
		{Param: "pagelatencymean", Value: 1000}, {Param: "PAGELATENCYSTDDEV", Value: 0},
	}}
	for _, tt := range []struct {
		order   []Incident
		overlap float64
	}{{[]Incident{a, b}, 1000}, {[]Incident{b, a}, 500}} {
		s := newSim(t, Config{Params: DefaultParams(), Incidents: tt.order}, 10*time.Second)
		assert.Equal(t, 500.0, s.Step(0)[idxPageLatency].Value)
		assert.Equal(t, tt.overlap, s.Step(1)[idxPageLatency].Value)
		assert.Equal(t, 1000.0, s.Step(2)[idxPageLatency].Value)
		assert.Len(t, s.ActiveIncidents(1), 2)
		assert.Equal(t, tt.order[0].Name, s.ActiveIncidents(1)[0], "configuration order")
		v := s.Step(3)[idxPageLatency].Value
		assert.NotContains(t, []float64{500, 1000}, v, "back to the base parameters")
	}
}

func TestProviderIncidentChangesOnlyThatProvider(t *testing.T) {
	inc := Incident{Name: "fraud-a", Start: 100 * time.Second, Duration: 100 * time.Second,
		Changes: []Change{{Provider: "a", Param: "Fraud", Value: 0.3}}}
	compareRuns(t, Config{Params: busyPayments(), Seed: 42}, []Incident{inc}, 40,
		func(k int64) bool { return k >= 10 && k < 20 },
		func(k int64, without, with []Value) {
			var attemptsWithout, attemptsWith float64
			for i := range with {
				if strings.HasPrefix(with[i].TypeInstance, "payment-provider-a.") {
					attemptsWithout += without[i].Value
					attemptsWith += with[i].Value
					continue
				}
				require.Equal(t, without[i], with[i], "step %d", k)
			}
			// Provider choice draws from its own stream, so a gets the same attempts.
			assert.Equal(t, attemptsWithout, attemptsWith, "step %d", k)
			// About 400 attempts at 0.3 fraud: some fraud is certain in practice.
			assert.Greater(t, with[idxPayments+3].Value, without[idxPayments+3].Value, "step %d fraud", k)
		})
}

func TestTrafficIncidents(t *testing.T) {
	for _, tt := range []struct {
		change   Change
		silenced func(name string) bool
	}{
		{Change{Param: "TrafficMultiplier", Value: 0}, func(n string) bool { return !strings.Contains(n, "latency") }},
		{Change{Param: "PaymentRate", Value: 0}, func(n string) bool { return strings.HasPrefix(n, "payment-") }},
	} {
		inc := Incident{Name: "outage", Start: time.Minute, Duration: time.Minute, Changes: []Change{tt.change}}
		compareRuns(t, Config{Params: busyPayments(), Seed: 43}, []Incident{inc}, 20,
			func(k int64) bool { return k >= 6 && k < 12 },
			func(k int64, without, with []Value) {
				for i, v := range with {
					if tt.silenced(v.TypeInstance) {
						assert.Zero(t, v.Value, "%s: step %d %s", tt.change.Param, k, v.TypeInstance)
					} else {
						assert.Equal(t, without[i], v, "%s: step %d", tt.change.Param, k)
					}
				}
			})
	}
}

func TestConfigValidate(t *testing.T) {
	inc := func(name string, start, duration time.Duration, changes ...Change) Incident {
		return Incident{Name: name, Start: start, Duration: duration, Changes: changes}
	}
	h := time.Hour
	tests := []struct {
		name      string
		incidents []Incident
		want      []string // substrings of the error; none for a valid config
	}{
		{"valid", []Incident{
			inc("spike", 0, h, Change{Param: "TrafficMultiplier", Value: 3}),
			inc("errors", h/2, h, Change{Param: "PageError500", Value: 0.5}, Change{Provider: "c", Param: "ProviderError", Value: 0.2}),
			inc("no payments", 3*h, h, Change{Param: "PaymentRate", Value: 0}),
			inc("adjacent", 4*h, h, Change{Param: "PageError400", Value: 0.99}),
		}, nil},
		{"unknown parameter", []Incident{inc("bad", 0, h, Change{Param: "PageRat", Value: 1})}, []string{`incident "bad"`, `"PageRat"`}},
		{"unknown provider", []Incident{inc("bad", 0, h, Change{Provider: "z", Param: "Fraud", Value: 0.1})}, []string{`incident "bad"`, `"z"`}},
		{"invalid value", []Incident{inc("bad", 0, h, Change{Param: "PageError400", Value: 2})}, []string{`incident "bad"`, "PageError400 = 2"}},
		{"negative rate", []Incident{inc("bad", 0, h, Change{Param: "AssetRate", Value: -3})}, []string{`incident "bad"`, "AssetRate = -3"}},
		{"sum above 1", []Incident{inc("bad", 0, h, Change{Param: "PageError400", Value: 0.9995})}, []string{`incident "bad"`, "PageError400 + PageError500"}},
		{"no provider left", []Incident{inc("bad", 0, h,
			Change{Provider: "a", Param: "Weight", Value: 0}, Change{Provider: "b", Param: "Weight", Value: 0},
			Change{Provider: "c", Param: "Weight", Value: 0}, Change{Provider: "d", Param: "Weight", Value: 0})}, []string{`incident "bad"`, "Weight"}},
		{"overlapping incidents", []Incident{
			inc("first", 0, h, Change{Param: "AssetError400", Value: 0.6}),
			inc("second", h/2, h, Change{Param: "AssetError500", Value: 0.6}),
		}, []string{`"first"`, `"second"`, "AssetError400 + AssetError500"}},
		{"empty name", []Incident{inc("", 0, h)}, []string{"incident 1", "Name"}},
		{"negative start", []Incident{inc("bad", -time.Second, h)}, []string{`incident "bad"`, "Start"}},
		{"zero duration", []Incident{inc("bad", 0, 0)}, []string{`incident "bad"`, "Duration"}},
		{"overflow", []Incident{inc("bad", math.MaxInt64-10, h)}, []string{`incident "bad"`, "overflows"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Config{Params: DefaultParams(), Incidents: tt.incidents}.Validate()
			if tt.want == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}

	// The same overlapping incidents one after the other are fine.
	assert.NoError(t, Config{Params: DefaultParams(), Incidents: []Incident{
		inc("first", 0, h, Change{Param: "AssetError400", Value: 0.6}),
		inc("second", h, h, Change{Param: "AssetError500", Value: 0.6}),
	}}.Validate())
}

// A change is checked by its name and value, on any provider: the
// configuration and the command line read incidents with it.
func TestChangeCheck(t *testing.T) {
	assert.NoError(t, Change{Param: "PageError500", Value: 0.03}.Check())
	assert.NoError(t, Change{Param: "trafficmultiplier", Value: 3}.Check(), "names are case-insensitive")
	assert.NoError(t, Change{Provider: "z", Param: "ProviderError", Value: 0.05}.Check(), "any provider")
	assert.ErrorContains(t, Change{Param: "PageErrors", Value: 1}.Check(), "PageErrors")
	assert.Error(t, Change{Param: "PageError500", Value: 2}.Check(), "a share above 1")
	assert.Error(t, Change{Provider: "a", Param: "Fraud", Value: -1}.Check())
	assert.Error(t, Change{Provider: "a", Param: "PageRate", Value: 1}.Check(), "not a provider's parameter")
}
