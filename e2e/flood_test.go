package e2e

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rssKB reads a process's VmRSS or VmHWM (peak) in kB.
func rssKB(t *testing.T, pid int, field string) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			require.NoError(t, err)
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// A cardinality flood: 200,000 distinct series (7,407 shops of the 27
// e-commerce series, once each) through the network plugin into a collectd
// with the e-commerce pack, exec loaded, and MaxSeries 20,000. collectd
// keeps running, its memory stays bounded by MaxSeries, the log says once
// that the bound was reached and once that new series are taken again;
// once the flood's series are idle for SeriesIdleTimeout they are forgotten
// and as many new series are taken without a drop.
func TestCardinalityFloodIsBounded(t *testing.T) {
	t.Parallel()
	const maxSeries, shops = 20_000, 7_407
	// collectd itself keeps every series in its value cache: the same flood
	// into a collectd without the plugin, side by side, is what is its own.
	bare, bport, _ := startPagedCollectd(t, "")
	bareBefore := rssKB(t, bare.cmd.Process.Pid, "VmRSS")
	require.Equal(t, shops*27, sendOneInterval(t, bport, shops, 10*time.Second))
	time.Sleep(5 * time.Second)
	barePeak := rssKB(t, bare.cmd.Process.Pid, "VmHWM")
	stopCollectd(t, bare)

	c, port, _ := startPagedCollectd(t, rulePack(t)+fmt.Sprintf(`
<Plugin anomaly>
  MaxSeries %d
  SeriesIdleTimeout 20
</Plugin>
`, maxSeries))
	pid := c.cmd.Process.Pid
	before := rssKB(t, pid, "VmRSS")

	sent := sendOneInterval(t, port, shops, 10*time.Second)
	require.Equal(t, shops*27, sent)
	_, ok := c.waitFor(regexp.MustCompile(`anomaly plugin: new series are taken again; \d+ value lists of series beyond MaxSeries were dropped`), 60*time.Second)
	require.True(t, ok, "the flood is over for the plugin")
	peak := rssKB(t, pid, "VmHWM")
	warned := func() int {
		n := 0
		for _, l := range c.lines() {
			if strings.Contains(l.Text, fmt.Sprintf("MaxSeries %d reached", maxSeries)) {
				n++
			}
		}
		return n
	}
	require.Equal(t, 1, warned(), "one warning for the whole flood")

	// After the idle timeout (and a sweep, every quarter of it) the flood's
	// series are forgotten: 740 new shops - as many series as MaxSeries -
	// are all taken.
	time.Sleep(27 * time.Second)
	require.Equal(t, 740*27, sendFrom(t, port, 100_000, 740))
	time.Sleep(3 * time.Second)
	assert.Equal(t, 1, warned(), "no new series refused: the idle ones made room")
	stopCollectd(t, c)
	for _, l := range c.lines() {
		require.NotEqual(t, "error", l.Severity, "collectd's log: %s", l.Text)
	}
	grew, bareGrew := peak-before, barePeak-bareBefore
	plugin := grew - bareGrew
	t.Logf("collectd's peak RSS over the flood of %d series: +%d MB without the plugin, +%d MB with it and MaxSeries %d: "+
		"the plugin's part %d MB, %.1f KB per series kept", sent, bareGrew/1024, grew/1024, maxSeries, plugin/1024, float64(plugin)/maxSeries)
	// The bound: about 3 KB of state per series of the pack (README: What
	// it costs), twice that while Go's collector lets the heap grow to twice
	// what is live, and the alert burst of the 740 shops falling silent -
	// for MaxSeries series, not for the 200,000 sent.
	assert.Less(t, plugin, maxSeries*8, "kB")
}

// sendFrom sends one interval of shops shops numbered from first.
func sendFrom(t *testing.T, port, first, shops int) int {
	t.Helper()
	return sendHosts(t, port, first, shops, 10*time.Second)
}
