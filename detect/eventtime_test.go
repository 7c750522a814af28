package detect

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// pageStep is one interval of the ratio rule's two series, offset by a
// host's clock error: what feed sends, as value lists to be ordered freely.
func pageStep(host string, step int, offset time.Duration, requests, errors float64) []*metric.ValueList {
	t := t0.Add(time.Duration(step)*10*time.Second + offset)
	return []*metric.ValueList{gaugeList(host, "web/gauge-requests", t, requests), gaugeList(host, "web/gauge-errors", t, errors)}
}

// incidentErrors is 50% of the requests failing in steps 40..49.
func incidentErrors(step int) float64 {
	if step >= 40 && step < 50 {
		return 50
	}
	return 1
}

type verdict struct {
	severity string
	at       time.Time
	observed float64
}

func verdicts(rec *recorder) []verdict {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []verdict
	for _, a := range rec.alerts {
		out = append(out, verdict{a.Severity.String(), a.Time, a.Observed})
	}
	return out
}

// Values of one series reordered by collectd's write threads - each
// interval's values after the next one's - are judged exactly as in order:
// the same alerts at the same times, none dropped.
func TestReorderedValuesAreJudgedAsInOrder(t *testing.T) {
	run := func(reorder bool) (*recorder, Stats) {
		rec := &recorder{}
		e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec})
		require.NoError(t, err)
		for step := 0; step < 100; step += 2 {
			a, b := pageStep("h", step, 0, 100, incidentErrors(step)), pageStep("h", step+1, 0, 100, incidentErrors(step+1))
			if reorder {
				a, b = b, a
			}
			for _, vl := range append(a, b...) {
				e.Observe(vl)
			}
		}
		return rec, e.Stats()
	}
	inOrder, _ := run(false)
	reordered, st := run(true)
	require.Equal(t, []string{"FAILURE", "OKAY"}, inOrder.severities())
	assert.Equal(t, verdicts(inOrder), verdicts(reordered))
	assert.Equal(t, uint64(100), st.Reordered, "every other value list of both series")
	assert.Zero(t, st.Late)
}

// A value later than the allowed lateness is dropped and counted, naming
// its series; one within it is judged.
func TestLatenessBoundsWhatIsJudged(t *testing.T) {
	for _, tc := range []struct {
		lateness time.Duration
		late     uint64
	}{{0, 1}, {5 * time.Minute, 0}} {
		rec := &recorder{}
		e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec, Lateness: tc.lateness})
		require.NoError(t, err)
		var held []*metric.ValueList
		for step := 0; step < 60; step++ {
			vls := pageStep("h", step, 0, 100, incidentErrors(step))
			if step >= 40 && step < 45 {
				held = append(held, vls[1]) // the errors of 5 bad steps come a minute late
				vls = vls[:1]
			}
			if step == 51 {
				vls = append(vls, held...)
			}
			for _, vl := range vls {
				e.Observe(vl)
			}
		}
		st := e.Stats()
		assert.Equal(t, tc.late*5, st.Late, "lateness %s", tc.lateness)
		if tc.late > 0 {
			assert.Equal(t, "h/web/gauge-errors", st.LateSeries)
			// Without the late errors, the incident's other 5 slots are 25%.
			require.NotEmpty(t, rec.alerts)
		} else {
			require.Equal(t, []string{"FAILURE", "OKAY"}, rec.severities(), "the late errors count")
			assert.Equal(t, t0.Add(41*10*time.Second), rec.alerts[0].Time,
				"the slots waited for the late errors; the verdict carries the time of the one that decided it")
		}
	}
}

