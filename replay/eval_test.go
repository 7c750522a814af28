package replay_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/replay"
	"github.com/collectd-anomaly/collectd-anomaly/simulate"
)

// Evaluate over a short scenario with the shipped pack: failing pages and a
// traffic spike, four runs of 8 hours (2 of warm-up: the spike's baseline is
// an hour). Every incident is caught, within the bounds its rule's window
// sets, and the rules stay quiet outside them.
func TestEvaluateShortScenario(t *testing.T) {
	sc := replay.Scenario{
		Length: 8 * time.Hour,
		WarmUp: 2 * time.Hour,
		Grace:  time.Hour,
		Kinds: []replay.IncidentKind{
			{Name: "pages-failing", Changes: []simulate.Change{{Param: "PageError400", Value: 0.15}}, Duration: 30 * time.Minute,
				Expect: []string{"web-failed-requests[page]"}},
			{Name: "traffic-spike", Changes: []simulate.Change{{Param: "TrafficMultiplier", Value: 3}}, Duration: 15 * time.Minute,
				Expect: []string{"web-traffic-spike"}},
		},
	}
	var done []int
	ev, err := replay.Evaluate(context.Background(), func() ([]detect.Rule, error) { return rulePack(t), nil }, sc,
		replay.EvalOptions{Seeds: []uint64{1, 2, 3, 4}, Workers: 2, Progress: func(n int) { done = append(done, n) }})
	require.NoError(t, err)
	assert.False(t, ev.Cancelled)
	assert.Equal(t, []int{1, 2, 3, 4}, done)
	require.Len(t, ev.Runs, 4)
	for i, run := range ev.Runs {
		assert.Equal(t, uint64(i+1), run.Seed, "in seed order")
		require.Len(t, run.Incidents, 2)
		for _, p := range run.Incidents {
			assert.GreaterOrEqual(t, p.Start, 2*time.Hour, "after the warm-up")
			assert.LessOrEqual(t, p.End+time.Hour, sc.Length)
		}
	}
	bounds := map[string]time.Duration{"web-failed-requests": 4 * time.Minute, "web-traffic-spike": time.Minute}
	for _, r := range ev.Rows[:2] {
		t.Logf("%s %s: recall %.2f, delay %s / %s, %d false", r.Rule, r.Incident, r.Recall, r.DelayP50, r.DelayP95, r.FalseAlerts)
		assert.Equal(t, 4, r.Incidents)
		assert.Equal(t, 1.0, r.Recall, r.Rule)
		assert.LessOrEqual(t, r.DelayP95, bounds[r.Rule], r.Rule)
		assert.GreaterOrEqual(t, r.DelayP50, time.Duration(0))
		assert.Zero(t, r.FalseAlerts, r.Rule)
	}
	// Rules no incident expects are listed with their false alerts.
	require.Len(t, ev.Rows, len(ev.Rules), "two expected rows, and one per other rule")
	assert.Equal(t, "", ev.Rows[2].Incident)

	var table, csv bytes.Buffer
	require.NoError(t, ev.WriteTable(&table))
	require.NoError(t, ev.WriteCSV(&csv))
	assert.Contains(t, table.String(), "web-failed-requests[page]  pages-failing  PageError400=0.15 for 30m")
	assert.True(t, strings.HasPrefix(csv.String(), "rule,group,incident,change,incidents,detected,recall,delay_p50_s,delay_p95_s,false_alerts,false_per_week,runs,simulated_hours\n"))
	assert.Contains(t, csv.String(), "web-failed-requests,page,pages-failing,PageError400=0.15 for 30m,4,4,1,")
}

// An incident kind without expectations reports every rule that caught it;
// one expecting a rule the configuration lacks says so.
func TestEvaluateExpectations(t *testing.T) {
	sc := replay.Scenario{
		Length: 8 * time.Hour,
		WarmUp: 2 * time.Hour,
		Grace:  time.Hour,
		Kinds: []replay.IncidentKind{
			{Name: "down", Silence: true, Duration: 10 * time.Minute},
			{Name: "slow", Changes: []simulate.Change{{Param: "PageLatencyMean", Value: 400}}, Duration: 30 * time.Minute,
				Expect: []string{"no-such-rule"}},
		},
	}
	ev, err := replay.Evaluate(context.Background(), func() ([]detect.Rule, error) { return rulePack(t), nil }, sc,
		replay.EvalOptions{Seeds: []uint64{5}})
	require.NoError(t, err)
	var caught []string
	for _, r := range ev.Rows {
		switch r.Incident {
		case "down":
			caught = append(caught, r.Rule)
		case "slow":
			assert.True(t, r.NoSuchRule)
			assert.Equal(t, "no-such-rule", r.Rule)
		}
	}
	assert.Contains(t, caught, "ecommerce-silent")
}

func TestEvaluateStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ev, err := replay.Evaluate(ctx, func() ([]detect.Rule, error) { return rulePack(t), nil }, replay.PackScenario(),
		replay.EvalOptions{Seeds: []uint64{1, 2, 3}})
	require.NoError(t, err)
	assert.True(t, ev.Cancelled)
	assert.Empty(t, ev.Runs)
}
