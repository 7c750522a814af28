package detect

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// recorder is a Sink that keeps what it gets.
type recorder struct {
	mu     sync.Mutex
	alerts []Alert
	values []DerivedValue
}

func (r *recorder) Alert(a Alert) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts = append(r.alerts, a)
}

func (r *recorder) Value(v DerivedValue) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.values = append(r.values, v)
}

func (r *recorder) severities() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, a := range r.alerts {
		out = append(out, a.Severity.String())
	}
	return out
}

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func gaugeList(host, series string, t time.Time, v float64) *metric.ValueList {
	id, err := metric.ParseIdentifier(series)
	if err != nil {
		panic(err)
	}
	id.Host = host
	return &metric.ValueList{Identifier: id, Time: t, Interval: 10 * time.Second, Values: []metric.Value{metric.GaugeValue(v)}}
}

func failedShareRule(t *testing.T, mutate ...func(*RuleSpec)) *RatioRule {
	spec := RuleSpec{Name: "failed", Lifecycle: Lifecycle{Hits: 1}}
	for _, m := range mutate {
		m(&spec)
	}
	th := Unbounded()
	th.FailureMax, th.Hysteresis = 0.10, 0.02
	r, err := NewRatioRule(spec, []Selector{MustSelector("web/gauge-errors")}, []Selector{MustSelector("web/gauge-requests")}, RatioParams{Window: time.Minute, Thresholds: th, MinDenominator: 10})
	require.NoError(t, err)
	return r
}

// feed sends one interval of requests and errors for host.
func feed(e *Engine, host string, step int, requests, errors float64) {
	t := t0.Add(time.Duration(step) * 10 * time.Second)
	e.Observe(gaugeList(host, "web/gauge-requests", t, requests))
	e.Observe(gaugeList(host, "web/gauge-errors", t, errors))
}

func TestRatioRuleFiresOnceAndRecoversOnce(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec})
	require.NoError(t, err)
	step := 0
	for ; step < 30; step++ {
		feed(e, "h1", step, 100, 1)
	}
	assert.Empty(t, rec.severities(), "1% is fine")
	for ; step < 60; step++ {
		feed(e, "h1", step, 100, 30)
	}
	require.Equal(t, []string{"FAILURE"}, rec.severities())
	a := rec.alerts[0]
	assert.Equal(t, "h1", a.Host)
	assert.Equal(t, "failed", a.Rule)
	assert.Equal(t, "ratio", a.Kind)
	assert.InDelta(t, 0.10, a.Threshold, 1e-12)
	assert.Greater(t, a.Observed, 0.10)
	assert.Contains(t, a.Message, "above the threshold 10%")
	assert.Equal(t, time.Minute, a.Window)
	for ; step < 90; step++ {
		feed(e, "h1", step, 100, 1)
	}
	require.Equal(t, []string{"FAILURE", "OKAY"}, rec.severities())
	assert.Contains(t, rec.alerts[1].Message, "back within")
	assert.InDelta(t, 0.08, rec.alerts[1].Threshold, 1e-12, "recovery is judged with hysteresis")
}

// The alert fires on the first window whose share crosses the threshold: the
// detection delay is bounded by the arithmetic of the window, not a guess.
func TestRatioRuleDetectionDelay(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec})
	require.NoError(t, err)
	for step := 0; step < 12; step++ {
		feed(e, "h1", step, 100, 0)
	}
	// From step 12 on 50% fail: the 6-slot window crosses 10% once it holds
	// two bad slots (100 of 600 = 16.7%; one bad slot is 50/600 = 8.3%). Slot
	// 13 is judged as soon as both of its series have reported for it: with
	// the value of step 13 itself, at the statistical floor.
	for step := 12; step < 20; step++ {
		feed(e, "h1", step, 100, 50)
		if step == 12 {
			assert.Empty(t, rec.severities())
		}
		if step == 13 {
			assert.Equal(t, []string{"FAILURE"}, rec.severities(), "judged with the deciding value")
		}
	}
	require.NotEmpty(t, rec.alerts)
	assert.Equal(t, t0.Add(130*time.Second), rec.alerts[0].Time, "carries the time of the value that decided it")
}

