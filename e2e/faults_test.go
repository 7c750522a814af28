package e2e

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"collectd.org/network"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// faultyProxy stands between the plugin and influxd and misbehaves as told:
// it holds each request for a while before passing it on, answers errors,
// or passes requests straight through.
type faultyProxy struct {
	*httptest.Server
	mu    sync.Mutex
	hold  time.Duration
	fail  bool
	calls map[string]int // requests by the mode they met
}

func newFaultyProxy(t *testing.T, to string) *faultyProxy {
	u, err := url.Parse(to)
	require.NoError(t, err)
	p := &faultyProxy{calls: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0) // requests the plugin gave up on are the point
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		hold, fail := p.hold, p.fail
		switch {
		case fail:
			p.calls["failed"]++
		case hold > 0:
			p.calls["held"]++
		default:
			p.calls["passed"]++
		}
		p.mu.Unlock()
		if hold > 0 {
			select {
			case <-time.After(hold):
			case <-r.Context().Done():
				return
			}
		}
		if fail {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error":"engine: cache-max-memory-size exceeded"}`))
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *faultyProxy) set(hold time.Duration, fail bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hold, p.fail = hold, fail
}

// InfluxDB slow (each request held 10 s, past the plugin's Timeout of 4 s),
// then answering errors, then well again, while collectd and the pack run on
// simulated traffic: collectd's write threads never wait on it (the write
// ring is never full), every value arrives in the end (nothing lost within
// BufferLimit), and the log says what happened in a few lines, not one per
// attempt.
func TestInfluxDBSlowThenFailing(t *testing.T) {
	t.Parallel()
	d := startInfluxd(t, "collectd")
	proxy := newFaultyProxy(t, d.URL)
	direct := d.URL
	d.URL = proxy.URL // the plugin writes through the proxy; the test reads influxd
	c := startCollectd(t, rulePack(t)+simulation(60, 5, 1000, 1)+influxBlock(d, "Timeout 4"))
	d.URL = direct
	waitStarted(t, c)

	proxy.set(10*time.Second, false)
	time.Sleep(15 * time.Second)
	proxy.set(0, true)
	time.Sleep(15 * time.Second)
	proxy.set(0, false)
	_, ok := c.waitFor(regexp.MustCompile(`InfluxDB: writing to http://\S+ works again after \d+s \(\d+ failed attempts\)`), 30*time.Second)
	require.True(t, ok, "writes did not resume")
	time.Sleep(2 * time.Second)
	stopCollectd(t, c)

	proxy.mu.Lock()
	t.Logf("requests through the proxy: %v", proxy.calls)
	assert.Positive(t, proxy.calls["held"])
	assert.Positive(t, proxy.calls["failed"])
	proxy.mu.Unlock()

	var failing []string
	var stopped string
	for _, l := range c.lines() {
		if strings.Contains(l.Text, "InfluxDB: writ") && strings.Contains(l.Text, "fail") {
			failing = append(failing, l.Text)
		}
		if strings.Contains(l.Text, "anomaly plugin: stopped:") {
			stopped = l.Text
		}
	}
	require.NotEmpty(t, failing)
	assert.LessOrEqual(t, len(failing), 3, "at once, then once per 30 s: %q", failing)
	assert.Contains(t, failing[0], "context deadline exceeded", "the slow server is named as such")
	assert.Regexp(t, `the write ring held at most \d+ value lists, full 0 times$`, stopped, "the write threads never waited")

	total := sameSeries(t, csvSeries(t, c, "ecommerce"), influxSeries(t, d, "ecommerce", ""))
	written, dropped, refused, left := writerSummary(t, c)
	assert.Equal(t, []int{0, 0, 0}, []int{dropped, refused, left})
	assert.GreaterOrEqual(t, written, total)
	t.Logf("%d values, every one in InfluxDB after 15 s slow and 15 s failing; %d points written in all", total, written)
}

// A notification program that takes its time (an exec NotificationExec
// that sleeps 30 s on every notification, a pager's API timing out) stalls
// nothing: the FAILURE and the OKAY of an incident reach the next program
// as they happen.
func TestSlowNotificationProgramStallsNothing(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "anomaly-slow")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	slow := dir + "/slow-pager.sh"
	require.NoError(t, os.WriteFile(slow, []byte("#!/bin/sh\nsleep 30\n"), 0o755))
	c, port, pg := startPagedCollectd(t, "LoadPlugin anomaly\n"+skewConfig, slow)
	client, err := network.Dial(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), network.ClientOptions{})
	require.NoError(t, err)
	defer client.Close()
	start := time.Now().Truncate(time.Second)
	at := map[string]time.Duration{}
	for second := 0; second < 40; second++ {
		failed := 1.0
		if second >= 15 && second < 25 {
			failed = 30
		}
		writePages(t, client, "web1", start.Add(time.Duration(second)*time.Second), 100, failed)
		require.NoError(t, client.Flush())
		time.Sleep(100 * time.Millisecond)
		for _, p := range pg.pages(t) {
			k := p.fields["Severity"]
			if _, seen := at[k]; !seen {
				at[k] = time.Duration(second) * time.Second
			}
		}
	}
	stopCollectd(t, c)
	require.Contains(t, at, "FAILURE")
	require.Contains(t, at, "OKAY")
	assert.LessOrEqual(t, at["FAILURE"], 18*time.Second, "the FAILURE out with its values, not after the slow program")
	assert.LessOrEqual(t, at["OKAY"], 30*time.Second, "the OKAY as its window clears, not 30 s after the FAILURE's program")
	for _, l := range c.lines() {
		require.False(t, l.bad(), "collectd's log: [%s] %s", l.Severity, l.Text)
	}
}
