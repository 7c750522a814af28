package detect

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

func fleetRule(t *testing.T, f FleetRule) *FleetRule {
	t.Helper()
	r, err := NewFleetRule(RuleSpec{Name: "fleet-failed", Lifecycle: Lifecycle{Hits: 1}}, "failed", f)
	require.NoError(t, err)
	return r
}

func TestFleetStateCountsRaisedHostsAndForgetsSilentOnes(t *testing.T) {
	r := fleetRule(t, FleetRule{FailureHosts: 2, WarningShare: 0.3})
	s := r.NewState(SlotClock{Origin: t0, Step: 10 * time.Second}).(*fleetState)
	assert.False(t, s.Evaluate(0, OK).Decided, "no host heard of: nothing to count")
	s.AddFrom("a", 0, 1, 1) // WARNING
	s.AddFrom("b", 0, 1, 0)
	s.AddFrom("c", 0, 1, 0)
	s.AddFrom("d", 0, 1, 0)
	v := s.Evaluate(1, OK)
	require.True(t, v.Decided)
	assert.Equal(t, OK, v.Level, "1 of 4 is 25%, below 30%")
	assert.Equal(t, 1.0, v.Observed)
	assert.Equal(t, 4.0, v.Denominator)
	assert.Equal(t, 2.0, v.Threshold, "30% of 4 hosts is 2 hosts")

	s.AddFrom("b", 0, 2, 2)
	v = s.Evaluate(2, OK)
	assert.Equal(t, Failure, v.Level, "2 hosts: FailureHosts 2")
	assert.Equal(t, "a, b", v.Reason)

	// c and d fall silent: their last states (slot 1) count for Expire,
	// 3 slots, and then they are neither raised nor among those reporting.
	v = s.Evaluate(3, Failure)
	assert.Equal(t, 4.0, v.Denominator, "c and d still count 2 slots after their last state")
	s.AddFrom("a", 0, 4, 1)
	s.AddFrom("b", 0, 4, 0)
	v = s.Evaluate(4, Failure)
	assert.Equal(t, 2.0, v.Denominator, "c and d forgotten")
	assert.Equal(t, Warning, v.Level, "1 of the 2 reporting is 50%, above 30%")
	assert.Equal(t, 1.0, v.Threshold)
	assert.Equal(t, "a", v.Reason)
	s.AddFrom("d", 0, 5, 2)
	assert.Equal(t, 3.0, s.Evaluate(5, Warning).Denominator, "d is back")
	s.AddFrom("d", 0, 3, 0) // an older state does not undo a newer one
	assert.Equal(t, Level(2), s.hosts["d"].level)
}

// The share is judged only while MinHosts hosts report; the count always.
func TestFleetShareNeedsMinHosts(t *testing.T) {
	r := fleetRule(t, FleetRule{FailureShare: 0.5, MinHosts: 3})
	s := r.NewState(SlotClock{Origin: t0, Step: 10 * time.Second})
	s.(*fleetState).AddFrom("a", 0, 0, 2)
	s.(*fleetState).AddFrom("b", 0, 0, 0)
	v := s.Evaluate(0, OK)
	assert.Equal(t, OK, v.Level, "1 of 2 is half, but 2 hosts are fewer than MinHosts")
	s.(*fleetState).AddFrom("c", 0, 1, 0)
	v = s.Evaluate(1, OK)
	assert.Equal(t, OK, v.Level, "1 of 3 is below half")
	assert.Equal(t, 2.0, v.Threshold, "half of 3 hosts is 2 hosts")
	s.(*fleetState).AddFrom("b", 0, 2, 1)
	v = s.Evaluate(2, OK)
	assert.Equal(t, Failure, v.Level, "2 of 3")
	assert.Equal(t, "a, b", v.Reason)
}

func TestFleetRuleOptionsAreChecked(t *testing.T) {
	spec := RuleSpec{Name: "f", Lifecycle: Lifecycle{Hits: 1}}
	for _, tc := range []struct {
		rule string
		f    FleetRule
		want string
	}{
		{"", FleetRule{FailureHosts: 1}, "names no rule"},
		{"f", FleetRule{FailureHosts: 1}, "itself"},
		{"x", FleetRule{}, "at least one of"},
		{"x", FleetRule{FailureShare: 1.5}, "between 0 and 1"},
		{"x", FleetRule{FailureHosts: -1}, "negative"},
	} {
		_, err := NewFleetRule(spec, tc.rule, tc.f)
		assert.ErrorContains(t, err, tc.want, "%+v", tc)
	}
}

