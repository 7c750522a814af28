package detect

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// savedDuringAFailure runs the failed-share rule into a FAILURE on h1 and
// returns the saved state and the step reached.
func savedDuringAFailure(t *testing.T, rule *RatioRule) ([]byte, int) {
	t.Helper()
	rec := &recorder{}
	e, err := NewEngine([]Rule{rule}, Options{Sink: rec})
	require.NoError(t, err)
	step := 0
	for ; step < 30; step++ {
		feed(e, "h1", step, 100, 1)
	}
	for ; step < 40; step++ {
		feed(e, "h1", step, 100, 30)
	}
	require.Equal(t, []string{"FAILURE"}, rec.severities())
	var buf bytes.Buffer
	n, err := e.SaveState(&buf, t0.Add(time.Duration(step)*10*time.Second))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	return buf.Bytes(), step
}

// After a restart during an incident the FAILURE is not sent again, and its
// OKAY comes when the incident ends.
func TestRestoredAlertIsNotSentAgainAndEnds(t *testing.T) {
	state, step := savedDuringAFailure(t, failedShareRule(t))
	rec := &recorder{}
	e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec})
	require.NoError(t, err)
	rep, err := e.RestoreState(state, t0.Add(time.Duration(step)*10*time.Second))
	require.NoError(t, err)
	assert.Equal(t, StateReport{SavedAt: t0.Add(400 * time.Second), Rules: 1, Groups: 1}, rep)
	for end := step + 10; step < end; step++ {
		feed(e, "h1", step, 100, 30)
	}
	assert.Empty(t, rec.severities(), "still failing: nothing new to say")
	for end := step + 20; step < end; step++ {
		feed(e, "h1", step, 100, 1)
	}
	assert.Equal(t, []string{"OKAY"}, rec.severities())
}

// A state saved longer ago than the rule's window keeps only the alert:
// the windows start afresh, and the OKAY of the FAILURE still comes - once.
func TestOldStateKeepsTheAlertOnly(t *testing.T) {
	state, step := savedDuringAFailure(t, failedShareRule(t))
	rec := &recorder{}
	e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec})
	require.NoError(t, err)
	_, err = e.RestoreState(state, t0.Add(time.Duration(step)*10*time.Second+2*time.Minute))
	require.NoError(t, err)
	step += 12 // two minutes later
	for end := step + 20; step < end; step++ {
		feed(e, "h1", step, 100, 1)
	}
	assert.Equal(t, []string{"OKAY"}, rec.severities())
}

// A rule whose configuration changed starts fresh; the others keep theirs.
func TestChangedRuleStartsFresh(t *testing.T) {
	state, step := savedDuringAFailure(t, failedShareRule(t, func(s *RuleSpec) { s.Fingerprint = "v1" }))
	rec := &recorder{}
	e, err := NewEngine([]Rule{failedShareRule(t, func(s *RuleSpec) { s.Fingerprint = "v2" })}, Options{Sink: rec})
	require.NoError(t, err)
	rep, err := e.RestoreState(state, t0.Add(time.Duration(step)*10*time.Second))
	require.NoError(t, err)
	assert.Equal(t, []string{"failed"}, rep.Changed)
	assert.Zero(t, rep.Groups)
	for end := step + 10; step < end; step++ {
		feed(e, "h1", step, 100, 30)
	}
	assert.Equal(t, []string{"FAILURE"}, rec.severities(), "judged as new: raised once its window is full")

	th := Unbounded()
	th.FailureMax = 0.5
	other, err := NewRatioRule(RuleSpec{Name: "other", Lifecycle: Lifecycle{Hits: 1}}, []Selector{MustSelector("web/gauge-errors")}, []Selector{MustSelector("web/gauge-requests")}, RatioParams{Window: time.Minute, Thresholds: th, MinDenominator: 1})
	require.NoError(t, err)
	e, err = NewEngine([]Rule{other}, Options{})
	require.NoError(t, err)
	rep, err = e.RestoreState(state, t0)
	require.NoError(t, err)
	assert.Equal(t, []string{"failed"}, rep.Gone)
}

