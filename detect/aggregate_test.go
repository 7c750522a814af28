package detect

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

func aggregateRule(t *testing.T, r AggregateRule) *AggregateRule {
	t.Helper()
	sel, err := ParseSelector("app/gauge-x")
	require.NoError(t, err)
	if r.Window == 0 {
		r.Window = time.Minute
	}
	if !r.Thresholds.Any() {
		r.Thresholds = Unbounded()
		r.Thresholds.FailureMax = 1e300
	}
	out, err := NewAggregateRule(RuleSpec{Name: "agg", Lifecycle: Lifecycle{Hits: 1}}, []Selector{sel}, r)
	require.NoError(t, err)
	return out
}

// observed feeds xs (NaN: no value) one per 10-second slot and returns the
// last verdict.
func observed(r *AggregateRule, xs ...float64) Verdict {
	st := r.NewState(SlotClock{Origin: t0, Step: 10 * time.Second})
	var v Verdict
	for i, x := range xs {
		if !math.IsNaN(x) {
			st.Add(0, int64(i), x)
		}
		v = st.Evaluate(int64(i), OK)
	}
	return v
}

func TestAggregateFunctions(t *testing.T) {
	nan := math.NaN()
	// A one-minute window: the last six slots.
	xs := []float64{100, 100, 1, 2, 3, nan, 4, 5}
	for f, want := range map[AggregateFunction]float64{
		AggregateMean:   3, // 1..5, the gap no zero
		AggregateMin:    1,
		AggregateMax:    5,
		AggregateSum:    15,
		AggregateMedian: 3,
		AggregateStdDev: math.Sqrt(2.5),
		AggregateRate:   0.25, // 15 in 60 s
	} {
		v := observed(aggregateRule(t, AggregateRule{Function: f}), xs...)
		require.True(t, v.Decided, f.String())
		assert.InDelta(t, want, v.Observed, 1e-12, f.String())
	}
	p := observed(aggregateRule(t, AggregateRule{Function: AggregatePercentile, Percentile: 75}), xs...)
	assert.InDelta(t, 4, p.Observed, 1e-12, "p75 of 1..5")
}

func TestAggregateLineDerivativeAndPrediction(t *testing.T) {
	ramp := make([]float64, 12)
	for i := range ramp {
		ramp[i] = 1000 - 20*float64(i) // -2 a second
	}
	d := observed(aggregateRule(t, AggregateRule{Function: AggregateDerivative}), ramp...)
	assert.InDelta(t, -2, d.Observed, 1e-9)

	th := Unbounded()
	th.FailureMin = 0
	full := aggregateRule(t, AggregateRule{Function: AggregatePredict, Horizon: 10 * time.Minute, Thresholds: th})
	v := observed(full, ramp...)
	assert.InDelta(t, 780-1200, v.Observed, 1e-6, "the newest point 780 less 2 a second for 600 s")
	assert.Equal(t, Failure, v.Level, "empty within 10 minutes")
	later := aggregateRule(t, AggregateRule{Function: AggregatePredict, Horizon: 5 * time.Minute, Thresholds: th})
	assert.Equal(t, OK, observed(later, ramp...).Level, "not within 5")

	few := observed(full, 1000, 980)
	assert.False(t, few.Decided, "a line of two points says nothing")
}

// A series that stops is no zero: the window judges the values it holds,
// and an empty window judges nothing.
func TestAggregateGapsAreNotZeros(t *testing.T) {
	th := Unbounded()
	th.FailureMin = 5
	r := aggregateRule(t, AggregateRule{Function: AggregateMean, Thresholds: th})
	nan := math.NaN()
	v := observed(r, 10, 10, 10, nan, nan, nan)
	assert.True(t, v.Decided)
	assert.Equal(t, 10.0, v.Observed)
	assert.False(t, observed(r, 10, nan, nan, nan, nan, nan, nan, nan).Decided)
}

