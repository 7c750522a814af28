package detect

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hour is t0 rounded to a clock hour: t0 (12:00 UTC) already is one.
func conversionRule(t *testing.T, th Thresholds) *PeriodRatioRule {
	r, err := NewPeriodRatioRule(RuleSpec{Name: "conversion", Lifecycle: Lifecycle{Hits: 1}}, []Selector{MustSelector("shop/gauge-payments")}, []Selector{MustSelector("shop/gauge-sessions")}, PeriodRatioParams{Period: time.Hour, Scale: 100, Output: "conversion-rate", Thresholds: th})
	require.NoError(t, err)
	return r
}

func TestPeriodRatioEmitsOncePerClockHour(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{conversionRule(t, Unbounded())}, Options{Sink: rec})
	require.NoError(t, err)
	// Start at 11:30: the first (partial) hour is not reported.
	start := t0.Add(-30 * time.Minute)
	for i := 0; i <= 6*150; i++ { // 2.5 hours of 10 s intervals, and the first of 14:00
		ts := start.Add(time.Duration(i) * 10 * time.Second)
		payments := 1.0
		if ts.Hour() == 13 {
			payments = 3
		}
		e.Observe(gaugeList("h", "shop/gauge-sessions", ts, 100))
		e.Observe(gaugeList("h", "shop/gauge-payments", ts, payments))
	}
	require.Len(t, rec.values, 2, "hours 12 and 13 complete, 11 was partial, 14 is open")
	assert.Equal(t, DerivedValue{Host: "h", Name: "conversion-rate", Time: t0.Add(time.Hour), Interval: time.Hour, Value: 1}, rec.values[0])
	assert.Equal(t, t0.Add(2*time.Hour), rec.values[1].Time)
	assert.InDelta(t, 3.0, rec.values[1].Value, 1e-12)
	assert.Empty(t, rec.alerts, "no thresholds, no alerts")
}

func TestPeriodRatioWithoutDenominatorEmitsNothing(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{conversionRule(t, Unbounded())}, Options{Sink: rec})
	require.NoError(t, err)
	for i := 0; i < 6*130; i++ {
		ts := t0.Add(time.Duration(i) * 10 * time.Second)
		e.Observe(gaugeList("h", "shop/gauge-sessions", ts, 0))
		e.Observe(gaugeList("h", "shop/gauge-payments", ts, 0))
	}
	assert.Empty(t, rec.values)
}

func TestPeriodRatioThresholdsAlert(t *testing.T) {
	th := Unbounded()
	th.FailureMin = 0.5
	rec := &recorder{}
	e, err := NewEngine([]Rule{conversionRule(t, th)}, Options{Sink: rec})
	require.NoError(t, err)
	for i := 0; i < 6*190; i++ { // three hours and a bit
		ts := t0.Add(time.Duration(i) * 10 * time.Second)
		payments := 1.0
		if ts.Hour() == 13 {
			payments = 0.2 // 0.2% conversion
		}
		e.Observe(gaugeList("h", "shop/gauge-sessions", ts, 100))
		e.Observe(gaugeList("h", "shop/gauge-payments", ts, payments))
	}
	assert.Equal(t, []string{"FAILURE", "OKAY"}, rec.severities())
	assert.Contains(t, rec.alerts[0].Message, "in the 1h0m0s ending 14:00")
}

// A gap longer than the period must not lose the period that ended in it.
func TestPeriodAccumulatorAcrossAGap(t *testing.T) {
	clock := SlotClock{Origin: t0.Add(-5 * time.Second), Step: 10 * time.Second}
	a := newPeriodAccumulator(clock, time.Minute, 1)
	for s := int64(0); s < 3; s++ {
		a.Add(0, s, 1)
		_, _, ok := a.finished(s)
		assert.False(t, ok)
	}
	a.Add(0, 20, 5) // 200 s later: the minute of slots 0..5 closed unseen
	p, sums, ok := a.finished(20)
	require.True(t, ok)
	assert.Equal(t, t0.Add(time.Minute), a.End(p))
	assert.Equal(t, 3.0, sums[0].Sum)
}

