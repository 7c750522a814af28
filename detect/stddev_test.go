package detect

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat/distuv"
)

// stdDevRule10s has a window of 10 slots and a baseline of 60 at 10 s slots.
func stdDevRule10s(t testing.TB, set func(*StdDevChangeParams)) *StdDevChangeRule {
	p := DefaultStdDevChangeParams()
	p.Window, p.Baseline = 100*time.Second, 10*time.Minute
	if set != nil {
		set(&p)
	}
	r, err := NewStdDevChangeRule(RuleSpec{Name: "spread", Lifecycle: Lifecycle{Hits: 1}},
		[]Selector{MustSelector("web/gauge-latency")}, p)
	require.NoError(t, err)
	return r
}

// alternating is mean -/+ half by slot parity: a known stddev.
func alternating(i int, mean, half float64) float64 {
	if i%2 == 0 {
		return mean - half
	}
	return mean + half
}

// stdDevOf is the sample stddev of xs, computed the textbook way.
func stdDevOf(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	ss := 0.0
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return math.Sqrt(ss / float64(len(xs)-1))
}

func TestStdDevWarmsUpOverWindowAndBaseline(t *testing.T) {
	d := newSlotDriver(stdDevRule10s(t, nil))
	for i := range 69 {
		require.False(t, d.step(alternating(i, 150, 10)).Decided, "slot %d", i)
	}
	v := d.step(alternating(69, 150, 10))
	require.True(t, v.Decided)
	assert.Equal(t, OK, v.Level)
	sb := 10 * math.Sqrt(60.0/59)
	assert.InDelta(t, sb, v.Baseline, 1e-9)
	assert.InDelta(t, sb, v.Denominator, 1e-9)
	assert.InDelta(t, 10*math.Sqrt(10.0/9), v.Numerator, 1e-9)
	assert.InDelta(t, math.Sqrt(10.0/9)/math.Sqrt(60.0/59), v.Observed, 1e-12)
	assert.Equal(t, 100*time.Second, v.Window)
	assert.Equal(t, 2.0, v.Threshold)
}

// The spread widens from +-10 to +-25: the rule fires on the first window
// whose stddev is more than twice the baseline's, and recovers only when it
// is back to 1.75 times; every verdict matches a textbook computation.
func TestStdDevChangeExactVerdictsAndHysteresis(t *testing.T) {
	d := newSlotDriver(stdDevRule10s(t, nil))
	var series []float64
	put := func(x float64) Verdict {
		series = append(series, x)
		return d.step(x)
	}
	for i := range 70 {
		put(alternating(i, 150, 10))
	}
	sb := stdDevOf(series[:60]) // any 60 alternating values
	firstFail, recovered, lastOver2 := -1, -1, -1
	for i := 70; i < 110; i++ {
		half := 10.0
		if i < 85 {
			half = 25
		}
		v := put(alternating(i, 150, half))
		sw := stdDevOf(series[len(series)-10:])
		require.True(t, v.Decided)
		require.InDelta(t, sw/sb, v.Observed, 1e-9, "slot %d", i)
		require.InDelta(t, sw, v.Numerator, 1e-9)
		require.InDelta(t, sb, v.Baseline, 1e-9, "frozen: the wide slots never reach the baseline")
		if firstFail < 0 && sw/sb > 2 {
			firstFail = i
		}
		if i >= 85 && sw/sb > 2 {
			lastOver2 = i
		}
		if firstFail >= 0 && recovered < 0 && i >= 85 && sw/sb <= 1.75 {
			recovered = i
		}
		if firstFail >= 0 && (recovered < 0 || i < recovered) {
			require.Equal(t, Failure, v.Level, "slot %d: %.3g", i, sw/sb)
		} else {
			require.Equal(t, OK, v.Level, "slot %d: %.3g", i, sw/sb)
		}
		if v.Level == Failure && i > firstFail {
			require.Equal(t, 1.75, v.Threshold)
		}
	}
	require.Greater(t, recovered, lastOver2+1, "hysteresis keeps the alert after the factor fell below 2")
	assert.Len(t, d.changes, 2)
}

