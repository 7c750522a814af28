package conf_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// Check builds the rules as the plugin does and names the file and line of
// every error: the one collectd would stop at first, then the others.
func TestCheckNamesFileAndLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "anomaly.conf")
	ratio := func(name string, extra string) string {
		return "  <Ratio \"" + name + "\">\n    Numerator \"a/b\"\n    Denominator \"a/c\"\n    FailureMax 0.1\n" + extra + "  </Ratio>\n"
	}
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"unknown option in a rule", "<Plugin anomaly>\n" + ratio("r", "    FailureMaxx 3\n") + "</Plugin>\n",
			[]string{`:6: <Plugin anomaly>: <Ratio "r">: unknown option "FailureMaxx"`}},
		{"bad value", "<Plugin anomaly>\n" + ratio("r", "    Window \"soon\"\n") + "</Plugin>\n",
			[]string{`:6: <Plugin anomaly>: <Ratio "r">: option Window "soon": want one duration: seconds, or a string like "5m" or "1d"`}},
		{"unknown top-level option", "<Plugin anomaly>\n  MaxSeries 10\n  Colour \"red\"\n</Plugin>\n",
			[]string{`:3: <Plugin anomaly>: unknown option "Colour" (rules are <Aggregate>, <Anomaly>, <Count>, <ErrorShare>, <Fleet>, <Health>, <Missing>, <PeriodRatio>, <Ratio>, <Spike>, <StdDevChange>; other options: MaxSeries, Hostname, TimeScale, AllowedLateness, BurstLimit, BurstWindow, Statistics, StateSeries, SilenceFile, StateFile, StateInterval, SeriesIdleTimeout, <Simulation>, <InfluxDB>)`}},
		{"rule missing its series", "<Plugin anomaly>\n  <Ratio \"r\">\n    FailureMax 0.1\n  </Ratio>\n</Plugin>\n",
			[]string{`:2: <Plugin anomaly>: <Ratio "r">: a ratio needs Numerator and Denominator series`}},
		{"duplicate rule names: the second", "<Plugin anomaly>\n" + ratio("r", "") + ratio("r", "") + "</Plugin>\n",
			[]string{`:7: <Plugin anomaly>: <Ratio "r">: another rule has the name "r"`}},
		{"nested incident option", "<Plugin anomaly>\n  <Simulation>\n    Seed 1\n    <Incident \"x\">\n      Duration 60\n      <Provider \"a\">\n        Fraud 2\n      </Provider>\n    </Incident>\n  </Simulation>\n</Plugin>\n",
			[]string{`:7: <Plugin anomaly>: <Simulation>: <Incident "x">: <Provider "a">: option Fraud 2: provider a Fraud = 2: must be between 0 and 1`}},
		{"every broken rule, first the one collectd stops at", "<Plugin anomaly>\n" + ratio("a", "    Hits 0\n") + ratio("b", "") + ratio("c", "    MinDenominator -1\n") + "</Plugin>\n",
			[]string{`:6: <Plugin anomaly>: <Ratio "a">: option Hits 0: want a whole number from 1 to 2147483647`,
				`:17: <Plugin anomaly>: <Ratio "c">: option MinDenominator -1: must not be negative`}},
		{"a setting the engine refuses: the line that sets it last", "<Plugin anomaly>\n  <StdDevChange \"s\">\n    Series \"a/b\"\n    WarningFactor 5\n    WarningFactor 4\n    FailureFactor 3\n  </StdDevChange>\n</Plugin>\n",
			[]string{`:5: <Plugin anomaly>: <StdDevChange "s">: rule "s": WarningFactor must be between 1 and FailureFactor`}},
		{"an option named after the block is read", "<Plugin anomaly>\n  <InfluxDB>\n    URL \"http://127.0.0.1:8086\"\n    Bucket \"b\"\n    BufferLimit 10\n    BatchSize 20\n  </InfluxDB>\n</Plugin>\n",
			[]string{`:5: <Plugin anomaly>: <InfluxDB>: option BufferLimit 10: must be at least BatchSize (20)`}},
		{"an option that clashes with an earlier one: the later", "<Plugin anomaly>\n  <InfluxDB>\n    URL \"http://127.0.0.1:8086\"\n    Bucket \"b\"\n    Token \"t\"\n    TokenFile \"" + path + "\"\n  </InfluxDB>\n</Plugin>\n",
			[]string{`:6: <Plugin anomaly>: <InfluxDB>: option TokenFile "` + path + `": give Token or TokenFile, not both`}},
		{"second plugin block", "<Plugin anomaly>\n  MaxSeries 10\n</Plugin>\n<Plugin anomaly>\n  MaxSeries 10\n  MaxSeries 0\n</Plugin>\n",
			[]string{`:6: <Plugin anomaly>: option MaxSeries 0: want a whole number from 1 to 2147483647`}},
		{"an error of the engine: the rule's option by the rule's name", "<Plugin anomaly>\n" + ratio("r", "") + "  <Fleet \"f\">\n    FailureHosts 1\n    Rule \"r\"\n  </Fleet>\n</Plugin>\n",
			[]string{`:9: rule "f": Rule "r" names a rule this configuration defines too: a fleet rule counts other daemons' rules (rename one of them)`}},
		{"no plugin block", "LoadPlugin anomaly\n", []string{`no <Plugin anomaly> block`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writeFile(t, path, tc.text)
			src, err := conf.ReadSource(path)
			require.NoError(t, err)
			s, problems := src.Check()
			assert.Nil(t, s)
			var got []string
			for _, p := range problems {
				got = append(got, strings.TrimPrefix(p.Error(), path))
			}
			assert.Equal(t, tc.want, got)
		})
	}

	writeFile(t, path, "<Plugin anomaly>\n  TimeScale 60\n"+ratio("r", "    Window 300\n")+"</Plugin>\n")
	src, err := conf.ReadSource(path)
	require.NoError(t, err)
	s, problems := src.Check()
	require.Empty(t, problems)
	require.Len(t, s.Rules, 1)
	assert.Equal(t, 5*time.Second, s.Rules[0].(*detect.RatioRule).Window, "TimeScale applies")
}
