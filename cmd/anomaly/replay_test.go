package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
)

// web.csv: 100 requests every 10 s; 25% errors from 00:04:00 to 00:05:50;
// no values from 00:10:00 to 00:10:20. The alerts are known:
//   - server-errors (1-minute ratio, WARNING above 5%, FAILURE above 20%)
//     warns when the window holds 2 error slots (54 of 600 = 9%), fails at 5
//     (126 of 600 = 21%), eases to WARNING once fewer than 5 remain after the
//     errors end and recovers when the window is clean again;
//   - errors-per-minute (a count above 100) fails at 4 error slots (102) and
//     recovers when it falls back;
//   - web-silent: the values stop for 40 s (more than the timeout, 30 s, but
//     less than it and the lateness): the FAILURE is certain only once the
//     values are back (stamped 55 s after the last one), the OKAY with it.
func TestReplayCSVGolden(t *testing.T) {
	code, stdout, stderr := runCmd(t, "replay", "testdata/web.conf", "--csv", "testdata/web.csv")
	require.Equal(t, exitOK, code, stderr)
	golden(t, "web.golden", stdout)
	assert.Contains(t, stderr, "replayed 174 values (2 series)")

	// The same as JSON lines, summary on stderr.
	code, stdout, stderr = runCmd(t, "replay", "--json", "testdata/web.conf", "--csv", "testdata/web.csv")
	require.Equal(t, exitOK, code, stderr)
	golden(t, "web.json.golden", stdout)
	assert.Contains(t, stderr, "RULE               KIND     RAISED  FAILURES  TIME ALERTING")
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var a map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &a), sc.Text())
		for _, k := range []string{"time", "severity", "previous", "rule", "kind", "host", "series", "observed", "threshold", "baseline", "window_seconds", "message"} {
			assert.Contains(t, a, k)
		}
		lines++
	}
	assert.Equal(t, 8, lines)

	// --rule keeps the named rules; --all adds nothing here (no periodic rule).
	code, stdout, _ = runCmd(t, "replay", "testdata/web.conf", "--csv", "testdata/web.csv", "--rule", "web-silent", "-q", "--all")
	require.Equal(t, exitOK, code)
	assert.Equal(t, `TIME (UTC)           SEVERITY  HOST  ALERT
2026-01-05 00:10:45  FAILURE   shop  web-silent: no values of web/* from shop since 2026-01-05 00:09:50 UTC, 55s ago (timeout 30s)
2026-01-05 00:10:45  OKAY      shop  web-silent: values of web/* from shop arrive again (timeout 30s)
`, stdout)
}

// latency.csv: one series at 1-minute interval, 100 +- 5, shifted by +60
// from 03:00 to 03:20. The scores name that span: state FAILURE and a score
// above 1/2 from the first shifted value on, ok and a low score before.
func TestReplayScoresGolden(t *testing.T) {
	scores := filepath.Join(t.TempDir(), "scores.csv")
	code, stdout, stderr := runCmd(t, "replay", "testdata/latency.conf", "--csv", "testdata/latency.csv",
		"--series", "app/gauge-latency", "--scores", scores)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "FAILURE   replay  latency-shift of replay: mean 114.2 over 5m0s against 100.3")
	data, err := os.ReadFile(scores)
	require.NoError(t, err)
	golden(t, "latency-scores.golden", string(data))

	rows, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 241)
	assert.Equal(t, []string{"timestamp", "value", "state", "score", "log10p"}, rows[0])
	for _, row := range rows[1:] {
		ts, err := time.Parse("2006-01-02 15:04:05", row[0])
		require.NoError(t, err)
		score, err := strconv.ParseFloat(row[3], 64)
		require.NoError(t, err)
		assert.True(t, score >= 0 && score <= 1, row)
		shifted := !ts.Before(time.Date(2026, 1, 5, 3, 0, 0, 0, time.UTC)) && ts.Before(time.Date(2026, 1, 5, 3, 20, 0, 0, time.UTC))
		switch {
		case shifted:
			assert.Equal(t, "2", row[2], row)
			assert.Greater(t, score, 0.5, row)
		case ts.Before(time.Date(2026, 1, 5, 3, 0, 0, 0, time.UTC)):
			assert.Equal(t, "0", row[2], row)
			assert.Less(t, score, 0.5, row)
		}
	}
}