func TestStdDevChangeFTest(t *testing.T) {
	// Moderate tails against 1 - CDF of the textbook F.
	for _, tc := range []struct{ r, n, nb float64 }{{1.3, 30, 360}, {0.8, 30, 360}, {1.8, 10, 60}} {
		f := tc.r * tc.r
		up := 1 - distuv.F{D1: tc.n - 1, D2: tc.nb - 1}.CDF(f)
		down := distuv.F{D1: tc.n - 1, D2: tc.nb - 1}.CDF(f)
		assert.InEpsilon(t, up, varianceTest(tc.r, tc.n, tc.nb, DirectionUp), 1e-9)
		assert.InEpsilon(t, down, varianceTest(tc.r, tc.n, tc.nb, DirectionDown), 1e-9)
		assert.InEpsilon(t, 2*min(up, down), varianceTest(tc.r, tc.n, tc.nb, DirectionBoth), 1e-9)
	}
	// The documented examples: a factor 2 over 30 values against 360.
	assert.InEpsilon(t, 2.07e-10, varianceTest(2, 30, 360, DirectionUp), 0.01)
	assert.InEpsilon(t, 1.79e-5, varianceTest(0.5, 30, 360, DirectionDown), 0.01)
	assert.Less(t, varianceTest(5, 30, 360, DirectionUp), 1e-30, "tiny tails stay accurate, not 0")
	assert.Greater(t, varianceTest(5, 30, 360, DirectionUp), 0.0)
	assert.Equal(t, 1.0, varianceTest(0, 30, 360, DirectionUp))
	assert.Equal(t, 0.0, varianceTest(0, 30, 360, DirectionDown))
	assert.Equal(t, 0.0, varianceTest(math.Inf(1), 30, 360, DirectionUp))
	assert.Equal(t, 1.0, varianceTest(math.Inf(1), 30, 360, DirectionDown))
}

func TestStdDevChangeDirections(t *testing.T) {
	frozen := func(dir Direction) *slotDriver { // the series stops varying
		d := newSlotDriver(stdDevRule10s(t, func(p *StdDevChangeParams) { p.Direction = dir }))
		for i := range 70 {
			d.step(alternating(i, 150, 10))
		}
		d.steps(10, 150)
		return d
	}
	widened := func(dir Direction) *slotDriver {
		d := newSlotDriver(stdDevRule10s(t, func(p *StdDevChangeParams) { p.Direction = dir }))
		for i := range 80 {
			half := 10.0
			if i >= 70 {
				half = 40
			}
			d.step(alternating(i, 150, half))
		}
		return d
	}
	up := frozen(DirectionUp)
	assert.Empty(t, up.changes)
	assert.Equal(t, 0.0, up.last.Observed)
	down := frozen(DirectionDown)
	require.Len(t, down.changes, 1)
	assert.Equal(t, Failure, down.last.Level)
	assert.Equal(t, 0.0, down.last.Observed)
	assert.Equal(t, 1/1.75, down.last.Threshold, "in the units of Observed: the recovery bound 1/(2-0.25)")
	assert.Equal(t, 0.0, down.last.Probability, "a stddev of 0 is impossible for normal data")
	assert.Equal(t, Failure, frozen(DirectionBoth).last.Level)

	assert.Equal(t, Failure, widened(DirectionUp).last.Level)
	assert.Empty(t, widened(DirectionDown).changes)
	both := widened(DirectionBoth)
	assert.Equal(t, Failure, both.last.Level)
	assert.Greater(t, both.last.Observed, 2.0)
	assert.Equal(t, 1.75, both.last.Threshold)
}

func TestStdDevChangeWarningFactor(t *testing.T) {
	d := newSlotDriver(stdDevRule10s(t, func(p *StdDevChangeParams) { p.WarningFactor, p.Hysteresis = 1.5, 0.1 }))
	for i := range 70 {
		d.step(alternating(i, 150, 10))
	}
	for i := 70; i < 80; i++ {
		d.step(alternating(i, 150, 17)) // 1.7x
	}
	assert.Equal(t, Warning, d.last.Level)
	assert.Equal(t, 1.4, d.last.Threshold)
	for i := 80; i < 90; i++ {
		d.step(alternating(i, 150, 30)) // 3x
	}
	assert.Equal(t, Failure, d.last.Level)
	assert.Equal(t, []string{"WARNING@75", "FAILURE@81"}, d.changes, "1.53x with 6 of 10 at +-17; 2.12x with 2 at +-30")
}

