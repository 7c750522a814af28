package detect

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat/distuv"
)

// slotDriver drives a rule's state directly, slot by slot of 10 seconds, as
// the engine does with Hits 1: the level follows every decided verdict
// (or, with a Lifecycle, as the engine's alert state moves with them).
type slotDriver struct {
	st        RuleState
	slot      int64
	level     Level
	changes   []string // "FAILURE@68": level changes and the slot they happened at
	last      Verdict
	lifecycle *Lifecycle
	alert     alertState
}

func newSlotDriver(r Rule) *slotDriver {
	return &slotDriver{st: r.NewState(SlotClock{Origin: t0, Step: 10 * time.Second})}
}

// step puts xs into the next slot (none: a slot without data) and judges it.
func (d *slotDriver) step(xs ...float64) Verdict {
	for _, x := range xs {
		d.st.Add(0, d.slot, x)
	}
	v := d.st.Evaluate(d.slot, d.level)
	next := d.level
	switch {
	case d.lifecycle != nil && v.Decided:
		d.alert.step(v.Level, t0.Add(time.Duration(d.slot)*10*time.Second), d.lifecycle)
		next = d.alert.level
	case v.Decided:
		next = v.Level
	}
	if next != d.level {
		d.level = next
		d.changes = append(d.changes, fmt.Sprintf("%s@%d", next, d.slot))
	}
	d.slot++
	d.last = v
	return v
}

// steps repeats step n times with the same values and returns the verdicts.
func (d *slotDriver) steps(n int, xs ...float64) []Verdict {
	out := make([]Verdict, n)
	for i := range out {
		out[i] = d.step(xs...)
	}
	return out
}

// spikeRule10s has a window of 6 slots and a baseline of 60 at 10 s slots.
func spikeRule10s(t testing.TB, set func(*SpikeParams)) *SpikeRule {
	p := DefaultSpikeParams()
	p.Window, p.Baseline = time.Minute, 10*time.Minute
	if set != nil {
		set(&p)
	}
	r, err := NewSpikeRule(RuleSpec{Name: "spike", Lifecycle: Lifecycle{Hits: 1}},
		[]Selector{MustSelector("web/gauge-requests")}, p)
	require.NoError(t, err)
	return r
}

// poissonTailSum is P(X >= k) (up) or P(X <= k) summed term by term from
// distuv.Poisson.LogProb, as an independent check of the closed forms.
func poissonTailSum(k, lambda float64, up bool) float64 {
	p := distuv.Poisson{Lambda: lambda}
	sum := 0.0
	if up {
		for x := k; ; x++ {
			term := math.Exp(p.LogProb(x))
			sum += term
			if x > lambda && term < sum*1e-17 {
				return sum
			}
		}
	}
	for x := k; x >= 0; x-- {
		term := math.Exp(p.LogProb(x))
		sum += term
		if x < lambda && term < sum*1e-17 {
			return sum
		}
	}
	return sum
}

func TestPoissonTailsAreAccurateFarOut(t *testing.T) {
	for _, tc := range []struct{ k, lambda float64 }{
		{1, 0.5}, {10, 1}, {30, 5}, {900, 600}, {7100, 6690}, {8000, 6690}, {10_700, 1e4}, {101_600, 1e5},
	} {
		want := poissonTailSum(tc.k, tc.lambda, true)
		assert.InEpsilon(t, want, poissonAtLeast(tc.k, tc.lambda), 1e-8, "P(X >= %v | %v) = %g", tc.k, tc.lambda, want)
	}
	// Beyond 1e5 expected, gonum's asymptotic series for the incomplete gamma
	// is good to about 1e-5 relative (mpmath: 2.934034048e-07); still far
	// more than a decision against 1e-6 needs.
	assert.InEpsilon(t, 2.934034048031641e-7, poissonAtLeast(1_005_000, 1e6), 1e-5)
	for _, tc := range []struct{ k, lambda float64 }{
		{0, 21.6}, {3, 21.6}, {9, 21.6}, {5000, 6690}, {994_000, 1e6},
	} {
		want := poissonTailSum(tc.k, tc.lambda, false)
		assert.InEpsilon(t, want, poissonAtMost(tc.k, tc.lambda), 1e-8, "P(X <= %v | %v) = %g", tc.k, tc.lambda, want)
	}
	assert.Less(t, poissonAtLeast(30, 5), 1e-13, "far below what 1 - CDF can resolve")
	assert.Equal(t, 1.0, poissonAtLeast(0, 3))
	assert.Equal(t, 0.0, poissonAtMost(-1, 3))
	assert.InDelta(t, math.Exp(-21.6), poissonAtMost(0, 21.6), 1e-20)
}

// Warm-up: no verdict before Window + Baseline (66 slots) have passed.
func TestSpikeWarmsUpOverWindowAndBaseline(t *testing.T) {
	d := newSlotDriver(spikeRule10s(t, nil))
	for i, v := range d.steps(65, 100) {
		require.False(t, v.Decided, "slot %d", i)
	}
	v := d.step(100)
	require.True(t, v.Decided, "slot 65 ends the first full baseline")
	assert.Equal(t, OK, v.Level)
	assert.Equal(t, 600.0, v.Observed)
	assert.Equal(t, 600.0, v.Baseline)
	assert.Equal(t, time.Minute, v.Window)
	assert.InDelta(t, poissonAtLeast(600, 600), v.Probability, 1e-12)
}

