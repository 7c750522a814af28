package influx

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// fakeInflux is an InfluxDB write endpoint: it keeps the lines of the
// requests it accepts, and answers what the test asks.
type fakeInflux struct {
	*httptest.Server

	mu       sync.Mutex
	lines    []string
	requests int
	auth     map[string]bool
	status   int           // answer with this status (0: 204, accepted)
	body     string        // and this body
	hang     chan struct{} // block requests until it is closed
}

func newFakeInflux(t *testing.T) *fakeInflux {
	f := &fakeInflux{auth: map[string]bool{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.release()
		f.Close()
	})
	return f
}

func (f *fakeInflux) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	f.mu.Lock()
	f.requests++
	f.auth[r.Header.Get("Authorization")] = true
	hang := f.hang
	f.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path != "/api/v2/write" || r.URL.Query().Get("precision") != "ns" {
		http.Error(w, "unexpected request "+r.URL.String(), http.StatusNotFound)
		return
	}
	if f.status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		fmt.Fprint(w, f.body)
		return
	}
	f.lines = append(f.lines, strings.Split(string(body), "\n")...)
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeInflux) set(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body = status, body
}

func (f *fakeInflux) hangRequests() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hang = make(chan struct{})
}

func (f *fakeInflux) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hang != nil {
		close(f.hang)
		f.hang = nil
	}
}

func (f *fakeInflux) received() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lines...)
}

// logs collects a Writer's log lines.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) errorf(format string, args ...any) { l.add("ERROR "+format, args...) }
func (l *logs) infof(format string, args ...any)  { l.add("INFO "+format, args...) }

func (l *logs) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logs) matching(re string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	rx := regexp.MustCompile(re)
	for _, s := range l.lines {
		if rx.MatchString(s) {
			out = append(out, s)
		}
	}
	return out
}

func (l *logs) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func start(t *testing.T, cfg Config, l *logs) *Writer {
	t.Helper()
	if cfg.Bucket == "" {
		cfg.Bucket = "collectd/autogen"
	}
	cfg.Errorf, cfg.Infof = l.errorf, l.infof
	w, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(w.Close)
	return w
}

// point i is value list number i: its value and time say i.
func point(i int) *metric.ValueList {
	vl := gauge("h", "ecommerce", "", "gauge", "page-hits-total", float64(i))
	vl.Time = t0.Add(time.Duration(i) * time.Millisecond)
	return vl
}

var valueField = regexp.MustCompile(` value=(\d+) `)

// values reads the numbers back from received lines.
func values(t *testing.T, lines []string) []int {
	t.Helper()
	var out []int
	for _, l := range lines {
		m := valueField.FindStringSubmatch(l)
		require.NotNil(t, m, l)
		i, _ := strconv.Atoi(m[1])
		out = append(out, i)
	}
	return out
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, 10*time.Millisecond, msg)
}

// Points from many goroutines arrive once each, full batches without
// waiting for the flush interval, the rest on Close.
func TestWriterDeliversEverything(t *testing.T) {
	t.Parallel()
	f := newFakeInflux(t)
	var l logs
	w := start(t, Config{URL: f.URL, BatchSize: 100, FlushInterval: time.Hour}, &l)
	const goroutines, each = 8, 1000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				w.WriteValueList(point(g*each+i), false)
			}
		}()
	}
	wg.Wait()
	eventually(t, func() bool { return len(f.received()) == goroutines*each }, "full batches are sent at once")
	w.WriteValueList(point(goroutines*each), false) // one more, in a batch that will not fill
	w.Close()
	got := values(t, f.received())
	sort.Ints(got)
	assert.Equal(t, seq(0, goroutines*each+1), got)
	s := w.Stats()
	assert.Equal(t, Stats{Written: goroutines*each + 1}, s)
	assert.Empty(t, l.matching("ERROR"))

	w.WriteValueList(point(0), false)
	assert.Equal(t, uint64(1), w.Stats().Late, "after Close, points are counted and dropped")
}

// A batch that does not fill is sent after the flush interval.
func TestWriterFlushInterval(t *testing.T) {
	t.Parallel()
	f := newFakeInflux(t)
	w := start(t, Config{URL: f.URL, FlushInterval: 50 * time.Millisecond}, &logs{})
	w.WriteValueList(point(1), false)
	w.WriteAlert(&detect.Alert{Time: t0, Rule: "r", Kind: "ratio", Severity: detect.Failure, Message: "m"}, "h")
	eventually(t, func() bool { return len(f.received()) == 2 }, "sent within the flush interval")
	assert.Contains(t, f.received()[1], "anomaly_alerts,host=h,kind=ratio,rule=r,severity=FAILURE ")
}