func TestRatioRuleWaitsForAFullWindowAndEnoughEvents(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec})
	require.NoError(t, err)
	for step := 0; step < 5; step++ {
		feed(e, "h1", step, 100, 100) // 100%, but slots 0..4 make no full window
	}
	assert.Empty(t, rec.severities())
	feed(e, "h1", 5, 100, 100) // completes slot 5: six slots, a full window
	assert.Equal(t, []string{"FAILURE"}, rec.severities())

	rec = &recorder{}
	e, err = NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec})
	require.NoError(t, err)
	for step := 0; step < 40; step++ {
		feed(e, "h1", step, 1, 1) // 100% of 6 requests per window: below MinDenominator 10
	}
	assert.Empty(t, rec.severities())
}

func TestRulesJudgeEachHostUnlessAggregated(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec})
	require.NoError(t, err)
	for step := 0; step < 20; step++ {
		feed(e, "bad", step, 100, 50)
		feed(e, "good", step, 100, 0)
	}
	require.Equal(t, []string{"FAILURE"}, rec.severities())
	assert.Equal(t, "bad", rec.alerts[0].Host)

	rec = &recorder{}
	agg := failedShareRule(t, func(s *RuleSpec) { s.AggregateHosts = true })
	e, err = NewEngine([]Rule{agg}, Options{Sink: rec})
	require.NoError(t, err)
	for step := 0; step < 20; step++ {
		feed(e, "bad", step, 100, 15)
		feed(e, "good", step, 100, 0)
	}
	assert.Empty(t, rec.severities(), "7.5% across both hosts")
}

func TestSelectorCaptureGroupsSeparateState(t *testing.T) {
	th := Unbounded()
	th.FailureMax = 0.10
	r, err := NewRatioRule(RuleSpec{Name: "class", Lifecycle: Lifecycle{Hits: 1}}, []Selector{MustSelector(`/^web\/gauge-(?P<group>page|asset)-(400|500)$/`)}, []Selector{MustSelector(`/^web\/gauge-(page|asset)-total$/`)}, RatioParams{Window: time.Minute, Thresholds: th, MinDenominator: 1})
	require.NoError(t, err)
	rec := &recorder{}
	e, err := NewEngine([]Rule{r}, Options{Sink: rec})
	require.NoError(t, err)
	for step := 0; step < 20; step++ {
		ts := t0.Add(time.Duration(step) * 10 * time.Second)
		e.Observe(gaugeList("h", "web/gauge-page-total", ts, 10))
		e.Observe(gaugeList("h", "web/gauge-page-400", ts, 1))
		e.Observe(gaugeList("h", "web/gauge-page-500", ts, 1)) // pages fail 20%
		e.Observe(gaugeList("h", "web/gauge-asset-total", ts, 1000))
		e.Observe(gaugeList("h", "web/gauge-asset-400", ts, 1))
	}
	require.Equal(t, []string{"FAILURE"}, rec.severities())
	assert.Equal(t, "page", rec.alerts[0].Group)
	assert.Contains(t, rec.alerts[0].Message, "class[page]")
}

func TestStaleNaNAndMalformedValuesAreCountedNotUsed(t *testing.T) {
	e, err := NewEngine([]Rule{failedShareRule(t)}, Options{})
	require.NoError(t, err)
	e.Observe(gaugeList("h", "web/gauge-requests", t0, 1))
	e.Observe(gaugeList("h", "web/gauge-requests", t0.Add(20*time.Second), 1))
	e.Observe(gaugeList("h", "web/gauge-requests", t0.Add(20*time.Second), 1))  // repeated
	e.Observe(gaugeList("h", "web/gauge-requests", t0.Add(10*time.Second), 1))  // out of order: in time
	e.Observe(gaugeList("h", "web/gauge-requests", t0.Add(-10*time.Second), 1)) // its slot judged: late
	e.Observe(gaugeList("h", "web/gauge-requests", t0.Add(30*time.Second), nan()))
	bad := gaugeList("h", "web/gauge-requests", t0.Add(40*time.Second), 1)
	bad.Values = append(bad.Values, metric.GaugeValue(2))
	e.Observe(bad)
	s := e.Stats()
	assert.Equal(t, uint64(1), s.Stale)
	assert.Equal(t, uint64(2), s.Reordered)
	assert.Equal(t, uint64(1), s.Late)
	assert.Equal(t, "h/web/gauge-requests", s.LateSeries)
	assert.Equal(t, uint64(1), s.NaN)
	assert.Equal(t, uint64(1), s.Malformed)
	assert.Equal(t, uint64(7), s.ValueLists)
}