// A rise is a FAILURE only once it is improbable and reaches MinFactor; the
// verdict carries the window sum, the expected count and the tail.
func TestSpikePoissonUpExactVerdicts(t *testing.T) {
	d := newSlotDriver(spikeRule10s(t, nil))
	d.steps(66, 100)
	v := d.step(200) // 700 against 600: p ~ 1e-4, not improbable enough
	assert.Equal(t, OK, v.Level)
	assert.InEpsilon(t, poissonAtLeast(700, 600), v.Probability, 1e-12)
	v = d.step(200) // 800: p ~ 2e-15 but only 1.33x
	assert.Less(t, v.Probability, 1e-12)
	assert.Equal(t, OK, v.Level, "below MinFactor 1.5")
	v = d.step(200) // 900 = 1.5x
	assert.Equal(t, Failure, v.Level)
	assert.Equal(t, 900.0, v.Observed)
	assert.Equal(t, 600.0, v.Baseline)
	assert.Equal(t, 1e-6, v.Threshold)
	assert.InEpsilon(t, poissonTailSum(900, 600, true), v.Probability, 1e-8)
	assert.Equal(t, []string{"FAILURE@68"}, d.changes)
}

// Recovery needs p above Probability x RecoveryFactor or the change below
// sqrt(MinFactor): the window going 900 -> 800 (1.33x) keeps the alert.
func TestSpikeRecoversWithHysteresis(t *testing.T) {
	d := newSlotDriver(spikeRule10s(t, nil))
	d.steps(66, 100)
	d.steps(12, 200) // slots 66-77
	require.Equal(t, []string{"FAILURE@68"}, d.changes)
	got := d.steps(4, 100) // windows of 1100, 1000, 900, 800
	for _, v := range got {
		assert.Equal(t, Failure, v.Level)
	}
	assert.Equal(t, 1e-3, got[3].Threshold, "a raised alert is judged against the recovery bound")
	v := d.step(100) // 700 = 1.17x < sqrt(1.5)
	assert.Equal(t, OK, v.Level)
	assert.Equal(t, 1e-3, v.Threshold)
	assert.Equal(t, []string{"FAILURE@68", "OKAY@82"}, d.changes)
	// The spike never reached the baseline: the expectation is still exactly 600.
	for _, v := range d.steps(200, 100) {
		assert.Equal(t, 600.0, v.Baseline)
	}
	assert.Equal(t, []string{"FAILURE@68", "OKAY@82"}, d.changes)
}

// A level just above MinFactor, whose window wanders across it with Poisson
// noise (1.55 +- 0.05), fires once and does not flap while it lasts.
func TestSpikeDoesNotFlapAtTheBound(t *testing.T) {
	d := newSlotDriver(spikeRule10s(t, func(p *SpikeParams) { p.Baseline = time.Hour }))
	rng := rand.New(rand.NewPCG(1, 2))
	draw := func(lambda float64) float64 { return distuv.Poisson{Lambda: lambda, Src: rng}.Rand() }
	for range 500 {
		d.step(draw(100))
	}
	require.Empty(t, d.changes)
	for range 300 {
		d.step(draw(155))
	}
	require.Len(t, d.changes, 1)
	assert.Contains(t, d.changes[0], "FAILURE@")
	for range 100 {
		d.step(draw(100))
	}
	require.Len(t, d.changes, 2)
	assert.Contains(t, d.changes[1], "OKAY@")
}

// A long incident would raise the baseline if it fed it; then normal traffic
// would look like a drop. The baseline stays frozen instead.
func TestSpikeBaselineIsNotPollutedByTheIncident(t *testing.T) {
	d := newSlotDriver(spikeRule10s(t, func(p *SpikeParams) { p.Direction = DirectionBoth }))
	d.steps(66, 100)
	d.steps(30, 300) // 5 minutes at 3x: half the baseline's length
	require.Equal(t, []string{"FAILURE@67"}, d.changes)
	d.steps(300, 100)
	require.Len(t, d.changes, 2, "%v", d.changes)
	assert.Equal(t, "OKAY@101", d.changes[1], "once the last 3x slot has left the window")
	assert.Equal(t, 600.0, d.last.Baseline)
	assert.Equal(t, 600.0, d.last.Observed)
}

// The onset of an incident, judged OK while it builds up, is kept out too:
// every slot of a window judged not OK, whatever its age.
func TestSpikeKeepsEveryWindowJudgedNotOKOutOfTheBaseline(t *testing.T) {
	d := newSlotDriver(spikeRule10s(t, nil))
	d.steps(66, 100)
	d.steps(2, 130) // 660, 720: rising but OK
	d.steps(10, 300)
	require.Equal(t, []string{"FAILURE@69"}, d.changes)
	d.steps(20, 100)
	require.Len(t, d.changes, 2)
	for _, v := range d.steps(100, 100) {
		require.Equal(t, 600.0, v.Baseline, "the 130s were in a window judged FAILURE")
	}
}

