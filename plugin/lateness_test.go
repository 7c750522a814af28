package main

import (
	"context"
	"testing"
	"time"

	"collectd.org/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// A value later than AllowedLateness is dropped: counted in the plugin's
// statistics and named in one warning line per interval; values reordered
// within it are judged and only counted.
func TestLateValuesAreCountedAndLogged(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d, failedRequests(), opt("AllowedLateness", 30))
	for step := range 20 {
		feedPages(t, p, "shop-1", step, 100, 1)
	}
	at := func(step int) time.Time { return t0.Add(time.Duration(step) * 10 * time.Second) }
	// Step 20's failures come after step 21's values: in time.
	for ti, v := range map[string]float64{"page-hits-total": 100, "page-response-500": 0, "page-response-200": 99} {
		require.NoError(t, p.write(gaugeList("shop-1", "ecommerce", "gauge", ti, at(20), v)))
	}
	feedPages(t, p, "shop-1", 21, 100, 1)
	require.NoError(t, p.write(gaugeList("shop-1", "ecommerce", "gauge", "page-response-400", at(20), 1)))
	require.NoError(t, p.write(gaugeList("shop-1", "ecommerce", "gauge", "page-hits-total", at(10), 100))) // late
	require.NoError(t, p.Read(context.Background()))
	assert.Equal(t, int64(1), dispatchedStat(t, d, "value-lists-late"))
	assert.Equal(t, int64(2), dispatchedStat(t, d, "value-lists-reordered"), "%+v", p.engine.Load().Stats())
	assert.Zero(t, dispatchedStat(t, d, "clock-jumps"))
	d.mu.Lock()
	warnings := append([]string(nil), d.warnings...)
	d.mu.Unlock()
	require.Len(t, warnings, 1)
	assert.Contains(t, warnings[0], "1 value lists dropped, later than AllowedLateness after their slot (latest shop-1/ecommerce/gauge-page-hits-total)")

	// Nothing new: no line.
	require.NoError(t, p.Read(context.Background()))
	d.mu.Lock()
	assert.Len(t, d.warnings, 1)
	d.mu.Unlock()

	// The totals at shutdown.
	require.NoError(t, p.Shutdown(context.Background()))
	assert.Empty(t, d.rec.Notifications())
	assert.Contains(t, d.infosContaining("stopped:"), "anomaly plugin: stopped: 89 value lists, 2 reordered, 1 late, 0 repeated, 0 ahead of their host's clock, 0 clock jumps; 0 notifications, 0 alerts summarised, 0 dropped; the write ring held at most 0 value lists, full 0 times")
}

// The plugin's own statistics come back through the write path (collectd
// hands every dispatched value list to every writer), but its rules do not
// judge them: they run on the collector's wall clock, and beside hosts
// whose values come faster than real time (a bulk load) the collector
// looked silent and its statistics were dropped as late. Another
// collector's statistics, forwarded here, are series like any other.
func TestOwnStatisticsAreNotJudged(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d, named("Anomaly", "every-series", opt("Series", "*/*")), opt("Hostname", "central"))
	require.NoError(t, p.Read(context.Background()))
	d.mu.Lock()
	own := append([]*api.ValueList(nil), d.stats...)
	d.mu.Unlock()
	require.NotEmpty(t, own)
	for _, vl := range own {
		require.Equal(t, "central", vl.Host)
		require.NoError(t, p.write(&metric.ValueList{Identifier: metric.Identifier{Host: vl.Host, Plugin: vl.Plugin,
			PluginInstance: vl.PluginInstance, Type: vl.Type, TypeInstance: vl.TypeInstance},
			Time: vl.Time, Interval: vl.Interval, Values: []metric.Value{metric.DeriveValue(int64(vl.Values[0].(api.Derive)))}, DSNames: vl.DSNames}))
	}
	s := p.engine.Load().Stats()
	assert.Zero(t, s.ValueLists, "the plugin's own statistics reach no rule")
	assert.Zero(t, s.Series)

	forwarded := &metric.ValueList{Identifier: metric.Identifier{Host: "edge-1", Plugin: "anomaly", PluginInstance: "stats", Type: "derive", TypeInstance: "value-lists"},
		Time: own[0].Time, Interval: 10 * time.Second, Values: []metric.Value{metric.DeriveValue(5)}, DSNames: []string{"value"}}
	require.NoError(t, p.write(forwarded))
	s = p.engine.Load().Stats()
	assert.Equal(t, uint64(1), s.ValueLists)
	assert.Equal(t, 1, s.Series)
	assert.Equal(t, 1, s.Groups, "the every-series rule keeps a group for edge-1's statistic")
}