// A file that is not a state file, truncated anywhere, with a flipped bit
// or of another version restores nothing and says why; never a panic.
func TestBrokenStateFilesAreRefused(t *testing.T) {
	state, _ := savedDuringAFailure(t, failedShareRule(t))
	newEngine := func() *Engine {
		e, err := NewEngine([]Rule{failedShareRule(t)}, Options{})
		require.NoError(t, err)
		return e
	}
	for name, data := range map[string][]byte{
		"empty":   nil,
		"foreign": []byte("# collectd.conf\nLoadPlugin anomaly\n"),
		"json":    []byte(`{"state": 1}`),
	} {
		_, err := newEngine().RestoreState(data, t0)
		assert.EqualError(t, err, "not a state file of the anomaly plugin", name)
	}
	for n := len(stateMagic) + 4; n < len(state); n++ {
		_, err := newEngine().RestoreState(state[:n], t0)
		require.Error(t, err, "truncated to %d bytes", n)
	}
	for i := len(stateMagic); i < len(state); i++ {
		flipped := bytes.Clone(state)
		flipped[i] ^= 0x10
		_, err := newEngine().RestoreState(flipped, t0)
		require.Error(t, err, "bit flipped in byte %d", i)
	}
	// Another version, with a valid checksum: said so.
	enc := &stateEncoder{}
	enc.b = append(enc.b, stateMagic...)
	enc.uint(99)
	enc.int(0)
	enc.uint(0)
	enc.b = appendChecksum(enc.b)
	_, err := newEngine().RestoreState(enc.b, t0)
	assert.EqualError(t, err, "version 99, this plugin reads version 2")
}

// A restart's downtime is time nobody observed, not time without values:
// the host kept sending while collectd was down. Restored two hours later,
// a Health rule must not report the periods it did not see as silent
// ("no latency or request values") - one FAILURE per period per host - and
// a Count of at least 100 an hour must not count the 50 minutes of
// downtime as none.
func TestRestoredGroupsDoNotJudgeTheDowntime(t *testing.T) {
	cases := map[string]struct {
		rule    func() Rule
		series  []string
		before  int
		down    time.Duration
		perStep float64
	}{
		"health": {func() Rule { return healthRule(t) }, []string{"web/gauge-latency", "web/gauge-requests", "web/gauge-errors"}, 180, 2 * time.Hour, 0},
		"count": {func() Rule {
			return countRule(t, time.Hour, func(th *Thresholds) { th.FailureMin = 100 })
		}, []string{"ecommerce/gauge-payment-provider-a.fraud"}, 540, 50 * time.Minute, 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			send := func(e *Engine, ts time.Time) {
				for _, s := range tc.series {
					x := map[string]float64{"web/gauge-latency": 150, "web/gauge-requests": 100, "web/gauge-errors": 1}[s]
					if tc.perStep > 0 {
						x = tc.perStep
					}
					e.Observe(gaugeList("h", s, ts, x))
				}
			}
			e, err := NewEngine([]Rule{tc.rule()}, Options{Sink: &recorder{}})
			require.NoError(t, err)
			for i := range tc.before {
				ts := t0.Add(time.Duration(i) * 10 * time.Second)
				send(e, ts)
				e.Tick(ts)
			}
			saved := t0.Add(time.Duration(tc.before) * 10 * time.Second)
			var buf bytes.Buffer
			_, err = e.SaveState(&buf, saved)
			require.NoError(t, err)

			rec := &recorder{}
			e2, err := NewEngine([]Rule{tc.rule()}, Options{Sink: rec})
			require.NoError(t, err)
			back := saved.Add(tc.down)
			restored, err := e2.RestoreState(buf.Bytes(), back)
			require.NoError(t, err)
			require.Positive(t, restored.Groups)
			for j := range 6 * 70 {
				ts := back.Add(time.Duration(j) * 10 * time.Second)
				send(e2, ts)
				e2.Tick(ts)
			}
			for _, a := range rec.alerts {
				assert.NotEqual(t, Failure, a.Severity, "%s", a.Message)
			}
		})
	}
}

