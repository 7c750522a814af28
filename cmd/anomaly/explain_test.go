package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// --explain shows the trade-off: a threshold right above the normal share
// sends false alerts every week, one at 10% none; both catch pages failing
// at 15%, the tighter one no later. An incident too small for both is said
// to be caught by no rule.
func TestCheckExplainShowsTheTradeOff(t *testing.T) {
	code, stdout, stderr := runCmd(t, "check", "--explain", "testdata/explain.conf", "--seeds", "2", "--days", "2",
		"--incident", "PageError400=0.15,duration=30m", "--incident", "PageError400=0.02,duration=30m")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "testdata/explain.conf: OK, 2 rules")
	assert.Contains(t, stdout, "Measured on 2 runs of 2 simulated days (the default model of the shop, 10s interval; "+
		"in each, one incident of PageError400=0.15 for 30m and one of PageError400=0.02 for 30m)")

	blocks := map[string]string{}
	for _, b := range strings.Split(stdout, "\n\n  ")[1:] {
		name, body, _ := strings.Cut(b, "\n")
		blocks[name] = body
	}
	falses := func(rule string) (int, float64, float64) {
		t.Helper()
		m := regexp.MustCompile(`false alerts: (\d+) in ([\d.]+) weeks of normal traffic: \S+ per week \(at most ([\d.e+-]+) at 95% confidence\)`).
			FindStringSubmatch(blocks[rule])
		require.Len(t, m, 4, "%s: %q", rule, blocks[rule])
		n, _ := strconv.Atoi(m[1])
		weeks, _ := strconv.ParseFloat(m[2], 64)
		upper, _ := strconv.ParseFloat(m[3], 64)
		return n, weeks, upper
	}
	tight, weeks, _ := falses("tight")
	sane, _, upper := falses("sane")
	// Two runs of two days less the two incidents with their six hours of
	// grace: 70 of 168 hours.
	assert.InDelta(t, (4*24-2*2*6.5)/(7*24.0), weeks, 0.01)
	// At 1.2% over a minute of ~690 pages, noise (Poisson, mean 4.1 failed)
	// crosses several times a day.
	assert.Greater(t, tight, 10)
	assert.Equal(t, 0, sane)
	assert.InDelta(t, 3.0/weeks, upper, 0.1, "none seen: at most -ln(0.05)/weeks")

	delay := func(rule string) time.Duration {
		t.Helper()
		m := regexp.MustCompile(`PageError400=0.15 for 30m: caught (\d+) of (\d+), after (\S+) \(median\)`).FindStringSubmatch(blocks[rule])
		require.Len(t, m, 4, "%s: %q", rule, blocks[rule])
		assert.Equal(t, m[2], m[1], "%s catches every incident of 15%%", rule)
		d, err := time.ParseDuration(m[3])
		require.NoError(t, err)
		return d
	}
	assert.LessOrEqual(t, delay("tight"), delay("sane"))
	assert.Less(t, delay("sane"), 5*time.Minute)
	assert.NotContains(t, blocks["sane"], "PageError400=0.02", "2% is below the sane threshold")
}

func TestCheckExplainUsage(t *testing.T) {
	code, _, stderr := runCmd(t, "check", "--incident", "PageError400=0.15,duration=30m", "testdata/explain.conf")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--incident needs --explain")
	code, _, _ = runCmd(t, "check", "--explain", "testdata/explain.conf", "testdata/web.conf")
	assert.Equal(t, exitUsage, code, "one file at a time")
	code, _, stderr = runCmd(t, "check", "--explain", "testdata/explain.conf", "--incident", "PageError400=2,duration=30m")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "PageError400")
	code, _, stderr = runCmd(t, "check", "--explain", "testdata/check/template.conf")
	assert.Equal(t, exitFailure, code, "a broken file is not measured")
	assert.Contains(t, stderr, "template.conf:")
}

func TestCompactDelay(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0s", 10 * time.Second: "10s", 100 * time.Second: "1m40s",
		5 * time.Minute: "5m", 2 * time.Hour: "2h", 2*time.Hour + 5*time.Minute: "2h5m", -1: "-"} {
		assert.Equal(t, want, compact(d), d.String())
	}
}

// A fleet rule is not measured on the one simulated shop: it counts other
// hosts' states, and "0 false alerts" would be no measurement.
func TestCheckExplainSaysFleetRulesAreNotMeasured(t *testing.T) {
	code, stdout, stderr := runCmd(t, "check", "--explain", "../../examples/fleet/b-one-aggregator/aggregator.conf", "--seeds", "1", "--days", "1")
	require.Equal(t, exitOK, code, stderr)
	assert.Regexp(t, `\n  fleet-failed-requests\n    not measured: a fleet rule counts the states of other hosts' rules`, stdout)
	assert.Regexp(t, `\n  host-silent\n    false alerts: `, stdout, "the dead man's switch is measured")
}