func TestReplayReport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "report")
	code, _, stderr := runCmd(t, "replay", "testdata/web.conf", "--csv", "testdata/web.csv", "--report", dir, "-q")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "report: "+dir+"/index.html")
	page, err := os.ReadFile(filepath.Join(dir, "index.html"))
	require.NoError(t, err)
	for _, want := range []string{"server-errors", "errors-per-minute", "web-silent", `<img src="01-shop-server-errors.svg"`} {
		assert.Contains(t, string(page), want)
	}
	// Every rule's block, as written in web.conf, with its line.
	src, err := conf.ReadSource("testdata/web.conf")
	require.NoError(t, err)
	blocks := src.RuleBlocks()
	require.Len(t, blocks, 3)
	for _, b := range blocks {
		assert.Contains(t, html.UnescapeString(string(page)), b.Text)
		assert.Contains(t, string(page), "testdata/web.conf:"+strconv.Itoa(b.Pos.Line))
	}
	svgs, err := filepath.Glob(filepath.Join(dir, "*.svg"))
	require.NoError(t, err)
	assert.Len(t, svgs, 3, "one chart per rule and group")
	for _, f := range svgs {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.Contains(t, string(b), "<svg", f)
	}
}

// The simulator with an incident given on the command line, through the
// shipped rule pack: the server-error rule fires within minutes.
func TestReplaySimulatorIncident(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "report")
	code, stdout, stderr := runCmd(t, "replay", "../../collectd.conf.d/anomaly.conf", "--days", "0.5", "--seed", "3",
		"--incident", "name=pages-5xx,start=9h,duration=30m,PageError500=0.03", "--json", "-q", "--report", dir)
	require.Equal(t, exitOK, code, stderr)
	var fired time.Time
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var a struct {
			Time           time.Time
			Severity, Rule string
			Group          string
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &a))
		if a.Rule == "web-server-errors" && a.Group == "page" && a.Severity == "FAILURE" {
			fired = a.Time
		}
	}
	begin := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	require.False(t, fired.IsZero(), stdout)
	assert.True(t, !fired.Before(begin) && fired.Before(begin.Add(3*time.Minute)), "fired at %s", fired)
	assert.Contains(t, stderr, "replayed 116640 values (27 series)")
	page, err := os.ReadFile(filepath.Join(dir, "index.html"))
	require.NoError(t, err)
	assert.Contains(t, string(page), "pages-5xx: 2026-01-05 09:00:00 to 2026-01-05 09:30:00")
}

// ^C (a cancelled context) stops the replay; what was found is printed.
func TestReplayInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, stdout, stderr := runCtx(t, ctx, "replay", "../../collectd.conf.d/anomaly.conf", "--days", "30")
	assert.Equal(t, exitInterrupted, code)
	assert.True(t, strings.HasPrefix(stdout, "TIME (UTC)"), stdout)
	assert.Contains(t, stderr, "interrupted: the alerts above are those until 2026-01-05 00:00:00 (simulated time)")
}