// A host away across a restart, and still away at the next save: the
// FAILURE it had raised is saved again (its alert, not its aged windows),
// so that its OKAY comes when the host is back and well, saves and
// restarts later (within the IdleTimeout for a rule about values, past it
// for one about silence: TestSavedGroupsOfHostsThatStayAwayAreSwept). A
// group that was OK is not carried.
func TestAnAlertOfAHostAwayOutlivesTheNextSave(t *testing.T) {
	state, step := savedDuringAFailure(t, failedShareRule(t))
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * 10 * time.Second) }
	buf := state
	for restart := range 3 { // h1 stays away through three restarts and saves
		e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: &recorder{}})
		require.NoError(t, err)
		_, err = e.RestoreState(buf, at(step+30*restart))
		require.NoError(t, err)
		feed(e, "h2", step+30*restart, 100, 1) // another host is there
		var out bytes.Buffer
		n, err := e.SaveState(&out, at(step+30*restart+29))
		require.NoError(t, err)
		assert.Equal(t, 2, n, "h1's FAILURE carried, h2's new group saved")
		buf = out.Bytes()
	}
	rec := &recorder{}
	e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec})
	require.NoError(t, err)
	_, err = e.RestoreState(buf, at(step+91))
	require.NoError(t, err)
	for s := step + 91; s < step+120; s++ {
		feed(e, "h1", s, 100, 1)
	}
	assert.Equal(t, []string{"OKAY"}, rec.severities(), "the FAILURE raised before the restarts ends")
}

// A state file is checksummed, but a CRC is no signature: one whose open
// slot holds a value of an input the rule does not have (7 of Health's 3)
// is refused for that group, which starts fresh, instead of panicking the
// engine when the slot is judged.
func TestAStateOfAnInputTheRuleLacksIsRefused(t *testing.T) {
	e, err := NewEngine([]Rule{healthRule(t)}, Options{})
	require.NoError(t, err)
	e.Observe(gaugeList("h", "web/gauge-latency", t0, 150))
	g := e.all[0]
	g.mu.Lock()
	for i := range g.pending {
		if g.pending[i].used {
			g.pending[i].values[0].input = 7 // what a crafted file says
		}
	}
	g.mu.Unlock()
	var buf bytes.Buffer
	_, err = e.SaveState(&buf, t0)
	require.NoError(t, err)
	e2, err := NewEngine([]Rule{healthRule(t)}, Options{})
	require.NoError(t, err)
	_, err = e2.RestoreState(buf.Bytes(), t0)
	require.NoError(t, err)
	require.NotPanics(t, func() {
		for i := 1; i < 100; i++ {
			e2.Observe(gaugeList("h", "web/gauge-latency", t0.Add(time.Duration(i)*10*time.Second), 150))
		}
	})
}

// Saved during a bulk load (values faster than their clock settles) with
// one series of the group silent, the group's open slots had grown past
// the ring a restore makes for its lateness: the restore grows it again,
// instead of refusing the group and forgetting its FAILURE.
func TestAStateSavedWithAGrownPendingRingRestores(t *testing.T) {
	wall := t0.Add(time.Hour)
	rec := &recorder{}
	e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec, Now: func() time.Time { return wall }})
	require.NoError(t, err)
	step := 0
	for ; step < 40; step++ {
		failed := 1.0
		if step >= 30 {
			failed = 30
		}
		feed(e, "h1", step, 100, failed)
		wall = wall.Add(10 * time.Second)
		e.Tick(wall)
	}
	require.Equal(t, []string{"FAILURE"}, rec.severities())
	for ; step < 90; step++ { // 50 intervals within 50 ms, the errors silent
		e.Observe(gaugeList("h1", "web/gauge-requests", t0.Add(time.Duration(step)*10*time.Second), 100))
		wall = wall.Add(time.Millisecond)
	}
	var buf bytes.Buffer
	_, err = e.SaveState(&buf, wall)
	require.NoError(t, err)
	rec2 := &recorder{}
	e2, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec2})
	require.NoError(t, err)
	_, err = e2.RestoreState(buf.Bytes(), wall)
	require.NoError(t, err)
	e2.Observe(gaugeList("h1", "web/gauge-requests", t0.Add(time.Duration(step)*10*time.Second), 100))
	require.Len(t, e2.all, 1)
	g := e2.all[0]
	g.mu.Lock()
	assert.Greater(t, len(g.pending), 8, "the ring grew back")
	g.mu.Unlock()
	// The open slots' requests without errors end the FAILURE raised
	// before the restart: its OKAY (a fresh group would send none).
	assert.Equal(t, []string{"OKAY"}, rec2.severities())
}

