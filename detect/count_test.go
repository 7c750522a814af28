package detect

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const countFraudRE = `/^ecommerce/gauge-payment-provider-[^.]+[.]fraud$/`

// countRule is a rule over fraud outcomes of every provider; th starts unbounded.
func countRule(t *testing.T, window time.Duration, set func(*Thresholds)) *CountRule {
	t.Helper()
	th := Unbounded()
	set(&th)
	r, err := NewCountRule(RuleSpec{Name: "fraud", Lifecycle: Lifecycle{Hits: 1}}, []Selector{MustSelector(countFraudRE)}, CountParams{Window: window, Thresholds: th, Unit: "fraud outcomes"})
	require.NoError(t, err)
	return r
}

func countState10s(r Rule) RuleState {
	return r.NewState(SlotClock{Origin: t0, Step: 10 * time.Second})
}

func TestCountRuleJudgesOnlyFullWindows(t *testing.T) {
	r := countRule(t, time.Minute, func(th *Thresholds) { th.FailureMax = 2 })
	s := countState10s(r)
	for slot := int64(0); slot < 5; slot++ {
		s.Add(0, slot, 10) // far above, but the window is partial
		v := s.Evaluate(slot, OK)
		assert.False(t, v.Decided, "slot %d: %d of 6 slots", slot, slot+1)
	}
	s.Add(0, 5, 0)
	v := s.Evaluate(5, OK)
	require.True(t, v.Decided)
	assert.Equal(t, Failure, v.Level)
	assert.Equal(t, 50.0, v.Observed)
	assert.Equal(t, 2.0, v.Threshold)
	assert.Equal(t, time.Minute, v.Window)
	assert.True(t, math.IsNaN(v.Baseline) && math.IsNaN(v.Numerator) && math.IsNaN(v.Denominator))
	assert.Equal(t, int64(6), s.Span())
}

// FailureMax X means "more than X": X itself is fine, X+1 fires (collectd's
// x > FailureMax).
func TestCountRuleMoreThanIsStrict(t *testing.T) {
	r := countRule(t, time.Minute, func(th *Thresholds) { th.FailureMax = 10 })
	for _, tc := range []struct {
		counts []float64 // per slot, 6 slots
		want   Level
	}{
		{[]float64{0, 0, 0, 0, 0, 0}, OK},
		{[]float64{10, 0, 0, 0, 0, 0}, OK},
		{[]float64{2, 2, 2, 2, 2, 0}, OK},
		{[]float64{2, 2, 2, 2, 2, 1}, Failure},
		{[]float64{0, 0, 0, 0, 0, 11}, Failure},
	} {
		s := countState10s(r)
		for slot, c := range tc.counts {
			s.Add(0, int64(slot), c)
		}
		for slot := int64(0); slot < 5; slot++ {
			s.Evaluate(slot, OK)
		}
		v := s.Evaluate(5, OK)
		require.True(t, v.Decided)
		assert.Equal(t, tc.want, v.Level, "%v", tc.counts)
		assert.Equal(t, 10.0, v.Threshold)
	}
}

// Several series in a slot are summed (four providers' fraud outcomes), and
// slots without values count as zero events.
func TestCountRuleSumsSeriesAndSlidesOverSparseSlots(t *testing.T) {
	r := countRule(t, time.Minute, func(th *Thresholds) { th.FailureMax = 3 })
	s := countState10s(r)
	// slot 0: four providers report; slots 1..5 nothing at all
	for _, c := range []float64{1, 0, 2, 1} {
		s.Add(0, 0, c)
	}
	var v Verdict
	for slot := int64(0); slot <= 5; slot++ {
		v = s.Evaluate(slot, OK)
	}
	require.True(t, v.Decided)
	assert.Equal(t, 4.0, v.Observed)
	assert.Equal(t, Failure, v.Level)
	v = s.Evaluate(6, Failure) // slot 0 leaves the window
	require.True(t, v.Decided)
	assert.Equal(t, 0.0, v.Observed)
	assert.Equal(t, OK, v.Level)

	// a gap longer than the window: everything has left it
	s.Add(0, 7, 3)
	s.Evaluate(7, OK)
	v = s.Evaluate(100, OK)
	assert.True(t, v.Decided)
	assert.Equal(t, 0.0, v.Observed)
}