func TestMaxSeriesBoundsMemory(t *testing.T) {
	e, err := NewEngine([]Rule{failedShareRule(t)}, Options{MaxSeries: 3})
	require.NoError(t, err)
	for i := 0; i < 5; i++ {
		e.Observe(gaugeList(string(rune('a'+i)), "web/gauge-requests", t0, 1))
	}
	s := e.Stats()
	assert.Equal(t, 3, s.Series)
	assert.Equal(t, uint64(2), s.SeriesDropped)
}

// Counters become per-interval increments; a reset counts from zero.
func TestCountersBecomeIncrements(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec})
	require.NoError(t, err)
	var req, errs uint64
	for step := 0; step < 40; step++ {
		ts := t0.Add(time.Duration(step) * 10 * time.Second)
		req += 100
		if step >= 20 {
			errs += 50
		}
		if step == 25 { // the application restarts: both counters start again
			req, errs = 100, 50
		}
		for _, s := range []struct {
			name string
			v    uint64
		}{{"web/counter-requests", req}, {"web/counter-errors", errs}} {
			id, _ := metric.ParseIdentifier(s.name)
			id.Host = "h"
			e.Observe(&metric.ValueList{Identifier: id, Time: ts, Interval: 10 * time.Second, Values: []metric.Value{metric.CounterValue(s.v)}})
		}
	}
	assert.Empty(t, rec.severities(), "the rule selects gauge-*, not counter-*")

	th := Unbounded()
	th.FailureMax = 0.10
	r, err := NewRatioRule(RuleSpec{Name: "c", Lifecycle: Lifecycle{Hits: 1}}, []Selector{MustSelector("web/counter-errors")}, []Selector{MustSelector("web/counter-requests")}, RatioParams{Window: time.Minute, Thresholds: th, MinDenominator: 10})
	require.NoError(t, err)
	e, err = NewEngine([]Rule{r}, Options{Sink: rec})
	require.NoError(t, err)
	req, errs = 0, 0
	for step := 0; step < 40; step++ {
		ts := t0.Add(time.Duration(step) * 10 * time.Second)
		req += 100
		if step >= 20 {
			errs += 50
		}
		id, _ := metric.ParseIdentifier("web/counter-requests")
		id.Host = "h"
		e.Observe(&metric.ValueList{Identifier: id, Time: ts, Interval: 10 * time.Second, Values: []metric.Value{metric.CounterValue(req)}})
		id, _ = metric.ParseIdentifier("web/counter-errors")
		id.Host = "h"
		e.Observe(&metric.ValueList{Identifier: id, Time: ts, Interval: 10 * time.Second, Values: []metric.Value{metric.CounterValue(errs)}})
	}
	require.Equal(t, []string{"FAILURE"}, rec.severities())
	// the first window over 10% holds two slots of 50 errors in 6 x 100 requests
	assert.InDelta(t, 100.0/600, rec.alerts[0].Observed, 1e-9)
}

func TestIncrement(t *testing.T) {
	for _, tc := range []struct {
		name      string
		kind      metric.Kind
		prev, cur metric.Value
		want      float64 // NaN: unknown
		reset     bool
	}{
		{"counts up", metric.Counter, metric.CounterValue(10), metric.CounterValue(15), 5, false},
		{"falls: reset, increment unknown", metric.Counter, metric.CounterValue(10), metric.CounterValue(7), math.NaN(), true},
		{"falls by 10%: reset, not 907017 events", metric.Counter, metric.CounterValue(1_007_017), metric.CounterValue(907_017), math.NaN(), true},
		{"32-bit wrap", metric.Counter, metric.CounterValue(4294967290), metric.CounterValue(10), 16, false},
		{"falls just below 2^32: no wrap of 4e9", metric.Counter, metric.CounterValue(4294967000), metric.CounterValue(4294966796), math.NaN(), true},
		{"64-bit wrap", metric.Counter, metric.CounterValue(math.MaxUint64 - 5), metric.CounterValue(4), 10, false},
		{"64-bit fall in the middle", metric.Counter, metric.CounterValue(1 << 40), metric.CounterValue(1 << 39), math.NaN(), true},
		{"derive counts up from negative", metric.Derive, metric.DeriveValue(-5), metric.DeriveValue(-2), 3, false},
		{"derive falls: reset", metric.Derive, metric.DeriveValue(100), metric.DeriveValue(4), math.NaN(), true},
		{"derive across int64's range", metric.Derive, metric.DeriveValue(math.MinInt64 + 1), metric.DeriveValue(math.MaxInt64), float64(uint64(math.MaxUint64) - 1), false},
	} {
		got, reset := increment(tc.kind, tc.prev, tc.cur)
		if math.IsNaN(tc.want) {
			assert.True(t, math.IsNaN(got), "%s: got %v", tc.name, got)
		} else {
			assert.Equal(t, tc.want, got, tc.name)
		}
		assert.Equal(t, tc.reset, reset, tc.name)
	}
}

