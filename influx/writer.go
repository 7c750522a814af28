package influx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	http2 "github.com/influxdata/influxdb-client-go/v2/api/http"
	ilog "github.com/influxdata/influxdb-client-go/v2/log"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// Defaults of Config.
const (
	DefaultBatchSize     = 5000
	DefaultFlushInterval = time.Second
	DefaultBufferLimit   = 100_000
	DefaultTimeout       = 10 * time.Second
	// DefaultReportEvery is how often a persisting error is logged again.
	DefaultReportEvery = 30 * time.Second
)

// Retries after a failed write wait retryMin, doubling up to retryMax (or
// what the server's Retry-After asks, up to retryAfterMax): InfluxDB is
// written again within retryMax of coming back.
const (
	retryMin      = 500 * time.Millisecond
	retryMax      = 5 * time.Second
	retryAfterMax = time.Minute
)

// Config configures a Writer. Zero values take the defaults above.
type Config struct {
	// URL of the InfluxDB server, such as http://127.0.0.1:8086.
	URL string
	// Token authorises writes: an API token for 2.x, "user:password" for
	// 1.8, empty without authentication. It is sent, never logged.
	Token string
	// Org is the organisation (2.x; 1.8 ignores it).
	Org string
	// Bucket is the bucket (2.x) or "database/retention-policy" (1.8; the
	// database alone takes its default retention policy).
	Bucket string

	BatchSize     int           // points per write request
	FlushInterval time.Duration // the longest a point waits for its batch to fill
	BufferLimit   int           // points kept while writes fail; beyond, the oldest are dropped
	Timeout       time.Duration // of one write request, and of the flush on Close

	CAFile             string // PEM certificates to verify the server with, beside the system's
	InsecureSkipVerify bool   // do not verify the server's certificate

	// Errorf and Infof log; nil discards.
	Errorf, Infof func(format string, args ...any)
	// ReportEvery is how often a persisting error is logged again (DefaultReportEvery if zero).
	ReportEvery time.Duration
}

// Stats counts what became of the points given to a Writer.
type Stats struct {
	Queued   int    // points waiting to be written (in the buffer or being sent)
	Written  uint64 // points InfluxDB accepted
	Dropped  uint64 // points dropped, oldest first, because the buffer was full
	Rejected uint64 // points of batches InfluxDB refused (HTTP 400, 413, 422): retrying cannot help
	Skipped  uint64 // value lists without a value line protocol can carry (all NaN)
	Late     uint64 // points given after Close
	Failures uint64 // write requests that failed and will be retried
}

// batch is a write request in the making: lines joined by '\n'.
type batch struct {
	buf         []byte
	points      int
	first, last int64 // smallest and largest timestamp, for the log
}

func (b *batch) reset() {
	b.buf, b.points, b.first, b.last = b.buf[:0], 0, 0, 0
}

// lineBuf is the formatting space of one call; pooled, so that concurrent
// writers format in parallel and only copy the line under the lock.
type lineBuf struct{ b []byte }

// Writer writes value lists and alerts to InfluxDB in batches, from a
// goroutine of its own: the methods that take points never wait on the
// network. See the package documentation for the guarantees.
type Writer struct {
	cfg   Config
	where string // the URL without credentials, for log lines

	client influxdb2.Client
	api    api.WriteAPIBlocking
	// send makes one write request of a batch (the client's; tests replace it).
	send func(ctx context.Context, batch []byte) error

	lines sync.Pool

	mu       sync.Mutex
	q        []*batch // oldest first; q[0] is being sent when inflight
	free     []*batch
	points   int // in q
	inflight bool
	closed   bool
	drops    dropReport // since the last report
	stats    Stats
	skipped  atomic.Uint64

	wake      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	ctx       context.Context // of the sender's requests until Close
	cancel    context.CancelFunc

	// The sender's own state (one goroutine).
	backoff        time.Duration
	failing        bool
	failSince      time.Time
	failAttempts   int
	lastFailReport time.Time
	lastErr        error
	lastDropReport time.Time
	lastReject     time.Time
}