// A change that lasts longer than the baseline becomes the new normal: the
// alert recovers once, and does not fire again.
func TestSpikeAcceptsALastingChangeAfterABaseline(t *testing.T) {
	d := newSlotDriver(spikeRule10s(t, nil))
	d.steps(66, 100)
	d.steps(400, 300)
	require.Len(t, d.changes, 2, "%v", d.changes)
	assert.Equal(t, "FAILURE@67", d.changes[0])
	var okAt int64
	_, err := fmt.Sscanf(d.changes[1], "OKAY@%d", &okAt)
	require.NoError(t, err)
	// 60 slots kept out, then the 3x slots fill the baseline until the
	// factor falls below sqrt(1.5): mean > 1800/6/1.2247 = 244.9.
	assert.Greater(t, okAt, int64(66+60))
	assert.Less(t, okAt, int64(66+6+60+60))
	assert.Equal(t, 1800.0, d.last.Baseline, "the baseline holds the new level only")
}

// Payments: about 0.12 per slot. A drop to zero is judged over 30 minutes
// against 6 hours: it fires at the largest count whose tail is below 1e-6,
// recovers at the smallest above 1e-3, and the baseline stays as it was.
func TestSpikePoissonDownOnSparseCounts(t *testing.T) {
	r := spikeRule10s(t, func(p *SpikeParams) {
		p.Direction, p.Window, p.Baseline = DirectionDown, 30*time.Minute, 6*time.Hour
	})
	d := newSlotDriver(r)
	payment := func(i int) float64 { // one payment every 8 slots: 22.5 expected in 180 slots
		if i%8 == 0 {
			return 1
		}
		return 0
	}
	for i := 0; i < 180+2160+800; i++ {
		d.step(payment(i))
	}
	require.Empty(t, d.changes)
	require.True(t, d.last.Decided)
	// The 30-minute window keeps its 180 slots in buckets of 3 and the 6-hour
	// baseline its 2160 in buckets of 36 (maxBuckets), so they cover 178 to
	// 180 and 2125 to 2160 slots: the count expected varies by 2/180 with the
	// window, and the baseline's rate by up to a bucket's share, 36/2125, with
	// the phase of the one-in-8 pattern.
	bucketTolerance := 22.5 * (2.0/180 + 36.0/2125)
	assert.InDelta(t, 22.5, d.last.Baseline, bucketTolerance)

	fireAt, recoverAt := -1.0, -1.0
	for k := 0.0; k < 22; k++ {
		if poissonAtMost(k, 22.5) < 1e-6 {
			fireAt = k
		}
		if recoverAt < 0 && poissonAtMost(k, 22.5) >= 1e-3 {
			recoverAt = k
		}
	}
	require.Equal(t, 3.0, fireAt)
	require.Equal(t, 9.0, recoverAt)

	var fired Verdict
	for range 360 { // the checkout breaks for an hour
		before := d.level
		if v := d.step(0); before == OK && d.level == Failure {
			fired = v
		}
	}
	require.Len(t, d.changes, 1)
	assert.Equal(t, fireAt, fired.Observed)
	assert.InDelta(t, 22.5, fired.Baseline, bucketTolerance)
	assert.InEpsilon(t, poissonTailSum(fireAt, fired.Baseline, false), fired.Probability, 1e-8)

	var recovered Verdict
	for i := 0; i < 2000; i++ {
		before := d.level
		if v := d.step(payment(i)); before == Failure && d.level == OK {
			recovered = v
		}
	}
	require.Len(t, d.changes, 2, "%v", d.changes)
	assert.Equal(t, recoverAt, recovered.Observed)
	assert.InDelta(t, 22.5, recovered.Baseline, bucketTolerance, "frozen since the alert")
	assert.Equal(t, 1e-3, recovered.Threshold)
	// Fed again after the recovery, without the hour of zeros (its slots, kept
	// out, leave the payment pattern a little out of phase).
	assert.InDelta(t, 22.5, d.last.Baseline, 0.2)
}

// At 0.12 per slot a minute expects 0.72: even a drop to zero is not
// improbable, so a short window never judges a drop; MinExpected likewise
// keeps sparse rises unjudged.
func TestSpikeSparseCountsAreNotJudgedOnShortWindows(t *testing.T) {
	for _, dir := range []Direction{DirectionDown, DirectionUp, DirectionBoth} {
		d := newSlotDriver(spikeRule10s(t, func(p *SpikeParams) { p.Direction = dir }))
		for i := range 311 { // until the bursts reach the baseline
			x := 0.0
			if i%8 == 0 {
				x = 1
			}
			if i > 300 && dir != DirectionDown {
				x = 5 // a burst of 40x: lambda 0.75 < MinExpected 5
			}
			if i > 300 && dir == DirectionDown {
				x = 0
			}
			v := d.step(x)
			require.False(t, v.Decided, "%v slot %d", dir, i)
		}
	}
}