// A counter reset or an implausible wrap raises no spike: the increment is
// unknown, and the reset is counted.
func TestCounterResetRaisesNoSpike(t *testing.T) {
	rec := &recorder{}
	th := Unbounded()
	th.FailureMax = 1000
	r, err := NewCountRule(RuleSpec{Name: "hits", Lifecycle: Lifecycle{Hits: 1}}, []Selector{MustSelector("web/counter-hits")}, CountParams{Window: time.Minute, Thresholds: th, Unit: "hits"})
	require.NoError(t, err)
	e, err := NewEngine([]Rule{r}, Options{Sink: rec})
	require.NoError(t, err)
	restarted, _ := metric.ParseIdentifier("web/counter-hits")
	restarted.Host = "a"
	nearTop := restarted
	nearTop.Host = "b"
	a, b := uint64(1_007_017), uint64(4294966000)
	for step := range 30 {
		a, b = a+50, b+50
		if step == 10 {
			a = 907_017    // restarted, and counted a little since
			b = 4294966296 // falls just below 2^32: not a wrap of 4e9
		}
		ts := t0.Add(time.Duration(step) * 10 * time.Second)
		e.Observe(&metric.ValueList{Identifier: restarted, Time: ts, Interval: 10 * time.Second, Values: []metric.Value{metric.CounterValue(a)}})
		e.Observe(&metric.ValueList{Identifier: nearTop, Time: ts, Interval: 10 * time.Second, Values: []metric.Value{metric.CounterValue(b)}})
	}
	assert.Empty(t, rec.severities())
	assert.Equal(t, uint64(2), e.Stats().Resets)
}

// Infinite gauges are skipped and counted like NaN: no alert says "+Inf".
func TestInfiniteValuesAreSkipped(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec})
	require.NoError(t, err)
	for step := range 20 {
		errs := 1.0
		if step == 10 {
			errs = math.Inf(1)
		}
		if step == 11 {
			errs = math.Inf(-1)
		}
		feed(e, "h", step, 100, errs)
	}
	assert.Empty(t, rec.severities())
	assert.Equal(t, uint64(2), e.Stats().Infinite)
}

// Window sums stay exact when a huge value comes and goes: the normal values
// around it are not lost to rounding.
func TestHugeValuesLeaveWindowsExact(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec})
	require.NoError(t, err)
	for step := range 40 {
		requests := 500.0
		if step == 10 || step == 11 {
			requests = 1e308
		}
		feed(e, "h", step, requests, 5) // a 1% error share, or far below it
	}
	// A window of 6 slots later than the huge ones holds 6 x 500 requests
	// and 6 x 5 errors: 1%, nowhere near the 10% bound.
	assert.Empty(t, rec.severities())
	w := NewMovingWindow(6)
	for slot := range int64(20) {
		x := 500.0
		if slot == 3 || slot == 4 {
			x = 1e308
		}
		w.Add(slot, x)
		if slot >= 10 { // both huge values have left
			require.Equal(t, 3000.0, w.Total().Sum, "the sum at slot %d", slot)
			require.InDelta(t, 500.0, w.Total().Mean(), 1e-9, "slot %d", slot)
			require.InDelta(t, 0.0, w.Total().StdDev(), 1e-9, "slot %d", slot)
		}
	}
}

// A value stamped far ahead of its host's clock is dropped and counted and
// moves nothing: the host's real values after it are still used.
func TestValuesFarAheadOfTheirHostAreDropped(t *testing.T) {
	rec := &recorder{}
	wall := t0
	e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec, Now: func() time.Time { return wall }})
	require.NoError(t, err)
	for step := range 40 {
		wall = t0.Add(time.Duration(step) * 10 * time.Second)
		if step == 5 {
			e.Observe(gaugeList("h", "web/gauge-requests", wall.Add(10*365*24*time.Hour), 100))
		}
		errs := 1.0
		if step >= 20 {
			errs = 30 // an incident the host's real values show
		}
		feed(e, "h", step, 100, errs)
	}
	s := e.Stats()
	assert.Equal(t, uint64(1), s.Ahead)
	assert.Equal(t, "h", s.AheadHost)
	assert.Zero(t, s.Stale, "no real value looks old")
	assert.Equal(t, []string{"FAILURE"}, rec.severities())

	// A host back after an hour of silence is on time.
	wall = wall.Add(time.Hour)
	feed(e, "h", 40+360, 100, 1)
	assert.Equal(t, uint64(1), e.Stats().Ahead)
}