// A server that hangs does not hold up the writers: the buffer fills, the
// oldest batches (but the one being sent) make room, and the newest
// arrive when the server answers again.
func TestWriterNeverWaitsOnAHungServer(t *testing.T) {
	t.Parallel()
	f := newFakeInflux(t)
	f.hangRequests()
	var l logs
	const batch, limit, total = 100, 1000, 20_000
	w := start(t, Config{URL: f.URL, BatchSize: batch, BufferLimit: limit, FlushInterval: time.Hour, Timeout: time.Minute}, &l)
	for i := range batch {
		w.WriteValueList(point(i), false)
	}
	eventually(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.requests == 1 }, "the first batch is being sent")
	begin := time.Now()
	for i := batch; i < total; i++ {
		w.WriteValueList(point(i), false)
	}
	assert.Less(t, time.Since(begin), 2*time.Second, "writers did not wait")
	s := w.Stats()
	assert.Equal(t, limit, s.Queued)
	assert.Equal(t, uint64(total-limit), s.Dropped)

	f.release()
	w.Close()
	got := values(t, f.received())
	// The batch that was being sent when the server hung, then the newest.
	want := append(seq(0, batch), seq(total-limit+batch, total)...)
	assert.Equal(t, want, got)
	drops := l.matching(`dropped the oldest`)
	require.Len(t, drops, 1, l.all())
	assert.Contains(t, drops[0], fmt.Sprintf("the buffer limit of %d points was reached while writes to %s failed: dropped the oldest %d points (timestamps ", limit, f.URL, total-limit))
}

