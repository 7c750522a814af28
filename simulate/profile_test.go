package simulate

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat"
)

// A Monday, 00:00 UTC.
var profileStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// The daily curve peaks at PeakHour at 1 + amplitude, bottoms out twelve
// hours later at 1 - amplitude, and averages exactly 1 over a day; the
// weekday weights average 1 over a week.
func TestProfileDailyAndWeeklyShape(t *testing.T) {
	p := Profile{DailyAmplitude: 0.7, PeakHour: 15, Weekdays: [7]float64{0.8, 1, 1, 1, 1, 1.2, 1}}
	require.NoError(t, p.Validate())
	s := newProfileState(p, profileStart, 1)
	monday := s.weekday[time.Monday]
	assert.InDelta(t, 1.7*monday, s.load(15*time.Hour), 1e-12, "the peak")
	assert.InDelta(t, 0.3*monday, s.load(3*time.Hour), 1e-12, "the trough")
	sum, week := 0.0, 0.0
	for m := range 24 * 60 {
		sum += s.load(time.Duration(m) * time.Minute)
	}
	assert.InDelta(t, monday, sum/(24*60), 1e-9, "the daily curve's mean")
	for d := range 7 {
		week += s.weekday[d]
	}
	assert.InDelta(t, 7, week, 1e-12)
	assert.InDelta(t, 1.2*7/7.0, s.weekday[time.Friday], 1e-12)
}

// Hourly weights: the load at each full hour is its weight against their
// mean, linear between hours, and the day's mean is exactly 1 (the
// trapezoids of a cyclic linear curve sum to the weights' mean).
func TestProfileHourlyWeights(t *testing.T) {
	var p Profile
	for h := range 24 {
		p.Hours[h] = 1
	}
	p.Hours[7], p.Hours[8], p.Hours[20] = 0.2, 2, 3 // mean (21 + 5.2)/24
	require.NoError(t, p.Validate())
	assert.False(t, p.Flat())
	s := newProfileState(p, profileStart, 1) // a Monday at 0:00
	mean := (21 + 5.2) / 24
	monday := s.weekday[time.Monday]
	assert.InDelta(t, 3/mean, s.load(20*time.Hour), 1e-12, "the peak")
	assert.InDelta(t, 1.1/mean, s.load(7*time.Hour+30*time.Minute), 1e-12, "half way up the morning")
	sum := 0.0
	for m := range 24 * 60 {
		sum += s.load(time.Duration(m) * time.Minute)
	}
	assert.InDelta(t, monday, sum/(24*60), 1e-9, "the day's mean")
}

// The wander is a stationary AR(1) of the stated standard deviation whose
// correlation falls to 1/e in WanderTime, and its factor averages 1.
// Twelve weeks at a correlation time of 2 h hold about T/(2 tau) = 504
// independent stretches: a sample variance within 4.5 standard errors
// sqrt(2/504) = 0.063 of sigma^2, a lag-tau correlation within 4.5 x
// 1/sqrt(504) = 0.2 of 1/e, a mean within 4.5 x sigma/sqrt(504).
func TestProfileWanderIsAStationaryAR1(t *testing.T) {
	const sd = 0.1
	p := Profile{WanderStdDev: sd, WanderTime: 2 * time.Hour}
	s := newProfileState(p, profileStart, 7)
	weeks := 12 * 7 * 24 * time.Hour
	step := p.WanderTime / wanderKnotsPerTime
	var w, factor []float64
	for at := time.Duration(0); at < weeks; at += step {
		w = append(w, s.wander(at))
		factor = append(factor, s.load(at))
	}
	const nEff = 504.0
	mean, variance := stat.MeanVariance(w, nil)
	assert.InDelta(t, 0, mean, kSE*sd/math.Sqrt(nEff))
	assert.InDelta(t, sd*sd, variance, kSE*sd*sd*math.Sqrt(2/nEff))
	lag := int(wanderKnotsPerTime)
	rho := stat.Correlation(w[:len(w)-lag], w[lag:], nil)
	assert.InDelta(t, math.Exp(-1), rho, kSE/math.Sqrt(nEff))
	assert.InDelta(t, 1, stat.Mean(factor, nil), kSE*sd/math.Sqrt(nEff))
}

