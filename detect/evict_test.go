package detect

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Once MaxSeries is reached new series are refused, but not forever: series
// idle for IdleTimeout are forgotten, with the groups they leave empty -
// unless a group's alert is raised, which stays until it can end.
func TestIdleSeriesAreForgotten(t *testing.T) {
	rec := &recorder{}
	e, err := NewEngine([]Rule{failedShareRule(t)}, Options{Sink: rec, MaxSeries: 8, IdleTimeout: 10 * time.Minute})
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
	// are forgotten, h2's and h3's groups too; h1's stays, raised.
	for m := 1; m <= 13; m++ { // swept every quarter of the timeout: by 12.5 minutes
		now = now.Add(time.Minute)
		e.Tick(now)
		feed(e, "h4", 20+6*m, 100, 1)
	}
	s = e.Stats()
	assert.Equal(t, 2, s.Series, "h4's two")
	assert.Equal(t, uint64(6), s.Evicted)
	assert.Equal(t, 2, s.Groups, "h4's, and h1's raised FAILURE")

	// New series are taken again, and h1's FAILURE ends when h1 is back.
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