// InfluxDB: the recorded answers of a real InfluxDB 1.8 (replay/testdata).
func TestReplayInfluxDB(t *testing.T) {
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		queries = append(queries, q.Get("q"))
		file := "empty.json"
		if strings.Contains(q.Get("q"), "time >= '2026-01-05T00:00:00Z'") {
			file = "plugin.json"
		}
		http.ServeFile(w, r, filepath.Join("..", "..", "replay", "testdata", "influxdb", file))
	}))
	defer srv.Close()
	conf := filepath.Join(t.TempDir(), "hits.conf")
	require.NoError(t, os.WriteFile(conf, []byte(`<Plugin anomaly>
  <Count "many-hits">
    Series "ecommerce/gauge-page-hits-total"
    Window 30
    FailureMax 1000
  </Count>
</Plugin>
`), 0o644))
	code, stdout, stderr := runCmd(t, "replay", conf, "--influxdb", srv.URL, "--from", "2026-01-05", "--to", "2026-01-05T12:00:00Z", "-q")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, `TIME (UTC)           SEVERITY  HOST  ALERT
2026-01-05 00:01:00  FAILURE   shop  many-hits of shop: 1427 events in 30s, more than 1000
2026-01-05 00:01:55  OKAY      shop  many-hits of shop: 0 events in 30s, back within the threshold 1000
`, stdout, "the hits stop at 00:01:00, with the value that decides the FAILURE; the window is empty 35 s later, certain the lateness (20 s) after")
	assert.Contains(t, stderr, "replayed 21 values (4 series)")
	require.Len(t, queries, 2, "6 hours a query")
	assert.Equal(t, "SELECT * FROM /.*/ WHERE time >= '2026-01-05T06:00:00Z' AND time < '2026-01-05T12:00:00Z' GROUP BY *", queries[1])
}

func TestReplayErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte("time,identifier,value\n1767571200,shop/web/gauge-x,1\n1767571210,shop/web/gauge-x,lots\n"), 0o644))
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"replay"}, exitUsage, "Usage: anomaly replay [flags] FILE"},
		{[]string{"replay", "testdata/web.conf", "--scores", "x.csv"}, exitUsage, "--scores needs a single series from --csv"},
		{[]string{"replay", "testdata/web.conf", "--csv", "a", "--influxdb", "b"}, exitUsage, "--csv and --influxdb are two sources: give one"},
		{[]string{"replay", "testdata/web.conf", "--rule", "nope"}, exitUsage, "no rule named nope (the rules are server-errors, errors-per-minute, web-silent)"},
		{[]string{"replay", "testdata/web.conf", "--csv", bad}, exitFailure, bad + `:3: value "lots" is not a number`},
		{[]string{"replay", "testdata/web.conf", "--csv", "testdata/web.csv", "--scores", "x.csv"}, exitFailure, "--scores needs a single series; testdata/web.csv has 2"},
		{[]string{"replay", "testdata/check/broken.conf"}, exitFailure, `testdata/check/broken.conf:7: <Plugin anomaly>: <Ratio "errors">: unknown option "FailureMaxx"`},
		{[]string{"replay", "testdata/web.conf", "--incident", "duration=1h,PageError500=0.1"}, exitFailure, `incident "duration=1h,PageError500=0.1": want start=D, from the start of the run`},
		{[]string{"replay", "testdata/web.conf", "--days", "x"}, exitUsage, `invalid value "x" for flag -days`},
		{[]string{"replay", "testdata/web.conf", "--days", "1e9"}, exitFailure, `--days 1e+09: at most 36500 (a century)`},
	} {
		code, _, stderr := runCmd(t, tc.args...)
		assert.Equal(t, tc.code, code, tc.args)
		assert.Contains(t, stderr, tc.want, tc.args)
	}
}

