package e2e

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"collectd.org/api"
	"collectd.org/network"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/simulate"
)

// burstHosts is how many hosts go silent at once in the burst test; the
// crash it guards against needed about a thousand (ANOMALY_BURST_HOSTS and
// ANOMALY_BURST_ROUNDS make it bigger or longer: `make burst`).
const burstHosts = 1000

// TestAlertBurstWithExec sends one interval of the e-commerce mix for a
// thousand hosts through collectd's network plugin and then nothing, so that
// the shipped pack's dead man's switch fires for every host at once - with
// collectd's exec plugin paging a program for each notification and the
// logfile plugin writing them. collectd must stay up, every host's silence
// must reach the notification plugins (one by one or in a summary), nothing
// may be dropped, and collectd's log must have no error line. Before the
// notifications entered collectd with a plugin context (and from a thread
// collectd knows), this aborted collectd in 4 runs of 4.
func TestAlertBurstWithExec(t *testing.T) {
	hosts := loadEnvInt(t, "ANOMALY_BURST_HOSTS", burstHosts)
	rounds := loadEnvInt(t, "ANOMALY_BURST_ROUNDS", 2)
	for round := range rounds {
		t.Run(fmt.Sprintf("round-%d", round+1), func(t *testing.T) { burstRound(t, hosts) })
	}
}

func burstRound(t *testing.T, hosts int) {
	c, port, pg := startPagedCollectd(t, rulePack(t), "/bin/cat")

	sent := sendOneInterval(t, port, hosts, time.Second)
	t.Logf("sent %d value lists of %d hosts", sent, hosts)

	// Every host is silent after its timeout (3 intervals of 1 s): the
	// FAILUREs, one by one and in summaries, come within seconds; allow for
	// a slow machine.
	deadline := time.Now().Add(60 * time.Second)
	var paged map[string]bool
	for time.Now().Before(deadline) {
		paged = silentHostsPaged(t, pg)
		if len(paged) >= hosts {
			break
		}
		if code, out, exited := c.exited(0); exited {
			t.Fatalf("collectd exited with %d during the burst:\n%s", code, tail(out, 4000))
		}
		time.Sleep(500 * time.Millisecond)
	}
	// collectd must still run, a moment after the burst too.
	time.Sleep(2 * time.Second)
	if code, out, exited := c.exited(0); exited {
		t.Fatalf("collectd exited with %d after the burst:\n%s", code, tail(out, 4000))
	}
	require.Len(t, paged, hosts, "hosts whose silence reached the paging program through exec")
	logged := silentFailures(c.notifications())
	stopCollectd(t, c)
	for _, l := range c.lines() {
		if strings.HasPrefix(l.Text, "anomaly plugin: stopped: ") {
			// The totals: nothing dropped, every host's silence sent.
			require.Regexp(t, `; \d+ notifications, \d+ alerts summarised, 0 dropped; the write ring held at most \d+ value lists, full \d+ times$`, l.Text)
			continue
		}
		require.False(t, l.bad(), "collectd's log: [%s] %s", l.Severity, l.Text)
		require.NotRegexp(t, `dropped|lost|plugin_get_interval`, l.Text, "collectd's log")
	}
	// The logfile plugin got the same notifications (it shows only their
	// messages, which name as many hosts as 255 bytes hold).
	require.GreaterOrEqual(t, logged, burstLimit+1, "notifications in the logfile")
	t.Logf("%d hosts paged; %d notifications logged", len(paged), logged)
}

// burstLimit is the plugin's default BurstLimit.
const burstLimit = 20

// silentHostsPaged reads what exec handed the paging program, one file per
// notification, and returns the hosts whose silence they report: a
// notification's Host, or every host a summary's "subjects" names.
func silentHostsPaged(t *testing.T, pg *pager) map[string]bool {
	hosts := map[string]bool{}
	for _, p := range pg.pages(t) {
		if p.fields["Severity"] != "FAILURE" || p.fields["TypeInstance"] != "ecommerce-silent" {
			continue
		}
		if p.fields["summary"] == "true" {
			for _, h := range strings.Fields(p.fields["subjects"]) {
				hosts[h] = true
			}
			continue
		}
		hosts[p.fields["Host"]] = true
	}
	return hosts
}

// silentFailures counts the FAILUREs of the dead man's switch in collectd's log.
func silentFailures(ns []notification) int {
	n := 0
	for _, x := range ns {
		if x.Severity == "FAILURE" && x.TypeInst == "ecommerce-silent" {
			n++
		}
	}
	return n
}

// sendOneInterval sends the 27 e-commerce series of hosts hosts, once, with
// the given interval, through collectd's network protocol.
func sendOneInterval(t *testing.T, port, hosts int, interval time.Duration) int {
	t.Helper()
	return sendHosts(t, port, 0, hosts, interval)
}

// sendHosts is sendOneInterval for the hosts numbered from first.
func sendHosts(t *testing.T, port, first, hosts int, interval time.Duration) int {
	t.Helper()
	client, err := network.Dial(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), network.ClientOptions{})
	require.NoError(t, err)
	defer client.Close()
	ctx := context.Background()
	now := time.Now()
	n := 0
	for h := first; h < first+hosts; h++ {
		sim, err := simulate.New(simulate.Config{Params: simulate.DefaultParams(), Seed: uint64(h) + 1}, interval)
		require.NoError(t, err)
		for _, v := range sim.Step(0) {
			vl := &api.ValueList{
				Identifier: api.Identifier{Host: fmt.Sprintf("shop-%04d", h), Plugin: "ecommerce", Type: v.Type, TypeInstance: v.TypeInstance},
				Time:       now,
				Interval:   interval,
				Values:     []api.Value{api.Gauge(v.Value)},
				DSNames:    []string{"value"},
			}
			require.NoError(t, client.Write(ctx, vl))
			n++
		}
		if h%20 == 19 { // keep the socket's receive buffer from overflowing
			require.NoError(t, client.Flush())
			time.Sleep(time.Millisecond)
		}
	}
	require.NoError(t, client.Flush())
	return n
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
