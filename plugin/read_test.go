package main

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"collectd.org/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/simulate"
)

func TestReadWithoutSimulationDispatchesNothing(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d, simpleRatio("r"))
	require.NoError(t, p.Read(context.Background()))
	assert.Empty(t, d.takeDispatched())
}

// expectedSimulator is the simulator the plugin should be running: the
// simulation is a pure function of its configuration, the interval and the step.
func expectedSimulator(t *testing.T, p *anomalyPlugin) *simulate.Simulator {
	t.Helper()
	sim, err := simulate.New(p.settings.Simulation.Config, p.interval)
	require.NoError(t, err)
	return sim
}

// Each read dispatches one gauge per simulated name, zeros included, all
// stamped with the read's time.
func TestReadDispatchesSimulatedGauges(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d, bare("Simulation", opt("Seed", 11), opt("Host", "shop-sim"), opt("Interval", 1)))
	want := expectedSimulator(t, p)
	names := want.Names()
	require.Len(t, names, 27, "10 web values, 4 outcomes of 4 providers, new sessions")

	var previous time.Time
	zeros := 0
	for step := int64(0); step < 5; step++ {
		before := time.Now()
		require.NoError(t, p.Read(context.Background()))
		got := d.takeDispatched()
		require.Len(t, got, len(names), "read %d", step)
		expected := want.Step(step)
		for i, vl := range got {
			assert.Equal(t, api.Identifier{Host: "shop-sim", Plugin: "ecommerce", Type: "gauge", TypeInstance: names[i]}, vl.Identifier)
			assert.Equal(t, got[0].Time, vl.Time, "one time for every value of a read")
			assert.Equal(t, time.Second, vl.Interval)
			assert.Equal(t, []string{"value"}, vl.DSNames)
			require.Len(t, vl.Values, 1)
			assert.Equal(t, api.Gauge(expected[i].Value), vl.Values[0], "read %d, %s", step, names[i])
			if vl.Values[0] == api.Gauge(0) {
				zeros++
			}
		}
		assert.False(t, got[0].Time.Before(before), "stamped with the time of the read")
		assert.True(t, got[0].Time.After(previous), "later reads, later times")
		previous = got[0].Time
	}
	assert.Positive(t, zeros, "zero counts are dispatched, not skipped")
}

// Without a Host the value lists leave it empty, for collectd to fill in;
// without an Interval the simulation steps at collectd's.
func TestReadDefaultsHostAndInterval(t *testing.T) {
	d := newFakeDaemon()
	d.interval = 5 * time.Second
	p := configured(t, d, bare("Simulation", opt("Seed", 1)))
	require.NoError(t, p.Read(context.Background()))
	got := d.takeDispatched()
	require.NotEmpty(t, got)
	for _, vl := range got {
		assert.Empty(t, vl.Host)
		assert.Equal(t, 5*time.Second, vl.Interval)
	}
	// The page hits of 5 s: 11.5/s, so a Poisson count around 57.
	assert.Equal(t, api.Gauge(expectedSimulator(t, p).Step(0)[6].Value), got[6].Values[0])
	assert.Equal(t, "page-hits-total", got[6].TypeInstance)
}

// In counter mode the counts are collectd counters (running totals) and the
// latencies stay gauges.
func TestReadCounterMode(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d, bare("Simulation", opt("Seed", 5), opt("Mode", "counter"), opt("Interval", 1)))
	want := expectedSimulator(t, p)
	names := want.Names()
	totals := map[string]api.Counter{}
	for step := int64(0); step < 4; step++ {
		require.NoError(t, p.Read(context.Background()))
		got := d.takeDispatched()
		require.Len(t, got, len(names))
		expected := want.Step(step)
		for i, vl := range got {
			require.Len(t, vl.Values, 1)
			if names[i] == "page-latency-mean" || names[i] == "asset-latency-mean" {
				assert.Equal(t, "gauge", vl.Type, names[i])
				assert.Equal(t, api.Gauge(expected[i].Value), vl.Values[0], names[i])
				continue
			}
			assert.Equal(t, "counter", vl.Type, names[i])
			c, ok := vl.Values[0].(api.Counter)
			require.True(t, ok, "%s is a %T", names[i], vl.Values[0])
			assert.Equal(t, api.Counter(expected[i].Value), c, names[i])
			assert.GreaterOrEqual(t, c, totals[names[i]], "%s never decreases", names[i])
			totals[names[i]] = c
		}
	}
	assert.Greater(t, totals["asset-hits-total"], api.Counter(300), "four seconds of 100 assets/s add up")
}