// The Anomaly detector's scores: rows in the file's order (here the rows of
// latency.csv reversed), 1 - p at full precision with log10 p beside it; the
// shift of +60 at 03:00 is a FAILURE whose log10p tells it apart.
func TestReplayAnomalyScoresFollowTheInput(t *testing.T) {
	data, err := os.ReadFile("testdata/latency.csv")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for i, j := 1, len(lines)-1; i < j; i, j = i+1, j-1 {
		lines[i], lines[j] = lines[j], lines[i]
	}
	dir := t.TempDir()
	reversed := filepath.Join(dir, "reversed.csv")
	require.NoError(t, os.WriteFile(reversed, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	scores := filepath.Join(dir, "scores.csv")
	code, stdout, stderr := runCmd(t, "replay", "testdata/anomaly.conf", "--csv", reversed,
		"--series", "app/gauge-latency", "--scores", scores)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "FAILURE   replay  latency[app/gauge-latency] of replay:")
	out, err := os.ReadFile(scores)
	require.NoError(t, err)
	rows, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, len(lines))
	assert.Equal(t, []string{"timestamp", "value", "state", "score", "log10p"}, rows[0])
	for i, row := range rows[1:] {
		assert.Equal(t, strings.Split(lines[i+1], ",")[0], row[0], "row %d in the file's order", i+1)
	}
	first := func(ts string) []string {
		for _, row := range rows {
			if row[0] == ts {
				return row
			}
		}
		t.Fatalf("no row at %s", ts)
		return nil
	}
	shifted := first("2026-01-05 03:00:00")
	assert.Equal(t, "2", shifted[2])
	logP, err := strconv.ParseFloat(shifted[4], 64)
	require.NoError(t, err)
	assert.Less(t, logP, -5.0)
	calm := first("2026-01-05 02:00:00")
	assert.Equal(t, "0", calm[2])
	score, err := strconv.ParseFloat(calm[3], 64)
	require.NoError(t, err)
	assert.Less(t, score, 0.999)
}

// Hourly data under rules written for 10-second data: replay says which
// rules never judge it, and which selectors match nothing, before the table.
func TestReplayWarnsOfRulesThatNeverJudge(t *testing.T) {
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	for i := range 48 {
		fmt.Fprintf(&b, "%d,%d\n", 1767571200+3600*i, 100+i%3)
	}
	csvPath := filepath.Join(t.TempDir(), "hourly.csv")
	require.NoError(t, os.WriteFile(csvPath, []byte(b.String()), 0o644))
	code, _, stderr := runCmd(t, "replay", "testdata/latency.conf", "--csv", csvPath, "--series", "app/gauge-latency")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, `anomaly replay: warning: rule "latency-shift" at the 1h0m0s interval of replay/app/gauge-latency: Baseline 1h0m0s holds 1 slot(s) of 1h0m0s; the normal model's spread needs 2: it never judges`)

	code, _, stderr = runCmd(t, "replay", "testdata/latency.conf", "--csv", csvPath, "--series", "app/gauge-other")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, `anomaly replay: warning: rule "latency-shift": Series "app/gauge-latency" matches no series of the data`)
}

// replay judges as the plugin does, with the configuration's engine
// options: an AllowedLateness of 10 minutes holds the dead man's switch of
// a shop that went silent until its slots are closed, 10 minutes later
// than with the default (45 s after the last value).
func TestReplayTakesTheEngineOptionsOfTheConfiguration(t *testing.T) {
	pack, err := filepath.Abs("../../collectd.conf.d/anomaly.conf")
	require.NoError(t, err)
	silentAt := func(extra string) time.Time {
		path := filepath.Join(t.TempDir(), "r.conf")
		require.NoError(t, os.WriteFile(path, []byte("Include \""+pack+"\"\n<Plugin anomaly>\n"+extra+"</Plugin>\n"), 0o644))
		code, stdout, stderr := runCmd(t, "replay", path, "--days", "0.1", "--seed", "1",
			"--incident", "name=down,start=1h,duration=20m,silence", "--json", "-q")
		require.Equal(t, exitOK, code, stderr)
		sc := bufio.NewScanner(strings.NewReader(stdout))
		for sc.Scan() {
			var a struct {
				Time           time.Time
				Severity, Rule string
			}
			require.NoError(t, json.Unmarshal(sc.Bytes(), &a))
			if a.Rule == "ecommerce-silent" && a.Severity == "FAILURE" {
				return a.Time
			}
		}
		t.Fatalf("no FAILURE of ecommerce-silent in %s", stdout)
		return time.Time{}
	}
	down := time.Date(2026, 1, 5, 1, 0, 0, 0, time.UTC)
	plain := silentAt("")
	late := silentAt("  AllowedLateness \"10m\"\n")
	assert.Less(t, plain.Sub(down), 2*time.Minute, "default lateness: %s", plain)
	assert.GreaterOrEqual(t, late.Sub(down), 10*time.Minute, "10 minutes of lateness: %s", late)
}
