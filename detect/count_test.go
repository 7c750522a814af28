package detect

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat/distuv"
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

// A count relative to the usual for the time of day: rejected logins follow
// the shop's day, 18 an hour on average, 1.8 at 2:00, 34 at the evening's
// peak. "More than 3x the usual and more than 10" (Hysteresis 2) finds 25
// extra at night,
// which a fixed bound quiet enough for the evening (more than 60) misses,
// and raises nothing else once the day is learnt: at night the floor holds
// (P(Poisson(1.8) > 10) = 2e-6 per hour's window) and the tail, at the
// peak the factor (P(Poisson(34) > 102) < 1e-15). (Checked on 40 seeds
// while writing it: each found the burst once and raised nothing else.)
func TestSeasonalCountIsRelativeToTheHour(t *testing.T) {
	const perDay = 8640
	clock := SlotClock{Origin: t0, Step: 10 * time.Second}
	burstFrom := int64(3*perDay + 14*360) // 2:00 on the fourth night (day 1 begins at 12:00)
	rng := rand.New(rand.NewPCG(11, 0))
	counts := make([]float64, 5*perDay)
	for i := range counts {
		lambda := 0.05 * shopLoad(clock.Start(int64(i)))
		if int64(i) >= burstFrom && int64(i) < burstFrom+360 {
			lambda += 25.0 / 360
		}
		counts[i] = distuv.Poisson{Lambda: lambda, Src: rng}.Rand()
	}
	var raisedAt int64
	run := func(p CountParams, restartAt int64) (changes []string, last Verdict, message string) {
		r, err := NewCountRule(RuleSpec{Name: "logins", Lifecycle: Lifecycle{Hits: 1}}, []Selector{MustSelector("auth/count-rejected")}, p)
		require.NoError(t, err)
		st := r.NewState(clock)
		level := OK
		for slot := range int64(len(counts)) {
			if slot == restartAt {
				st = restarted(t, r, clock, st)
			}
			st.Add(0, slot, counts[slot])
			v := st.Evaluate(slot, level)
			if v.Decided && v.Level != level {
				level = v.Level
				changes = append(changes, fmt.Sprintf("%s@day%d-%s", level, slot/perDay+1, clock.Start(slot).Format("15:04:05")))
				if level != OK {
					last, message, raisedAt = v, r.Message(&Alert{Rule: "logins", Severity: level}, &v), slot
				}
			}
		}
		return changes, last, message
	}
	fixed := DefaultCountParams()
	fixed.Thresholds.FailureMax = 60
	plain, _, _ := run(fixed, -1)
	assert.Empty(t, plain, "a fixed bound quiet at the peak misses the night's burst")

	relative := fixed
	relative.Thresholds.FailureMax, relative.Thresholds.Hysteresis = 10, 2
	relative.Season, relative.FailureFactor = 24*time.Hour, 3
	changes, raised, message := run(relative, -1)
	var after []string
	for _, c := range changes {
		if !strings.Contains(c, "day1-") {
			after = append(after, c)
		}
	}
	require.Len(t, after, 2, "%v", changes)
	assert.Regexp(t, `^FAILURE@day4-0[23]:`, after[0])
	assert.Regexp(t, `^OKAY@day4-0[345]:`, after[1])
	assert.Equal(t, ReasonSeasonal, raised.Reason)
	// The usual of the window that raised it, as the profile can know it:
	// each half-hour bucket of the night holds about one login a pass, and
	// three passes weigh 4/9, 2/9 and 1/3 (an effective 2.8 passes).
	truth := 0.0
	for i := raisedAt - 359; i <= raisedAt; i++ {
		truth += 0.05 * shopLoad(clock.Start(i))
	}
	assert.InDelta(t, truth, raised.Baseline, 3*math.Sqrt(truth/2.8), "the usual hour at 2:00 (%.2f)", truth)
	assert.Contains(t, message, "x the usual")
	assert.Contains(t, message, "by the daily profile")

	restarted, _, _ := run(relative, 2*perDay+100)
	assert.Equal(t, changes, restarted, "a restart changes no verdict")
}