func TestCountRuleHysteresis(t *testing.T) {
	r := countRule(t, 10*time.Second, func(th *Thresholds) { th.FailureMax, th.Hysteresis = 10, 2 })
	s := countState10s(r)
	judge := func(slot int64, count float64, current Level) Verdict {
		s.Add(0, slot, count)
		return s.Evaluate(slot, current)
	}
	v := judge(0, 11, OK)
	assert.Equal(t, Failure, v.Level)
	v = judge(1, 10, Failure)
	assert.Equal(t, Failure, v.Level, "10 is not more than 10, but the alert holds until 8")
	assert.Equal(t, 10.0, v.Threshold, "a raised level names the configured bound")
	v = judge(2, 9, Failure)
	assert.Equal(t, Failure, v.Level)
	v = judge(3, 8, Failure)
	assert.Equal(t, OK, v.Level)
	assert.Equal(t, 8.0, v.Threshold, "the bound it is back within")
	v = judge(4, 10, OK)
	assert.Equal(t, OK, v.Level, "from OK the bound is 10 again")
}

func TestCountRuleMinimumsAndWarnings(t *testing.T) {
	r := countRule(t, 10*time.Second, func(th *Thresholds) {
		th.FailureMin, th.WarningMin, th.WarningMax, th.FailureMax = 1, 3, 20, 30
	})
	s := countState10s(r)
	for slot, tc := range []struct {
		count float64
		want  Level
		bound float64
	}{
		{0, Failure, 1}, {2, Warning, 3}, {3, OK, 20}, {25, Warning, 20}, {31, Failure, 30},
	} {
		s.Add(0, int64(slot), tc.count)
		v := s.Evaluate(int64(slot), OK)
		assert.Equal(t, tc.want, v.Level, "count %v", tc.count)
		assert.Equal(t, tc.bound, v.Threshold, "count %v", tc.count)
	}
}

// Sums of large integer counts stay exact as slots enter and leave.
func TestCountRuleHugeCounts(t *testing.T) {
	r := countRule(t, time.Minute, func(th *Thresholds) { th.FailureMax = 6e12 })
	s := countState10s(r)
	var v Verdict
	for slot := int64(0); slot < 1000; slot++ {
		s.Add(0, slot, 1e12)
		v = s.Evaluate(slot, OK)
	}
	assert.Equal(t, 6e12, v.Observed)
	assert.Equal(t, OK, v.Level)
	s.Add(0, 1000, 1e12+1)
	v = s.Evaluate(1000, OK)
	assert.Equal(t, 6e12+1, v.Observed)
	assert.Equal(t, Failure, v.Level)
}

func TestCountRuleMessages(t *testing.T) {
	r := countRule(t, time.Hour, func(th *Thresholds) { th.FailureMax, th.FailureMin = 10, 1 })
	v := Verdict{Observed: 12, Threshold: 10, Window: time.Hour}
	a := &Alert{Severity: Failure, Rule: "fraud"}
	assert.Equal(t, "FAILURE: fraud of all hosts: 12 fraud outcomes in 1h0m0s, more than 10", r.Message(a, &v))
	v = Verdict{Observed: 0, Threshold: 1, Window: time.Hour}
	a = &Alert{Severity: Failure, Rule: "fraud", Host: "shop-1", Group: "a"}
	assert.Equal(t, "FAILURE: fraud[a] of shop-1: 0 fraud outcomes in 1h0m0s, fewer than 1", r.Message(a, &v))
	v = Verdict{Observed: 3, Threshold: 10, Window: time.Hour}
	a = &Alert{Severity: OK, Rule: "fraud"}
	assert.Equal(t, "OKAY: fraud of all hosts: 3 fraud outcomes in 1h0m0s, back within the threshold 10", r.Message(a, &v))

	r2, err := NewCountRule(RuleSpec{Name: "n"}, []Selector{MustSelector("a/b")}, CountParams{Window: time.Minute, Thresholds: Thresholds{FailureMax: 1}, Unit: ""})
	require.NoError(t, err)
	assert.Equal(t, "events", r2.Unit, "default unit")
	assert.Equal(t, "count", r2.Kind())
}