// Hosts whose clocks are hours and minutes off the collector's, sending
// live (the wall clock runs with their values): each is judged on its own
// clock - one FAILURE and one OKAY each, at the same times in its own time -
// and each one's silence is reported on its own clock too.
func TestSkewedHostsAreJudgedOnTheirOwnClocks(t *testing.T) {
	offsets := []time.Duration{-2 * time.Hour, -2 * time.Minute, 0, 2 * time.Minute, 2 * time.Hour}
	rec := &recorder{}
	wall := t0
	e, err := NewEngine([]Rule{failedShareRule(t), missingRule(t, 30*time.Second)}, Options{Sink: rec, Now: func() time.Time { return wall }})
	require.NoError(t, err)
	for step := 0; step < 200; step++ {
		for h, off := range offsets {
			if h == 2 && step >= 150 {
				continue // host-2 stops sending
			}
			for _, vl := range pageStep(fmt.Sprintf("host-%d", h), step, off, 100, incidentErrors(step)) {
				e.Observe(vl)
			}
			e.Observe(gaugeList(fmt.Sprintf("host-%d", h), missingHits, t0.Add(time.Duration(step)*10*time.Second+off), 1))
		}
		wall = wall.Add(10 * time.Second)
		e.Tick(wall.Add(-time.Second)) // the read callback, at a phase of its own
	}
	require.Zero(t, e.Stats().Ahead+e.Stats().Late, "%+v", e.Stats())
	byHost := map[string][]Alert{}
	for _, a := range rec.alerts {
		byHost[a.Host] = append(byHost[a.Host], a)
	}
	for h, off := range offsets {
		host := fmt.Sprintf("host-%d", h)
		var got []string
		for _, a := range byHost[host] {
			got = append(got, a.Rule+" "+a.Severity.String())
		}
		want := []string{"failed FAILURE", "failed OKAY"}
		if h == 2 {
			want = append(want, "alive FAILURE")
		}
		require.Equal(t, want, got, host)
		own := func(step int) time.Time { return t0.Add(time.Duration(step)*10*time.Second + off) }
		assert.Equal(t, own(41), byHost[host][0].Time, "%s: the second bad interval decides", host)
		assert.Equal(t, own(55), byHost[host][1].Time, host)
	}
	silent := byHost["host-2"][2]
	assert.Equal(t, t0.Add(149*10*time.Second+55*time.Second), silent.Time, "35 s silent, certain 20 s later")
	assert.Contains(t, silent.Message, "since 2026-11-27 12:24:50 UTC, 55s ago")
}

// In a bulk load, or a replay through collectd, days of values arrive in
// minutes: the wall clock says nothing, but a host whose values stop while
// the others' go on is silent by event time, and reported as in replay.
func TestSilenceByEventTimeInABulkLoad(t *testing.T) {
	for _, bulk := range []bool{false, true} {
		rec := &recorder{}
		wall := t0.Add(365 * 24 * time.Hour) // the load runs a year later
		opt := Options{Sink: rec}
		if bulk {
			opt.Now = func() time.Time { return wall }
		}
		e, err := NewEngine([]Rule{missingRule(t, 30*time.Second)}, opt)
		require.NoError(t, err)
		for step := 0; step < 2000; step++ {
			at := t0.Add(time.Duration(step) * 10 * time.Second)
			e.Observe(gaugeList("a", missingHits, at, 1))
			if step < 1000 || step >= 1500 {
				e.Observe(gaugeList("b", missingHits, at, 1))
			}
			switch {
			case !bulk:
				e.Tick(at) // replay ticks with the data's time
			default:
				wall = wall.Add(time.Millisecond) // ten seconds of values a millisecond
				if step%97 == 0 {
					e.Tick(wall) // the read callback, now and then
				}
			}
		}
		if bulk {
			// The read callback goes on ticking after the load: the
			// clock's last time settles.
			wall = wall.Add(SettleTime)
			e.Tick(wall)
		}
		got := verdicts(rec)
		require.Len(t, got, 2, "bulk %v: %v", bulk, got)
		assert.Equal(t, verdict{"FAILURE", t0.Add(999*10*time.Second + 55*time.Second), 35}, got[0], "bulk %v", bulk)
		assert.Equal(t, "OKAY", got[1].severity)
		assert.Zero(t, e.Stats().Ahead, "b comes back 83 minutes of its time later, no further than a")
	}
}

