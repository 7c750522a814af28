package bridge_test

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/bridge"
	"github.com/collectd-anomaly/collectd-anomaly/bridge/fake"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

func TestNotifyFillsEveryField(t *testing.T) {
	daemon := fake.Install()
	defer daemon.Uninstall()
	when := time.Date(2026, 11, 27, 12, 30, 15, 500_000_000, time.UTC)
	err := bridge.Collectd{}.Notify(&bridge.Notification{
		Severity: bridge.Failure, Time: when,
		Host: "shop-1", Plugin: "anomaly", PluginInstance: "page", Type: "ratio", TypeInstance: "web-failed-requests",
		Message: "FAILURE: failed share 14% above 10%",
		Meta:    []bridge.Meta{{"rule", "web-failed-requests"}, {"observed", 0.14}, {"window_seconds", int64(300)}},
	})
	require.NoError(t, err)
	got := daemon.Dispatched()
	require.Len(t, got, 1)
	n := got[0]
	assert.Equal(t, bridge.Failure, n.Severity)
	assert.WithinDuration(t, when, n.Time, time.Microsecond)
	assert.Equal(t, "shop-1", n.Host)
	assert.Equal(t, "anomaly", n.Plugin)
	assert.Equal(t, "page", n.PluginInstance)
	assert.Equal(t, "ratio", n.Type)
	assert.Equal(t, "web-failed-requests", n.TypeInstance)
	assert.Equal(t, "FAILURE: failed share 14% above 10%", n.Message)
	assert.Equal(t, []bridge.Meta{{"rule", "web-failed-requests"}, {"observed", 0.14}, {"window_seconds", int64(300)}}, n.Meta)
}

func TestNotifyTruncatesLongFields(t *testing.T) {
	daemon := fake.Install()
	defer daemon.Uninstall()
	long := make([]byte, 1000)
	for i := range long {
		long[i] = 'x'
	}
	require.NoError(t, bridge.Collectd{}.Notify(&bridge.Notification{Severity: bridge.Okay, Host: string(long), Message: string(long)}))
	n := daemon.Dispatched()[0]
	assert.Len(t, n.Host, 127)
	assert.Len(t, n.Message, 255)
}

func TestNotifyRejectsUnsupportedMeta(t *testing.T) {
	daemon := fake.Install()
	defer daemon.Uninstall()
	err := bridge.Collectd{}.Notify(&bridge.Notification{Severity: bridge.Okay, Meta: []bridge.Meta{{"x", []int{1}}}})
	assert.ErrorContains(t, err, `meta "x"`)
	assert.Empty(t, daemon.Dispatched())
}

func TestNotifyOutsideCollectdIsAnError(t *testing.T) {
	err := bridge.Collectd{}.Notify(&bridge.Notification{Severity: bridge.Okay})
	assert.ErrorContains(t, err, "not running inside collectd")
}

func TestWriteConvertsValueLists(t *testing.T) {
	var got metric.ValueList
	var values []metric.Value
	var names []string
	bridge.SetWriteFunc(func(vl *metric.ValueList) error {
		// vl's strings are borrowed from C memory: copy what outlives the call.
		got = *vl
		got.Identifier = metric.Identifier{Host: strings.Clone(vl.Host), Plugin: strings.Clone(vl.Plugin),
			PluginInstance: strings.Clone(vl.PluginInstance), Type: strings.Clone(vl.Type), TypeInstance: strings.Clone(vl.TypeInstance)}
		values = append([]metric.Value(nil), vl.Values...)
		for _, n := range vl.DSNames {
			names = append(names, strings.Clone(n))
		}
		return nil
	})
	defer bridge.SetWriteFunc(nil)
	id := metric.Identifier{Host: "h", Plugin: "interface", PluginInstance: "eth0", Type: "if_octets", TypeInstance: ""}
	when := time.Unix(1_800_000_000, 250_000_000)
	rc := fake.Write(id, when, 10*time.Second,
		fake.Value{Name: "rx", Value: metric.DeriveValue(-7)}, fake.Value{Name: "tx", Value: metric.CounterValue(math.MaxUint64)},
		fake.Value{Name: "g", Value: metric.GaugeValue(1.5)}, fake.Value{Name: "a", Value: metric.AbsoluteValue(9)})
	require.Equal(t, 0, rc)
	assert.Equal(t, id, got.Identifier)
	assert.WithinDuration(t, when, got.Time, time.Microsecond)
	assert.Equal(t, 10*time.Second, got.Interval)
	assert.Equal(t, []metric.Value{metric.DeriveValue(-7), metric.CounterValue(math.MaxUint64), metric.GaugeValue(1.5), metric.AbsoluteValue(9)}, values)
	assert.Equal(t, []string{"rx", "tx", "g", "a"}, names)
}