// The profile scales every count: a day of pages totals what the flat
// model's does (the daily curve averages 1), each hour follows the curve,
// and a wandering load makes counts over-dispersed, Var = m + m^2 sd^2.
func TestProfileScalesTheCounts(t *testing.T) {
	const interval = 10 * time.Second
	perDay := int(24 * time.Hour / interval)
	daily := Config{Params: DefaultParams(), Seed: 3, Start: profileStart,
		Profile: Profile{DailyAmplitude: 0.7, PeakHour: 15}}
	pages := run(t, daily, interval, perDay)["page-hits-total"]
	m := DefaultParams().PageRate * interval.Seconds()
	total := 0.0
	for _, x := range pages {
		total += x
	}
	want := m * float64(perDay)
	assert.InDelta(t, want, total, kSE*math.Sqrt(want), "a day's pages")
	hour := func(h int) float64 {
		sum := 0.0
		for _, x := range pages[h*360 : (h+1)*360] {
			sum += x
		}
		return sum
	}
	// 15:00-16:00 has a mean load of 1 + 0.7 x mean(cos) over the hour.
	peak := m * 360 * (1 + 0.7*math.Sin(math.Pi/12)/(math.Pi/12))
	assert.InDelta(t, peak, hour(15), kSE*math.Sqrt(peak), "the peak hour")

	const sd = 0.3
	wander := Config{Params: DefaultParams(), Seed: 5, Start: profileStart,
		Profile: Profile{WanderStdDev: sd, WanderTime: 30 * time.Minute}}
	counts := run(t, wander, interval, 14*perDay)["page-hits-total"]
	mean, variance := stat.MeanVariance(counts, nil)
	// The factor's variance is exp(sd^2) - 1, slightly above sd^2.
	wantVar := m + m*m*(math.Exp(sd*sd)-1)
	assert.InEpsilon(t, wantVar, variance, 0.25, "over-dispersed: mean %.1f variance %.1f", mean, variance)
	flat := run(t, Config{Params: DefaultParams(), Seed: 5}, interval, 14*perDay)["page-hits-total"]
	_, flatVar := stat.MeanVariance(flat, nil)
	assert.InEpsilon(t, m, flatVar, 0.05, "the flat model is Poisson")
}

// Latency rises with load when LatencyLoad says so.
func TestProfileLatencyRisesWithLoad(t *testing.T) {
	const interval = 10 * time.Second
	c := Config{Params: DefaultParams(), Seed: 9, Start: profileStart,
		Profile: Profile{DailyAmplitude: 0.5, PeakHour: 12, LatencyLoad: 0.4}}
	lat := run(t, c, interval, 8640)["page-latency-mean"]
	// At noon the load is 1.5: the mean 150 x (1 + 0.4 x 0.5) = 180 ms; at
	// midnight 0.5: 150 x 0.8 = 120 ms. An hour of 360 draws of sd 50.
	noon, night := stat.Mean(lat[12*360-180:12*360+180], nil), stat.Mean(lat[:180], nil)
	assert.InDelta(t, 180, noon, kSE*50/math.Sqrt(360)+2)
	assert.InDelta(t, 120, night, kSE*50/math.Sqrt(180)+2)
}

func TestProfileValidate(t *testing.T) {
	for _, tc := range []struct {
		p    Profile
		want string
	}{
		{Profile{DailyAmplitude: 1}, "DailyAmplitude = 1: must be at least 0 and below 1"},
		{Profile{PeakHour: 24}, "PeakHour = 24"},
		{Profile{WanderStdDev: 0.1}, "WanderTime must be positive"},
		{Profile{Weekdays: [7]float64{1, -1}}, "Weekdays[1] = -1"},
		{Profile{LatencyLoad: math.NaN()}, "LatencyLoad = NaN"},
		{Profile{Hours: [24]float64{1, -1}}, "Hours[1] = -1"},
		{Profile{Hours: [24]float64{1}, DailyAmplitude: 0.5}, "set one daily curve, not both"},
	} {
		err := Config{Params: DefaultParams(), Profile: tc.p}.Validate()
		assert.ErrorContains(t, err, tc.want)
	}
	assert.True(t, (&Profile{}).Flat())
}

// Steps stay a pure function of the step: in any order, the same values.
func TestProfileStepsAreAPureFunction(t *testing.T) {
	c := Config{Params: DefaultParams(), Seed: 11, Start: profileStart,
		Profile: Profile{DailyAmplitude: 0.7, WanderStdDev: 0.1, WanderTime: time.Hour}}
	a, err := New(c, 10*time.Second)
	require.NoError(t, err)
	b, err := New(c, 10*time.Second)
	require.NoError(t, err)
	at5000 := append([]Value(nil), a.Step(5000)...)
	a.Step(3)
	b.Step(3)
	assert.Equal(t, at5000, b.Step(5000))
	assert.Equal(t, at5000, a.Step(5000))
}
