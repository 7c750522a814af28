package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"collectd.org/network"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var anomalyBin struct {
	once sync.Once
	path string
	err  error
}

// anomalyCommand builds the anomaly command once for the whole run.
func anomalyCommand(t *testing.T) string {
	t.Helper()
	anomalyBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "anomaly-e2e-cmd")
		if err != nil {
			anomalyBin.err = err
			return
		}
		anomalyBin.path = filepath.Join(dir, "anomaly")
		build := exec.Command("go", "build", "-o", anomalyBin.path, "../cmd/anomaly")
		if out, err := build.CombinedOutput(); err != nil {
			anomalyBin.err = fmt.Errorf("building anomaly: %v\n%s", err, out)
		}
	})
	require.NoError(t, anomalyBin.err)
	return anomalyBin.path
}

func silenceCmd(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(anomalyCommand(t), append([]string{"silence"}, args...)...).CombinedOutput()
	require.NoError(t, err, "anomaly silence %s: %s", strings.Join(args, " "), out)
	return string(out)
}

// The operator's day with a real collectd, exec and logfile loaded: a rule
// worded by its author with a runbook, and silences added and expired with
// `anomaly silence` while an incident runs on three hosts.
//
//   - web2 is not silenced: FAILURE and OKAY, in the rule's words, with the
//     runbook in the message and the meta data.
//   - web1 is silenced during a deploy; the silence is expired while its
//     FAILURE lasts: the FAILURE is sent then (marked with the silence), and
//     its OKAY later as usual.
//   - web3 is silenced for the whole incident: nothing is sent at all.
//
// One log line per silence start and end, no error or warning.
func TestSilencesHoldNotificationsOfARealCollectd(t *testing.T) {
	t.Parallel()
	silences := filepath.Join(t.TempDir(), "silences")
	require.NoError(t, os.Chmod(filepath.Dir(silences), 0o755))
	s1 := silenceCmd(t, "add", "--file", silences, "--host", "web1", "--for", "1h", "--reason", "deploy 4711", "--by", "e2e")
	require.True(t, strings.HasPrefix(s1, "s1 "), s1)
	silenceCmd(t, "add", "--file", silences, "--host", "web3", "--rule", "fail*", "--for", "1h", "--reason", "rebuilding web3")
	list := silenceCmd(t, "list", "--file", silences)
	require.Regexp(t, `(?m)^s1\s+active\s+web1\s`, list)
	require.Regexp(t, `(?m)^s2\s+active\s+web3\s+fail\*\s`, list)

	c, port, pg := startPagedCollectd(t, fmt.Sprintf(`LoadPlugin anomaly
<Plugin anomaly>
  SilenceFile %q
  <Ratio "failed">
    Numerator   "ecommerce/gauge-page-response-500"
    Denominator "ecommerce/gauge-page-hits-total"
    Window 5
    FailureMax 0.10
    Message "{severity}: pages failing on {host} at {observed_percent} over {window} (limit {threshold_percent})"
    Runbook "https://wiki.example.com/runbooks/failed-pages"
  </Ratio>
</Plugin>
`, silences))
	_, ok := c.waitFor(regexp.MustCompile(`silence started: s2`), 10*time.Second)
	require.True(t, ok, "the silences are logged when the plugin starts")

	client, err := network.Dial(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), network.ClientOptions{})
	require.NoError(t, err)
	defer client.Close()
	// Value times are the hosts' own: one second apart, sent ten times
	// faster; silences go by the wall clock.
	start := time.Now().Truncate(time.Second)
	send := func(second int) {
		for _, host := range []string{"web1", "web2", "web3"} {
			failed := 1.0
			if second >= 15 && second < 25 {
				failed = 30
			}
			writePages(t, client, host, start.Add(time.Duration(second)*time.Second), 100, failed)
		}
		require.NoError(t, client.Flush())
		time.Sleep(100 * time.Millisecond)
	}
	byHost := func() map[string][]page {
		out := map[string][]page{}
		for _, p := range pg.pages(t) {
			out[p.fields["Host"]] = append(out[p.fields["Host"]], p)
		}
		return out
	}
	second := 0
	for ; second <= 20; second++ {
		send(second)
	}
	require.Eventually(t, func() bool { return len(byHost()["web2"]) == 1 }, 10*time.Second, 20*time.Millisecond, "web2's FAILURE")
	assert.Empty(t, byHost()["web1"], "web1 is silenced")

	// The deploy is over while web1 still fails: its FAILURE goes out now.
	require.Equal(t, "expired s1\n", silenceCmd(t, "expire", "--file", silences, "s1"))
	require.Eventually(t, func() bool { return len(byHost()["web1"]) == 1 }, 10*time.Second, 20*time.Millisecond, "web1's FAILURE, released")
	for ; second <= 40; second++ {
		send(second)
	}
	require.Eventually(t, func() bool { return len(byHost()["web1"]) == 2 && len(byHost()["web2"]) == 2 }, 10*time.Second, 20*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	stopCollectd(t, c)

	pages := byHost()
	for _, h := range []string{"web1", "web2"} {
		ps := pages[h]
		sort.Slice(ps, func(i, j int) bool { return ps[i].time(t) < ps[j].time(t) })
		require.Len(t, ps, 2, h)
		assert.Equal(t, "FAILURE", ps[0].fields["Severity"], h)
		assert.Equal(t, "OKAY", ps[1].fields["Severity"], h)
		assert.Equal(t, fmt.Sprintf("FAILURE: pages failing on %s at 12.6%% over 5s (limit 10%%) Runbook: https://wiki.example.com/runbooks/failed-pages", h), ps[0].message)
		assert.True(t, strings.HasPrefix(ps[1].message, "OKAY: pages failing on "+h+" at "), ps[1].message)
		for _, p := range ps {
			assert.Equal(t, "https://wiki.example.com/runbooks/failed-pages", p.fields["runbook"], h)
		}
		assert.InDelta(t, float64(start.Add(16*time.Second).UnixNano())/1e9, ps[0].time(t), 0.002, "%s: the FAILURE carries its deciding value's time, even when sent late", h)
		assert.Empty(t, ps[1].fields["silenced"], h)
	}
	assert.Equal(t, "s1", pages["web1"][0].fields["silenced"], "the late FAILURE names the silence that held it")
	assert.Empty(t, pages["web2"][0].fields["silenced"])
	assert.Empty(t, pages["web3"], "raised and resolved within its silence: nothing to tell")

	var silenceLines []string
	for _, l := range c.lines() {
		require.False(t, l.bad(), "collectd's log: [%s] %s", l.Severity, l.Text)
		if strings.Contains(l.Text, "anomaly plugin: silence ") {
			silenceLines = append(silenceLines, l.Text)
		}
	}
	require.Len(t, silenceLines, 3, "%q", silenceLines)
	assert.Contains(t, silenceLines[0]+silenceLines[1], "silence started: s1 (host web1, rule *, group *) until ")
	assert.Contains(t, silenceLines[0]+silenceLines[1], "silence started: s2 (host web3, rule fail*, group *) until ")
	assert.Contains(t, silenceLines[2], "silence ended: s1 (host web1, rule *, group *) until ")
	assert.Contains(t, silenceLines[2], ": deploy 4711 (by e2e)")
	firstEnd := regexp.MustCompile(`until (\S+):`).FindStringSubmatch(s1)
	require.Len(t, firstEnd, 2, s1)
	assert.NotContains(t, silenceLines[2], firstEnd[1], "named with the end it was expired at")
}
