package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"collectd.org/api"
	"collectd.org/network"
	"github.com/stretchr/testify/require"
)

// cpuTime is a process's user and system CPU time so far.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(t, err)
	// After the command's name in parentheses: fields 14 and 15 are utime
	// and stime in clock ticks (100 a second on Linux).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, err := strconv.ParseInt(f[11], 10, 64)
	require.NoError(t, err)
	st, err := strconv.ParseInt(f[12], 10, 64)
	require.NoError(t, err)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// TestIdleCost measures what the plugin costs a lightly loaded collectd:
// 20 and 2,000 series sending every second (a few hosts, a small fleet),
// collectd with the e-commerce pack against collectd without the plugin,
// side by side, CPU over a minute each. It runs with `make idlebench`
// (ANOMALY_IDLE=1), not in the test suite: it takes four minutes.
func TestIdleCost(t *testing.T) {
	if os.Getenv("ANOMALY_IDLE") == "" {
		t.Skip("the idle-cost measurement runs with make idlebench (ANOMALY_IDLE=1)")
	}
	const measure = 60 * time.Second
	for _, series := range []int{20, 2000} {
		var cost [2]time.Duration
		for i, body := range []string{"", rulePack(t)} {
			c, port, _ := startPagedCollectd(t, body)
			client, err := network.Dial(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), network.ClientOptions{})
			require.NoError(t, err)
			send := func(at time.Time) {
				for s := 0; s < series; s++ {
					require.NoError(t, client.Write(context.Background(), &api.ValueList{
						Identifier: api.Identifier{Host: fmt.Sprintf("shop-%03d", s/20), Plugin: "ecommerce", Type: "gauge",
							TypeInstance: fmt.Sprintf("page-hits-%d", s%20)},
						Time: at, Interval: time.Second, Values: []api.Value{api.Gauge(100)}, DSNames: []string{"value"},
					}))
					if s%200 == 199 {
						require.NoError(t, client.Flush())
					}
				}
				require.NoError(t, client.Flush())
			}
			next := time.Now().Truncate(time.Second).Add(time.Second)
			for warm := 0; warm < 5; warm++ {
				time.Sleep(time.Until(next))
				send(next)
				next = next.Add(time.Second)
			}
			before, began := cpuTime(t, c.cmd.Process.Pid), time.Now()
			for time.Since(began) < measure {
				time.Sleep(time.Until(next))
				send(next)
				next = next.Add(time.Second)
			}
			cost[i] = time.Duration(float64(cpuTime(t, c.cmd.Process.Pid)-before) / time.Since(began).Seconds())
			client.Close()
			stopCollectd(t, c)
		}
		t.Logf("%d series every second: collectd %.1f ms of CPU per second without the plugin, %.1f with the e-commerce pack: the plugin %.2f%% of a core",
			series, cost[0].Seconds()*1000, cost[1].Seconds()*1000, (cost[1]-cost[0]).Seconds()*100)
	}
}