// An outage within the buffer's bound loses nothing: every point arrives
// once, in order, and the log says when writes failed and when they work
// again, once each.
func TestWriterOutageWithinBound(t *testing.T) {
	t.Parallel()
	f := newFakeInflux(t)
	f.set(http.StatusServiceUnavailable, `{"code":"unavailable","message":"down for maintenance"}`)
	var l logs
	w := start(t, Config{URL: f.URL, BatchSize: 50, BufferLimit: 1000, FlushInterval: 10 * time.Millisecond}, &l)
	for i := range 900 {
		w.WriteValueList(point(i), false)
		if i%100 == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	eventually(t, func() bool { return w.Stats().Failures >= 3 }, "writes fail and are retried")
	f.set(0, "")
	eventually(t, func() bool { return len(f.received()) == 900 }, "everything arrives after the outage")
	assert.Equal(t, seq(0, 900), values(t, f.received()))
	s := w.Stats()
	assert.Equal(t, uint64(900), s.Written)
	assert.Zero(t, s.Dropped)
	fails := l.matching(`^ERROR InfluxDB: writing to .* failed: HTTP 503: unavailable: down for maintenance; retrying, and keeping up to 1000 points meanwhile$`)
	assert.Len(t, fails, 1, l.all())
	assert.Len(t, l.matching(`^INFO InfluxDB: writing to .* works again after \d+s \(\d+ failed attempts\)$`), 1, l.all())
	assert.Empty(t, l.matching(`dropped`))
}

// Beyond the bound, the oldest points are dropped, and one line says how
// many, after the outage.
func TestWriterOutageBeyondBound(t *testing.T) {
	t.Parallel()
	f := newFakeInflux(t)
	f.set(http.StatusInternalServerError, `{"code":"internal error","message":"engine: cache-max-memory-size exceeded"}`)
	var l logs
	const batch, limit, total = 10, 100, 1000
	w := start(t, Config{URL: f.URL, BatchSize: batch, BufferLimit: limit, FlushInterval: 5 * time.Millisecond, ReportEvery: time.Hour}, &l)
	for i := range total {
		w.WriteValueList(point(i), false)
		if i%50 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	f.set(0, "")
	eventually(t, func() bool { return w.Stats().Queued == 0 }, "the buffer is written")
	got := values(t, f.received())
	s := w.Stats()
	assert.Equal(t, uint64(total), s.Written+s.Dropped)
	assert.Equal(t, int(s.Written), len(got))
	assert.GreaterOrEqual(t, len(got), limit-batch)
	// The newest arrived; what was dropped is older than what arrived,
	// but for the batch that was being retried when the buffer overflowed.
	assert.Equal(t, seq(total-limit+batch, total), got[len(got)-(limit-batch):])
	kept := 0
	for _, v := range got {
		if v < total-limit {
			kept++
		}
	}
	assert.LessOrEqual(t, kept, batch)
	drops := l.matching(`dropped the oldest`)
	require.Len(t, drops, 1, l.all())
	assert.Contains(t, drops[0], fmt.Sprintf("dropped the oldest %d points", s.Dropped))
	assert.Len(t, l.matching(`failed: HTTP 500: internal error: engine: cache-max-memory-size exceeded; retrying`), 1)
}

// Errors that persist are logged once per ReportEvery, not per attempt.
func TestWriterErrorsAreRateLimited(t *testing.T) {
	t.Parallel()
	ln := closedPort(t)
	var l logs
	w := start(t, Config{URL: "http://" + ln, BatchSize: 1, BufferLimit: 1000, FlushInterval: time.Millisecond,
		ReportEvery: 300 * time.Millisecond, Timeout: 100 * time.Millisecond}, &l)
	// Attempts at 0, 0.5, 1.5 s (the pause doubles).
	stop := time.Now().Add(1800 * time.Millisecond)
	for i := 0; time.Now().Before(stop); i++ {
		w.WriteValueList(point(i), false)
		time.Sleep(5 * time.Millisecond)
	}
	s := w.Stats()
	assert.GreaterOrEqual(t, s.Failures, uint64(3), "retried")
	errs := l.matching(`^ERROR`)
	assert.Len(t, l.matching(`failed: .*connection refused; retrying, and keeping up to 1000 points meanwhile$`), 1, l.all())
	assert.LessOrEqual(t, len(errs), 5, l.all())
	assert.GreaterOrEqual(t, len(l.matching(`^ERROR InfluxDB: writes to http://`+ln+` failing for \d+s \(\d+ attempts\): .*connection refused; \d+ points waiting$`)), 1, l.all())
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	s := httptest.NewServer(http.NotFoundHandler())
	addr := s.Listener.Addr().String()
	s.Close()
	return addr
}

// A batch InfluxDB refuses (a field type conflict, a malformed line) is
// dropped: retrying would never end. Later batches go on.
func TestWriterRejectedBatch(t *testing.T) {
	t.Parallel()
	f := newFakeInflux(t)
	f.set(http.StatusBadRequest, `{"code":"invalid","message":"partial write: field type conflict"}`)
	var l logs
	w := start(t, Config{URL: f.URL, BatchSize: 5, FlushInterval: time.Hour}, &l)
	for i := range 5 {
		w.WriteValueList(point(i), false)
	}
	eventually(t, func() bool { return w.Stats().Rejected == 5 }, "refused")
	f.set(0, "")
	for i := range 5 {
		w.WriteValueList(point(10+i), false)
	}
	eventually(t, func() bool { return len(f.received()) == 5 }, "later batches are written")
	assert.Equal(t, seq(10, 15), values(t, f.received()))
	assert.Equal(t, []string{"ERROR InfluxDB: " + f.URL + " refused a batch of 5 points, which is dropped: HTTP 400: invalid: partial write: field type conflict (5 points refused so far)"},
		l.matching("refused"))
}

// The token is sent as InfluxDB wants it, and never logged.
func TestWriterTokenNeverLogged(t *testing.T) {
	t.Parallel()
	const token = "collectd:s3cr3t-T0ken"
	f := newFakeInflux(t)
	f.set(http.StatusUnauthorized, `{"code":"unauthorized","message":"authorization failed"}`)
	var l logs
	w := start(t, Config{URL: f.URL, Token: token, Org: "org", BatchSize: 1, FlushInterval: time.Millisecond, ReportEvery: time.Millisecond}, &l)
	for i := range 20 {
		w.WriteValueList(point(i), false)
		time.Sleep(2 * time.Millisecond)
	}
	eventually(t, func() bool { return w.Stats().Failures >= 2 }, "writes fail")
	f.set(0, "")
	eventually(t, func() bool { return w.Stats().Queued == 0 }, "written after all")
	w.Close()
	f.mu.Lock()
	assert.Equal(t, map[string]bool{"Token " + token: true}, f.auth)
	f.mu.Unlock()
	all := l.all()
	assert.Contains(t, all, "HTTP 401: unauthorized: authorization failed")
	assert.NotContains(t, all, "s3cr3t")
	assert.NotContains(t, fmt.Sprintf("%+v %s", w.Where(), w.Where()), "s3cr3t")
}

// A password in the URL's query string (InfluxDB 1.x's ?u=&p=) or user info
// is never logged either, nor in Where.
func TestWriterURLSecretsNeverLogged(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://127.0.0.1:1/?u=me&p=hunter2x", "http://tok-hunter2x@127.0.0.1:1/", "http://127.0.0.1:1/#hunter2x"} {
		var l logs
		w := start(t, Config{URL: u, Org: "org", BatchSize: 1, FlushInterval: time.Millisecond, ReportEvery: time.Millisecond, Timeout: 50 * time.Millisecond}, &l)
		for i := range 5 {
			w.WriteValueList(point(i), false)
		}
		eventually(t, func() bool { return w.Stats().Failures >= 2 }, "writes fail")
		w.Close()
		all := l.all()
		assert.Contains(t, all, "127.0.0.1:1", u)
		assert.NotContains(t, all, "hunter2x", u)
		assert.NotContains(t, w.Where(), "hunter2x", u)
		assert.Contains(t, w.Where(), "(credentials and query hidden)", u)
	}
}

// Close sends what is queued; what it cannot send in Timeout it counts in
// one line, and it returns.
func TestWriterCloseFlushes(t *testing.T) {
	t.Parallel()
	f := newFakeInflux(t)
	w := start(t, Config{URL: f.URL, FlushInterval: time.Hour}, &logs{})
	for i := range 10 {
		w.WriteValueList(point(i), false)
	}
	w.Close()
	assert.Equal(t, seq(0, 10), values(t, f.received()))

	var l logs
	w = start(t, Config{URL: "http://" + closedPort(t), FlushInterval: time.Hour, Timeout: 300 * time.Millisecond}, &l)
	for i := range 10 {
		w.WriteValueList(point(i), false)
	}
	begin := time.Now()
	w.Close()
	assert.Less(t, time.Since(begin), 2*time.Second)
	assert.Len(t, l.matching(`^ERROR InfluxDB: 10 points could not be written to http://.* before shutdown: .*connection refused$`), 1, l.all())
}

// Close cancels a request that hangs and does not wait longer than Timeout
// for the flush.
func TestWriterCloseDoesNotHang(t *testing.T) {
	t.Parallel()
	f := newFakeInflux(t)
	f.hangRequests()
	var l logs
	w := start(t, Config{URL: f.URL, BatchSize: 1, FlushInterval: time.Hour, Timeout: 300 * time.Millisecond}, &l)
	w.WriteValueList(point(1), false)
	eventually(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.requests > 0 }, "request made")
	begin := time.Now()
	w.Close()
	assert.Less(t, time.Since(begin), 2*time.Second)
	assert.Len(t, l.matching(`1 points could not be written`), 1, l.all())
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "http://x"}, "influx: no Bucket"},
		{Config{URL: "ftp://x", Bucket: "b"}, `influx: URL "ftp://x": want http://host:port or https://host:port`},
		{Config{URL: "http://user:pass@", Bucket: "b"}, `influx: URL "http: (credentials and query hidden)": want http://host:port or https://host:port`},
		{Config{URL: "http://x", Bucket: "b", BatchSize: 10, BufferLimit: 5}, "influx: BufferLimit 5: want at least BatchSize (10)"},
		{Config{URL: "https://x", Bucket: "b", CAFile: "/nonexistent"}, "influx: CAFile: open /nonexistent: no such file or directory"},
	} {
		_, err := New(tc.cfg)
		assert.EqualError(t, err, tc.want)
	}
	w, err := New(Config{URL: "http://x", Bucket: "b"})
	require.NoError(t, err)
	defer w.Close()
	c := w.Config()
	assert.Equal(t, []any{DefaultBatchSize, DefaultFlushInterval, DefaultBufferLimit, DefaultTimeout}, []any{c.BatchSize, c.FlushInterval, c.BufferLimit, c.Timeout})
}

// InfluxDB 1.8 says what is wrong in a header; the log line has it once,
// without the status line the library adds.
func TestWriterLogsInfluxDB18Errors(t *testing.T) {
	t.Parallel()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Influxdb-Error", `database not found: "nodb"`)
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":"database not found: \"nodb\""}`)
	}))
	defer s.Close()
	var l logs
	w := start(t, Config{URL: s.URL, Bucket: "nodb", BatchSize: 1, Timeout: 100 * time.Millisecond}, &l)
	w.WriteValueList(point(1), false)
	eventually(t, func() bool { return w.Stats().Failures > 0 }, "failed")
	assert.Equal(t, []string{`ERROR InfluxDB: writing to ` + s.URL + ` failed: HTTP 404: database not found: "nodb"; retrying, and keeping up to 100000 points meanwhile`},
		l.matching("failed"))
	w.Close()
	assert.Regexp(t, `^INFO InfluxDB: 0 points written to http://\S+, 0 dropped \(buffer full\), 0 refused, 1 not written at shutdown$`, l.matching("points written to")[0])
	assert.Equal(t, []string{`ERROR InfluxDB: 1 points could not be written to ` + s.URL + ` before shutdown: HTTP 404: database not found: "nodb"`},
		l.matching("could not"))
}