// dropReport sums the points dropped since the last log line about them.
type dropReport struct {
	points      uint64
	first, last int64
}

func (d *dropReport) add(points int, first, last int64) {
	if d.points == 0 || first < d.first {
		d.first = first
	}
	if d.points == 0 || last > d.last {
		d.last = last
	}
	d.points += uint64(points)
}

var silenceClient sync.Once

func newWriter(cfg Config) (*Writer, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("influx: URL %q: want http://host:port or https://host:port", redact(cfg.URL))
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if u.Scheme == "https" {
		tc, err := tlsConfig(cfg.CAFile, cfg.InsecureSkipVerify)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
	}
	// The library logs through a global logger to stdout, collectd's
	// console: silence it, this package logs what matters itself.
	silenceClient.Do(func() { ilog.Log = nil })
	opts := influxdb2.DefaultOptions().
		SetHTTPClient(&http.Client{Timeout: cfg.Timeout, Transport: tr}).
		SetPrecision(time.Nanosecond).
		SetApplicationName("collectd-anomaly")
	w := &Writer{
		cfg:     cfg,
		where:   RedactURL(u),
		client:  influxdb2.NewClientWithOptions(cfg.URL, cfg.Token, opts),
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		backoff: retryMin,
	}
	w.api = w.client.WriteAPIBlocking(cfg.Org, cfg.Bucket)
	// A copy of the batch: the transport may still read a request's body
	// after the call returns, and the buffer is reused.
	w.send = func(ctx context.Context, b []byte) error { return w.api.WriteRecord(ctx, string(b)) }
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.lines.New = func() any { return &lineBuf{b: make([]byte, 0, 256)} }
	return w, nil
}

// New checks cfg, and starts a Writer. Close it to flush and stop it.
func New(cfg Config) (*Writer, error) {
	w, err := newWriter(cfg)
	if err != nil {
		return nil, err
	}
	go w.run()
	return w, nil
}

func (cfg *Config) fill() error {
	if cfg.Bucket == "" {
		return errors.New("influx: no Bucket")
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = DefaultFlushInterval
	}
	if cfg.BufferLimit == 0 {
		cfg.BufferLimit = max(DefaultBufferLimit, cfg.BatchSize)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.ReportEvery == 0 {
		cfg.ReportEvery = DefaultReportEvery
	}
	if cfg.Errorf == nil {
		cfg.Errorf = func(string, ...any) {}
	}
	if cfg.Infof == nil {
		cfg.Infof = func(string, ...any) {}
	}
	switch {
	case cfg.BatchSize < 1:
		return fmt.Errorf("influx: BatchSize %d: want 1 or more", cfg.BatchSize)
	case cfg.BufferLimit < cfg.BatchSize:
		return fmt.Errorf("influx: BufferLimit %d: want at least BatchSize (%d)", cfg.BufferLimit, cfg.BatchSize)
	case cfg.FlushInterval < 0 || cfg.Timeout < 0:
		return errors.New("influx: FlushInterval and Timeout must be positive")
	}
	return nil
}

// tlsHint says what to do about a certificate the writer does not trust.
func tlsHint(err error) string {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknown):
		return " (the server's certificate is not signed by a CA this host trusts: set CAFile to the CA that signed it)"
	case errors.As(err, &host):
		return " (the server's certificate is for another name: use that name in URL)"
	case errors.As(err, &invalid):
		return " (the server's certificate is not valid: expired, or not for a server)"
	}
	return ""
}

// tlsConfig verifies the server with the system's roots plus caFile's.
func tlsConfig(caFile string, insecure bool) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure} //nolint:gosec // only if asked
	if caFile == "" {
		return tc, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("influx: CAFile: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("influx: CAFile %q: no PEM certificate in it", caFile)
	}
	tc.RootCAs = pool
	return tc, nil
}

// redact hides what a URL may carry of secrets: its user info (not just the
// password: a token is often put as the user) and its query string
// (?u=user&p=password, ?token=...), for log lines and errors.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return RedactURL(u)
}