// The same live, with tight bounds: one event per 10 s, windows short
// enough that one slot counted as none alerts. A counter's first value
// list after the restart gives no value (an increment needs two) but moves
// the host's clock, and a Tick before the second must not judge the
// downtime, nor count that first slot as none; the open slots saved are
// judged, not the rest of the ring's reach, which is downtime too.
func TestRestoredCountsOfCountersAndGaugesDoNotJudgeTheDowntime(t *testing.T) {
	for _, tc := range []struct {
		counter bool
		window  time.Duration
		min     float64
		down    time.Duration
	}{
		{true, time.Hour, 100, 50 * time.Minute},
		{true, time.Minute, 5.5, 50 * time.Minute},
		{false, 5 * time.Minute, 25, 3 * time.Minute},
		{true, 5 * time.Minute, 25, 3 * time.Minute},
	} {
		name := fmt.Sprintf("counter=%v window=%s down=%s", tc.counter, tc.window, tc.down)
		rule := func() Rule { return countRule(t, tc.window, func(th *Thresholds) { th.FailureMin = tc.min }) }
		var wall time.Time
		now := func() time.Time { return wall }
		n := int64(0)
		send := func(e *Engine, ts time.Time) {
			wall, n = ts, n+1
			vl := gaugeList("h", "ecommerce/gauge-payment-provider-a.fraud", ts, 1)
			if tc.counter {
				vl.Values = []metric.Value{metric.DeriveValue(n)}
			}
			e.Observe(vl)
			wall = ts.Add(5 * time.Second)
			e.Tick(wall) // between this value list and the next
		}
		e, err := NewEngine([]Rule{rule()}, Options{Sink: &recorder{}, Now: now})
		require.NoError(t, err)
		for i := range 540 {
			send(e, t0.Add(time.Duration(i)*10*time.Second))
		}
		saved := t0.Add(540 * 10 * time.Second)
		var buf bytes.Buffer
		_, err = e.SaveState(&buf, saved)
		require.NoError(t, err)
		rec := &recorder{}
		e2, err := NewEngine([]Rule{rule()}, Options{Sink: rec, Now: now})
		require.NoError(t, err)
		back := saved.Add(tc.down)
		_, err = e2.RestoreState(buf.Bytes(), back)
		require.NoError(t, err)
		for j := range 6 * 70 {
			send(e2, back.Add(time.Duration(j)*10*time.Second))
		}
		for _, a := range rec.alerts {
			t.Errorf("%s: %s at %s after the restart", name, a.Message, a.Time.Sub(back))
		}
	}
}

// A Count with a Season does not learn a restart's downtime as a time
// without events: its usual for the hours before the restart stays the
// one event per slot it was (it fell to 0.67 there: the 6 hours' empty
// buckets left the window into the profile).
func TestARestoredSeasonalCountLearnsNothingOfTheDowntime(t *testing.T) {
	rule := func() Rule {
		p := DefaultCountParams()
		p.Season, p.FailureFactor = 24*time.Hour, 3
		p.Thresholds.FailureMax = 1000
		r, err := NewCountRule(RuleSpec{Name: "fraud", Lifecycle: Lifecycle{Hits: 1}}, []Selector{MustSelector(countFraudRE)}, p)
		require.NoError(t, err)
		return r
	}
	const series, day = "ecommerce/gauge-payment-provider-a.fraud", 8640
	e, err := NewEngine([]Rule{rule()}, Options{Sink: &recorder{}})
	require.NoError(t, err)
	for i := range 3 * day {
		ts := t0.Add(time.Duration(i) * 10 * time.Second)
		e.Observe(gaugeList("h", series, ts, 1))
		e.Tick(ts)
	}
	saved := t0.Add(3 * day * 10 * time.Second)
	var buf bytes.Buffer
	_, err = e.SaveState(&buf, saved)
	require.NoError(t, err)
	e2, err := NewEngine([]Rule{rule()}, Options{Sink: &recorder{}})
	require.NoError(t, err)
	back := saved.Add(6 * time.Hour)
	_, err = e2.RestoreState(buf.Bytes(), back)
	require.NoError(t, err)
	for j := range 3 * 360 {
		ts := back.Add(time.Duration(j) * 10 * time.Second)
		e2.Observe(gaugeList("h", series, ts, 1))
		e2.Tick(ts)
	}
	st := e2.all[0].state.(*countState)
	for i, v := range st.season.values {
		assert.InDelta(t, 1, v, 0.01, "bucket %d (%s)", i, time.Duration(int64(i)*st.season.width))
	}
}