// Direction "both" doubles the smaller one-sided tail.
func TestSpikeBothIsTwoSided(t *testing.T) {
	up := newSlotDriver(spikeRule10s(t, nil))
	both := newSlotDriver(spikeRule10s(t, func(p *SpikeParams) { p.Direction = DirectionBoth }))
	for _, d := range []*slotDriver{up, both} {
		d.steps(66, 100)
		d.step(160)
	}
	assert.Equal(t, 660.0, both.last.Observed)
	assert.InEpsilon(t, 2*up.last.Probability, both.last.Probability, 1e-12)

	down := newSlotDriver(spikeRule10s(t, func(p *SpikeParams) { p.Direction = DirectionDown }))
	both = newSlotDriver(spikeRule10s(t, func(p *SpikeParams) { p.Direction = DirectionBoth }))
	for _, d := range []*slotDriver{down, both} {
		d.steps(66, 100)
		d.steps(6, 30)
	}
	assert.Equal(t, Failure, down.last.Level)
	assert.Equal(t, Failure, both.last.Level)
	assert.InEpsilon(t, 2*down.last.Probability, both.last.Probability, 1e-12)
	assert.Equal(t, 180.0, both.last.Observed)

	// "up" ignores drops, "down" rises.
	up = newSlotDriver(spikeRule10s(t, nil))
	up.steps(66, 100)
	up.steps(6, 0)
	assert.Empty(t, up.changes)
	down = newSlotDriver(spikeRule10s(t, func(p *SpikeParams) { p.Direction = DirectionDown }))
	down.steps(66, 100)
	down.steps(6, 1000)
	assert.Empty(t, down.changes)
}

func TestSpikeWarningProbability(t *testing.T) {
	d := newSlotDriver(spikeRule10s(t, func(p *SpikeParams) { p.WarningProbability, p.MinFactor = 1e-3, 1 }))
	d.steps(66, 100)
	v := d.step(180) // 680: p = 8e-4
	require.Equal(t, Warning, v.Level)
	assert.Equal(t, 1e-3, v.Threshold)
	v = d.step(180) // 760: p ~ 1e-10
	assert.Equal(t, Failure, v.Level)
	assert.Equal(t, 1e-6, v.Threshold)
	assert.Equal(t, []string{"WARNING@66", "FAILURE@67"}, d.changes)
}

// Counts sum over the series of a slot; slots without data are not zeros: a
// gap in the window shrinks the expectation instead of looking like a drop.
func TestSpikeSumsSlotsAndSkipsGaps(t *testing.T) {
	d := newSlotDriver(spikeRule10s(t, func(p *SpikeParams) { p.Direction = DirectionDown }))
	d.steps(66, 60, 40) // two series: 100 per slot
	assert.Equal(t, 600.0, d.last.Observed)
	d.steps(2) // two slots without data
	d.step(60, 40)
	assert.True(t, d.last.Decided)
	assert.Equal(t, 400.0, d.last.Observed)
	assert.Equal(t, 400.0, d.last.Baseline, "4 slots with data expect 400")
	assert.Equal(t, OK, d.last.Level)
	d.steps(1) // now 3 of 6 slots hold data: still judged
	assert.True(t, d.last.Decided)
	d.step() // 2 of 6: too little to judge
	assert.False(t, d.last.Decided)
	assert.Empty(t, d.changes)
	// The empty slots reach the baseline as no data, not as zeros.
	d.steps(100, 100)
	assert.Equal(t, 600.0, d.last.Baseline)
	assert.Empty(t, d.changes)
}

// The shortest windows work: one slot against one slot (Poisson).
func TestSpikeOneSlotWindows(t *testing.T) {
	d := newSlotDriver(spikeRule10s(t, func(p *SpikeParams) { p.Window, p.Baseline = 10*time.Second, 10*time.Second }))
	assert.False(t, d.step(100).Decided)
	v := d.step(100)
	require.True(t, v.Decided)
	assert.Equal(t, 100.0, v.Baseline)
	d.step(300)
	assert.Equal(t, []string{"FAILURE@2"}, d.changes)
}

// After a gap longer than both windows the rule warms up again and says
// nothing until the baseline holds enough data.
func TestSpikeLongGapThroughTheEngine(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{spikeRule10s(t, func(p *SpikeParams) { p.Direction = DirectionBoth })}, Options{Sink: rec})
	require.NoError(t, err)
	step := 0
	send := func(n int, v float64) {
		for range n {
			e.Observe(gaugeList("h", "web/gauge-requests", t0.Add(time.Duration(step)*10*time.Second), v))
			step++
		}
	}
	send(100, 100)
	step += 1000 // silence
	e.Tick(t0.Add(time.Duration(step) * 10 * time.Second))
	send(200, 100)
	assert.Empty(t, rec.severities())
}

// A late value (its slot already judged) counts in the open slot.
func TestSpikeLateValueCountsInTheOpenSlot(t *testing.T) {
	r := spikeRule10s(t, nil)
	st := r.NewState(SlotClock{Origin: t0, Step: 10 * time.Second})
	for s := int64(0); s < 70; s++ {
		st.Add(0, s, 100)
		if s == 68 {
			st.Add(0, 66, 50) // slot 66 was judged already
		}
		st.Evaluate(s, OK)
	}
	v := st.Evaluate(70, OK) // window 65..70: five slots of 100 + 50 (slot 70 has no data)
	assert.Equal(t, 550.0, v.Observed)
}

