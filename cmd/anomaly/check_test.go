package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A valid configuration: the rules, what they judge, and where they are.
func TestCheckGoodFile(t *testing.T) {
	code, stdout, stderr := runCmd(t, "check", "testdata/check/good.conf")
	assert.Equal(t, exitOK, code)
	assert.Empty(t, stderr)
	assert.Equal(t, `testdata/check/good.conf: OK, 2 rules
  errors  ratio  per host            testdata/check/conf.d/rules.conf:2
  fraud   count  all hosts together  testdata/check/conf.d/rules.conf:7
`, stdout)

	code, stdout, _ = runCmd(t, "check", "-q", "testdata/check/good.conf", "../../collectd.conf.d/anomaly.conf")
	assert.Equal(t, exitOK, code)
	assert.Empty(t, stdout, "-q prints errors only")
}

// Every error of a broken file is reported with its file and line, the one
// collectd would stop at first.
func TestCheckBrokenFiles(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"syntax.conf", []string{
			`testdata/check/syntax.conf:4: a quoted string is not closed`,
		}},
		{"unclosed.conf", []string{
			`testdata/check/unclosed.conf:5: </Plugin> while <Ratio> of line 3 is not closed`,
		}},
		{"broken.conf", []string{
			`testdata/check/broken.conf:7: <Plugin anomaly>: <Ratio "errors">: unknown option "FailureMaxx"`,
			`testdata/check/broken.conf:11: <Plugin anomaly>: <Count "fraud">: option Window "an hour": want one duration: seconds, or a string like "5m" or "1d"`,
			`testdata/check/broken.conf:16: <Plugin anomaly>: <Spike "traffic">: option Window 0: must be more than zero`,
			`testdata/check/broken.d/more.conf:2: <Plugin anomaly>: <Missing "silent">: a missing rule needs Series`,
			`testdata/check/broken.d/more.conf:4: <Plugin anomaly>: <Ratio "errors">: another rule has the name "errors"`,
		}},
		{"template.conf", []string{
			`testdata/check/template.conf:9: <Plugin anomaly>: <Ratio "errors">: option Message "{severity}: {rule} on {hostname} is {observed_percent}": unknown field {hostname}; the fields are baseline, group, host, kind, message, observed, observed_percent, previous, probability, rule, runbook, series, severity, subject, threshold, threshold_percent, time, window`,
		}},
		{"norules.conf", []string{
			`testdata/check/norules.conf: no <Plugin anomaly> block`,
		}},
		{"absent.conf", []string{
			`open testdata/check/absent.conf: no such file or directory`,
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, "check", filepath.Join("testdata", "check", tc.file))
			assert.Equal(t, exitFailure, code)
			assert.Empty(t, stdout)
			assert.Equal(t, tc.want, strings.Split(strings.TrimSuffix(stderr, "\n"), "\n"))
		})
	}
	// Several files: the status is that of the worst.
	code, stdout, _ := runCmd(t, "check", "testdata/check/good.conf", "testdata/check/syntax.conf")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stdout, "good.conf: OK")
}

// What collectd reads differently from how it looks is a warning with its
// line, and explains the error it causes.
func TestCheckWarnsWhereCollectdReadsOtherwise(t *testing.T) {
	path := filepath.Join(t.TempDir(), "exp.conf")
	err := os.WriteFile(path, []byte(`LoadPlugin anomaly
<Plugin anomaly>
  <Spike "s">
    Series "a/b"
    Probability 1e-6
  </Spike>
</Plugin>
`), 0o644)
	assert.NoError(t, err)
	code, _, stderr := runCmd(t, "check", path)
	assert.Equal(t, exitFailure, code)
	assert.Equal(t, path+`:5: warning: collectd reads 1e-6 as "1e" -6: put text in quotes, and write numbers as 0.000001 or 1.0e-06
`+path+`:5: <Plugin anomaly>: <Spike "s">: option Probability "1e" -6: want one number
`, stderr)
}

func TestCheckUsage(t *testing.T) {
	code, _, stderr := runCmd(t, "check")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "Usage: anomaly check [--explain [flags]] FILE...")
}

// Files that are fine alone can clash as collectd reads them, from one
// conf.d: checked together, in order, after each alone. Two <InfluxDB>
// blocks, one in each.
func TestCheckSeveralFilesTogether(t *testing.T) {
	dir := t.TempDir()
	influx := "LoadPlugin anomaly\n<Plugin anomaly>\n  <InfluxDB>\n    URL \"http://127.0.0.1:8086\"\n    Bucket \"b\"\n  </InfluxDB>\n</Plugin>\n"
	a, b := filepath.Join(dir, "anomaly-a.conf"), filepath.Join(dir, "anomaly-b.conf")
	require.NoError(t, os.WriteFile(a, []byte(influx), 0o644))
	require.NoError(t, os.WriteFile(b, []byte(influx), 0o644))
	code, stdout, stderr := runCmd(t, "check", a, b)
	assert.Equal(t, exitFailure, code, stdout)
	assert.Contains(t, stdout, a+": OK")
	assert.Contains(t, stdout, b+": OK")
	assert.Contains(t, stderr, b+":3:")
	assert.Contains(t, stderr, "only one <InfluxDB> block")
}

// collectd skips a <Plugin anomaly> block that comes before its LoadPlugin
// (Debian's collectd.conf includes conf.d at its end): check says so, and
// does not take its options.
func TestCheckWarnsOfABlockBeforeLoadPlugin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "collectd.conf")
	require.NoError(t, os.WriteFile(path, []byte("<Plugin anomaly>\n  TimeScale 30\n</Plugin>\nLoadPlugin anomaly\n<Plugin anomaly>\n  MaxSeries 10\n</Plugin>\n"), 0o644))
	code, stdout, stderr := runCmd(t, "check", path)
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, path+":1: warning: collectd ignores this <Plugin anomaly>: it comes before LoadPlugin anomaly")
	assert.NotContains(t, stdout, "TimeScale 30")

	require.NoError(t, os.WriteFile(path, []byte("<LoadPlugin anomaly>\n  Interval 5\n</LoadPlugin>\n<Plugin anomaly>\n  MaxSeries 10\n</Plugin>\n"), 0o644))
	code, _, stderr = runCmd(t, "check", path)
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, path+":2: warning: the anomaly plugin does not use the Interval of its LoadPlugin")
}