func TestCountRuleRejectsBadOptions(t *testing.T) {
	sel := []Selector{MustSelector("a/b")}
	fmax := Unbounded()
	fmax.FailureMax = 1
	for _, tc := range []struct {
		spec   RuleSpec
		series []Selector
		window time.Duration
		th     Thresholds
		want   string
	}{
		{RuleSpec{Name: "c"}, sel, 0, fmax, `rule "c": Window must be positive`},
		{RuleSpec{Name: "c"}, sel, -time.Second, fmax, `rule "c": Window must be positive`},
		{RuleSpec{Name: "c"}, sel, time.Minute, Unbounded(), `rule "c": set at least one of WarningMin, WarningMax, FailureMin, FailureMax`},
		{RuleSpec{Name: "c"}, sel, time.Minute, Thresholds{FailureMax: 1, Hysteresis: -1}, `rule "c": Hysteresis must not be negative`},
		{RuleSpec{Name: "c"}, nil, time.Minute, fmax, `rule "c": no series for Series`},
		{RuleSpec{}, sel, time.Minute, fmax, `rule without a name`},
	} {
		_, err := NewCountRule(tc.spec, tc.series, CountParams{Window: tc.window, Thresholds: tc.th, Unit: "x"})
		assert.EqualError(t, err, tc.want)
	}
}

func TestCountRuleDoesNotAllocate(t *testing.T) {
	r := countRule(t, time.Minute, func(th *Thresholds) { th.FailureMax = 10 })
	s := countState10s(r)
	slot := int64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		s.Add(0, slot, 1)
		s.Evaluate(slot, OK)
		slot++
	})
	assert.Zero(t, allocs)
}

// Payments task 2 end to end: fraud outcomes of four providers over any hour.
func TestCountRuleFiresOnceAndRecoversOnce(t *testing.T) {
	r := countRule(t, time.Hour, func(th *Thresholds) { th.FailureMax, th.Hysteresis = 10, 2 })
	rec := &recorder{}
	e, err := NewEngine([]Rule{r}, Options{Sink: rec})
	require.NoError(t, err)
	send := func(step int, provider string, v float64) {
		ts := t0.Add(time.Duration(step) * 10 * time.Second)
		e.Observe(gaugeList("shop", fmt.Sprintf("ecommerce/gauge-payment-provider-%s.fraud", provider), ts, v))
		e.Observe(gaugeList("shop", fmt.Sprintf("ecommerce/gauge-payment-provider-%s.success", provider), ts, 5))
	}
	const hour = 360 // slots of 10 s
	// First hour and a half: a fraud outcome every 10 minutes, 6 an hour.
	step := 0
	for ; step < hour*3/2; step++ {
		for _, p := range []string{"a", "b", "c", "d"} {
			v := 0.0
			if p == "b" && step%60 == 0 {
				v = 1
			}
			send(step, p, v)
		}
	}
	assert.Empty(t, rec.severities())
	// A burst: 5 outcomes at once with provider a -> 11 in the hour.
	for _, p := range []string{"a", "b", "c", "d"} {
		v := 0.0
		switch {
		case p == "a":
			v = 5
		case p == "b" && step%60 == 0:
			v = 1
		}
		send(step, p, v)
	}
	step++
	for end := step + 2*hour; step < end; step++ {
		for _, p := range []string{"a", "b", "c", "d"} {
			v := 0.0
			if p == "b" && step%60 == 0 {
				v = 1
			}
			send(step, p, v)
		}
	}
	require.Equal(t, []string{"FAILURE", "OKAY"}, rec.severities())
	a := rec.alerts[0]
	assert.Equal(t, "count", a.Kind)
	assert.Equal(t, "shop", a.Host)
	assert.Equal(t, 11.0, a.Observed)
	assert.Equal(t, 10.0, a.Threshold)
	assert.Equal(t, time.Hour, a.Window)
	assert.Equal(t, "FAILURE: fraud of shop: 11 fraud outcomes in 1h0m0s, more than 10", a.Message)
	assert.Equal(t, t0.Add(time.Duration(hour*3/2)*10*time.Second), a.Time, "the burst's slot is judged with the burst's value")
	// The burst leaves the window one hour later, leaving 6: within 10 - 2.
	ok := rec.alerts[1]
	assert.Equal(t, 6.0, ok.Observed)
	assert.Equal(t, 8.0, ok.Threshold)
	assert.Equal(t, ok.Time, a.Time.Add(time.Hour))
	assert.Contains(t, ok.Message, "back within the threshold 8")
}