// A panic or an error in the Go callback costs the value list and a log line,
// never the daemon. collectd's write thread only copied the value list into
// the ring (status 0); the writer goroutine logs what went wrong after.
func TestWriteRecoversPanicsAndLogsErrors(t *testing.T) {
	bridge.ResetWriteErrors() // the log backs off: start from the first error
	var logged []string
	bridge.Logf = func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }
	defer func() { bridge.Logf = func(string, ...any) {} }()
	bridge.SetWriteFunc(func(vl *metric.ValueList) error { panic("boom") })
	defer bridge.SetWriteFunc(nil)
	id := metric.Identifier{Host: "h", Plugin: "p", Type: "gauge"}
	assert.Equal(t, 0, fake.Write(id, time.Now(), time.Second, fake.Value{Name: "value", Value: metric.GaugeValue(1)}))
	require.NotEmpty(t, logged)
	assert.Contains(t, logged[0], "panicked: boom")

	logged = nil
	bridge.ResetWriteErrors()
	bridge.SetWriteFunc(func(vl *metric.ValueList) error { return fmt.Errorf("bad %s", vl.Type) })
	assert.Equal(t, 0, fake.Write(id, time.Now(), time.Second, fake.Value{Name: "value", Value: metric.GaugeValue(1)}))
	assert.Equal(t, 0, fake.Write(id, time.Now(), time.Second, fake.Value{Name: "value", Value: metric.Value{Kind: 42}}))
	require.NotEmpty(t, logged)
	assert.Contains(t, logged[0], "bad gauge")
}

func TestWriteAllocatesNothing(t *testing.T) {
	sum := 0.0
	bridge.SetWriteFunc(func(vl *metric.ValueList) error { sum += vl.Values[0].Gauge; return nil })
	defer bridge.SetWriteFunc(nil)
	l := fake.NewGaugeList()
	defer l.Free()
	allocs := testing.AllocsPerRun(1000, func() { l.Write() })
	assert.Zero(t, allocs)
	assert.Positive(t, sum)
}

// BenchmarkWriteCallback is the cgo edge of the write path: C calls the
// callback, which converts collectd's value list in place and hands it on.
func BenchmarkWriteCallback(b *testing.B) {
	bridge.SetWriteFunc(func(vl *metric.ValueList) error { return nil })
	defer bridge.SetWriteFunc(nil)
	l := fake.NewGaugeList()
	defer l.Free()
	b.ReportAllocs()
	for b.Loop() {
		l.Write()
	}
}

// A value list with more data sources than a ring record holds is refused
// by the C callback (status -1), counted, and reported in the log.
func TestWriteRefusesTooManyValues(t *testing.T) {
	bridge.ResetWriteErrors()
	var logged []string
	bridge.Logf = func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }
	defer func() { bridge.Logf = func(string, ...any) {} }()
	got := 0
	require.NoError(t, bridge.SetWriteFunc(func(vl *metric.ValueList) error { got++; return nil }))
	defer bridge.SetWriteFunc(nil)
	values := make([]fake.Value, bridge.MaxValues+1)
	for i := range values {
		values[i] = fake.Value{Name: fmt.Sprintf("v%d", i), Value: metric.GaugeValue(1)}
	}
	before := bridge.RingRefused()
	assert.Equal(t, -1, fake.Write(metric.Identifier{Host: "h", Plugin: "p", Type: "many"}, time.Now(), time.Second, values...))
	assert.Equal(t, before+1, bridge.RingRefused())
	assert.Zero(t, got)
	require.NotEmpty(t, logged)
	assert.Contains(t, logged[len(logged)-1], "value lists refused so far")
}

// collectd's write threads wait while the ring is full, and go on as soon
// as the writer drains it: nothing is dropped. Several producers at once:
// the race detector watches.
func TestWriteRingFullWaitsAndLosesNothing(t *testing.T) {
	var got atomic.Int64
	require.NoError(t, bridge.SetWriteFunc(func(vl *metric.ValueList) error { got.Add(1); return nil }))
	defer bridge.SetWriteFunc(nil)
	const producers, each = 4, bridge.RingCapacity // twice the ring's capacity in all
	// The ring keeps a pointer to each record's data set, which collectd
	// keeps for its lifetime: the fakes are freed only once all is drained.
	lists := make([]*fake.ValueList, producers)
	for i := range lists {
		lists[i] = fake.NewGaugeList()
	}
	defer func() {
		for _, l := range lists {
			l.Free()
		}
	}()
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each/2; i++ {
				if rc := lists[p].Put(); rc != 0 {
					t.Errorf("put refused: %d", rc)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for {
		bridge.Flush()
		select {
		case <-done:
			bridge.Flush()
			assert.Equal(t, int64(producers*each/2), got.Load())
			return
		case <-time.After(time.Millisecond):
		}
	}
}

// A cut never splits a UTF-8 character (FuzzNotify found a host of 100 "é"
// cut to 63 of them and half of one).
func TestNotifyTruncatesAtCharacters(t *testing.T) {
	daemon := fake.Install()
	defer daemon.Uninstall()
	require.NoError(t, bridge.Collectd{}.Notify(&bridge.Notification{Severity: bridge.Okay, Host: strings.Repeat("é", 100), Message: strings.Repeat("日本", 60)}))
	n := daemon.Dispatched()[0]
	assert.Equal(t, strings.Repeat("é", 63), n.Host)
	assert.Equal(t, strings.Repeat("日本", 42)+"日", n.Message)
}