// The normal model: Student's t of the window mean against the baseline.
func TestSpikeNormalModelExactVerdict(t *testing.T) {
	r := spikeRule10s(t, func(p *SpikeParams) { p.Model, p.MinFactor, p.Direction = NormalModel, 1, DirectionBoth })
	d := newSlotDriver(r)
	var base Summary
	for i := range 66 {
		x := 140.0
		if i%2 == 1 {
			x = 160
		}
		d.step(x)
		if i < 60 {
			base.Add(x)
		}
	}
	require.True(t, d.last.Decided)
	assert.Equal(t, OK, d.last.Level)
	for range 6 {
		d.step(175)
	}
	v := d.last
	require.True(t, v.Decided)
	assert.Equal(t, Failure, v.Level)
	assert.Equal(t, 175.0, v.Observed)
	assert.InDelta(t, 150, v.Baseline, 1e-12)
	tt := 25 / (base.StdDev() * math.Sqrt(1.0/6+1.0/60))
	want := 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: 59}.Survival(tt)
	assert.InEpsilon(t, want, v.Probability, 1e-9)
	assert.Less(t, v.Probability, 1e-6)

	// A baseline without spread cannot say what is improbable.
	flat := newSlotDriver(r)
	flat.steps(66, 150)
	flat.steps(6, 500)
	assert.False(t, flat.last.Decided)
}

// Latency level shift through the engine: N(150, 50) per interval, the mean
// moves to 250 for ten minutes and later to 60 for ten minutes; each fires
// once and recovers once, and six hours of normal latency raise nothing.
func TestSpikeNormalLatencyShiftThroughTheEngine(t *testing.T) {
	p := DefaultSpikeParams()
	p.Model, p.MinFactor, p.Direction, p.Window = NormalModel, 1, DirectionBoth, 5*time.Minute
	r, err := NewSpikeRule(RuleSpec{Name: "latency-shift", Lifecycle: Lifecycle{Hits: 1}},
		[]Selector{MustSelector("ecommerce/gauge-page-latency-mean")}, p)
	require.NoError(t, err)
	rec := &recorder{}
	e, err := NewEngine([]Rule{r}, Options{Sink: rec})
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(7, 8))
	step := 0
	send := func(n int, mean float64) {
		for range n {
			x := max(0, mean+50*rng.NormFloat64())
			e.Observe(gaugeList("shop-1", "ecommerce/gauge-page-latency-mean", t0.Add(time.Duration(step)*10*time.Second), x))
			step++
		}
	}
	send(6*360, 150)
	require.Empty(t, rec.severities())
	send(60, 250)
	send(360, 150)
	require.Equal(t, []string{"FAILURE", "OKAY"}, rec.severities())
	fired := rec.alerts[0]
	assert.Equal(t, "spike", fired.Kind)
	assert.Greater(t, fired.Observed, 150.0)
	assert.InDelta(t, 150, fired.Baseline, 10)
	assert.Less(t, fired.Time.Sub(t0.Add(6*time.Hour)), 5*time.Minute, "detected before the window is all incident")
	assert.Contains(t, fired.Message, "FAILURE: latency-shift of shop-1: mean ")
	assert.Contains(t, fired.Message, "in the previous 1h0m0s")
	send(60, 60)
	send(360, 150)
	require.Equal(t, []string{"FAILURE", "OKAY", "FAILURE", "OKAY"}, rec.severities())
	assert.Less(t, rec.alerts[2].Observed, 150.0)
	for _, a := range rec.alerts {
		assert.LessOrEqual(t, len(a.Message), 250)
	}
}

// Web task 3 through the engine: page and asset hits (1115 per 10 s, Poisson)
// for six hours, then twice the traffic for five minutes.
func TestSpikeTrafficThroughTheEngine(t *testing.T) {
	r, err := NewSpikeRule(RuleSpec{Name: "web-traffic-spike", Lifecycle: Lifecycle{Hits: 1}},
		[]Selector{MustSelector("ecommerce/gauge-page-hits-total"), MustSelector("ecommerce/gauge-asset-hits-total")},
		DefaultSpikeParams())
	require.NoError(t, err)
	rec := &recorder{}
	e, err := NewEngine([]Rule{r}, Options{Sink: rec})
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(3, 4))
	step := 0
	send := func(n int, mult float64) {
		for range n {
			ts := t0.Add(time.Duration(step) * 10 * time.Second)
			e.Observe(gaugeList("shop-1", "ecommerce/gauge-page-hits-total", ts, distuv.Poisson{Lambda: 115 * mult, Src: rng}.Rand()))
			e.Observe(gaugeList("shop-1", "ecommerce/gauge-asset-hits-total", ts, distuv.Poisson{Lambda: 1000 * mult, Src: rng}.Rand()))
			step++
		}
	}
	send(6*360, 1)
	require.Empty(t, rec.severities())
	send(30, 2)
	send(360, 1)
	require.Equal(t, []string{"FAILURE", "OKAY"}, rec.severities())
	a := rec.alerts[0]
	// The window holds 3 doubled slots of 6 (1.5x) when slot 2162 is judged,
	// with its own values; noise may take one more.
	assert.Contains(t, []time.Time{t0.Add(2162 * 10 * time.Second), t0.Add(2163 * 10 * time.Second)}, a.Time)
	assert.InDelta(t, 6*1115, a.Baseline, 6*1115*0.01)
	assert.Equal(t, time.Minute, a.Window)
	assert.Regexp(t, `^FAILURE: web-traffic-spike of shop-1: \d{5} in 1m0s against \d+ expected from the previous 1h0m0s \(1\.\d+x\), p=.+ < 1e-06$`, a.Message)
	assert.Regexp(t, `^OKAY: web-traffic-spike of shop-1: \d+ in 1m0s against \d+ expected from the previous 1h0m0s \(1\.\d+x\), within 1.225x of it \(p=.+\)$`, rec.alerts[1].Message,
		"twice the traffic is improbable until the last doubled slot leaves: the factor recovers")
}