// A host that does not come back after a restart is swept as a live one
// whose series went idle: the FAILURE of its ratio ends with the OKAY that
// says its series are gone, once IdleTimeout has passed since the restore,
// and the next save leaves it out; its state series goes back to OK. A
// <Missing> FAILURE of a host that stays silent stays, saved again.
func TestSavedGroupsOfHostsThatStayAwayAreSwept(t *testing.T) {
	state, step := savedDuringAFailure(t, failedShareRule(t))
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * 10 * time.Second) }
	rec := &recorder{}
	e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec, IdleTimeout: 10 * time.Minute, States: true})
	require.NoError(t, err)
	_, err = e.RestoreState(state, at(step))
	require.NoError(t, err)
	for s := step; s < step+6*30; s++ { // half an hour of h2 only
		feed(e, "h2", s, 100, 1)
		e.Tick(at(s))
	}
	require.Equal(t, []string{"OKAY"}, rec.severities())
	assert.Equal(t, "h1", rec.alerts[0].Host)
	assert.Contains(t, rec.alerts[0].Message, "its series are gone")
	var h1State []float64
	for _, v := range rec.values {
		if v.Host == "h1" && v.Name == "failed"+StateSuffix {
			h1State = append(h1State, v.Value)
		}
	}
	assert.Equal(t, []float64{0}, h1State, "the state series of h1 back to OK")
	var out bytes.Buffer
	n, err := e.SaveState(&out, at(step+6*30))
	require.NoError(t, err)
	assert.Equal(t, 1, n, "h2's group alone")
}

// The other half: a host silent across a restart, whose <Missing> FAILURE
// is about that silence, keeps it through the sweeps, saved again.
func TestASavedMissingFailureOfAHostStillSilentStays(t *testing.T) {
	newEngine := func(rec *recorder) *Engine {
		e, err := NewEngine([]Rule{missingRule(t, time.Minute)}, Options{Sink: rec, IdleTimeout: 10 * time.Minute})
		require.NoError(t, err)
		return e
	}
	rec := &recorder{}
	e := newEngine(rec)
	for i := range 60 {
		if i < 6 {
			e.Observe(gaugeList("gone", missingHits, missingAt(i), 1))
		}
		e.Observe(gaugeList("h2", missingHits, missingAt(i), 1))
		e.Tick(missingAt(i))
	}
	require.Equal(t, []string{"FAILURE"}, rec.severities(), "gone is silent")
	var buf bytes.Buffer
	_, err := e.SaveState(&buf, missingAt(60))
	require.NoError(t, err)

	rec2 := &recorder{}
	e2 := newEngine(rec2)
	_, err = e2.RestoreState(buf.Bytes(), missingAt(60))
	require.NoError(t, err)
	for i := 60; i < 60+6*30; i++ { // half an hour of h2 alone
		e2.Observe(gaugeList("h2", missingHits, missingAt(i), 1))
		e2.Tick(missingAt(i))
	}
	assert.Empty(t, rec2.alerts, "no OKAY for a host still silent")
	var out bytes.Buffer
	n, err := e2.SaveState(&out, missingAt(240))
	require.NoError(t, err)
	assert.Equal(t, 2, n, "h2's group, and gone's FAILURE saved again")
}
