package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Exercise web task 4 end to end: the shipped rule "web-failed-requests" in a
// real collectd, fed by the simulator, with an incident that makes 30% of the
// pages fail (20% 4xx, 10% 5xx).
//
// Time is compressed so the test takes seconds: reads every second carry ten
// seconds of traffic (TrafficMultiplier 10), and TimeScale 60 turns the rule
// pack's 5-minute windows into 5 seconds.
const failedRequestsConfig = `
<Plugin anomaly>
  TimeScale 60
  <Simulation>
    Seed 7
    TrafficMultiplier 10
    <Incident "page-errors">
      Start 12
      Duration 20
      PageError400 0.2
      PageError500 0.1
    </Incident>
  </Simulation>
</Plugin>
`

func TestFailedRequestsAlertInRealCollectd(t *testing.T) {
	t.Parallel()
	c := startCollectd(t, rulePack(t)+failedRequestsConfig)
	_, ok := c.waitFor(regexp.MustCompile(`Initialization complete`), 20*time.Second)
	require.True(t, ok, "collectd did not start")

	start, ok := c.waitFor(regexp.MustCompile(`simulated incident "page-errors" starts`), 30*time.Second)
	require.True(t, ok, "the incident did not start")
	// With 5 one-second slots per window and 30% of the pages failing, the
	// window crosses 10% with its second bad slot, judged when the third
	// read arrives: about 3 s. 10 s leaves room for a loaded machine.
	const detectBound = 10 * time.Second
	failure, ok := c.waitFor(regexp.MustCompile(`severity = FAILURE.*type_instance = web-failed-requests`), 15*time.Second)
	require.True(t, ok, "no FAILURE for web-failed-requests")
	assert.LessOrEqual(t, failure.Time.Sub(start.Time), detectBound, "FAILURE came too late")

	end, ok := c.waitFor(regexp.MustCompile(`simulated incident "page-errors" ends`), 40*time.Second)
	require.True(t, ok, "the incident did not end")
	// Recovery: the bad slots leave the 5-slot window within 5 s, plus one
	// read to judge; the same slack as above.
	const recoverBound = 15 * time.Second
	okay, ok := c.waitFor(regexp.MustCompile(`severity = OKAY.*type_instance = web-failed-requests`), recoverBound+5*time.Second)
	require.True(t, ok, "no OKAY for web-failed-requests")
	assert.LessOrEqual(t, okay.Time.Sub(end.Time), recoverBound, "OKAY came too late")
	time.Sleep(3 * time.Second) // anything after the OKAY would be a flap

	all := c.notifications()
	page := filter(all, "web-failed-requests", "page")
	require.NotEmpty(t, page)
	var failures, okays int
	for _, n := range page {
		assert.False(t, n.Time.Before(start.Time), "notification before the incident: %+v", n)
		switch n.Severity {
		case "FAILURE":
			failures++
			assert.Equal(t, 0, okays, "a FAILURE after the OKAY")
		case "OKAY":
			okays++
		case "WARNING": // the window passing 5% on its way up or down
		default:
			t.Errorf("unexpected severity %q", n.Severity)
		}
	}
	assert.Equal(t, 1, failures, "exactly one FAILURE while the incident lasts: %s", severities(page))
	assert.Equal(t, 1, okays, "exactly one OKAY after it: %s", severities(page))
	assert.Equal(t, "OKAY", page[len(page)-1].Severity)

	f := page[indexOf(page, "FAILURE")]
	assert.Equal(t, "e2e-host", f.Host)
	assert.Equal(t, "anomaly", f.Plugin)
	assert.Equal(t, "page", f.PluginInstance)
	assert.Equal(t, "ratio", f.Type)
	assert.Regexp(t, `^FAILURE: web-failed-requests\[page\] of e2e-host: \d+(\.\d+)?% \(\d+ of \d+\) over 5s is above the threshold 10%$`, f.Message)
	assert.Empty(t, filter(all, "web-failed-requests", "asset"), "assets were fine")

	checkCSV(t, c)
	checkHealth(t, c, start.Time, end.Time)
}

