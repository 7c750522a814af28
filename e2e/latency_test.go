package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Web task 2 and payments task 1 in the real collectd: the shipped
// web-latency-spread rule catches the page latency's spread widening five
// times, and the conversion rate per hour arrives in the csv output.
//
// TimeScale 60: the rule's 5-minute window is 5 reads, its hour's baseline
// 60, so the incident starts after 70 s; the conversion rate's hour is a
// minute (the first, partial, minute is not reported).
const latencyConfig = `
<Plugin anomaly>
  TimeScale 60
  <Simulation>
    Seed 11
    TrafficMultiplier 10
    <Incident "jittery-pages">
      Start 70
      Duration 20
      PageLatencyStdDev 250
    </Incident>
  </Simulation>
</Plugin>
`

func TestLatencySpreadAndConversionInRealCollectd(t *testing.T) {
	t.Parallel()
	c := startCollectd(t, rulePack(t)+latencyConfig)
	_, ok := c.waitFor(regexp.MustCompile(`Initialization complete`), 20*time.Second)
	require.True(t, ok, "collectd did not start")

	start, ok := c.waitFor(regexp.MustCompile(`simulated incident "jittery-pages" starts`), 100*time.Second)
	require.True(t, ok, "the incident did not start")
	// The window's variance passes 4x the baseline's once 1 of its 5 values
	// is drawn with a 5x spread ((625 + 4)/5 = 126 > 4 in units of 50^2) -
	// unless that draw lands near the mean; 10 s allows for a few draws.
	failure, ok := c.waitFor(regexp.MustCompile(`severity = FAILURE.*type_instance = web-latency-spread`), 30*time.Second)
	require.True(t, ok, "no FAILURE for web-latency-spread")
	assert.LessOrEqual(t, failure.Time.Sub(start.Time), 10*time.Second)
	spread := filter(c.notifications(), "web-latency-spread", "page")
	require.NotEmpty(t, spread)
	assert.Equal(t, "FAILURE", spread[0].Severity, "nothing before the incident: %s", severities(spread))
	assert.Equal(t, "stddevchange", spread[0].Type)
	assert.Regexp(t, `^FAILURE: web-latency-spread\[page\] of e2e-host: stddev \S+ over 5s is \S+x the \S+ of the previous 1m0s, above the factor 2x`, spread[0].Message)

	// The conversion rate: successful payments / new sessions per (scaled)
	// hour, in percent, written by the csv plugin like any value.
	dir := filepath.Join(c.dir, "csv", "e2e-host", "anomaly")
	var lines []string
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && len(lines) == 0 {
		if m, _ := filepath.Glob(filepath.Join(dir, "gauge-conversion-rate-*")); len(m) == 1 {
			b, err := os.ReadFile(m[0])
			require.NoError(t, err)
			lines = strings.Split(strings.TrimSpace(string(b)), "\n")[1:]
		}
		time.Sleep(time.Second)
	}
	require.NotEmpty(t, lines, "no conversion rate in the csv output")
	for _, l := range lines {
		ts, v, _ := strings.Cut(l, ",")
		epoch, err := strconv.ParseFloat(ts, 64)
		require.NoError(t, err)
		assert.Zero(t, int64(epoch)%60, "stamped with the end of a (scaled) hour: %s", l)
		rate, err := strconv.ParseFloat(v, 64)
		require.NoError(t, err)
		// A minute holds ~72 payments and ~14400 sessions: the rate is
		// 0.49% give or take 0.06 (one standard deviation); 5 of them.
		assert.InDelta(t, 0.49, rate, 0.3, "conversion rate in percent: %s", l)
	}
}
