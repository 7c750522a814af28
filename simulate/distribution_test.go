package simulate

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

const week = 7 * 24 * time.Hour

func busyPayments() Params {
	p := DefaultParams()
	p.PaymentRate = 100 // the class revision's rate, so every outcome has counts
	return p
}

// customParams moves every weight away from its default, including a provider that
// is never chosen and one that never fails, and provider weights that do not sum
// to 1, so that the tests cannot pass by accident of the defaults.
func customParams() Params {
	p := busyPayments()
	p.Page = Responses{Error400: 0.2, Error500: 0.05}
	p.Asset = Responses{Error400: 0.01, Error500: 0.3}
	p.Providers = []Provider{
		{Name: "a", Weight: 2, Fraud: 0.3},
		{Name: "b", Weight: 1, UserError: 0.5, ProviderError: 0.2, Fraud: 0.01},
		{Name: "c", Weight: 1},
		{Name: "d", Weight: 0, UserError: 0.1},
	}
	return p
}

func TestCountsArePoisson(t *testing.T) {
	tests := []struct {
		name     string
		params   Params
		interval time.Duration
		steps    int
	}{
		{"defaults, 10 s, one week", DefaultParams(), 10 * time.Second, int(week / (10 * time.Second))},
		{"busy payments, 1 s", busyPayments(), time.Second, 20000},
		{"custom weights, traffic x3, 2.5 s", func() Params {
			p := customParams()
			p.TrafficMultiplier = 3
			return p
		}(), 2500 * time.Millisecond, 20000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			series := run(t, Config{Params: tt.params, Seed: 11}, tt.interval, tt.steps)
			want := expectedMeans(tt.params, tt.interval)
			assert.Len(t, want, len(series)-2, "every count has an expected mean (latencies aside)")
			for name, lambda := range want {
				assertPoisson(t, name, series[name], lambda)
			}
			for k := range tt.steps {
				for _, kind := range []string{"page", "asset"} {
					total := series[kind+"-hits-total"][k]
					responses := series[kind+"-response-200"][k] + series[kind+"-response-400"][k] + series[kind+"-response-500"][k]
					if total != responses {
						t.Fatalf("step %d: %s-hits-total %v != sum of responses %v", k, kind, total, responses)
					}
				}
			}
		})
	}
}

func TestOutcomeSharesChiSquare(t *testing.T) {
	const steps = 20000
	for _, tt := range []struct {
		name   string
		params Params
	}{
		{"defaults with busy payments", busyPayments()},
		{"custom weights", customParams()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.params
			series := run(t, Config{Params: p, Seed: 12}, time.Second, steps)
			responses := func(kind string, r Responses) {
				assertChiSquare(t, kind+" responses",
					[]float64{sum(series[kind+"-response-200"]), sum(series[kind+"-response-400"]), sum(series[kind+"-response-500"])},
					[]float64{1 - r.Error400 - r.Error500, r.Error400, r.Error500})
			}
			responses("page", p.Page)
			responses("asset", p.Asset)

			var chosen, weights []float64
			for _, pr := range p.Providers {
				n := "payment-provider-" + pr.Name + "."
				var byOutcome []float64
				for _, o := range outcomes {
					byOutcome = append(byOutcome, sum(series[n+o]))
				}
				assertChiSquare(t, "provider "+pr.Name+" outcomes", byOutcome,
					[]float64{1 - pr.UserError - pr.ProviderError - pr.Fraud, pr.UserError, pr.ProviderError, pr.Fraud})
				chosen = append(chosen, sum(byOutcome))
				weights = append(weights, pr.Weight)
			}
			assertChiSquare(t, "provider choice", chosen, weights)
		})
	}
}

