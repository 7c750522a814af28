package e2e

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"collectd.org/network"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stateConfig: failed pages over 5 s, and a traffic spike against a
// baseline of 2 minutes, for values every second; the state written every
// second.
const stateConfig = `LoadPlugin anomaly
<Plugin anomaly>
  StateFile %q
  StateInterval 1
  <Ratio "failed">
    Numerator   "ecommerce/gauge-page-response-500"
    Denominator "ecommerce/gauge-page-hits-total"
    Window 5
    FailureMax 0.10
  </Ratio>
  <Spike "traffic">
    Series "ecommerce/gauge-page-hits-total"
    Window 5
    Baseline 120
    Direction "up"
    Probability 0.0000001
    MinFactor 1.5
  </Spike>
</Plugin>
`

// kill -9 collectd while pages fail, and start it again: the FAILURE is not
// sent twice, its OKAY arrives when the pages recover, and a traffic spike
// one minute after the restart is caught at once - its two-minute baseline
// came through the restart (without it, the spike rule would be blind for
// two minutes). Value times are the host's, sent 20 times faster than
// they pass.
func TestStateFileSurvivesKill9(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "anomaly.state")
	start := time.Now().Truncate(time.Second)
	rng := rand.New(rand.NewPCG(7, 7))
	send := func(client *network.Client, second int) {
		hits := 100 + float64(rng.IntN(21)) - 10
		if second >= 220 && second < 240 {
			hits *= 3
		}
		failed := 1.0
		if second >= 130 && second < 180 {
			failed = 30
		}
		writePages(t, client, "web1", start.Add(time.Duration(second)*time.Second), hits, failed)
		require.NoError(t, client.Flush())
		time.Sleep(50 * time.Millisecond)
	}
	dial := func(port int) *network.Client {
		client, err := network.Dial(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), network.ClientOptions{})
		require.NoError(t, err)
		t.Cleanup(func() { client.Close() })
		return client
	}
	kinds := func(pg *pager) []string {
		var out []string
		for _, p := range pg.pages(t) {
			out = append(out, p.fields["TypeInstance"]+" "+p.fields["Severity"])
		}
		return out
	}

	first, port, pg1 := startPagedCollectd(t, fmt.Sprintf(stateConfig, state))
	_, ok := first.waitFor(regexp.MustCompile(`no state file .* yet: the rules start fresh`), 5*time.Second)
	require.True(t, ok)
	client := dial(port)
	second := 0
	for ; second < 160; second++ {
		send(client, second)
	}
	require.Eventually(t, func() bool { return len(kinds(pg1)) == 1 }, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, []string{"failed FAILURE"}, kinds(pg1))
	// The state of second 159 is on disk within the StateInterval.
	written := time.Now()
	require.Eventually(t, func() bool {
		fi, err := os.Stat(state)
		return err == nil && fi.ModTime().After(written)
	}, 5*time.Second, 20*time.Millisecond)
	require.NoError(t, syscall.Kill(-first.cmd.Process.Pid, syscall.SIGKILL))
	_, _, ok = first.exited(10 * time.Second)
	require.True(t, ok, "collectd survived kill -9")

	again, port, pg2 := startPagedCollectd(t, fmt.Sprintf(stateConfig, state))
	restored, ok := again.waitFor(regexp.MustCompile(`state of 2 rules \(2 groups\) restored from `), 5*time.Second)
	require.True(t, ok, "the state is read at start")
	t.Log(restored.Text)
	client = dial(port)
	for ; second < 260; second++ {
		send(client, second)
	}
	require.Eventually(t, func() bool { return len(kinds(pg2)) == 3 }, 10*time.Second, 20*time.Millisecond, "%v", kinds(pg2))
	time.Sleep(300 * time.Millisecond)
	stopCollectd(t, again)

	pages := pg2.pages(t)
	got := map[string]float64{}
	for _, p := range pages {
		got[p.fields["TypeInstance"]+" "+p.fields["Severity"]] = p.time(t) - float64(start.UnixNano())/1e9
	}
	require.Len(t, got, 3, "%v", kinds(pg2))
	require.Contains(t, got, "failed OKAY", "the FAILURE of before the restart is ended")
	require.NotContains(t, got, "failed FAILURE", "and not sent again")
	require.Contains(t, got, "traffic FAILURE")
	assert.InDelta(t, 181, got["failed OKAY"], 3, "when the pages recover")
	assert.InDelta(t, 222, got["traffic FAILURE"], 3, "as soon as the window holds the spike")
	assert.Len(t, pages, 3)
	for _, c := range []*collectd{first, again} {
		for _, l := range c.lines() {
			require.False(t, l.bad(), "collectd's log: [%s] %s", l.Severity, l.Text)
		}
	}
}
