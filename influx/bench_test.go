package influx

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// offline starts a Writer whose requests go nowhere: they succeed at once
// (unless paused), so that what is measured is formatting and queueing.
func offline(t testing.TB, cfg Config) (*Writer, *sink) {
	cfg.URL, cfg.Bucket = "http://127.0.0.1:1", "b"
	w, err := newWriter(cfg)
	require.NoError(t, err)
	s := &sink{}
	w.send = s.send
	go w.run()
	t.Cleanup(w.Close)
	return w, s
}

// sink counts the points of the requests; paused, it holds them.
type sink struct {
	sent   atomic.Uint64
	paused atomic.Pointer[chan struct{}]
}

func (s *sink) send(_ context.Context, b []byte) error {
	if p := s.paused.Load(); p != nil {
		<-*p
	}
	s.sent.Add(uint64(1 + bytes.Count(b, []byte{'\n'})))
	return nil
}

// simulated is what one read of the simulator dispatches: 27 value lists.
func simulated() []*metric.ValueList {
	names := []string{"page-hits-total", "asset-hits-total", "page-latency-mean", "asset-latency-mean", "new-sessions",
		"page-response-200", "page-response-400", "page-response-500", "asset-response-200", "asset-response-400", "asset-response-500"}
	for _, p := range []string{"a", "b", "c", "d"} {
		for _, o := range []string{"success", "user_error", "provider_error", "fraud"} {
			names = append(names, "payment-provider-"+p+"."+o)
		}
	}
	var out []*metric.ValueList
	for i, n := range names {
		out = append(out, gauge("web-frontend-01", "ecommerce", "", "gauge", n, 1000+float64(i)+0.25))
	}
	return out
}

// In steady state, a value list costs the write path no allocation:
// formatting, queueing, and handing full batches to the sender.
func TestWriteValueListAllocatesNothing(t *testing.T) {
	const batch = 1000
	w, s := offline(t, Config{BatchSize: batch, BufferLimit: 10 * batch, FlushInterval: time.Hour})
	vls := simulated()
	// Grow the batches' buffers and the pools once.
	for i := range 5 * batch {
		w.WriteValueList(vls[i%len(vls)], false)
	}
	require.Eventually(t, func() bool { return s.sent.Load() == 5*batch }, 5*time.Second, time.Millisecond)
	i := 0
	allocs := testing.AllocsPerRun(batch/2, func() {
		w.WriteValueList(vls[i%len(vls)], i%7 == 0)
		i++
	})
	assert.Zero(t, allocs)
}

// warmUp grows every batch the Writer will ever have to its full size: it
// fills the buffer while the sender is held, then lets it drain.
func warmUp(b *testing.B, w *Writer, s *sink, vls []*metric.ValueList) {
	hold := make(chan struct{})
	s.paused.Store(&hold)
	n := DefaultBufferLimit + DefaultBatchSize
	for i := range n {
		w.WriteValueList(vls[i%len(vls)], false)
	}
	s.paused.Store(nil)
	close(hold)
	for w.Stats().Queued > DefaultBatchSize {
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkWriteValueList is the cost of one value list to collectd's write
// thread: formatting its line and queueing it; full batches go to a sender
// that discards them.
func BenchmarkWriteValueList(b *testing.B) {
	w, sent := offline(b, Config{})
	vls := simulated()
	warmUp(b, w, sent, vls)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.WriteValueList(vls[i%len(vls)], false)
	}
}

// BenchmarkWriteValueListParallel: the same from as many threads as
// GOMAXPROCS, as collectd's write threads call it.
func BenchmarkWriteValueListParallel(b *testing.B) {
	w, sent := offline(b, Config{})
	vls := simulated()
	warmUp(b, w, sent, vls)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			w.WriteValueList(vls[i%len(vls)], false)
			i++
		}
	})
}

// BenchmarkWriterHTTP writes through the client to an HTTP server that
// reads and discards the requests: the writer's own throughput, in points
// per second, with the default batch settings. (e2e has the same against a
// real InfluxDB.)
func BenchmarkWriterHTTP(b *testing.B) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer s.Close()
	w, err := New(Config{URL: s.URL, Bucket: "b", BufferLimit: max(DefaultBufferLimit, b.N)})
	require.NoError(b, err)
	vls := simulated()
	b.ReportAllocs()
	b.ResetTimer()
	begin := time.Now()
	for i := 0; i < b.N; i++ {
		w.WriteValueList(vls[i%len(vls)], false)
	}
	w.Close()
	elapsed := time.Since(begin)
	b.StopTimer()
	st := w.Stats()
	if st.Written != uint64(b.N) {
		b.Fatalf("written %d of %d: %+v", st.Written, b.N, st)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "points/s")
}

// BenchmarkAppendValueList is formatting alone.
func BenchmarkAppendValueList(b *testing.B) {
	vls := simulated()
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf, _ = AppendValueList(buf[:0], vls[i%len(vls)], false)
	}
}