// RedactURL is u without user info, query or fragment; their presence is
// marked, their content never shown.
func RedactURL(u *url.URL) string {
	c := *u
	hidden := c.User != nil || c.RawQuery != "" || c.ForceQuery || c.Fragment != ""
	c.User, c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = nil, "", false, "", ""
	if hidden {
		return c.String() + " (credentials and query hidden)"
	}
	return c.String()
}

// Where is the server written to, without credentials.
func (w *Writer) Where() string { return w.where }

// Config is the configuration in effect (defaults filled in).
func (w *Writer) Config() Config { return w.cfg }

// WriteValueList queues the line of a value list (see AppendValueList). It
// never waits on InfluxDB and, in steady state, allocates nothing.
func (w *Writer) WriteValueList(vl *metric.ValueList, health bool) {
	lb := w.lines.Get().(*lineBuf)
	var ok bool
	lb.b, ok = AppendValueList(lb.b[:0], vl, health)
	if ok {
		w.enqueue(lb.b, vl.Time.UnixNano())
	} else {
		w.skipped.Add(1)
	}
	w.lines.Put(lb)
}

// WriteAlert queues an alert event; host names the alert's host when it
// has none. Like WriteValueList it never waits.
func (w *Writer) WriteAlert(a *detect.Alert, host string) {
	lb := w.lines.Get().(*lineBuf)
	lb.b = AppendAlert(lb.b[:0], a, host)
	w.enqueue(lb.b, a.Time.UnixNano())
	w.lines.Put(lb)
}

// enqueue appends one line to the newest batch, dropping the oldest
// batches if the buffer is full.
func (w *Writer) enqueue(line []byte, ts int64) {
	w.mu.Lock()
	if w.closed {
		w.stats.Late++
		w.mu.Unlock()
		return
	}
	for w.points >= w.cfg.BufferLimit {
		if !w.dropOldest() {
			// Only the batch being sent is left, and it fills the buffer.
			w.drops.add(1, ts, ts)
			w.stats.Dropped++
			w.mu.Unlock()
			return
		}
	}
	b := w.tail()
	if b.points > 0 {
		b.buf = append(b.buf, '\n')
	}
	b.buf = append(b.buf, line...)
	if b.points == 0 || ts < b.first {
		b.first = ts
	}
	if b.points == 0 || ts > b.last {
		b.last = ts
	}
	b.points++
	w.points++
	full := b.points >= w.cfg.BatchSize
	w.mu.Unlock()
	if full {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// tail is the batch to append to: the newest, unless it is full or being
// sent. Called with mu held.
func (w *Writer) tail() *batch {
	if n := len(w.q); n > 0 {
		if t := w.q[n-1]; t.points < w.cfg.BatchSize && !(w.inflight && n == 1) {
			return t
		}
	}
	var b *batch
	if n := len(w.free); n > 0 {
		b, w.free = w.free[n-1], w.free[:n-1]
	} else {
		b = &batch{buf: make([]byte, 0, 4096)}
	}
	w.q = append(w.q, b)
	return b
}

// dropOldest drops the oldest batch that is not being sent. Called with mu held.
func (w *Writer) dropOldest() bool {
	i := 0
	if w.inflight {
		i = 1
	}
	if i >= len(w.q) || w.q[i].points == 0 {
		return false
	}
	b := w.q[i]
	w.drops.add(b.points, b.first, b.last)
	w.stats.Dropped += uint64(b.points)
	w.points -= b.points
	if i == len(w.q)-1 {
		b.reset() // the newest: emptied, and filled again at once
		return true
	}
	w.remove(i)
	return true
}

// remove takes q[i] out of the queue and keeps it for reuse. Called with mu held.
func (w *Writer) remove(i int) {
	b := w.q[i]
	copy(w.q[i:], w.q[i+1:])
	w.q[len(w.q)-1] = nil
	w.q = w.q[:len(w.q)-1]
	b.reset()
	// Kept, with its grown buffer: there are never more batches than the
	// queue's longest, about BufferLimit/BatchSize + 2.
	w.free = append(w.free, b)
}

// Stats returns the counts so far.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.stats
	s.Queued = w.points
	s.Skipped = w.skipped.Load()
	return s
}

// Close flushes what is queued, trying for up to the Timeout in all (a
// request under way included, then cancelled), logs what could not be
// written, and stops the Writer. Points given later are counted as Late
// and dropped.
func (w *Writer) Close() {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		deadline := time.AfterFunc(w.cfg.Timeout, w.cancel)
		defer deadline.Stop()
		close(w.stop)
		<-w.done
		w.cancel()
		w.client.Close()
	})
}