// MinCount: a window with too few values is not judged; slots without data
// are no values (not zeros); a baseline without spread gives no verdict.
func TestStdDevChangeNeedsEnoughValues(t *testing.T) {
	d := newSlotDriver(stdDevRule10s(t, func(p *StdDevChangeParams) { p.MinCount = 6 }))
	for i := range 70 {
		d.step(alternating(i, 150, 10))
	}
	require.True(t, d.last.Decided)
	d.steps(4) // 6 of 10 slots hold values
	assert.True(t, d.last.Decided)
	assert.Equal(t, OK, d.last.Level)
	d.step() // 5 of 10
	assert.False(t, d.last.Decided)
	assert.Empty(t, d.changes)
	for i := range 100 {
		d.step(alternating(i, 150, 10))
	}
	assert.True(t, d.last.Decided)
	assert.Empty(t, d.changes)

	flat := newSlotDriver(stdDevRule10s(t, nil))
	flat.steps(70, 150)
	for i := range 10 {
		flat.step(alternating(i, 150, 50))
	}
	assert.False(t, flat.last.Decided)

	// MinCount is capped at the window's and the baseline's slots: a 3-slot
	// window, or a 6-slot baseline, is judged.
	short := newSlotDriver(stdDevRule10s(t, func(p *StdDevChangeParams) { p.Window = 30 * time.Second }))
	for i := range 63 {
		short.step(alternating(i, 150, 10))
	}
	assert.True(t, short.last.Decided)
	short = newSlotDriver(stdDevRule10s(t, func(p *StdDevChangeParams) { p.Baseline = time.Minute }))
	for i := range 16 {
		short.step(alternating(i, 150, 10))
	}
	assert.True(t, short.last.Decided)
}

// A long wide incident must neither widen the baseline (the next incident
// would go unseen) nor, once over, make normal latency look too narrow.
func TestStdDevChangeBaselineIsNotPollutedByTheIncident(t *testing.T) {
	d := newSlotDriver(stdDevRule10s(t, func(p *StdDevChangeParams) { p.Direction = DirectionBoth }))
	i := 0
	for ; i < 70; i++ {
		d.step(alternating(i, 150, 10))
	}
	for ; i < 100; i++ { // half the baseline's length at 5x the spread
		d.step(alternating(i, 150, 50))
	}
	for ; i < 300; i++ {
		d.step(alternating(i, 150, 10))
	}
	assert.Len(t, d.changes, 2, "%v", d.changes)
	assert.InDelta(t, 10*math.Sqrt(60.0/59), d.last.Baseline, 1e-9)
	for ; i < 330; i++ { // the next incident is seen as well
		d.step(alternating(i, 150, 25))
	}
	assert.Len(t, d.changes, 3)
	assert.Equal(t, Failure, d.last.Level)
}

// A spread that stays wider than the baseline for longer than the baseline
// becomes the new normal.
func TestStdDevChangeAcceptsALastingChange(t *testing.T) {
	d := newSlotDriver(stdDevRule10s(t, nil))
	for i := range 70 {
		d.step(alternating(i, 150, 10))
	}
	for i := 70; i < 500; i++ {
		d.step(alternating(i, 150, 30))
	}
	require.Len(t, d.changes, 2, "%v", d.changes)
	assert.InDelta(t, 30*math.Sqrt(60.0/59), d.last.Baseline, 1e-9)
	assert.Equal(t, OK, d.last.Level)
}

// Web task 2 through the engine: page latency N(150, 50) per interval for six
// hours, then its stddev quadruples for ten minutes (clamped at 0 ms, as the
// simulator does, the spread grows about 3.3 times).
func TestStdDevChangeLatencyThroughTheEngine(t *testing.T) {
	r, err := NewStdDevChangeRule(RuleSpec{Name: "web-latency-spread", Lifecycle: Lifecycle{Hits: 1}},
		[]Selector{MustSelector("ecommerce/gauge-page-latency-mean")}, DefaultStdDevChangeParams())
	require.NoError(t, err)
	rec := &recorder{}
	e, err := NewEngine([]Rule{r}, Options{Sink: rec})
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(11, 12))
	step := 0
	send := func(n int, sd float64) {
		for range n {
			x := max(0, 150+sd*rng.NormFloat64())
			e.Observe(gaugeList("shop-1", "ecommerce/gauge-page-latency-mean", t0.Add(time.Duration(step)*10*time.Second), x))
			step++
		}
	}
	send(6*360, 50)
	require.Empty(t, rec.severities())
	send(60, 200)
	require.Equal(t, []string{"FAILURE"}, rec.severities())
	a := rec.alerts[0]
	assert.Equal(t, "stddevchange", a.Kind)
	assert.Less(t, a.Time.Sub(t0.Add(6*time.Hour)), 5*time.Minute, "before the window is all incident")
	assert.Greater(t, a.Observed, 2.0)
	assert.InDelta(t, 50, a.Baseline, 8, "a stddev from 360 values: 50 +- 1.9")
	assert.Equal(t, 5*time.Minute, a.Window)
	assert.Regexp(t, `^FAILURE: web-latency-spread of shop-1: stddev \d+(\.\d+)? over 5m0s is \d(\.\d+)?x the \d+(\.\d+)? of the previous 1h0m0s, above the factor 2x \(F-test p=.+\)$`, a.Message)
	send(6*360, 50)
	require.Equal(t, []string{"FAILURE", "OKAY"}, rec.severities())
	assert.Contains(t, rec.alerts[1].Message, "back within the factor 1.75x")
	assert.LessOrEqual(t, rec.alerts[1].Time.Sub(t0.Add(6*time.Hour+10*time.Minute)), 6*time.Minute, "about a window after the incident")
}

