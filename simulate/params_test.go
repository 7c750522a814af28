package simulate

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultParams(t *testing.T) {
	p := DefaultParams()
	require.NoError(t, p.Validate())
	assert.Equal(t, 11.5, p.PageRate)
	assert.Equal(t, 100.0, p.AssetRate)
	assert.Equal(t, 2.4, p.SessionRate)
	assert.Equal(t, 0.012, p.PaymentRate)
	assert.Equal(t, 1.0, p.TrafficMultiplier)
	assert.Equal(t, Responses{Error400: 0.006, Error500: 0.001}, p.Page)
	assert.Equal(t, Responses{Error400: 0.008, Error500: 0.00012}, p.Asset)
	assert.Equal(t, Latency{Mean: 150, StdDev: 50}, p.PageLatency)
	assert.Equal(t, Latency{Mean: 10, StdDev: 1}, p.AssetLatency)
	require.Len(t, p.Providers, 4)
	for i, w := range []float64{0.4, 0.3, 0.1, 0.2} {
		assert.Equal(t, Provider{Name: string(rune('a' + i)), Weight: w, UserError: 0.01, ProviderError: 0.001, Fraud: 0.003}, p.Providers[i])
	}
	// Each call returns its own providers.
	p.Providers[0].Weight = 9
	assert.Equal(t, 0.4, DefaultParams().Providers[0].Weight)
}

func TestSet(t *testing.T) {
	p := DefaultParams()
	for i, d := range globalParams {
		v := 0.001 * float64(i+1)
		require.NoError(t, p.Set(d.name, v), d.name)
		assert.Equal(t, v, *d.field(&p), d.name)
	}
	require.NoError(t, p.Set("pAgElAtEnCyMeAn", -20), "case-insensitive; a negative mean is clamped later")
	assert.Equal(t, -20.0, p.PageLatency.Mean)

	require.NoError(t, p.SetProvider("b", "fraud", 0.3))
	require.NoError(t, p.SetProvider("b", "WEIGHT", 7))
	assert.Equal(t, Provider{Name: "b", Weight: 7, UserError: 0.01, ProviderError: 0.001, Fraud: 0.3}, p.Providers[1])
}

func TestSetErrors(t *testing.T) {
	tests := []struct {
		name  string
		value float64
		want  string
	}{
		{"NoSuchThing", 1, `unknown parameter "NoSuchThing"`},
		{"PageRate", -1, "PageRate = -1: must not be negative"},
		{"trafficmultiplier", -0.5, "TrafficMultiplier = -0.5"},
		{"SessionRate", math.Inf(1), "SessionRate = +Inf: must be a finite number"},
		{"PageError400", 1.5, "PageError400 = 1.5: must be between 0 and 1"},
		{"AssetError500", -0.1, "AssetError500 = -0.1"},
		{"PageLatencyMean", math.NaN(), "PageLatencyMean = NaN"},
		{"AssetLatencyStdDev", -1, "AssetLatencyStdDev = -1"},
	}
	for _, tt := range tests {
		p := DefaultParams()
		err := p.Set(tt.name, tt.value)
		require.Error(t, err, tt.name)
		assert.Contains(t, err.Error(), tt.want)
		assert.Equal(t, DefaultParams(), p, "a rejected Set leaves the parameters unchanged")
	}

	p := DefaultParams()
	assert.ErrorContains(t, p.SetProvider("e", "Fraud", 0.1), `unknown payment provider "e"`)
	assert.ErrorContains(t, p.SetProvider("A", "Fraud", 0.1), `"A"`, "provider names match exactly")
	assert.ErrorContains(t, p.SetProvider("a", "Popularity", 1), `"Popularity"`)
	assert.ErrorContains(t, p.SetProvider("a", "Fraud", 1.2), "provider a Fraud = 1.2")
	assert.ErrorContains(t, p.SetProvider("c", "Weight", -1), "provider c Weight = -1")
	assert.Equal(t, DefaultParams(), p)
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *Params)
		want   []string
	}{
		{"page errors sum", func(p *Params) { p.Page = Responses{Error400: 0.7, Error500: 0.4} }, []string{"PageError400 + PageError500 = 1."}},
		{"asset errors sum", func(p *Params) { p.Asset = Responses{Error400: 0.9, Error500: 0.2} }, []string{"AssetError400 + AssetError500"}},
		{"field out of range", func(p *Params) { p.Page.Error500 = 2 }, []string{"PageError500 = 2"}},
		{"NaN", func(p *Params) { p.AssetLatency.StdDev = math.NaN() }, []string{"AssetLatencyStdDev = NaN"}},
		{"outcome sum", func(p *Params) { p.Providers[2].UserError, p.Providers[2].Fraud = 0.6, 0.5 }, []string{"provider c UserError + ProviderError + Fraud = 1."}},
		{"provider field", func(p *Params) { p.Providers[3].ProviderError = -1 }, []string{"provider d ProviderError = -1"}},
		{"no weight", func(p *Params) {
			for i := range p.Providers {
				p.Providers[i].Weight = 0
			}
		}, []string{"PaymentRate = 0.012", "Weight"}},
		{"no providers", func(p *Params) { p.Providers = nil }, []string{"PaymentRate", "Weight"}},
		{"duplicate provider", func(p *Params) { p.Providers[1].Name = "a" }, []string{`provider "a" is configured twice`}},
		{"empty provider name", func(p *Params) { p.Providers[1].Name = "" }, []string{"provider 2", "empty"}},
		{"bad provider name", func(p *Params) { p.Providers[1].Name = "b/x" }, []string{`"b/x"`}},
		{"two errors", func(p *Params) { p.PageRate, p.SessionRate = -1, -2 }, []string{"PageRate = -1", "SessionRate = -2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultParams()
			tt.change(&p)
			err := p.Validate()
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}

	// Valid edge cases: weights summing to 1 up to rounding, no payments and no
	// providers, or providers that are never chosen while nobody pays.
	p := DefaultParams()
	p.Page = Responses{Error400: 0.7, Error500: 0.3}
	p.Providers[0].UserError, p.Providers[0].ProviderError, p.Providers[0].Fraud = 0.7, 0.2, 0.1
	assert.NoError(t, p.Validate())
	p.PaymentRate, p.Providers = 0, nil
	assert.NoError(t, p.Validate())
	p = DefaultParams()
	p.TrafficMultiplier = 0
	for i := range p.Providers {
		p.Providers[i].Weight = 0
	}
	assert.NoError(t, p.Validate())
}

func TestMode(t *testing.T) {
	for s, want := range map[string]Mode{"gauge": Gauge, "Counter": Counter, " COUNTER ": Counter, "GAUGE": Gauge} {
		m, err := ParseMode(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, m, s)
	}
	_, err := ParseMode("derive")
	assert.ErrorContains(t, err, `"derive"`)
	assert.Equal(t, "gauge", Gauge.String())
	assert.Equal(t, "counter", Counter.String())
	assert.Equal(t, "Mode(3)", Mode(3).String())
}