// A host whose clock is set back by an hour: its values are late for a
// minute, then its clock is taken anew and its rules start over - no alert
// storm, one jump counted, and an incident after it is detected.
func TestClockSetBackRestartsTheHostsRules(t *testing.T) {
	rec := &recorder{}
	wall := t0
	e, err := NewEngine([]Rule{failedShareRule(t), missingRule(t, 0)}, Options{Sink: rec, Now: func() time.Time { return wall }})
	require.NoError(t, err)
	offset := time.Duration(0)
	for step := 0; step < 200; step++ {
		if step == 60 {
			offset = -time.Hour
		}
		errs := 1.0
		if step >= 150 && step < 160 {
			errs = 50
		}
		for _, vl := range pageStep("h", step, offset, 100, errs) {
			e.Observe(vl)
		}
		e.Observe(gaugeList("h", missingHits, t0.Add(time.Duration(step)*10*time.Second+offset), 1))
		wall = wall.Add(10 * time.Second)
		e.Tick(wall)
	}
	st := e.Stats()
	assert.Equal(t, uint64(1), st.Jumps)
	assert.Equal(t, "h", st.JumpHost)
	assert.Equal(t, uint64(3*3), st.Late, "the value lists of the set-back clock until they span JumpConfirm")
	require.Equal(t, []string{"FAILURE", "OKAY"}, rec.severities(), "only the incident: %v", verdicts(rec))
	assert.Equal(t, "failed", rec.alerts[0].Rule)
	assert.Equal(t, t0.Add(151*10*time.Second-time.Hour), rec.alerts[0].Time)
}

// A host that sends nothing for whole periods has the health "error" for
// them, reported on the clock; not nothing.
func TestHealthOfASilentHostIsError(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{healthRule(t)}, Options{Sink: rec})
	require.NoError(t, err)
	for i := 0; i < 6*30; i++ { // 30 minutes from 12:00, silent from 12:10 to 12:22
		ts := t0.Add(time.Duration(i) * 10 * time.Second)
		if ts.Minute() < 10 || ts.Minute() >= 22 {
			e.Observe(gaugeList("h", "web/gauge-latency", ts, 150))
			e.Observe(gaugeList("h", "web/gauge-requests", ts, 100))
			e.Observe(gaugeList("h", "web/gauge-errors", ts, 1))
		}
		e.Tick(ts)
	}
	require.Equal(t, []string{"OKAY", "OKAY", "FAILURE", "FAILURE", "OKAY", "OKAY"}, rec.severities())
	assert.Equal(t, "FAILURE: health of h is error: no latency or request values over 5m0s ending 12:15:00", rec.alerts[2].Message)
	assert.Equal(t, t0.Add(15*time.Minute), rec.alerts[2].Time)
	assert.Contains(t, rec.alerts[4].Message, "OKAY: health of h is ok: latency 150 ms", "the period 12:20 has values from 12:22")
}

// In a bulk load a write thread that waits for a CPU a few milliseconds
// holds back minutes of a series' values' time: they are judged as if in
// order as long as they come within SettleTime of wall-clock time.
func TestBulkValuesHeldBackBrieflyAreNotLate(t *testing.T) {
	run := func(holdBack bool) (*recorder, Stats) {
		rec := &recorder{}
		wall := t0.Add(24 * time.Hour)
		e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec, Now: func() time.Time { return wall }})
		require.NoError(t, err)
		var held []*metric.ValueList
		for step := 0; step < 2000; step++ {
			wall = wall.Add(time.Millisecond) // ten seconds of values a millisecond
			vls := pageStep("h", step, 0, 100, incidentErrors(step%200+20))
			if holdBack && step%50 == 7 {
				held, vls = append(held, vls[1]), vls[:1] // errors 20 ms late: 200 s of their time
			}
			if holdBack && step%50 == 27 {
				vls, held = append(vls, held...), nil
			}
			for _, vl := range vls {
				e.Observe(vl)
			}
			if step%100 == 0 {
				e.Tick(wall)
			}
		}
		return rec, e.Stats()
	}
	inOrder, _ := run(false)
	heldBack, st := run(true)
	require.NotEmpty(t, inOrder.alerts)
	assert.Zero(t, st.Late)
	assert.Equal(t, uint64(40), st.Reordered)
	assert.Equal(t, verdicts(inOrder), verdicts(heldBack))
}

