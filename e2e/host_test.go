package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The host pack on this machine: collectd's real read plugins (cpu, memory,
// load, df, disk, interface, processes) with the settings the pack asks for,
// and the pack, its windows divided by TimeScale 30 (5 minutes are 10 s).
// Idle, it loads, judges (the traffic detector's scores reach the csv
// writer) and pages nothing; a CPU burner on every core, stopped after at
// most a minute, raises host-cpu-saturated, and its end brings the OKAY.
func TestHostPackOnThisMachine(t *testing.T) {
	pack, err := filepath.Abs("../collectd.conf.d/host.conf")
	require.NoError(t, err)
	pg := newPager(t)
	c := startCollectdWith(t, daemonOptions{csv: true, plugins: []string{"cpu", "memory", "df", "load", "disk", "interface", "processes"}},
		fmt.Sprintf(`LoadPlugin exec
<Plugin exec>
  NotificationExec "nobody" %q
</Plugin>
LoadPlugin cpu
<Plugin cpu>
  ReportByCpu false
  ValuesPercentage true
</Plugin>
LoadPlugin memory
<Plugin memory>
  ValuesPercentage true
</Plugin>
LoadPlugin df
<Plugin df>
  ValuesPercentage true
  ValuesAbsolute true
</Plugin>
LoadPlugin load
LoadPlugin disk
LoadPlugin interface
LoadPlugin processes
Include %q
<Plugin anomaly>
  TimeScale 30
  # Every core busy delays some read plugins' values by seconds, more than
  # the default two 1-second intervals.
  AllowedLateness "10s"
  # The test's own, not the machine's /var/lib/collectd-anomaly.
  StateFile %q
  SilenceFile %q
</Plugin>
`, pg.script, pack, filepath.Join(t.TempDir(), "anomaly.state"), filepath.Join(t.TempDir(), "silences")))
	rules, ok := c.waitFor(regexp.MustCompile(`anomaly plugin: \d+ rules`), 30*time.Second)
	require.True(t, ok, "the plugin did not load the pack")
	for _, name := range []string{"host-cpu-saturated", "host-disk-filling", "host-traffic-unusual", "host-fork-storm"} {
		assert.Contains(t, rules.Text, name)
	}

	// Idle: a minute, past the detectors' warm-up of 50 values.
	time.Sleep(60 * time.Second)
	for _, p := range pg.pages(t) {
		t.Errorf("paged on an idle machine: %s", p.message)
	}
	scores, err := filepath.Glob(filepath.Join(c.dir, "csv", "*", "anomaly-interface-*_if_octets", "gauge-host-traffic-unusual-*"))
	require.NoError(t, err)
	assert.NotEmpty(t, scores, "the traffic detector's scores in the csv files")

	// A burner on every core, for at most a minute.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var burners []*exec.Cmd
	for range runtime.NumCPU() {
		b := exec.CommandContext(ctx, "sh", "-c", "while :; do :; done")
		require.NoError(t, b.Start())
		burners = append(burners, b)
	}
	stopBurners := func() {
		cancel()
		for _, b := range burners {
			_ = b.Wait()
		}
	}
	defer stopBurners()
	saturated := func(severity string) bool {
		for _, p := range pg.pages(t) {
			if p.fields["TypeInstance"] == "host-cpu-saturated" && p.fields["Severity"] == severity {
				return true
			}
		}
		return false
	}
	require.Eventually(t, func() bool { return saturated("FAILURE") }, 50*time.Second, 500*time.Millisecond,
		"no FAILURE of host-cpu-saturated with every core busy")
	stopBurners()
	require.Eventually(t, func() bool { return saturated("OKAY") }, 40*time.Second, 500*time.Millisecond,
		"no OKAY once the burners stopped")
	for _, p := range pg.pages(t) {
		t.Logf("paged: %s", p.message)
		if p.fields["TypeInstance"] == "host-cpu-saturated" {
			assert.True(t, strings.HasPrefix(p.message, p.fields["Severity"]+": host-cpu-saturated of e2e-host: mean "), p.message)
		}
	}
	for _, l := range c.lines() {
		assert.False(t, l.bad(), "collectd's log: [%s] %s", l.Severity, l.Text)
	}
}