// Payments task 4 through the engine: 16 payment series (4 providers x 4
// outcomes) at 0.012 payments/s; the checkout breaks for an hour.
func TestSpikePaymentDropThroughTheEngine(t *testing.T) {
	p := DefaultSpikeParams()
	p.Direction, p.Window, p.Baseline = DirectionDown, 30*time.Minute, 6*time.Hour
	r, err := NewSpikeRule(RuleSpec{Name: "payment-drop", Lifecycle: Lifecycle{Hits: 1}},
		[]Selector{MustSelector("ecommerce/gauge-payment-provider-*")}, p)
	require.NoError(t, err)
	rec := &recorder{}
	e, err := NewEngine([]Rule{r}, Options{Sink: rec})
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(5, 6))
	type weighted struct {
		name   string
		weight float64
	}
	providers := []weighted{{"a", 0.4}, {"b", 0.3}, {"c", 0.1}, {"d", 0.2}}
	outcomes := []weighted{{"success", 0.986}, {"user_error", 0.01}, {"provider_error", 0.001}, {"fraud", 0.003}}
	step := 0
	send := func(n int, rate float64) {
		for range n {
			ts := t0.Add(time.Duration(step) * 10 * time.Second)
			for _, p := range providers {
				for _, o := range outcomes {
					x := 0.0
					if rate > 0 {
						x = distuv.Poisson{Lambda: rate * 10 * p.weight * o.weight, Src: rng}.Rand()
					}
					e.Observe(gaugeList("shop-1", "ecommerce/gauge-payment-provider-"+p.name+"."+o.name, ts, x))
				}
			}
			step++
		}
	}
	send(12*360, 0.012)
	require.Empty(t, rec.severities())
	outage := t0.Add(time.Duration(step) * 10 * time.Second)
	send(360, 0)
	require.Equal(t, []string{"FAILURE"}, rec.severities())
	delay := rec.alerts[0].Time.Sub(outage)
	assert.Greater(t, delay, 10*time.Minute)
	assert.LessOrEqual(t, delay, 31*time.Minute, "at the latest when the window holds no payment")
	assert.LessOrEqual(t, rec.alerts[0].Observed, 5.0, "3 at 21.6 expected; the baseline's own estimate varies")
	assert.Contains(t, rec.alerts[0].Message, "FAILURE: payment-drop of shop-1: ")
	assert.Contains(t, rec.alerts[0].Message, " in 30m0s against ")
	assert.Contains(t, rec.alerts[0].Message, "expected from the previous 6h0m0s")
	back := t0.Add(time.Duration(step) * 10 * time.Second)
	send(12*360, 0.012)
	require.Equal(t, []string{"FAILURE", "OKAY"}, rec.severities())
	assert.Less(t, rec.alerts[1].Time.Sub(back), 45*time.Minute, "about 9 payments back in the window")
	// Frozen while the alert lasted: the same rate, over a window that covers
	// 178 to 180 slots (buckets of 3).
	assert.InEpsilon(t, rec.alerts[0].Baseline, rec.alerts[1].Baseline, 2.0/178+1e-9, "frozen while the alert lasted")
	assert.InDelta(t, 21.6, rec.alerts[1].Baseline, 6, "21.6 +- 1.3 from 6 hours of payments")
}

func TestSpikeMessages(t *testing.T) {
	r := spikeRule10s(t, nil)
	a := &Alert{Severity: Failure, Rule: "web-traffic-spike", Host: "shop-1"}
	v := &Verdict{Observed: 1200, Baseline: 600, Threshold: 1e-6, Probability: 3.14e-45, Window: time.Minute}
	assert.Equal(t, "FAILURE: web-traffic-spike of shop-1: 1200 in 1m0s against 600 expected from the previous 10m0s (2x), p=3.1e-45 < 1e-06",
		r.Message(a, v))
	a = &Alert{Severity: OK, Rule: "web-traffic-spike", Group: "page"}
	v = &Verdict{Observed: 610, Baseline: 600, Threshold: 1e-3, Probability: 0.35, Window: time.Minute}
	assert.Equal(t, "OKAY: web-traffic-spike[page] of all hosts: 610 in 1m0s against 600 expected from the previous 10m0s (1.017x), p=0.35 >= 0.001",
		r.Message(a, v))
	v.Probability = 0
	assert.Contains(t, r.Message(a, v), "p=<1e-300")
	v = &Verdict{Observed: 700, Baseline: 600, Threshold: 1e-3, Probability: 2e-5, Window: time.Minute}
	assert.Equal(t, "OKAY: web-traffic-spike[page] of all hosts: 700 in 1m0s against 600 expected from the previous 10m0s (1.167x), within 1.225x of it (p=2e-05)",
		r.Message(a, v))
	v = &Verdict{Observed: 500, Baseline: 600, Threshold: 1e-3, Probability: 2e-5, Window: time.Minute}
	assert.Contains(t, r.Message(a, v), "(0.8333x), within 0.8165x of it (p=2e-05)")

	n := spikeRule10s(t, func(p *SpikeParams) { p.Model = NormalModel })
	a = &Alert{Severity: Failure, Rule: "latency-shift", Host: "shop-1"}
	v = &Verdict{Observed: 60, Baseline: 150, Threshold: 1e-6, Probability: 2e-9, Window: 5 * time.Minute}
	assert.Equal(t, "FAILURE: latency-shift of shop-1: mean 60 over 5m0s against 150 in the previous 10m0s (-90), p=2e-09 < 1e-06",
		n.Message(a, v))
	v.Observed = 250
	assert.Contains(t, n.Message(a, v), "(+100)")
}