// With slots of several intervals, values read a little early or late
// (a read thread's jitter, a fifth of an interval here) stay in
// their slot: none is dropped as late and the verdicts are those of the
// punctual values, at the decided values' times.
func TestJitteredValuesInSlotsOfSeveralIntervalsAreNotLate(t *testing.T) {
	run := func(jitter bool) (*recorder, Stats) {
		rec := &recorder{}
		e, err := NewEngine([]Rule{failedShareRule(t, func(s *RuleSpec) { s.Resolution = 20 * time.Second })}, Options{Sink: rec})
		require.NoError(t, err)
		for step := 0; step < 200; step++ {
			var offset time.Duration
			if jitter {
				// late, then early: the next value comes sooner than an interval
				offset = []time.Duration{2 * time.Second, -2 * time.Second, 1 * time.Second, -1 * time.Second}[step%4]
			}
			for _, vl := range pageStep("h", step, offset, 100, incidentErrors(step%100)) {
				e.Observe(vl)
			}
		}
		return rec, e.Stats()
	}
	punctual, _ := run(false)
	jittered, st := run(true)
	require.Equal(t, []string{"FAILURE", "OKAY", "FAILURE", "OKAY"}, punctual.severities())
	assert.Zero(t, st.Late)
	assert.Equal(t, punctual.severities(), jittered.severities())
}

// A series of a group whose first value comes after a later value of the
// group's other series (a write thread held it back as the group starts)
// is judged as if in order: the group's first slot waits for the lateness.
func TestASeriesStartingBehindTheOthersIsNotLate(t *testing.T) {
	run := func(behind bool) (*recorder, Stats) {
		rec := &recorder{}
		e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec})
		require.NoError(t, err)
		var held *metric.ValueList
		for step := 0; step < 100; step++ {
			vls := pageStep("h", step, 0, 100, incidentErrors(step))
			if behind && step == 0 {
				held, vls = vls[1], vls[:1]
			}
			if behind && step == 1 {
				vls = append(vls, held)
			}
			for _, vl := range vls {
				e.Observe(vl)
			}
		}
		return rec, e.Stats()
	}
	inOrder, _ := run(false)
	behind, st := run(true)
	require.Equal(t, []string{"FAILURE", "OKAY"}, inOrder.severities())
	assert.Zero(t, st.Late)
	assert.Equal(t, verdicts(inOrder), verdicts(behind))
}

// A series that joins a group long after it started (a new file system
// for an aggregate over all of them) starts with the group's next slot: a
// first value for a slot already judged is not counted late.
func TestASeriesJoiningAGroupIsNotLate(t *testing.T) {
	th := Unbounded()
	th.FailureMax = 1000
	r, err := NewAggregateRule(RuleSpec{Name: "sum", Lifecycle: Lifecycle{Hits: 1}}, []Selector{MustSelector("/^disk-.*/gauge$/")},
		AggregateRule{Function: AggregateSum, Window: time.Minute, Thresholds: th})
	require.NoError(t, err)
	rec := &recorder{}
	e, err := NewEngine([]Rule{r}, Options{Sink: rec})
	require.NoError(t, err)
	for step := 0; step < 60; step++ {
		at := t0.Add(time.Duration(step) * 10 * time.Second)
		e.Observe(gaugeList("h", "disk-a/gauge", at, 1))
		if step >= 30 {
			e.Observe(gaugeList("h", "disk-b/gauge", at, 1))
		}
	}
	assert.Zero(t, e.Stats().Late)
}