func TestStdDevChangeMessages(t *testing.T) {
	r := stdDevRule10s(t, nil)
	a := &Alert{Severity: Failure, Rule: "web-latency-spread", Host: "shop-1"}
	v := &Verdict{Observed: 2.4, Threshold: 2, Baseline: 50, Numerator: 120, Denominator: 50, Probability: 7.3e-17, Window: 5 * time.Minute}
	assert.Equal(t, "FAILURE: web-latency-spread of shop-1: stddev 120 over 5m0s is 2.4x the 50 of the previous 10m0s, above the factor 2x (F-test p=7.3e-17)",
		r.Message(a, v))
	v = &Verdict{Observed: 0.2, Threshold: 0.5, Baseline: 50, Numerator: 10, Denominator: 50, Probability: 1e-9, Window: 5 * time.Minute}
	assert.Contains(t, r.Message(a, v), "is 0.2x the 50 of the previous 10m0s, below the factor 0.5x")
	a.Severity = OK
	v = &Verdict{Observed: 1.1, Threshold: 1.75, Baseline: 50, Numerator: 55, Denominator: 50, Probability: 0.3, Window: 5 * time.Minute}
	assert.Equal(t, "OKAY: web-latency-spread of shop-1: stddev 55 over 5m0s is 1.1x the 50 of the previous 10m0s, back within the factor 1.75x (F-test p=0.3)",
		r.Message(a, v))
}

func TestStdDevChangeHotPathDoesNotAllocate(t *testing.T) {
	st := stdDevRule10s(t, func(p *StdDevChangeParams) { p.Direction = DirectionBoth }).NewState(SlotClock{Origin: t0, Step: 10 * time.Second})
	slot := int64(0)
	allocs := testing.AllocsPerRun(2000, func() {
		st.Add(0, slot, float64(100+slot%7))
		st.Evaluate(slot, OK)
		slot++
	})
	assert.Zero(t, allocs)
}

func TestNewStdDevChangeRuleValidates(t *testing.T) {
	sel := []Selector{MustSelector("a/b")}
	spec := RuleSpec{Name: "s"}
	for _, tc := range []struct {
		set  func(*StdDevChangeParams)
		want string
	}{
		{func(p *StdDevChangeParams) { p.Window = 0 }, `rule "s": Window must be positive`},
		{func(p *StdDevChangeParams) { p.Baseline = 0 }, `rule "s": Baseline must be positive`},
		{func(p *StdDevChangeParams) { p.FailureFactor = 1 }, `rule "s": FailureFactor must be more than 1`},
		{func(p *StdDevChangeParams) { p.FailureFactor = math.NaN() }, `rule "s": FailureFactor must be more than 1`},
		{func(p *StdDevChangeParams) { p.FailureFactor = math.Inf(1) }, `rule "s": FailureFactor must be more than 1`},
		{func(p *StdDevChangeParams) { p.WarningFactor = 2 }, `rule "s": WarningFactor must be between 1 and FailureFactor`},
		{func(p *StdDevChangeParams) { p.WarningFactor = 0.5 }, `rule "s": WarningFactor must be between 1 and FailureFactor`},
		{func(p *StdDevChangeParams) { p.Direction = -1 }, `rule "s": Direction must be up, down or both`},
		{func(p *StdDevChangeParams) { p.MinCount = 1 }, `rule "s": MinCount must be at least 2`},
		{func(p *StdDevChangeParams) { p.Hysteresis = -0.1 }, `rule "s": Hysteresis must be at least 0 and less than FailureFactor - 1`},
		{func(p *StdDevChangeParams) { p.Hysteresis = 1 }, `rule "s": Hysteresis must be at least 0 and less than FailureFactor - 1`},
		{func(p *StdDevChangeParams) { p.WarningFactor, p.Hysteresis = 1.2, 0.2 }, `rule "s": Hysteresis must be at least 0 and less than WarningFactor - 1`},
	} {
		p := DefaultStdDevChangeParams()
		tc.set(&p)
		_, err := NewStdDevChangeRule(spec, sel, p)
		assert.EqualError(t, err, tc.want)
	}
	r, err := NewStdDevChangeRule(spec, sel, DefaultStdDevChangeParams())
	require.NoError(t, err)
	assert.Equal(t, "stddevchange", r.Kind())
}