func TestReadDispatchErrorIsReturned(t *testing.T) {
	d := newFakeDaemon()
	d.dispatchErr = errors.New("queue full")
	p := configured(t, d, bare("Simulation", opt("Seed", 1)))
	err := p.Read(context.Background())
	assert.EqualError(t, err, "dispatching ecommerce/gauge-page-response-200: queue full")
}

// The start and end of each incident are logged at the read they happen.
func TestReadLogsIncidents(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d, bare("Simulation", opt("Seed", 1), opt("Interval", 1),
		named("Incident", "outage", opt("Start", 2), opt("Duration", 2), opt("TrafficMultiplier", 0)),
		named("Incident", "fraud", opt("Start", 3), opt("Duration", "3s"), named("Provider", "a", opt("Fraud", 0.5))),
	))
	const prefix = "anomaly plugin: simulated incident "
	var logged [][]string
	for step := 0; step < 8; step++ {
		require.NoError(t, p.Read(context.Background()))
		d.takeDispatched()
		logged = append(logged, d.infosContaining(prefix))
	}
	assert.Empty(t, logged[1])
	assert.Equal(t, []string{prefix + `"outage" starts`}, logged[2])
	assert.Equal(t, []string{prefix + `"outage" starts`, prefix + `"fraud" starts`}, logged[3])
	assert.Equal(t, []string{prefix + `"outage" starts`, prefix + `"fraud" starts`, prefix + `"outage" ends`}, logged[4])
	assert.Len(t, logged[5], 3)
	require.Len(t, logged[6], 4)
	assert.Equal(t, prefix+`"fraud" ends`, logged[6][3])
	assert.Len(t, logged[7], 4, "nothing more")
}

// During an incident the simulated values follow its parameters.
func TestReadIncidentChangesTheValues(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d, bare("Simulation", opt("Seed", 1), opt("Interval", 1),
		named("Incident", "outage", opt("Start", 1), opt("Duration", 1), opt("TrafficMultiplier", 0))))
	hits := func() api.Value {
		require.NoError(t, p.Read(context.Background()))
		return d.takeDispatched()[6].Values[0]
	}
	assert.NotEqual(t, api.Gauge(0), hits(), "page hits before")
	assert.Equal(t, api.Gauge(0), hits(), "no traffic during the outage")
	assert.NotEqual(t, api.Gauge(0), hits(), "page hits after")
}

// A panic in the read callback comes back as its error (collectd logs it)
// instead of crossing into collectd.
func TestReadRecoversPanics(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d, bare("Simulation", opt("Seed", 1)))
	p.sim = &simulation{sim: nil, interval: time.Second, step: 0} // a broken simulator
	err := p.Read(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "read callback panicked")
}

// A flood of series beyond MaxSeries is told once when it starts and once
// when it is over, not every interval it lasts.
func TestMaxSeriesIsToldOncePerFlood(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d, failedRequests(), opt("MaxSeries", 4), opt("Statistics", false))
	flood := func(from, to int) {
		for i := from; i < to; i++ {
			require.NoError(t, p.write(gaugeList(fmt.Sprintf("scan-%d", i), "ecommerce", "gauge", "page-hits-total", t0, 1)))
		}
	}
	flood(0, 10)
	require.NoError(t, p.Read(context.Background()))
	flood(10, 20)
	require.NoError(t, p.Read(context.Background()))
	w := d.warningLines()
	require.Len(t, w, 1, "%q", w)
	assert.Equal(t, "anomaly plugin: MaxSeries 4 reached: value lists of new series are dropped "+
		"(counted as anomaly/stats/derive-value-lists-beyond-maxseries) until series idle for 2h0m0s are forgotten", w[0])
	require.NoError(t, p.Read(context.Background()))
	assert.Equal(t, []string{"anomaly plugin: new series are taken again; 16 value lists of series beyond MaxSeries were dropped"},
		d.infosContaining("taken again"))
	assert.Len(t, d.warningLines(), 1)
}