// Edges to aggregator in process: one engine judges three hosts' failed
// shares and dispatches their states (Options.States); the states, as
// collectd's network plugin would hand them on, feed an aggregator engine
// whose fleet rule wants 2 hosts raised. One host failing is no fleet
// incident; two are; a host that falls silent while raised is forgotten.
func TestFleetRuleOverStatesOfEdges(t *testing.T) {
	edges := &recorder{}
	edge, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: edges, States: true})
	require.NoError(t, err)
	fleet := &recorder{}
	agg, err := NewEngine([]Rule{fleetRule(t, FleetRule{FailureHosts: 2})}, Options{Sink: fleet})
	require.NoError(t, err)
	forwarded := 0
	forward := func() {
		edges.mu.Lock()
		vs := edges.values
		edges.values = nil
		edges.mu.Unlock()
		for _, v := range vs {
			require.Equal(t, "failed-state", v.Name)
			require.Equal(t, 10*time.Second, v.Interval)
			vl := gaugeList(v.Host, "anomaly/gauge-"+v.Name, v.Time, v.Value)
			agg.Observe(vl)
			forwarded++
		}
	}
	failing := func(host string, step int) bool {
		switch host {
		case "h1":
			return step >= 20 && step < 40 || step >= 60 && step < 80
		case "h2":
			return step >= 60 && step < 80
		}
		return false
	}
	var phases [5][]string
	for step := 0; step < 130; step++ {
		for _, h := range []string{"h1", "h2", "h3"} {
			if h == "h2" && step >= 95 && step < 110 {
				continue // h2's link is cut
			}
			errors := 1.0
			if failing(h, step) || h == "h2" && step >= 90 {
				errors = 40
			}
			feed(edge, h, step, 100, errors)
		}
		forward()
		agg.Tick(t0.Add(time.Duration(step) * 10 * time.Second))
		fleet.mu.Lock()
		for _, a := range fleet.alerts {
			phases[step/30] = append(phases[step/30], a.Severity.String()+" "+a.Message)
		}
		fleet.alerts = nil
		fleet.mu.Unlock()
	}
	assert.Greater(t, forwarded, 3*120, "a state per host and slot")
	assert.Empty(t, phases[0], "h1 alone is no fleet incident")
	require.Len(t, phases[1], 0)
	require.Len(t, phases[2], 2, "h1 and h2: %q", phases[2])
	assert.Regexp(t, `^FAILURE FAILURE: fleet-failed: failed raised on 2 of 3 hosts \(66.7%\): h1, h2 \(at least 2\)$`, phases[2][0])
	assert.Regexp(t, `^OKAY OKAY: fleet-failed: failed raised on [01] of 3 hosts .*, fewer than 2$`, phases[2][1])
	// From step 90 h2 fails again while h1 has recovered: 1 host. h2's
	// link is cut 95-110 while it is still failing: the aggregator forgets
	// it rather than counting it raised (or OK) from a stale state.
	assert.Empty(t, phases[3], "one host raised, then its silence: %q", phases[3])
	assert.Empty(t, phases[4], "%q", phases[4])
}

// States go out once per judgement, for the newest slot: a host back after
// a long gap catches up thousands of slots, and sends one state, not one
// per slot it skipped.
func TestStatesOncePerJudgementAfterAGap(t *testing.T) {
	rec := &recorder{}
	r := failedShareRule(t)
	e, err := NewEngine([]Rule{r}, Options{Sink: rec, States: true})
	require.NoError(t, err)
	for step := 0; step < 20; step++ {
		feed(e, "h1", step, 100, 30)
	}
	rec.mu.Lock()
	before := len(rec.values)
	last := rec.values[before-1]
	rec.mu.Unlock()
	assert.InDelta(t, 19, before, 2, "a state a slot")
	assert.Equal(t, DerivedValue{Host: "h1", Name: "failed-state", Time: last.Time, Interval: 10 * time.Second, Value: 2}, last,
		"30% failed: FAILURE, as the group's state")
	feed(e, "h1", 5000, 100, 1)
	feed(e, "h1", 5001, 100, 1)
	rec.mu.Lock()
	after := rec.values[before:]
	rec.mu.Unlock()
	assert.LessOrEqual(t, len(after), 3, "the gap of 5,000 slots sends a state or two, not thousands: %d", len(after))
}

