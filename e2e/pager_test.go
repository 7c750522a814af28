package e2e

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"collectd.org/api"
	"collectd.org/network"
	"github.com/stretchr/testify/require"
)

// pager is a program for collectd's exec plugin (NotificationExec) that
// keeps each notification it is handed in a file of its own: what a paging
// script receives, read back by the test.
type pager struct {
	script string // the program
	dir    string // one file per notification
}

// newPager writes the program. exec runs it as an unprivileged user: its
// directory is open to all.
func newPager(t *testing.T) *pager {
	t.Helper()
	shared, err := os.MkdirTemp("", "anomaly-pager")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(shared) })
	require.NoError(t, os.Chmod(shared, 0o777))
	p := &pager{script: shared + "/page.sh", dir: shared + "/pages"}
	require.NoError(t, os.Mkdir(p.dir, 0o777))
	require.NoError(t, os.Chmod(p.dir, 0o777)) // past the umask
	require.NoError(t, os.WriteFile(p.script, []byte("#!/bin/sh\ncat > \"$(mktemp "+p.dir+"/page.XXXXXXXX)\"\n"), 0o755))
	return p
}

// page is one notification as exec hands it to a program: its header
// fields and meta data ("Severity", "Time", "Host", "TypeInstance", ...)
// and its message.
type page struct {
	fields  map[string]string
	message string
}

// time is the notification's time in Unix seconds (exec prints it with
// three decimals).
func (p page) time(t *testing.T) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(p.fields["Time"], 64)
	require.NoError(t, err, "Time %q", p.fields["Time"])
	return f
}

// pages reads every notification handed to the program so far; files still
// being written (no blank line yet) are left for later.
func (p *pager) pages(t *testing.T) []page {
	t.Helper()
	files, err := os.ReadDir(p.dir)
	require.NoError(t, err)
	var out []page
	for _, f := range files {
		b, err := os.ReadFile(p.dir + "/" + f.Name())
		require.NoError(t, err)
		head, message, complete := strings.Cut(string(b), "\n\n")
		if !complete {
			continue
		}
		pg := page{fields: map[string]string{}, message: strings.TrimSpace(message)}
		for _, line := range strings.Split(head, "\n") {
			if k, v, ok := strings.Cut(line, ": "); ok {
				pg.fields[k] = v
			}
		}
		out = append(out, pg)
	}
	return out
}

// startPagedCollectd starts collectd with body, listening for collectd's
// network protocol on a free loopback port and handing each notification
// through exec to first (programs before the pager, such as /bin/cat) and
// to a new pager; it returns once collectd is up.
func startPagedCollectd(t *testing.T, body string, first ...string) (*collectd, int, *pager) {
	t.Helper()
	port := freeUDPPort(t)
	pg := newPager(t)
	var execs strings.Builder
	for _, program := range append(first, pg.script) {
		fmt.Fprintf(&execs, "  NotificationExec \"nobody\" %q\n", program)
	}
	c := startCollectdWith(t, daemonOptions{plugins: []string{"network", "exec"}}, fmt.Sprintf(`
LoadPlugin network
<Plugin network>
  Listen "127.0.0.1" "%d"
</Plugin>
LoadPlugin exec
<Plugin exec>
%s</Plugin>
%s`, port, execs.String(), body))
	_, ok := c.waitFor(regexp.MustCompile(`Initialization complete`), 30*time.Second)
	require.True(t, ok, "collectd did not start")
	return c, port, pg
}

// writePages writes one second of host's page traffic, hits pages of which
// failed answered 500, stamped at (the host's own clock), as the
// e-commerce series; the caller flushes.
func writePages(t *testing.T, client *network.Client, host string, at time.Time, hits, failed float64) {
	t.Helper()
	for ti, v := range map[string]float64{"page-hits-total": hits, "page-response-500": failed} {
		require.NoError(t, client.Write(context.Background(), &api.ValueList{
			Identifier: api.Identifier{Host: host, Plugin: "ecommerce", Type: "gauge", TypeInstance: ti},
			Time:       at, Interval: time.Second,
			Values: []api.Value{api.Gauge(v)}, DSNames: []string{"value"},
		}))
	}
}