// run is the sender: it sends batches when they are full or have waited a
// FlushInterval, and retries failed ones after a growing pause.
// sendSafely is sendReady for the writer's goroutine: a panic in it (in the
// client library, say) would end the goroutine and with it collectd, so it
// counts as a failed send instead, logged and retried.
func (w *Writer) sendSafely(due bool) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			w.cfg.Errorf("InfluxDB writer panicked: %v", r)
			ok = false
		}
	}()
	return w.sendReady(w.ctx, due)
}

func (w *Writer) run() {
	defer close(w.done)
	tick := time.NewTicker(w.cfg.FlushInterval)
	defer tick.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	var retryC <-chan time.Time
	due := false
	for {
		select {
		case <-w.wake:
		case <-tick.C:
			due = true
		case <-retryC:
			retryC = nil
		case <-w.stop:
			w.drain()
			return
		}
		if retryC != nil {
			continue // pausing after a failure
		}
		if w.sendSafely(due) {
			due = false
		} else {
			retry.Reset(w.backoff)
			retryC = retry.C
		}
	}
}

// drain sends everything at Close, retrying until Close's deadline
// cancels w.ctx.
func (w *Writer) drain() {
	ctx := w.ctx
	for !w.sendReady(ctx, true) {
		select {
		case <-time.After(w.backoff):
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	w.mu.Lock()
	left := w.points
	w.mu.Unlock()
	w.reportDrops(true)
	if left > 0 {
		why := "no time left"
		if w.lastErr != nil {
			why = describe(w.lastErr)
		}
		w.cfg.Errorf("InfluxDB: %d points could not be written to %s before shutdown: %s", left, w.where, why)
	}
	st := w.Stats()
	w.cfg.Infof("InfluxDB: %d points written to %s, %d dropped (buffer full), %d refused, %d not written at shutdown",
		st.Written, w.where, st.Dropped, st.Rejected, left)
}

// sendReady sends the batches that are ready (all non-empty ones if all)
// and reports false when a write failed and should be retried later.
func (w *Writer) sendReady(ctx context.Context, all bool) bool {
	for {
		b := w.take(all)
		if b == nil {
			return true
		}
		err := w.send(ctx, b.buf)
		switch {
		case err == nil:
			w.finish(b, false)
			w.recovered()
		case rejected(err):
			n := b.points
			w.finish(b, true)
			w.reportReject(n, err)
		case ctx.Err() != nil:
			// Close's time is up: not a failure of InfluxDB to report.
			w.putBack()
			if w.lastErr == nil {
				w.lastErr = err
			}
			return false
		default:
			w.failed(err)
			return false
		}
	}
}

// take marks the oldest batch as being sent, if it is ready: full, or
// followed by another, or any non-empty one if all.
func (w *Writer) take(all bool) *batch {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.q) == 0 || w.q[0].points == 0 {
		return nil
	}
	if b := w.q[0]; all || b.points >= w.cfg.BatchSize || len(w.q) > 1 {
		w.inflight = true
		return b
	}
	return nil
}

// putBack leaves the batch being sent at the head of the queue.
func (w *Writer) putBack() {
	w.mu.Lock()
	w.inflight = false
	w.mu.Unlock()
}

// finish removes the batch sent (written, or refused for good).
func (w *Writer) finish(b *batch, refused bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if refused {
		w.stats.Rejected += uint64(b.points)
	} else {
		w.stats.Written += uint64(b.points)
	}
	w.points -= b.points
	w.inflight = false
	w.remove(0)
}

// rejected tells errors that retrying cannot mend: a malformed or too
// large batch, points outside the retention policy, a field type conflict.
func rejected(err error) bool {
	var he *http2.Error
	if !errors.As(err, &he) {
		return false
	}
	switch he.StatusCode {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// failed keeps the batch for a retry and logs, rate-limited: the first
// failure at once, then every ReportEvery while they persist.
func (w *Writer) failed(err error) {
	now := time.Now()
	w.putBack()
	w.mu.Lock()
	w.stats.Failures++
	waiting, dropping := w.points, w.drops.points > 0
	w.mu.Unlock()
	w.lastErr = err
	w.failAttempts++
	var he *http2.Error
	if errors.As(err, &he) && he.RetryAfter > 0 {
		w.backoff = min(time.Duration(he.RetryAfter)*time.Second, retryAfterMax)
	} else if w.failing {
		w.backoff = min(2*w.backoff, retryMax)
	}
	if !w.failing {
		w.failing, w.failSince, w.lastFailReport = true, now, now
		w.cfg.Errorf("InfluxDB: writing to %s failed: %v; retrying, and keeping up to %d points meanwhile",
			w.where, describe(err), w.cfg.BufferLimit)
		return
	}
	if now.Sub(w.lastFailReport) >= w.cfg.ReportEvery {
		w.lastFailReport = now
		full := ""
		if dropping {
			full = "; the buffer is full: the oldest points are being dropped"
		}
		w.cfg.Errorf("InfluxDB: writes to %s failing for %s (%d attempts): %v; %d points waiting%s",
			w.where, now.Sub(w.failSince).Round(time.Second), w.failAttempts, describe(err), waiting, full)
	}
}

// recovered ends a failure episode after a successful write.
func (w *Writer) recovered() {
	w.backoff = retryMin
	if w.failing {
		w.failing = false
		w.cfg.Infof("InfluxDB: writing to %s works again after %s (%d failed attempts)",
			w.where, time.Since(w.failSince).Round(time.Second), w.failAttempts)
		w.failAttempts = 0
		w.reportDrops(true)
		return
	}
	w.reportDrops(false)
}

// reportDrops logs the points dropped since the last report in one line:
// after an outage (now), or every ReportEvery while InfluxDB keeps up too
// slowly to keep the buffer from overflowing.
func (w *Writer) reportDrops(now bool) {
	if !now && time.Since(w.lastDropReport) < w.cfg.ReportEvery {
		return
	}
	w.mu.Lock()
	d := w.drops
	w.drops = dropReport{}
	w.mu.Unlock()
	if d.points == 0 {
		return
	}
	w.lastDropReport = time.Now()
	w.cfg.Errorf("InfluxDB: the buffer limit of %d points was reached while writes to %s failed: dropped the oldest %d points (timestamps %s to %s)",
		w.cfg.BufferLimit, w.where, d.points, stamp(d.first), stamp(d.last))
}

func (w *Writer) reportReject(points int, err error) {
	now := time.Now()
	if !w.lastReject.IsZero() && now.Sub(w.lastReject) < w.cfg.ReportEvery {
		return
	}
	w.lastReject = now
	total := w.Stats().Rejected
	w.cfg.Errorf("InfluxDB: %s refused a batch of %d points, which is dropped: %v (%d points refused so far)",
		w.where, points, describe(err), total)
}

func stamp(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05Z")
}

// describe words an error of the client: the HTTP status and InfluxDB's
// message, or the transport's error. Neither holds the token.
func describe(err error) string {
	var he *http2.Error
	if !errors.As(err, &he) || he.StatusCode == 0 {
		// Not the whole "Post <URL with query>: dial tcp ...": the cause.
		msg := err.Error()
		var ue *url.Error
		if errors.As(err, &ue) {
			msg = ue.Err.Error()
		}
		return msg + tlsHint(err)
	}
	msg := he.Message
	// 2.x names the error ("invalid"); for 1.8 the library puts the status
	// line there ("404 Not Found"), which says no more than the status.
	if he.Code != "" && !strings.HasPrefix(he.Code, strconv.Itoa(he.StatusCode)) {
		msg = he.Code + ": " + msg
	}
	if msg == "" {
		msg = he.Error()
	}
	return fmt.Sprintf("HTTP %d: %s", he.StatusCode, msg)
}
