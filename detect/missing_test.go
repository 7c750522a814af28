package detect

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	missingHits     = "ecommerce/gauge-page-hits-total"
	missingSessions = "ecommerce/gauge-new-sessions"
)

func missingRule(t *testing.T, timeout time.Duration, mutate ...func(*RuleSpec)) *MissingRule {
	t.Helper()
	spec := RuleSpec{Name: "alive", Lifecycle: Lifecycle{Hits: 1}}
	for _, m := range mutate {
		m(&spec)
	}
	r, err := NewMissingRule(spec, []Selector{MustSelector(missingHits), MustSelector(missingSessions)}, timeout)
	require.NoError(t, err)
	return r
}

// missingAt is the time of step i of a 10 s interval.
func missingAt(i int) time.Time { return t0.Add(time.Duration(i) * 10 * time.Second) }

func TestMissingStateCountsEmptySlots(t *testing.T) {
	s := missingRule(t, 0).NewState(SlotClock{Origin: t0, Step: 10 * time.Second})
	assert.False(t, s.Evaluate(0, OK).Decided, "nothing seen: nothing to miss")
	s.Add(0, 3, 1)
	s.Add(1, 3, 0) // the value does not matter, nor which series
	for slot, want := range map[int64]Level{3: OK, 4: OK, 5: OK, 6: Failure, 50: Failure} {
		v := s.Evaluate(slot, OK)
		require.True(t, v.Decided)
		assert.Equal(t, want, v.Level, "slot %d", slot)
		assert.Equal(t, (float64(slot-3)+0.5)*10, v.Observed, "silence at the end of slot %d", slot)
		assert.Equal(t, 30.0, v.Threshold, "default timeout: 3 slots")
		assert.Equal(t, 30*time.Second, v.Window)
	}
	s.Add(0, 51, 1)
	assert.Equal(t, OK, s.Evaluate(51, Failure).Level, "back as soon as a value arrives")
	s.Add(0, 40, 1) // a late value of an older slot does not move time back
	assert.Equal(t, OK, s.Evaluate(52, OK).Level)
	assert.Equal(t, int64(4), s.Span())
}

// The first silent slot is the first e >= 1 with (e + 1/2) x step > Timeout.
func TestMissingTimeoutInSlots(t *testing.T) {
	for _, tc := range []struct {
		timeout, step time.Duration
		empty         int64
	}{
		{0, 10 * time.Second, 3},
		{0, time.Minute, 3},
		{30 * time.Second, 10 * time.Second, 3},
		{25 * time.Second, 10 * time.Second, 3}, // 25 s is not longer than 25 s
		{24 * time.Second, 10 * time.Second, 2},
		{5 * time.Second, 10 * time.Second, 1},
		{time.Nanosecond, 10 * time.Second, 1}, // the slot of the value itself is never silent
		{time.Minute, time.Second, 60},
	} {
		s := missingRule(t, tc.timeout).NewState(SlotClock{Origin: t0, Step: tc.step}).(*missingState)
		assert.Equal(t, tc.empty, s.emptySlots, "Timeout %v, step %v", tc.timeout, tc.step)
		s.Add(0, 0, 1)
		assert.Equal(t, OK, s.Evaluate(tc.empty-1, OK).Level, "Timeout %v, step %v", tc.timeout, tc.step)
		assert.Equal(t, Failure, s.Evaluate(tc.empty, OK).Level, "Timeout %v, step %v", tc.timeout, tc.step)
	}
}