// at is a wall clock stopped at t.
func at(t time.Time) func() time.Time { return func() time.Time { return t } }

// A host whose clock really jumps forward is followed once its values
// ahead span JumpConfirm of their own time; a value stuck far ahead (sent
// again and again) only after JumpAfter of wall-clock time.
func TestHostClockJumpIsTakenWhenItGoesOn(t *testing.T) {
	for _, stuck := range []bool{false, true} {
		wall := t0
		e, err := NewEngine(nil, Options{Now: func() time.Time { return wall }})
		require.NoError(t, err)
		c := &eventClock{host: "h"}
		accept := func(v time.Time, w time.Duration) (bool, bool) { wall = t0.Add(w); return c.accept(v, e) }
		ok, _ := accept(t0, 0)
		require.True(t, ok)
		jump, until := 3*time.Hour, JumpConfirm
		if stuck {
			until = JumpAfter
		}
		ahead := func(s time.Duration) time.Time {
			if stuck {
				return t0.Add(jump)
			}
			return t0.Add(jump + s)
		}
		for s := time.Duration(0); s < until; s += 10 * time.Second {
			ok, _ := accept(ahead(s), s)
			require.False(t, ok, "stuck %v, at %s", stuck, s)
		}
		ok, jumped := accept(ahead(until), until)
		require.True(t, ok)
		require.True(t, jumped)
		ok, jumped = accept(t0.Add(jump+until+10*time.Second), until+10*time.Second)
		require.True(t, ok)
		require.False(t, jumped)
		require.Equal(t, uint32(1), c.epoch.Load())
	}
}

func TestTickJudgesSilentGroups(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec})
	require.NoError(t, err)
	for step := 0; step < 20; step++ {
		feed(e, "h1", step, 100, 50)
	}
	// The last slot (19) is open until a later value or a Tick closes it.
	n := len(rec.severities())
	e.Tick(t0.Add(19 * 10 * time.Second))
	assert.Len(t, rec.severities(), n, "the open slot may still receive late values")
	assert.NotPanics(t, func() { e.Tick(t0.Add(time.Hour)) })
}

func TestEngineRejectsDuplicateNames(t *testing.T) {
	_, err := NewEngine([]Rule{failedShareRule(t), failedShareRule(t)}, Options{})
	assert.ErrorContains(t, err, `two rules are named "failed"`)
}

// Several write threads at once: the race detector watches this test.
func TestEngineConcurrentWriters(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for w := 0; w < 5; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			host := string(rune('a' + w%2))
			for step := 0; step < 200; step++ {
				feed(e, host, step+w, 100, 50)
			}
		}(w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				e.Tick(t0.Add(time.Duration(i) * 10 * time.Second))
				_ = e.Stats()
			}
		}()
	}
	wg.Wait()
	assert.NotEmpty(t, rec.severities())
}

// A value list's interval sets the slots of groups without a Resolution: a
// nanosecond made a one-minute window 6e10 slots, and the Tick after it
// judged them one by one (fuzzing found the engine stuck there); one of two
// centuries counted nearly every value late. Both are held within
// [100ms, 24h]: the rule still judges, in slots of 100 ms.
func TestObserveHostileIntervals(t *testing.T) {
	for _, interval := range []time.Duration{1, time.Microsecond, 200 * 365 * 24 * time.Hour, math.MaxInt64} {
		rec := &recorder{}
		e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec})
		require.NoError(t, err)
		for i := 0; i < 120; i++ {
			at := t0.Add(time.Duration(i) * time.Second)
			errors := 0.0
			if i >= 60 {
				errors = 50
			}
			for _, vl := range []*metric.ValueList{gaugeList("h", "web/gauge-requests", at, 100), gaugeList("h", "web/gauge-errors", at, errors)} {
				vl.Interval = interval
				e.Observe(vl)
			}
		}
		done := make(chan struct{})
		go func() {
			e.Tick(t0.Add(24 * time.Hour))
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("interval %d: Tick still judging after 10s", interval)
		}
		if interval < minSlotInterval {
			assert.Contains(t, rec.severities(), "FAILURE", "interval %s: judged in slots of 100 ms", interval)
		}
		assert.Zero(t, e.Stats().Late, "interval %s: nothing is late", interval)
	}
}
