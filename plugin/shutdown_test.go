package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"collectd.org/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/conf/conftest"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

func numberedAlert(i int) detect.Alert {
	return detect.Alert{Rule: "r" + strconv.Itoa(i), Kind: "ratio", Severity: detect.Failure, Host: "h"}
}

// stuckChain is a plugin whose notification chain has taken the first
// alert and hangs in it until g.open is closed.
func stuckChain(t *testing.T) (*fakeDaemon, *gate, *anomalyPlugin) {
	t.Helper()
	d := newFakeDaemon()
	g := newGate()
	d.notifierFor = g
	p := configured(t, d)
	p.Alert(numberedAlert(0)) // taken by the dispatcher, which then hangs
	waitClosed(t, g.entered, "the first notification")
	return d, g, p
}

func waitClosed(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(2 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// Shutdown dispatches every notification still queued, in order, even those
// queued while the notification chain was stuck.
func TestShutdownDrainsQueuedNotifications(t *testing.T) {
	d, g, p := stuckChain(t)
	for i := 1; i <= 100; i++ {
		p.Alert(numberedAlert(i))
	}
	done := make(chan error, 1)
	go func() { done <- p.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) with notifications queued", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(g.open)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(2 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	notes := g.rec.Notifications()
	require.Len(t, notes, 101)
	for i, n := range notes {
		assert.Equal(t, "r"+strconv.Itoa(i), n.TypeInstance)
	}
	assert.Empty(t, d.errorLines())
}

// A full queue drops alerts rather than block the rules, counts them, and
// says so once an interval.
func TestFullQueueDropsWithRateLimitedLog(t *testing.T) {
	d, g, p := stuckChain(t)

	queued := make(chan struct{})
	go func() {
		defer close(queued)
		for i := 1; i <= alertQueue+10; i++ {
			p.Alert(numberedAlert(i))
		}
	}()
	waitClosed(t, queued, "Alert to return with the queue full")

	assert.Equal(t, uint64(10), p.dropped.Load())
	assert.Empty(t, d.errorLines(), "the read callback reports, not the rules")
	require.NoError(t, p.Read(context.Background()))
	require.NoError(t, p.Read(context.Background()))
	assert.Equal(t, []string{
		"anomaly plugin: 10 notifications dropped since the last interval (10 in all): collectd's notification chain is not keeping up",
	}, d.errorLines(), "one line, in the first interval after")
	assert.Equal(t, int64(10), dispatchedStat(t, d, "notifications-dropped"))

	close(g.open)
	require.NoError(t, p.Shutdown(context.Background()))
	notes := g.rec.Notifications()
	require.Len(t, notes, alertQueue+1, "the queue and the one in flight")
	assert.Equal(t, "r"+strconv.Itoa(alertQueue), notes[alertQueue].TypeInstance, "the newest are the ones dropped")
}

// Derived values go back into collectd as plugin "anomaly", type "gauge".
func TestDerivedValuesAreDispatched(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d, opt("Hostname", "central"))
	p.Value(detect.DerivedValue{Host: "shop-1", Group: "page", Name: "conversion-rate", Time: t0, Interval: time.Hour, Value: 0.005})
	p.Value(detect.DerivedValue{Name: "health", Time: t0, Interval: time.Minute, Value: 2})
	require.NoError(t, p.Shutdown(context.Background()))
	got := d.takeDispatched()
	require.Len(t, got, 2)
	assert.Equal(t, api.Identifier{Host: "shop-1", Plugin: "anomaly", PluginInstance: "page", Type: "gauge", TypeInstance: "conversion-rate"}, got[0].Identifier)
	assert.Equal(t, t0, got[0].Time)
	assert.Equal(t, time.Hour, got[0].Interval)
	assert.Equal(t, []api.Value{api.Gauge(0.005)}, got[0].Values)
	assert.Equal(t, []string{"value"}, got[0].DSNames)
	assert.Equal(t, api.Identifier{Host: "central", Plugin: "anomaly", Type: "gauge", TypeInstance: "health"}, got[1].Identifier, "no host: the configured Hostname")
}

func TestDerivedValueDispatchErrorIsLogged(t *testing.T) {
	d := newFakeDaemon()
	d.dispatchErr = fmt.Errorf("no write plugin")
	p := configured(t, d)
	p.Value(detect.DerivedValue{Name: "health", Value: 1})
	require.NoError(t, p.Shutdown(context.Background()))
	assert.Equal(t, []string{"anomaly plugin: dispatching health: no write plugin"}, d.errorLines())
}

// dispatchedStat is the newest value of the plugin's statistic name.
func dispatchedStat(t *testing.T, d *fakeDaemon, name string) int64 {
	t.Helper()
	var v int64 = -1
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, vl := range d.stats {
		if vl.TypeInstance == name {
			v = int64(vl.Values[0].(api.Derive))
		}
	}
	require.NotEqual(t, int64(-1), v, "statistic %s dispatched", name)
	return v
}

// An init that fails (here: the CAFile was removed after collectd read the
// configuration) registers nothing: collectd unloads only the read
// callback of a plugin whose init failed, so a write callback left behind
// would judge every value and send nothing. A Shutdown called anyway
// returns at once, instead of waiting for a state keeper that never ran.
func TestFailedInitRegistersNothingAndShutsDown(t *testing.T) {
	dir := t.TempDir()
	ca := conftest.WriteCA(t)
	d := newFakeDaemon()
	p := newPlugin(d)
	require.NoError(t, p.configure(pluginBlock(simpleRatio("r"), opt("StateFile", filepath.Join(dir, "state")),
		bare("InfluxDB", opt("URL", "https://127.0.0.1:1"), opt("Bucket", "b"), opt("CAFile", ca)))))
	require.NoError(t, os.Remove(ca))
	require.ErrorContains(t, p.init(), "CAFile")
	assert.Zero(t, d.registrations(), "no callback of a plugin whose init failed")
	done := make(chan error, 1)
	go func() { done <- p.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown waits for a state keeper that never started")
	}
	_, err := os.Stat(filepath.Join(dir, "state"))
	assert.True(t, os.IsNotExist(err), "nothing saved by a plugin that never ran")
}

// While the dispatcher is held up (here by a notification chain that
// hangs), a fleet's states keep coming, one per group each tick: each
// series waits with its newest value only, so that what goes out when it
// moves again is 3,000 values, not 30,000 of which collectd's write
// threads would refuse the reordered ones as too old. Nothing is dropped,
// and no notification is.
func TestDerivedValuesOfABurstAreTheNewestOfEachSeries(t *testing.T) {
	d, g, p := stuckChain(t)
	const groups, ticks = 3000, 10
	for tick := range ticks {
		for h := range groups {
			p.Value(detect.DerivedValue{Host: fmt.Sprintf("edge-%04d", h), Name: "web-health-state",
				Time: t0.Add(time.Duration(tick) * time.Second), Interval: time.Second, Value: float64(tick % 3)})
		}
	}
	close(g.open)
	require.NoError(t, p.Shutdown(context.Background()))
	got := d.takeDispatched()
	require.Len(t, got, groups)
	for _, vl := range got {
		assert.Equal(t, t0.Add((ticks-1)*time.Second), vl.Time, "%s: the newest", vl.Host)
	}
	assert.Zero(t, p.derivedDropped.Load())
	assert.Zero(t, p.dropped.Load())
	assert.Empty(t, d.errorLines())
}