func TestSpikeHotPathDoesNotAllocate(t *testing.T) {
	for _, m := range []SpikeModel{PoissonModel, NormalModel} {
		st := spikeRule10s(t, func(p *SpikeParams) { p.Model, p.Direction = m, DirectionBoth }).NewState(SlotClock{Origin: t0, Step: 10 * time.Second})
		slot := int64(0)
		allocs := testing.AllocsPerRun(2000, func() {
			st.Add(0, slot, float64(100+slot%7))
			st.Add(0, slot, 3)
			st.Evaluate(slot, OK)
			slot++
		})
		assert.Zero(t, allocs, "%v", m)
	}
}

func TestNewSpikeRuleValidates(t *testing.T) {
	sel := []Selector{MustSelector("a/b")}
	spec := RuleSpec{Name: "s"}
	for _, tc := range []struct {
		set  func(*SpikeParams)
		want string
	}{
		{func(p *SpikeParams) { p.Window = 0 }, `rule "s": Window must be positive`},
		{func(p *SpikeParams) { p.Baseline = -time.Second }, `rule "s": Baseline must be positive`},
		{func(p *SpikeParams) { p.Direction = 7 }, `rule "s": Direction must be up, down or both`},
		{func(p *SpikeParams) { p.Model = 7 }, `rule "s": Model must be poisson or normal`},
		{func(p *SpikeParams) { p.Probability = 0 }, `rule "s": Probability must be between 0 and 1`},
		{func(p *SpikeParams) { p.Probability = 1 }, `rule "s": Probability must be between 0 and 1`},
		{func(p *SpikeParams) { p.Probability = math.NaN() }, `rule "s": Probability must be between 0 and 1`},
		{func(p *SpikeParams) { p.WarningProbability = 1e-7 }, `rule "s": WarningProbability must be between Probability and 1`},
		{func(p *SpikeParams) { p.WarningProbability = 1 }, `rule "s": WarningProbability must be between Probability and 1`},
		{func(p *SpikeParams) { p.MinFactor = 0.9 }, `rule "s": MinFactor must be at least 1`},
		{func(p *SpikeParams) { p.MinFactor = math.NaN() }, `rule "s": MinFactor must be at least 1`},
		{func(p *SpikeParams) { p.MinExpected = -1 }, `rule "s": MinExpected must not be negative`},
		{func(p *SpikeParams) { p.RecoveryFactor = 0.5 }, `rule "s": RecoveryFactor must be at least 1`},
	} {
		p := DefaultSpikeParams()
		tc.set(&p)
		_, err := NewSpikeRule(spec, sel, p)
		assert.EqualError(t, err, tc.want)
	}
	_, err := NewSpikeRule(spec, nil, DefaultSpikeParams())
	assert.EqualError(t, err, `rule "s": no series for Series`)
	r, err := NewSpikeRule(spec, sel, DefaultSpikeParams())
	require.NoError(t, err)
	assert.Equal(t, "spike", r.Kind())
	assert.Equal(t, "a/b", r.Spec().Describe())
}

func TestParseDirectionAndModel(t *testing.T) {
	for s, want := range map[string]Direction{"up": DirectionUp, "Down": DirectionDown, "BOTH": DirectionBoth} {
		d, err := ParseDirection(s)
		require.NoError(t, err)
		assert.Equal(t, want, d)
		assert.Equal(t, want.String(), d.String())
	}
	_, err := ParseDirection("sideways")
	assert.EqualError(t, err, `want "up", "down" or "both"`)
	m, err := ParseSpikeModel("Normal")
	require.NoError(t, err)
	assert.Equal(t, NormalModel, m)
	assert.Equal(t, "normal", m.String())
	_, err = ParseSpikeModel("gaussian")
	assert.EqualError(t, err, `want "poisson" or "normal"`)
	assert.Equal(t, 1.5, PoissonModel.DefaultMinFactor())
	assert.Equal(t, 1.0, NormalModel.DefaultMinFactor())
}