// Values every 10 s, the last at t; Tick every 10 s as the plugin does. Slot
// L+3 is the first silent one (35 s > 30 s); it ends at t + 35 s and is
// judged once the host's clock, carried forward by its silence, has passed
// that by the lateness (2 intervals): the first Tick at or after t + 55 s
// sends the FAILURE, stamped t + 55 s, when it became certain.
func TestMissingFiresAtTimeoutPlusLatenessWithTick(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{missingRule(t, 30*time.Second)}, Options{Sink: rec})
	require.NoError(t, err)
	for i := 0; i <= 9; i++ { // the last value at step 9 (90 s), slot 9
		e.Observe(gaugeList("shop-1", missingHits, missingAt(i), 100))
		e.Tick(missingAt(i))
	}
	for i := 10; i <= 14; i++ {
		e.Tick(missingAt(i))
		assert.Empty(t, rec.severities(), "tick at step %d", i)
	}
	e.Tick(missingAt(15))
	require.Equal(t, []string{"FAILURE"}, rec.severities())
	a := rec.alerts[0]
	assert.Equal(t, missingAt(9).Add(55*time.Second), a.Time, "55 s after the last value")
	assert.Equal(t, "missing", a.Kind)
	assert.Equal(t, "shop-1", a.Host)
	assert.Empty(t, a.Group)
	assert.Equal(t, 35.0, a.Observed)
	assert.Equal(t, 30.0, a.Threshold)
	assert.Equal(t, "FAILURE: alive: no values of ecommerce/gauge-page-hits-total + ecommerce/gauge-new-sessions from shop-1 since 2026-11-27 12:01:30 UTC, 55s ago (timeout 30s)", a.Message)

	for i := 15; i < 100; i++ {
		e.Tick(missingAt(i))
	}
	assert.Len(t, rec.alerts, 1, "one notification while it lasts")

	// Values again at step 100: slot 100 is complete with its value, but
	// the slots before it may still get values delayed on the way; they are
	// judged at the lateness (2 intervals), and then slot 100, whose verdict
	// carries the time of its value.
	for i := 100; i <= 102; i++ {
		assert.Len(t, rec.alerts, 1, "step %d", i)
		e.Observe(gaugeList("shop-1", missingHits, missingAt(i), 100))
		e.Tick(missingAt(i))
	}
	require.Equal(t, []string{"FAILURE", "OKAY"}, rec.severities())
	ok := rec.alerts[1]
	assert.Equal(t, missingAt(100), ok.Time)
	assert.Equal(t, "OKAY: alive: values of ecommerce/gauge-page-hits-total + ecommerce/gauge-new-sessions from shop-1 arrive again (timeout 30s)", ok.Message)
}

// The exact bound: slot 12 ends at 125 s (slots are centred on the first
// value), so a Tick at 145 s already sends it: 5.5 intervals after the last
// value.
func TestMissingEarliestFailure(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{missingRule(t, 30*time.Second)}, Options{Sink: rec})
	require.NoError(t, err)
	for i := 0; i <= 9; i++ {
		e.Observe(gaugeList("shop-1", missingHits, missingAt(i), 100))
	}
	e.Tick(missingAt(9).Add(55*time.Second - time.Nanosecond))
	assert.Empty(t, rec.severities())
	e.Tick(missingAt(9).Add(55 * time.Second))
	require.Equal(t, []string{"FAILURE"}, rec.severities())
}

// By default the rule watches a host: it fires only when none of the host's
// series arrives, and only for that host.
func TestMissingPerHost(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{missingRule(t, 0)}, Options{Sink: rec})
	require.NoError(t, err)
	for i := 0; i < 30; i++ {
		e.Observe(gaugeList("up", missingHits, missingAt(i), 1))
		if i < 10 {
			e.Observe(gaugeList("up", missingSessions, missingAt(i), 1)) // one series of "up" stops
			e.Observe(gaugeList("down", missingSessions, missingAt(i), 1))
		}
		e.Tick(missingAt(i))
	}
	require.Equal(t, []string{"FAILURE"}, rec.severities())
	assert.Equal(t, "down", rec.alerts[0].Host)
	assert.Equal(t, missingAt(9).Add(55*time.Second), rec.alerts[0].Time)
	assert.Contains(t, rec.alerts[0].Message, "from down since 2026-11-27 12:01:30 UTC, 55s ago")
}

// PerSeries: each series its own group, one alert per silent series.
func TestMissingPerSeries(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{missingRule(t, 0, func(s *RuleSpec) { s.PerSeries = true })}, Options{Sink: rec})
	require.NoError(t, err)
	for i := 0; i < 30; i++ {
		e.Observe(gaugeList("up", missingHits, missingAt(i), 1))
		if i < 10 {
			e.Observe(gaugeList("up", missingSessions, missingAt(i), 1))
		}
		e.Tick(missingAt(i))
	}
	require.Equal(t, []string{"FAILURE"}, rec.severities())
	a := rec.alerts[0]
	assert.Equal(t, "up", a.Host)
	assert.Equal(t, missingSessions, a.Group)
	assert.Equal(t, missingAt(9).Add(55*time.Second), a.Time, "the host's own values close the silent series' slots")
	assert.Equal(t, "FAILURE: alive[ecommerce/gauge-new-sessions]: no values of ecommerce/gauge-new-sessions from up since 2026-11-27 12:01:30 UTC, 55s ago (timeout 30s)", a.Message)
}