func healthRule(t *testing.T) *HealthRule {
	r, err := NewHealthRule(RuleSpec{Name: "health", Lifecycle: Lifecycle{Hits: 1}}, []Selector{MustSelector("web/gauge-latency")}, []Selector{MustSelector("web/gauge-errors")}, []Selector{MustSelector("web/gauge-requests")}, HealthParams{Period: 5 * time.Minute, LatencyWarning: 300, LatencyFailure: 500, ErrorWarning: 0.02, ErrorFailure: 0.05, MinRequests: 100, Output: "health"})
	require.NoError(t, err)
	return r
}

func TestHealthFunction(t *testing.T) {
	r := healthRule(t)
	nan := math.NaN()
	cases := []struct {
		lat, share float64
		want       Level
	}{
		{150, 0.01, OK}, {350, 0.01, Warning}, {600, 0.01, Failure},
		{150, 0.03, Warning}, {150, 0.06, Failure}, {350, 0.06, Failure},
		{600, 0.03, Failure}, {nan, 0.03, Warning}, {350, nan, Warning}, {nan, nan, OK},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, r.Level(c.lat, c.share), "latency %v share %v", c.lat, c.share)
	}
}

func TestHealthReportsEveryPeriod(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{healthRule(t)}, Options{Sink: rec})
	require.NoError(t, err)
	for i := 0; i < 6*26; i++ { // 26 minutes from 12:00
		ts := t0.Add(time.Duration(i) * 10 * time.Second)
		lat, errs := 150.0, 1.0
		if ts.Minute() >= 10 && ts.Minute() < 15 {
			lat = 400 // warn
		}
		if ts.Minute() >= 15 && ts.Minute() < 20 {
			errs = 10 // 10% errors: error
		}
		e.Observe(gaugeList("h", "web/gauge-latency", ts, lat))
		e.Observe(gaugeList("h", "web/gauge-requests", ts, 100))
		e.Observe(gaugeList("h", "web/gauge-errors", ts, errs))
	}
	// Periods 12:00, :05, :10, :15, :20 are complete; 12:25 is open.
	assert.Equal(t, []string{"OKAY", "OKAY", "WARNING", "FAILURE", "OKAY"}, rec.severities())
	var levels []float64
	for _, v := range rec.values {
		levels = append(levels, v.Value)
		assert.Equal(t, "health", v.Name)
		assert.Equal(t, 5*time.Minute, v.Interval)
	}
	assert.Equal(t, []float64{0, 0, 1, 2, 0}, levels)
	assert.Equal(t, t0.Add(15*time.Minute), rec.alerts[2].Time, "stamped with the end of its period")
	assert.Contains(t, rec.alerts[2].Message, "is warn: latency 400 ms")
	assert.Contains(t, rec.alerts[3].Message, "errors 10% (warn 2%, error 5%)")
}

func TestHealthRejectsBadBounds(t *testing.T) {
	_, err := NewHealthRule(RuleSpec{Name: "h"}, []Selector{MustSelector("a/b")}, []Selector{MustSelector("a/c")}, []Selector{MustSelector("a/d")}, HealthParams{Period: time.Minute, LatencyWarning: 500, LatencyFailure: 300, ErrorWarning: 0.02, ErrorFailure: 0.05, MinRequests: 0, Output: ""})
	assert.ErrorContains(t, err, "LatencyWarning and LatencyFailure")
}

// A rule never receives the series it produces, so a derived value cannot feed itself.
func TestDerivedSeriesIsNotFedBack(t *testing.T) {
	r, err := NewPeriodRatioRule(RuleSpec{Name: "loop"}, []Selector{MustSelector("anomaly/*")}, []Selector{MustSelector("anomaly/*")}, PeriodRatioParams{Period: time.Hour, Scale: 1, Output: "loop", Thresholds: Unbounded()})
	require.NoError(t, err)
	e, err := NewEngine([]Rule{r}, Options{})
	require.NoError(t, err)
	e.Observe(gaugeList("h", "anomaly/gauge-loop", t0, 1))
	e.Observe(gaugeList("h", "anomaly/gauge-other", t0, 1))
	assert.Equal(t, 1, e.Stats().Groups, "only the other series made a group")
}