// With a Reference the Poisson model expects the baseline's count per
// reference event: payments that follow the sessions' daily curve (+-70%)
// are no drop, where the baseline's count alone falls for one every
// evening; a broken checkout at night, when an hour expects 13 payments, is
// still caught.
func TestSpikeReferenceFollowsTheDailyCurve(t *testing.T) {
	run := func(reference bool) []string {
		rng := rand.New(rand.NewPCG(21, 0))
		r := spikeRule10s(t, func(p *SpikeParams) {
			p.Window, p.Baseline, p.Direction = time.Hour, 6*time.Hour, DirectionDown
			// The counts' dispersion (the curve within the baseline) would
			// quieten the evenings too; this test is of the reference.
			p.OverDispersion = false
			if reference {
				p.Reference = []Selector{MustSelector("web/gauge-sessions")}
			}
		})
		st := r.NewState(SlotClock{Origin: t0, Step: 10 * time.Second})
		var changes []string
		level := OK
		const perDay = 8640
		for slot := int64(0); slot < 4*perDay; slot++ {
			hour := float64(slot%perDay) / 360
			load := 1 + 0.7*math.Cos(2*math.Pi*(hour-15)/24)
			payments := 0.12 * load
			if slot >= 3*perDay+3*360 && slot < 3*perDay+5*360 {
				payments = 0 // checkout broken from 3:00 to 5:00 on day 4
			}
			st.Add(0, slot, distuv.Poisson{Lambda: payments, Src: rng}.Rand())
			st.Add(1, slot, distuv.Poisson{Lambda: 24 * load, Src: rng}.Rand())
			v := st.Evaluate(slot, level)
			if v.Decided && v.Level != level {
				level = v.Level
				changes = append(changes, fmt.Sprintf("%s@day%d-%02d:%02d", level, slot/perDay+1, (slot%perDay)/360, (slot%360)/6))
			}
		}
		return changes
	}
	withReference := run(true)
	require.Len(t, withReference, 2, "%v", withReference)
	assert.Regexp(t, `^FAILURE@day4-0[34]:`, withReference[0], "the broken checkout, at night")
	assert.Regexp(t, `^OKAY@day4-0[56]:`, withReference[1])
	assert.Greater(t, len(run(false)), 2, "without the reference, the evenings look like drops")
}

// Readings of a measurement in one slot are averaged (Model normal): two
// series of a latency at 100 are a slot of 100, not 200; counts add up.
func TestSpikeNormalModelAveragesASlotsReadings(t *testing.T) {
	for _, model := range []SpikeModel{NormalModel, PoissonModel} {
		sel, err := ParseSelector("app/gauge-latency-*")
		require.NoError(t, err)
		p := DefaultSpikeParams()
		p.Model = model
		r, err := NewSpikeRule(RuleSpec{Name: "s"}, []Selector{sel}, p)
		require.NoError(t, err)
		st := r.NewState(SlotClock{Origin: t0, Step: 10 * time.Second}).(*baselineState)
		st.Add(0, 0, 100)
		st.Add(0, 0, 102)
		st.Evaluate(0, OK)
		want := 101.0
		if model == PoissonModel {
			want = 202
		}
		assert.Equal(t, want, st.wb.win.Total().Sum, model.String())
	}
}

// Counts that wander more than a Poisson process (a load with a log-sd of
// 25% changing every minute) are judged with their measured dispersion: a
// minute at 1.6x the hour is what such traffic does, a minute at 5x is not.
// Pure Poisson counts measure no dispersion.
func TestSpikeOverDispersedCountsAreJudgedWithTheirVariance(t *testing.T) {
	run := func(overDispersion bool, factor float64) Level {
		rng := rand.New(rand.NewPCG(31, 0))
		r := spikeRule10s(t, func(p *SpikeParams) { p.OverDispersion = overDispersion })
		st := r.NewState(SlotClock{Origin: t0, Step: 10 * time.Second})
		level := OK
		load := 1.0
		for slot := int64(0); slot < 400+6; slot++ {
			if slot%6 == 0 {
				load = math.Exp(0.25*rng.NormFloat64() - 0.25*0.25/2)
			}
			mean := 100 * load
			if slot >= 400 {
				mean = 100 * factor
			}
			st.Add(0, slot, distuv.Poisson{Lambda: mean, Src: rng}.Rand())
			if v := st.Evaluate(slot, OK); v.Decided && v.Level > level {
				level = v.Level
			}
		}
		return level
	}
	assert.Equal(t, Failure, run(false, 1.6), "as Poisson counts, 1.6x is improbable")
	assert.Equal(t, OK, run(true, 1.6), "with the measured dispersion it is not")
	assert.Equal(t, Failure, run(true, 5), "5x is, either way")

	// Poisson counts: sampling noise alone is no dispersion.
	rng := rand.New(rand.NewPCG(32, 0))
	wb := newWindowAndBaseline(6, 360)
	zero, judged := 0, 0
	for slot := int64(0); slot < 5000; slot++ {
		wb.add(slot, distuv.Poisson{Lambda: 100, Src: rng}.Rand())
		wb.close(slot)
		if slot > 400 {
			judged++
			if wb.dispersion(1) == 0 {
				zero++
			}
		}
	}
	assert.Greater(t, float64(zero)/float64(judged), 0.9, "dispersion measured in %d of %d baselines of Poisson counts", judged-zero, judged)
}