func TestAggregateThroughTheEngineWithCounters(t *testing.T) {
	sel, err := ParseSelector("interface-eth0/if_octets")
	require.NoError(t, err)
	th := Unbounded()
	th.FailureMax = 1000
	r, err := NewAggregateRule(RuleSpec{Name: "traffic", Lifecycle: Lifecycle{Hits: 1}}, []Selector{sel},
		AggregateRule{Function: AggregateRate, Window: time.Minute, Thresholds: th})
	require.NoError(t, err)
	rec := &recorder{}
	e, err := NewEngine([]Rule{r}, Options{Sink: rec})
	require.NoError(t, err)
	id, err := metric.ParseIdentifier("interface-eth0/if_octets")
	require.NoError(t, err)
	id.Host = "h"
	var total uint64
	for i := range 60 {
		step := uint64(5000) // 500 bytes a second
		if i >= 30 {
			step = 50000 // 5000 a second
		}
		total += step
		e.Observe(&metric.ValueList{Identifier: id, Time: t0.Add(time.Duration(i) * 10 * time.Second), Interval: 10 * time.Second,
			Values: []metric.Value{metric.CounterValue(total)}})
	}
	e.Tick(t0.Add(time.Hour))
	require.NotEmpty(t, rec.alerts)
	a := rec.alerts[0]
	assert.Equal(t, Failure, a.Severity)
	assert.Contains(t, a.Message, "FAILURE: traffic of h: rate per second ")
	assert.Contains(t, a.Message, "over 1m0s is above the threshold 1000")
}

func TestAggregateParamsAreChecked(t *testing.T) {
	sel, err := ParseSelector("app/gauge-x")
	require.NoError(t, err)
	th := Unbounded()
	th.FailureMax = 1
	for want, r := range map[string]AggregateRule{
		"Window":                       {Thresholds: th},
		"set at least one":             {Window: time.Minute, Thresholds: Unbounded()},
		"needs Percentile":             {Window: time.Minute, Thresholds: th, Function: AggregatePercentile},
		"Percentile is for":            {Window: time.Minute, Thresholds: th, Percentile: 50},
		"needs a positive Horizon":     {Window: time.Minute, Thresholds: th, Function: AggregatePredict},
		"Horizon is for":               {Window: time.Minute, Thresholds: th, Horizon: time.Hour},
		"MinPoints must not be negati": {Window: time.Minute, Thresholds: th, MinPoints: -1},
	} {
		_, err := NewAggregateRule(RuleSpec{Name: "a"}, []Selector{sel}, r)
		assert.ErrorContains(t, err, want)
	}
	f, err := ParseAggregateFunction("P95")
	assert.Error(t, err)
	assert.Zero(t, f)
	f, err = ParseAggregateFunction("Median")
	require.NoError(t, err)
	assert.Equal(t, AggregateMedian, f)
}

func TestAggregateMessages(t *testing.T) {
	th := Unbounded()
	th.WarningMin, th.FailureMin, th.Hysteresis = 15, 5, 5
	r := aggregateRule(t, AggregateRule{Function: AggregateMean, Window: 5 * time.Minute, Thresholds: th})
	msg := func(sev Level, observed, bound float64) string {
		a := Alert{Severity: sev, Rule: "cpu", Host: "db-1"}
		return r.Message(&a, &Verdict{Observed: observed, Threshold: bound, Window: 5 * time.Minute})
	}
	assert.Equal(t, "FAILURE: cpu of db-1: mean 2.5 over 5m0s is below the threshold 5", msg(Failure, 2.5, 5))
	assert.Equal(t, "WARNING: cpu of db-1: mean 17.3 over 5m0s has not come back above 20 (the threshold 15 plus the hysteresis 5)",
		msg(Warning, 17.3, 15))
	assert.Equal(t, "OKAY: cpu of db-1: mean 27 over 5m0s is back within the threshold 20", msg(OK, 27, 20))
}