// assertLatency checks a latency series against the clamped normal distribution: the
// mean within kSE standard errors sqrt(var/N), and the sample variance within kSE
// standard errors sqrt((mu4 - var^2)/N), with the fourth central moment mu4
// estimated from the sample (the clamp makes the exact one unwieldy).
func assertLatency(t *testing.T, name string, x []float64, l Latency) {
	t.Helper()
	n := float64(len(x))
	wantMean, wantVar := rectifiedNormal(l.Mean, l.StdDev)
	mean, variance := stat.MeanVariance(x, nil)
	assert.InDelta(t, wantMean, mean, kSE*math.Sqrt(wantVar/n), "%s: mean", name)
	m4 := stat.MomentAbout(4, x, wantMean, nil)
	assert.InDelta(t, wantVar, variance, kSE*math.Sqrt((m4-wantVar*wantVar)/n), "%s: variance", name)
}

func TestLatencyDistribution(t *testing.T) {
	const steps = 20000
	p := DefaultParams()
	series := run(t, Config{Params: p, Seed: 13}, 10*time.Second, steps)
	assertLatency(t, "page", series["page-latency-mean"], p.PageLatency)
	assertLatency(t, "asset", series["asset-latency-mean"], p.AssetLatency)

	p.PageLatency = Latency{Mean: 300, StdDev: 5}
	p.AssetLatency = Latency{Mean: 42, StdDev: 0}
	series = run(t, Config{Params: p, Seed: 13}, 10*time.Second, steps)
	assertLatency(t, "page", series["page-latency-mean"], p.PageLatency)
	for _, v := range series["asset-latency-mean"] {
		if v != 42 {
			t.Fatalf("asset latency with StdDev 0 = %v, want exactly the mean 42", v)
		}
	}
}

func TestLatencyClampedAtZero(t *testing.T) {
	const steps = 20000
	for _, l := range []Latency{
		{Mean: -10, StdDev: 20},   // mostly below 0
		{Mean: 150, StdDev: 1000}, // a huge spread
		{Mean: -5, StdDev: 0},     // always below 0
	} {
		p := DefaultParams()
		p.PageLatency, p.AssetLatency = l, l
		series := run(t, Config{Params: p, Seed: 14}, 10*time.Second, steps)
		for _, name := range []string{"page-latency-mean", "asset-latency-mean"} {
			x := series[name]
			var zeros float64
			for _, v := range x {
				if v < 0 || math.Signbit(v) {
					t.Fatalf("%v: %s = %v, want >= 0", l, name, v)
				}
				if v == 0 {
					zeros++
				}
			}
			// Each draw is clamped with probability q = P(X <= 0); the number of zeros
			// is Binomial(N, q) with standard error sqrt(q(1-q)/N) of its share.
			q := distuv.UnitNormal.CDF(-l.Mean / l.StdDev)
			if l.StdDev == 0 {
				q = 1
			}
			assert.InDelta(t, q, zeros/steps, kSE*math.Sqrt(q*(1-q)/steps), "%v: %s share of zeros", l, name)
			wantMean, wantVar := rectifiedNormal(l.Mean, l.StdDev)
			assert.InDelta(t, wantMean, stat.Mean(x, nil), kSE*math.Sqrt(wantVar/steps), "%v: %s mean", l, name)
		}
	}
}

func TestIndependentQuantitiesAreUncorrelated(t *testing.T) {
	// Quantities the model draws independently must not share random numbers. For
	// independent series the sample correlation is approximately Normal(0, 1/N), so
	// |r| must stay below kSE/sqrt(N). (Responses are left out: they sum to the hits.)
	const steps = 20000
	series := run(t, Config{Params: busyPayments(), Seed: 15}, time.Second, steps)
	payments := make([]float64, steps)
	for name, x := range series {
		if strings.HasPrefix(name, "payment-") {
			floats.Add(payments, x)
		}
	}
	independent := map[string][]float64{
		"page-hits-total":    series["page-hits-total"],
		"asset-hits-total":   series["asset-hits-total"],
		"page-latency-mean":  series["page-latency-mean"],
		"asset-latency-mean": series["asset-latency-mean"],
		"new-sessions":       series["new-sessions"],
		"payments":           payments,
	}
	for a, x := range independent {
		for b, y := range independent {
			if a < b {
				r := stat.Correlation(x, y, nil)
				assert.Less(t, math.Abs(r), kSE/math.Sqrt(steps), "correlation of %s and %s", a, b)
			}
		}
	}
}