// Across hosts: silent only when no host sends.
func TestMissingAggregated(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{missingRule(t, 0, func(s *RuleSpec) { s.AggregateHosts = true })}, Options{Sink: rec})
	require.NoError(t, err)
	for i := 0; i < 25; i++ {
		if i < 10 {
			e.Observe(gaugeList("a", missingHits, missingAt(i), 1))
		}
		if i < 15 {
			e.Observe(gaugeList("b", missingHits, missingAt(i), 1))
		}
		e.Tick(missingAt(i))
	}
	require.Equal(t, []string{"FAILURE"}, rec.severities())
	assert.Equal(t, missingAt(14).Add(55*time.Second), rec.alerts[0].Time)
	assert.Contains(t, rec.alerts[0].Message, "from any host")
}

// Replay without Tick: the gap is judged when values come back, so it still
// shows as a FAILURE and an OKAY; a gap much longer than the Span is judged
// over its last slots only.
func TestMissingGapWithoutTick(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{missingRule(t, 0)}, Options{Sink: rec})
	require.NoError(t, err)
	e.Observe(gaugeList("h", missingHits, missingAt(0), 1))
	e.Observe(gaugeList("h", missingHits, missingAt(1), 1))
	e.Observe(gaugeList("h", missingHits, missingAt(5000), 1))
	e.Observe(gaugeList("h", missingHits, missingAt(5001), 1))
	e.Observe(gaugeList("h", missingHits, missingAt(5002), 1))
	require.Equal(t, []string{"FAILURE", "OKAY"}, rec.severities())
	// The value of slot 5000 moves the host's clock, which closes the slots
	// up to 4997 (the lateness before it), one by one: the FAILURE is the
	// verdict on slot 4, stamped when that became certain.
	assert.Equal(t, 35.0, rec.alerts[0].Observed, "silence at the end of slot 4")
	assert.Equal(t, missingAt(1).Add(55*time.Second), rec.alerts[0].Time)
	assert.Equal(t, missingAt(5000), rec.alerts[1].Time, "OK with the value back, once the lateness closed the slots before it")
	// a short gap, under the timeout, is nothing
	e.Observe(gaugeList("h", missingHits, missingAt(5003), 1))
	e.Observe(gaugeList("h", missingHits, missingAt(5004), 1))
	assert.Len(t, rec.alerts, 2)
}

func TestMissingHitsDelayTheAlert(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{missingRule(t, 0, func(s *RuleSpec) { s.Lifecycle.Hits = 3 })}, Options{Sink: rec})
	require.NoError(t, err)
	e.Observe(gaugeList("h", missingHits, missingAt(0), 1))
	for i := 1; i < 30; i++ {
		e.Tick(missingAt(i))
	}
	require.Equal(t, []string{"FAILURE"}, rec.severities())
	assert.Equal(t, t0.Add(75*time.Second), rec.alerts[0].Time, "slots 3, 4 and 5 silent; slot 5 ends at 55 s, certain 20 s later")
}

func TestMissingRuleOptions(t *testing.T) {
	_, err := NewMissingRule(RuleSpec{Name: "m"}, []Selector{MustSelector("a/b")}, -time.Second)
	assert.EqualError(t, err, `rule "m": Timeout must not be negative`)
	_, err = NewMissingRule(RuleSpec{Name: "m"}, nil, 0)
	assert.EqualError(t, err, `rule "m": no series for Series`)
	r := missingRule(t, 0)
	assert.Equal(t, "missing", r.Kind())
	assert.Equal(t, "Series", r.Inputs[0].Name)
}

func TestMissingDoesNotAllocate(t *testing.T) {
	s := missingRule(t, 0).NewState(SlotClock{Origin: t0, Step: 10 * time.Second})
	slot := int64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		if slot%7 == 0 {
			s.Add(0, slot, 1)
		}
		s.Evaluate(slot, OK)
		slot++
	})
	assert.Zero(t, allocs)
}