// A relative count is refused without its floor, its season or a factor
// above 1, naming the setting.
func TestSeasonalCountIsValidated(t *testing.T) {
	for _, tc := range []struct {
		set  func(*CountParams)
		want string
	}{
		{func(p *CountParams) { p.FailureFactor, p.Thresholds.FailureMax = 3, 5 }, `FailureFactor and WarningFactor need a Season`},
		{func(p *CountParams) { p.Season, p.Thresholds.FailureMax = 24*time.Hour, 5 }, `Season needs FailureFactor or WarningFactor`},
		{func(p *CountParams) { p.Season, p.FailureFactor, p.Thresholds.FailureMax = 24*time.Hour, 1, 5 }, `FailureFactor must be more than 1`},
		{func(p *CountParams) { p.Season, p.FailureFactor, p.Thresholds.FailureMax = 24*time.Hour, math.NaN(), 5 }, `FailureFactor must be more than 1`},
		{func(p *CountParams) { p.Season, p.WarningFactor, p.Thresholds.FailureMax = 24*time.Hour, 2, 5 }, `WarningFactor needs WarningMax`},
		{func(p *CountParams) { p.Season, p.FailureFactor = 24*time.Hour, 3; p.Thresholds.WarningMax = 5 }, `FailureFactor needs FailureMax`},
		{func(p *CountParams) { p.Season, p.FailureFactor, p.Thresholds.FailureMax = time.Hour, 3, 5 }, `Season 1h0m0s must be at least twice Window`},
		{func(p *CountParams) {
			p.Season, p.FailureFactor, p.WarningFactor, p.Thresholds.FailureMax, p.Thresholds.WarningMax = 24*time.Hour, 3, 3, 5, 5
		}, `WarningFactor must be less than FailureFactor (3)`},
	} {
		p := DefaultCountParams()
		tc.set(&p)
		_, err := NewCountRule(RuleSpec{Name: "c", Lifecycle: Lifecycle{Hits: 1}}, []Selector{MustSelector("a/b")}, p)
		var se *SettingError
		require.ErrorAs(t, err, &se, tc.want)
		assert.Contains(t, err.Error(), tc.want)
	}
}

// A Season makes the maxima relative to the usual and gates them by its
// tail; a FailureMin stays the user's exact bound: an hour with no login
// at all is a FAILURE as without a Season, however probable it is at night.
func TestSeasonalCountKeepsItsMinimumExact(t *testing.T) {
	const perDay = 8640
	clock := SlotClock{Origin: t0, Step: 10 * time.Second}
	p := DefaultCountParams()
	p.Season, p.FailureFactor = 24*time.Hour, 3
	p.Thresholds.FailureMax, p.Thresholds.FailureMin = 10, 1
	r, err := NewCountRule(RuleSpec{Name: "logins", Lifecycle: Lifecycle{Hits: 1}}, []Selector{MustSelector("auth/count-rejected")}, p)
	require.NoError(t, err)
	st := r.NewState(clock)
	rng := rand.New(rand.NewPCG(12, 0))
	stopAt := int64(2*perDay + 6*360) // 18:00 of day 3: logins stop
	var changes []string
	level, lastLogin := OK, int64(0)
	for slot := range int64(3 * perDay) {
		x := distuv.Poisson{Lambda: 0.05 * shopLoad(clock.Start(slot)), Src: rng}.Rand()
		if slot >= stopAt {
			x = 0
		}
		if x > 0 {
			lastLogin = slot
		}
		st.Add(0, slot, x)
		if v := st.Evaluate(slot, level); v.Decided && v.Level != level {
			level = v.Level
			changes = append(changes, fmt.Sprintf("%s@%d", level, slot))
		}
	}
	// The nights' empty hours are FAILUREs as they would be without a
	// Season (FailureMin is the user's); so is the hour after the last
	// login, which the tail of the usual would have let pass as often.
	require.NotEmpty(t, changes)
	assert.Equal(t, fmt.Sprintf("FAILURE@%d", lastLogin+360), changes[len(changes)-1], "%v", changes)
	assert.Greater(t, len(changes), 2, "the nights' empty hours: %v", changes)
}
