package detect

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Once MaxSeries is reached new series are refused, but not forever: series
// idle for IdleTimeout are forgotten, with the groups they leave empty. A
// group whose alert is raised ends it first, with an OKAY that says its
// series are gone: a ratio without values could never end it (a <Missing>
// rule is what alerts on silence).
func TestIdleSeriesAreForgotten(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec, MaxSeries: 8, IdleTimeout: 10 * time.Minute, States: true})
	require.NoError(t, err)
	now := t0
	e.Tick(now)
	// Four hosts of two series each fill MaxSeries; h1 fails.
	for step := 0; step < 20; step++ {
		for h := 1; h <= 4; h++ {
			errs := 1.0
			if h == 1 && step >= 10 {
				errs = 50
			}
			feed(e, fmt.Sprintf("h%d", h), step, 100, errs)
		}
	}
	require.Equal(t, []string{"FAILURE"}, rec.severities())
	feed(e, "h5", 20, 100, 1)
	s := e.Stats()
	assert.Equal(t, 8, s.Series)
	assert.Equal(t, uint64(2), s.SeriesDropped, "h5 refused: the bound is reached")
	assert.Equal(t, 4, s.Groups)

	// h1, h2 and h3 stop; h4 goes on. After the idle timeout their series
	// are forgotten, and their groups; h1's FAILURE ends as its series go.
	for m := 1; m <= 13; m++ { // swept every quarter of the timeout: by 12.5 minutes
		now = now.Add(time.Minute)
		e.Tick(now)
		feed(e, "h4", 20+6*m, 100, 1)
	}
	s = e.Stats()
	assert.Equal(t, 2, s.Series, "h4's two")
	assert.Equal(t, uint64(6), s.Evicted)
	assert.Equal(t, 1, s.Groups, "h4's")
	require.Equal(t, []string{"FAILURE", "OKAY"}, rec.severities())
	gone := rec.alerts[1]
	assert.Equal(t, "h1", gone.Host)
	assert.Equal(t, "OKAY: failed of h1: no values for 10m0s: its series are gone", gone.Message)
	// Stamped after all h1's group sent: its state series was dispatched at
	// each slot judged through the silence, and must end at OK, later.
	var states []DerivedValue
	for _, v := range rec.values {
		if v.Host == "h1" {
			states = append(states, v)
		}
	}
	require.NotEmpty(t, states)
	last := states[len(states)-1]
	assert.Equal(t, float64(OK), last.Value, "h1's state series ends at OK")
	assert.Equal(t, gone.Time, last.Time)
	for _, v := range states[:len(states)-1] {
		assert.True(t, v.Time.Before(last.Time), "a state at %s, not before the last %s", v.Time, last.Time)
	}

	// New series are taken again; h1 back and well says nothing more.
	feed(e, "h5", 100, 100, 1)
	assert.Equal(t, 4, e.Stats().Series)
	for step := 101; step < 130; step++ {
		feed(e, "h1", step, 100, 1)
	}
	assert.Equal(t, []string{"FAILURE", "OKAY"}, rec.severities())
	assert.Equal(t, uint64(2), e.Stats().SeriesDropped, "nothing refused since")
}

// A negative IdleTimeout keeps every series.
func TestIdleTimeoutNever(t *testing.T) {
	e, err := NewEngine([]Rule{failedShareRule(t)}, Options{IdleTimeout: -1})
	require.NoError(t, err)
	feed(e, "h1", 0, 100, 1)
	for m := 0; m < 100; m++ {
		e.Tick(t0.Add(time.Duration(m) * time.Hour))
	}
	assert.Equal(t, 2, e.Stats().Series)
	assert.Zero(t, e.Stats().Evicted)
}

// Containers replaced during an incident, each raising a FAILURE of its
// own series before it goes: 200 of them leave no group behind once they
// have been idle for IdleTimeout - each FAILURE ends with its OKAY - so
// that a churn of series does not keep memory (a day later: the steady
// series' group alone). A <Missing> rule's FAILURE of a host gone silent
// stays: silence is what it is about.
func TestGroupsOfGoneSeriesEndTheirAlertsAndGo(t *testing.T) {
	ar := DefaultAggregateRule()
	ar.Window = time.Minute
	ar.Thresholds.FailureMax = 10
	busy, err := NewAggregateRule(RuleSpec{Name: "cpu", PerSeries: true, Lifecycle: Lifecycle{Hits: 1}}, []Selector{MustSelector("/^cpu-.*/gauge-busy$/")}, ar)
	require.NoError(t, err)
	rec := &recorder{}
	e, err := NewEngine([]Rule{busy, missingRule(t, time.Minute)}, Options{Sink: rec, IdleTimeout: 10 * time.Minute})
	require.NoError(t, err)
	now := t0
	e.Observe(gaugeList("gone", missingHits, now, 1)) // a host that goes silent at once
	// 200 containers, each busy for a minute, then replaced.
	for c := range 200 {
		for range 6 {
			e.Observe(gaugeList("h", fmt.Sprintf("cpu-c%d/gauge-busy", c), now, 50))
			e.Observe(gaugeList("h", "cpu-steady/gauge-busy", now, 1))
			now = now.Add(10 * time.Second)
			e.Tick(now)
		}
	}
	for range 6 * 60 * 24 { // a day later
		e.Observe(gaugeList("h", "cpu-steady/gauge-busy", now, 1))
		now = now.Add(10 * time.Second)
		e.Tick(now)
	}
	raised, ended := map[string]int{}, map[string]int{}
	for _, a := range rec.alerts {
		if a.Severity == OK {
			ended[a.Rule]++
		} else {
			raised[a.Rule]++
		}
	}
	assert.Equal(t, 200, raised["cpu"])
	assert.Equal(t, 200, ended["cpu"], "each FAILURE ended")
	assert.Equal(t, 1, raised["alive"], "the silent host")
	assert.Zero(t, ended["alive"], "still silent")
	assert.Equal(t, 1, e.Stats().Series)
	assert.Equal(t, 2, e.Stats().Groups, "the steady series', and the silent host's")
}