// An aggregator dispatches states too (a shard's, for the top): for a
// silent host its dead man's switch keeps judging and dispatching, and
// those states - the engine's own, as collectd hands them back - must not
// count as the host being heard from.
func TestOwnStatesDoNotKeepASilentHostAlive(t *testing.T) {
	rec := &recorder{}
	r, err := NewMissingRule(RuleSpec{Name: "host-silent", Lifecycle: Lifecycle{Hits: 1}}, []Selector{MustSelector("*/*")}, 30*time.Second)
	require.NoError(t, err)
	e, err := NewEngine([]Rule{r}, Options{Sink: rec, States: true})
	require.NoError(t, err)
	fed := 0
	loop := func() { // what collectd does with dispatched values: hand them to every writer
		rec.mu.Lock()
		vs := rec.values[fed:]
		fed = len(rec.values)
		rec.mu.Unlock()
		for _, v := range vs {
			e.Observe(gaugeList(v.Host, "anomaly/gauge-"+v.Name, v.Time, v.Value))
		}
	}
	for i := 0; i <= 9; i++ {
		e.Observe(gaugeList("web-2", missingHits, missingAt(i), 100))
		e.Tick(missingAt(i))
		loop()
	}
	for i := 10; i <= 20; i++ {
		e.Tick(missingAt(i))
		loop()
	}
	assert.Equal(t, []string{"FAILURE"}, rec.severities(), "web-2 silent, its own states fed back")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.NotEmpty(t, rec.values)
	for i := 1; i < len(rec.values); i++ {
		assert.True(t, rec.values[i].Time.After(rec.values[i-1].Time), "state times rise: %s then %s", rec.values[i-1].Time, rec.values[i].Time)
	}
	assert.Equal(t, 2.0, rec.values[len(rec.values)-1].Value, "the last state is the FAILURE")
}

// A fleet rule counting a rule of its own configuration would mix that
// rule's states with the edges'.
func TestFleetRuleRefusesToCountALocalRule(t *testing.T) {
	_, err := NewEngine([]Rule{failedShareRule(t), fleetRule(t, FleetRule{FailureHosts: 2})}, Options{})
	assert.ErrorContains(t, err, `rule "fleet-failed": Rule "failed" names a rule this configuration defines too`)
}

// BenchmarkFleetAggregator is the plugin's part of an aggregator's work,
// per value list: 2,500 hosts, each an interval of 40 ordinary value lists
// and 2 states (page, asset) of the rule a <Fleet> counts, judged by that
// fleet rule and a dead man's switch per host over every series.
func BenchmarkFleetAggregator(b *testing.B) {
	const hosts, series = 2500, 40
	fr, err := NewFleetRule(RuleSpec{Name: "fleet-failed", Lifecycle: Lifecycle{Hits: 1}}, "failed", FleetRule{FailureHosts: 3, FailureShare: 0.1, MinHosts: 10})
	require.NoError(b, err)
	mr, err := NewMissingRule(RuleSpec{Name: "host-silent", Lifecycle: Lifecycle{Hits: 1}}, []Selector{MustSelector("*/*")}, 0)
	require.NoError(b, err)
	e, err := NewEngine([]Rule{fr, mr}, Options{})
	require.NoError(b, err)
	var lists []*metric.ValueList
	for h := range hosts {
		host := fmt.Sprintf("web-%d", h)
		for s := range series {
			lists = append(lists, gaugeList(host, fmt.Sprintf("cpu/gauge-s%d", s), t0, 1))
		}
		lists = append(lists, gaugeList(host, "anomaly-page/gauge-failed-state", t0, 0), gaugeList(host, "anomaly-asset/gauge-failed-state", t0, 0))
	}
	perInterval := len(lists)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		vl := lists[i%perInterval]
		vl.Time = t0.Add(time.Duration(i/perInterval) * 10 * time.Second)
		e.Observe(vl)
		if i%perInterval == perInterval-1 {
			e.Tick(vl.Time)
		}
	}
}

// A fleet alert with Hits 3 whose every host has stopped reporting: the
// verdicts go on (0 raised of 0) until the alert has ended, instead of
// one OK that leaves the lifecycle's streak at 1 for good.
func TestFleetAlertEndsWhenEveryHostExpiresWithHits(t *testing.T) {
	r := fleetRule(t, FleetRule{FailureHosts: 1})
	s := r.NewState(SlotClock{Origin: t0, Step: 10 * time.Second})
	lc := &Lifecycle{Hits: 3}
	var a alertState
	raisedAt, endedAt := int64(-1), int64(-1)
	for slot := int64(0); slot < 60; slot++ {
		if slot < 10 {
			s.(HostState).AddFrom("a", 0, slot, float64(Failure))
		}
		before := a.level
		if v := s.Evaluate(slot, a.level); v.Decided {
			a.step(v.Level, t0.Add(time.Duration(slot)*10*time.Second), lc)
		}
		switch {
		case before == OK && a.level == Failure:
			raisedAt = slot
		case before == Failure && a.level == OK:
			endedAt = slot
		}
	}
	assert.Equal(t, int64(2), raisedAt, "the third verdict")
	assert.Greater(t, endedAt, int64(10), "ended once host a expired")
	assert.Equal(t, OK, a.level)
}