// checkHealth: web task 6 in the same run. The health rule reports every
// period (5 minutes, 5 s here), OKAY as well, and dispatches its level as
// the series anomaly/gauge-web-health. 30% of failing pages are 3.9% of all
// requests (with the normal 0.8%): above the 2% warning bound, and 4 standard
// deviations of a 5-second share below the 5% error bound.
func checkHealth(t *testing.T, c *collectd, incidentStart, incidentEnd time.Time) {
	var health []notification
	for _, n := range c.notifications() {
		if n.TypeInst == "web-health" {
			health = append(health, n)
		}
	}
	require.GreaterOrEqual(t, len(health), 5, "a health notification every 5 s over the run")
	worst := "OKAY"
	for i, n := range health {
		assert.Equal(t, "health", n.Type)
		assert.Equal(t, "e2e-host", n.Host)
		if i > 0 {
			// The log has whole seconds; periods are 5 s apart.
			gap := n.Time.Sub(health[i-1].Time)
			assert.True(t, gap >= 4*time.Second && gap <= 6*time.Second, "health %d came %s after the one before", i, gap)
		}
		if !n.Time.Before(incidentStart.Add(5*time.Second)) && !n.Time.After(incidentEnd) && n.Severity != "OKAY" {
			worst = n.Severity
		}
	}
	assert.Equal(t, "WARNING", worst, "health during the incident: %s", severities(health))
	assert.Regexp(t, `^OKAY: web-health of e2e-host is ok: latency \d+(\.\d+)? ms \(warn 300, error 500\), errors \d+(\.\d+)?% \(warn 2%, error 5%\) over 5s ending \d\d:\d\d:\d\d$`, health[0].Message)

	matches, err := filepath.Glob(filepath.Join(c.dir, "csv", "e2e-host", "anomaly", "gauge-web-health-*"))
	require.NoError(t, err)
	require.Len(t, matches, 1, "the health series is stored by collectd's csv plugin")
	b, err := os.ReadFile(matches[0])
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")[1:]
	require.GreaterOrEqual(t, len(lines), 5)
	levels := map[string]bool{}
	for _, l := range lines {
		levels[l[strings.IndexByte(l, ',')+1:]] = true
	}
	assert.Equal(t, map[string]bool{"0.000000": true, "1.000000": true}, levels, "ok and warn seen")
}

func indexOf(ns []notification, severity string) int {
	for i, n := range ns {
		if n.Severity == severity {
			return i
		}
	}
	return -1
}

// checkCSV checks the values collectd wrote: the exact names of the
// exercise, and zeros written rather than skipped.
func checkCSV(t *testing.T, c *collectd) {
	dir := filepath.Join(c.dir, "csv", "e2e-host", "ecommerce")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	dated := regexp.MustCompile(`-\d{4}-\d\d-\d\d$`)
	var names []string
	files := map[string]string{}
	for _, e := range entries {
		name := dated.ReplaceAllString(e.Name(), "")
		names = append(names, "ecommerce/"+name)
		files[name] = filepath.Join(dir, e.Name())
	}
	sort.Strings(names)
	want := []string{
		"ecommerce/gauge-asset-hits-total",
		"ecommerce/gauge-asset-latency-mean",
		"ecommerce/gauge-asset-response-200",
		"ecommerce/gauge-asset-response-400",
		"ecommerce/gauge-asset-response-500",
		"ecommerce/gauge-new-sessions",
		"ecommerce/gauge-page-hits-total",
		"ecommerce/gauge-page-latency-mean",
		"ecommerce/gauge-page-response-200",
		"ecommerce/gauge-page-response-400",
		"ecommerce/gauge-page-response-500",
	}
	for _, p := range []string{"a", "b", "c", "d"} {
		for _, o := range []string{"fraud", "provider_error", "success", "user_error"} {
			want = append(want, "ecommerce/gauge-payment-provider-"+p+"."+o)
		}
	}
	sort.Strings(want)
	assert.Equal(t, want, names)

	// Payments are rare (0.12 per read here): most reads carry zeros, and
	// they must be in the file rather than missing.
	b, err := os.ReadFile(files["gauge-payment-provider-c.fraud"])
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Greater(t, len(lines), 20, "one line per read")
	assert.Equal(t, "epoch,value", lines[0])
	zeros := 0
	for _, l := range lines[1:] {
		if strings.HasSuffix(l, ",0.000000") {
			zeros++
		}
	}
	assert.Greater(t, zeros, len(lines)/2, "zeros are dispatched")
}

func TestMisspeltOptionIsRefused(t *testing.T) {
	t.Parallel()
	c := startCollectd(t, rulePack(t)+`
<Plugin anomaly>
  <Ratio "typo">
    Numerator "a/gauge-x"
    Denominator "a/gauge-y"
    FailureMaxx 0.1
  </Ratio>
</Plugin>
`)
	code, out, exited := c.exited(20 * time.Second)
	require.True(t, exited, "collectd kept running with a misspelt option")
	assert.NotZero(t, code)
	assert.Contains(t, out, `<Ratio "typo">: unknown option "FailureMaxx"`)
}
