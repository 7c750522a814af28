package simulate

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Tolerances of the statistical tests. They come from the sampling distributions,
// not from tuning against the fixed seeds:
//
// kSE: a sample mean (or variance) over thousands of independent steps is close to
// normal (central limit theorem), so it lies within kSE standard errors of its
// expectation except with probability P(|Z| > 4.5) = 6.8e-6. The suite makes about
// 150 such checks, so a correct model would fail one for a random seed with
// probability about 1e-3; a modelling error of the size of a wrong weight or rate
// moves the estimate by hundreds of standard errors.
//
// chiSquareAlpha: the significance level of each chi-square goodness-of-fit test; with
// about 15 such tests the family-wise false-failure probability is about 1.5e-3.
const (
	kSE            = 4.5
	chiSquareAlpha = 1e-4
)

// minMeanCount is the smallest expected total count (lambda x steps) for which the
// normal approximation behind kSE is trusted; rarer counts are only checked for
// being whole, non-negative numbers (and exactly 0 when their rate is 0).
const minMeanCount = 1000

// run simulates n steps and returns each TypeInstance's series.
func run(t testing.TB, c Config, interval time.Duration, n int) map[string][]float64 {
	t.Helper()
	s, err := New(c, interval)
	require.NoError(t, err)
	series := make(map[string][]float64)
	for _, name := range s.Names() {
		series[name] = make([]float64, n)
	}
	for k := range n {
		for _, v := range s.Step(int64(k)) {
			series[v.TypeInstance][k] = v.Value
		}
	}
	return series
}

// snapshot copies a step's values, which the next Step call overwrites.
func snapshot(s *Simulator, step int64) []Value {
	return append([]Value(nil), s.Step(step)...)
}

// expectedMeans returns each count's expected value per interval, derived from the
// model description rather than from the implementation: a Poisson count split by a
// multinomial draw gives independent Poisson counts per outcome (thinning), with the
// rate multiplied by the outcome's probability.
func expectedMeans(p Params, interval time.Duration) map[string]float64 {
	f := p.TrafficMultiplier * interval.Seconds()
	page, asset, payment := p.PageRate*f, p.AssetRate*f, p.PaymentRate*f
	m := map[string]float64{
		"page-hits-total":    page,
		"page-response-500":  page * p.Page.Error500,
		"page-response-400":  page * p.Page.Error400,
		"page-response-200":  page * (1 - p.Page.Error400 - p.Page.Error500),
		"asset-hits-total":   asset,
		"asset-response-500": asset * p.Asset.Error500,
		"asset-response-400": asset * p.Asset.Error400,
		"asset-response-200": asset * (1 - p.Asset.Error400 - p.Asset.Error500),
		"new-sessions":       p.SessionRate * f,
	}
	var total float64
	for _, pr := range p.Providers {
		total += pr.Weight
	}
	for _, pr := range p.Providers {
		a := payment * pr.Weight / total
		n := "payment-provider-" + pr.Name + "."
		m[n+"success"] = a * (1 - pr.UserError - pr.ProviderError - pr.Fraud)
		m[n+"user_error"] = a * pr.UserError
		m[n+"provider_error"] = a * pr.ProviderError
		m[n+"fraud"] = a * pr.Fraud
	}
	return m
}

// assertPoisson checks that x looks like independent Poisson(lambda) draws: its mean
// within kSE standard errors sqrt(lambda/N) of lambda, and its sample variance within
// kSE standard errors of lambda, where Var(s^2) ~ (mu4 - sigma^4)/N and a Poisson
// distribution has mu4 = lambda(1+3 lambda), sigma^4 = lambda^2.
func assertPoisson(t *testing.T, name string, x []float64, lambda float64) {
	t.Helper()
	for _, v := range x {
		if v < 0 || v != math.Trunc(v) {
			t.Errorf("%s: count %v is not a non-negative whole number", name, v)
			return
		}
	}
	n := float64(len(x))
	if lambda == 0 {
		assert.Zero(t, floats.Max(x), "%s: rate 0 must give only zeros", name)
		return
	}
	if lambda*n < minMeanCount {
		return
	}
	mean, variance := stat.MeanVariance(x, nil)
	assert.InDelta(t, lambda, mean, kSE*math.Sqrt(lambda/n), "%s: mean", name)
	assert.InDelta(t, lambda, variance, kSE*math.Sqrt((lambda+2*lambda*lambda)/n), "%s: variance", name)
}

// assertChiSquare tests observed category counts against the shares given by weights
// with Pearson's chi-square goodness-of-fit test at level chiSquareAlpha. Given the
// grand total, counts summed over steps are multinomial with the same shares as one
// step's, so the test applies to the sums. Categories of weight 0 must be empty and
// do not count towards the degrees of freedom.
func assertChiSquare(t *testing.T, what string, observed, weights []float64) {
	t.Helper()
	total, wsum := floats.Sum(observed), floats.Sum(weights)
	var x2 float64
	df := -1
	for i, o := range observed {
		e := total * weights[i] / wsum
		if e == 0 {
			assert.Zero(t, o, "%s: category %d has weight 0", what, i)
			continue
		}
		// Pearson's statistic is only approximately chi-square; the usual rule of
		// thumb asks for at least 5 expected counts per category.
		require.GreaterOrEqual(t, e, 5.0, "%s: category %d: too few expected counts for the test", what, i)
		x2 += (o - e) * (o - e) / e
		df++
	}
	if df <= 0 {
		return // at most one possible category; the checks above cover it
	}
	crit := distuv.ChiSquared{K: float64(df)}.Quantile(1 - chiSquareAlpha)
	assert.Less(t, x2, crit, "%s: chi-square %v with %d degrees of freedom, observed %v, weights %v", what, x2, df, observed, weights)
}

// rectifiedNormal returns the mean and variance of max(0, X) for X ~ Normal(mu, sigma),
// the distribution of a clamped latency.
func rectifiedNormal(mu, sigma float64) (mean, variance float64) {
	if sigma == 0 {
		return max(0, mu), 0
	}
	a := mu / sigma
	cdf, pdf := distuv.UnitNormal.CDF(a), distuv.UnitNormal.Prob(a)
	mean = mu*cdf + sigma*pdf
	second := (mu*mu+sigma*sigma)*cdf + mu*sigma*pdf
	return mean, second - mean*mean
}

func sum(x []float64) float64 { return floats.Sum(x) }
