package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/influx"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// The token of the tests' <InfluxDB> blocks: influxd runs without
// authentication and ignores it; the log must never show it.
const e2eToken = "e2e-user:e2e-s3cret-T0ken"

// influxBlock points the plugin at d, in a <Plugin anomaly> block of its
// own as a site configuration beside the rule pack would.
func influxBlock(d *influxd, options ...string) string {
	token := fmt.Sprintf("Token %q", e2eToken)
	for _, o := range options {
		if strings.HasPrefix(o, "TokenFile ") {
			token = ""
		}
	}
	return fmt.Sprintf(`
<Plugin anomaly>
  <InfluxDB>
    URL %q
    Bucket "%s/autogen"
    %s
    FlushInterval 0.2
    %s
  </InfluxDB>
</Plugin>
`, d.URL, d.DB, token, strings.Join(options, "\n    "))
}

// tokenFile is the option that reads e2eToken from a file only its owner
// reads, as a site keeps it out of a world-readable collectd.conf.
func tokenFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "influxdb.token")
	require.NoError(t, os.WriteFile(p, []byte(e2eToken+"\n"), 0o600))
	return fmt.Sprintf("TokenFile %q", p)
}

// simulation is the simulated traffic of these tests: reads every second
// carry ten seconds of traffic, and an incident makes 40% of the pages fail
// from read start for duration reads. params are more lines of <Simulation>.
func simulation(timeScale float64, seed, start, duration int, params ...string) string {
	return fmt.Sprintf(`
<Plugin anomaly>
  TimeScale %g
  # These tests account for every value written; the plugin's own
  # statistics would be values of their own.
  Statistics false
  <Simulation>
    Seed %d
    TrafficMultiplier 10
    %s
    <Incident "page-errors">
      Start %d
      Duration %d
      PageError400 0.3
      PageError500 0.1
    </Incident>
  </Simulation>
</Plugin>
`, timeScale, seed, strings.Join(params, "\n    "), start, duration)
}

func waitStarted(t *testing.T, c *collectd) {
	t.Helper()
	_, ok := c.waitFor(regexp.MustCompile(`Initialization complete`), 30*time.Second)
	require.True(t, ok, "collectd did not start")
	_, ok = c.waitFor(regexp.MustCompile(`writing .* to InfluxDB at http://127\.0\.0\.1:\d+, bucket`), 5*time.Second)
	require.True(t, ok, "the plugin did not say it writes to InfluxDB")
}

// stopCollectd stops collectd as an init system does (SIGTERM), which
// flushes the plugin's InfluxDB writer, and waits for it to exit.
func stopCollectd(t *testing.T, c *collectd) {
	t.Helper()
	require.NoError(t, syscall.Kill(-c.cmd.Process.Pid, syscall.SIGTERM))
	code, out, ok := c.exited(40 * time.Second)
	require.True(t, ok, "collectd did not stop")
	require.Zero(t, code, out)
}

// pt is one value of a series.
type pt struct {
	ns int64 // time
	v  float64
}

// csvSeries reads collectd's csv files of host/plugin: series name (as the
// file is named, such as gauge-page-hits-total) -> values in time order.
func csvSeries(t *testing.T, c *collectd, plugin string) map[string][]pt {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(c.dir, "csv", "e2e-host", plugin, "*"))
	require.NoError(t, err)
	sort.Strings(files) // one file a day: older first
	dated := regexp.MustCompile(`-\d{4}-\d\d-\d\d$`)
	out := map[string][]pt{}
	for _, f := range files {
		name := dated.ReplaceAllString(filepath.Base(f), "")
		fh, err := os.Open(f)
		require.NoError(t, err)
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			epoch, value, ok := strings.Cut(sc.Text(), ",")
			if !ok || epoch == "epoch" {
				continue
			}
			sec, err1 := strconv.ParseFloat(epoch, 64)
			v, err2 := strconv.ParseFloat(value, 64)
			require.NoError(t, err1)
			require.NoError(t, err2)
			out[name] = append(out[name], pt{ns: int64(math.Round(sec*1000)) * int64(time.Millisecond), v: v})
		}
		fh.Close()
	}
	return out
}

// influxSeries reads measurement plugin of host e2e-host back: series name
// (type-type_instance, as collectd names the csv files) -> values in time
// order. where narrows it down.
func influxSeries(t *testing.T, d *influxd, plugin, where string) map[string][]pt {
	t.Helper()
	q := fmt.Sprintf(`SELECT "value" FROM %q WHERE "host" = 'e2e-host' %s GROUP BY "type", "type_instance"`, plugin, where)
	out := map[string][]pt{}
	for _, s := range d.mustQuery(t, q) {
		name := s.Tags["type"]
		if ti := s.Tags["type_instance"]; ti != "" {
			name += "-" + ti
		}
		for _, row := range s.Values {
			ns, err := row[0].(json.Number).Int64()
			require.NoError(t, err)
			v, err := row[1].(json.Number).Float64()
			require.NoError(t, err)
			out[name] = append(out[name], pt{ns: ns, v: v})
		}
	}
	return out
}

// sameSeries checks that InfluxDB holds what collectd's csv plugin wrote:
// the same series, each with the same number of values, at the same times
// (csv has milliseconds) with the same values (csv has 6 decimals). It
// returns the number of values.
func sameSeries(t *testing.T, csv, influx map[string][]pt) int {
	t.Helper()
	assert.Equal(t, keys(csv), keys(influx), "series")
	total := 0
	for name, want := range csv {
		got := influx[name]
		total += len(want)
		if !assert.Equal(t, len(want), len(got), "values of %s", name) {
			continue
		}
		for i := range want {
			dt := time.Duration(got[i].ns - want[i].ns)
			if dt < -time.Millisecond || dt > time.Millisecond || math.Abs(got[i].v-want[i].v) > 1e-6*math.Max(1, math.Abs(want[i].v)) {
				t.Errorf("%s value %d: csv has %v at %d ns, InfluxDB %v at %d ns", name, i, want[i].v, want[i].ns, got[i].v, got[i].ns)
				break
			}
		}
	}
	return total
}

// ms rounds a time in ns to milliseconds, as collectd's csv plugin prints it.
func ms(ns int64) int64 { return (ns + int64(time.Millisecond)/2) / int64(time.Millisecond) }

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func assertNoToken(t *testing.T, c *collectd) {
	t.Helper()
	for _, l := range c.lines() {
		assert.NotContains(t, l.Text, "s3cret", "the token in the log")
	}
	b, _ := os.ReadFile(filepath.Join(c.dir, "stdout.log"))
	assert.NotContains(t, string(b), "s3cret", "the token on collectd's console")
}

// Real collectd + the plugin + the simulator with an incident, writing to a
// real InfluxDB 1.8: every value collectd dispatched arrives (compared with
// its csv files, name by name and value by value), the health series with
// its words, and every alert as the notification announced it.
func TestInfluxDBEndToEnd(t *testing.T) {
	t.Parallel()
	d := startInfluxd(t, "collectd")
	c := startCollectd(t, rulePack(t)+simulation(60, 11, 8, 15)+influxBlock(d))
	waitStarted(t, c)
	_, ok := c.waitFor(regexp.MustCompile(`simulated incident "page-errors" ends`), 60*time.Second)
	require.True(t, ok, "the incident did not end")
	_, ok = c.waitFor(regexp.MustCompile(`severity = OKAY.*type_instance = web-failed-requests`), 25*time.Second)
	require.True(t, ok, "no OKAY for web-failed-requests")
	time.Sleep(2 * time.Second)
	stopCollectd(t, c)

	// Raw values: 27 series of the simulator.
	raw := sameSeries(t, csvSeries(t, c, "ecommerce"), influxSeries(t, d, "ecommerce", ""))
	assert.Greater(t, raw, 27*25)

	// Health: the same values, each with its word.
	health := sameSeries(t, csvSeries(t, c, "anomaly"), influxSeries(t, d, "anomaly", ""))
	assert.GreaterOrEqual(t, health, 5)
	words := map[string]string{"0": "ok", "1": "warn", "2": "error"}
	levels := map[string]bool{}
	for _, s := range d.mustQuery(t, `SELECT "value", "state" FROM "anomaly" WHERE "type_instance" = 'web-health'`) {
		for _, row := range s.Values {
			level := row[1].(json.Number).String()
			assert.Equal(t, words[level], row[2], "the word of level %s", level)
			levels[level] = true
		}
	}
	assert.True(t, levels["0"] && (levels["1"] || levels["2"]), "ok, and warn or error during the incident: %v", levels)

	// Alerts: the notifications of the log, one by one.
	var want []string
	for _, n := range c.notifications() {
		if n.Plugin == "anomaly" {
			want = append(want, strings.Join([]string{n.Severity, n.Host, n.Type, n.TypeInst, n.PluginInstance, n.Message}, " | "))
		}
	}
	var got []string
	var failure map[string]any
	for _, s := range d.mustQuery(t, `SELECT * FROM "anomaly_alerts"`) {
		for _, row := range s.Values {
			r := map[string]any{}
			for i, col := range s.Columns {
				r[col] = row[i]
			}
			str := func(k string) string { s, _ := r[k].(string); return s }
			got = append(got, strings.Join([]string{str("severity"), str("host"), str("kind"), str("rule"), str("group"), str("message")}, " | "))
			if str("rule") == "web-failed-requests" && str("severity") == "FAILURE" {
				failure = r
			}
		}
	}
	sort.Strings(want)
	sort.Strings(got)
	assert.Equal(t, want, got, "every notification is an alert event in InfluxDB")
	require.NotNil(t, failure, "the FAILURE of web-failed-requests")
	assert.Equal(t, "page", failure["group"])
	assert.Equal(t, "ratio", failure["kind"])
	assert.Equal(t, json.Number("2"), failure["severity_code"])
	assert.Equal(t, json.Number("0.1"), failure["threshold"])
	observed, _ := failure["observed"].(json.Number).Float64()
	assert.Greater(t, observed, 0.1)
	assert.Contains(t, failure["series"], "page|asset")
	t.Logf("InfluxDB holds %d raw values, %d health values and %d alert events, as collectd's csv and log have them", raw, health, len(got))
	assertNoToken(t, c)
}

// TimeScale 720 makes an hour 5 s: the conversion rate of every hour is
// dispatched into collectd and reaches InfluxDB as the csv plugin stores
// it. Then every query of the Grafana dashboard, its panels, annotations
// and variables, runs against that InfluxDB with Grafana's macros
// substituted, and returns data.
func TestInfluxDBConversionRateAndDashboard(t *testing.T) {
	t.Parallel()
	d := startInfluxd(t, "collectd")
	// 20 times the payments, so that an hour of 5 s has a dozen.
	c := startCollectd(t, rulePack(t)+simulation(720, 5, 4, 8, "PaymentRate 0.24")+influxBlock(d))
	waitStarted(t, c)
	begin := time.Now()
	_, ok := c.waitFor(regexp.MustCompile(`severity = FAILURE.*type_instance = web-failed-requests`), 30*time.Second)
	require.True(t, ok, "no FAILURE for web-failed-requests")
	// Four hours of 5 s.
	require.Eventually(t, func() bool { return len(csvSeries(t, c, "anomaly")["gauge-conversion-rate"]) >= 4 }, 40*time.Second, 200*time.Millisecond)
	stopCollectd(t, c)
	end := time.Now()

	csv := csvSeries(t, c, "anomaly")
	influx := influxSeries(t, d, "anomaly", `AND "type_instance" = 'conversion-rate'`)
	n := sameSeries(t, map[string][]pt{"gauge-conversion-rate": csv["gauge-conversion-rate"]}, influx)
	// 0.24 x 98.6% / 2.4 = 9.9% (the first hour may have a read or two).
	plausible := 0
	for _, p := range influx["gauge-conversion-rate"] {
		assert.True(t, p.v >= 0 && p.v < 50, "a conversion rate in percent: %v", p.v)
		if p.v > 3 && p.v < 25 {
			plausible++
		}
	}
	assert.GreaterOrEqual(t, plausible, 2, "conversion rates near 9.9%%: %v", influx["gauge-conversion-rate"])
	t.Logf("%d hourly conversion rates in InfluxDB, as in collectd's csv", n)

	for _, q := range dashboardQueries(t) {
		expanded := grafanaMacros(t, d, q.query, begin.Add(-time.Minute), end.Add(time.Minute))
		s, err := d.query(expanded)
		if assert.NoError(t, err, "%s: %s", q.where, expanded) {
			rows := 0
			for _, x := range s {
				rows += len(x.Values)
			}
			assert.NotZero(t, rows, "%s returns no data: %s", q.where, expanded)
			t.Logf("%s: %d series, %d rows", q.where, len(s), rows)
		}
	}
}

type dashboardQuery struct{ where, query string }

// dashboardQueries are the InfluxQL queries of the dashboard: of every
// panel's targets, every annotation and every query variable.
func dashboardQueries(t *testing.T) []dashboardQuery {
	t.Helper()
	b, err := os.ReadFile("../grafana/dashboards/collectd-anomaly.json")
	require.NoError(t, err)
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				RefID    string `json:"refId"`
				Query    string `json:"query"`
				RawQuery bool   `json:"rawQuery"`
			} `json:"targets"`
		} `json:"panels"`
		Annotations struct {
			List []struct {
				Name  string `json:"name"`
				Query string `json:"query"`
			} `json:"list"`
		} `json:"annotations"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query string `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	require.NoError(t, json.Unmarshal(b, &dash))
	var out []dashboardQuery
	for _, p := range dash.Panels {
		require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		for _, tg := range p.Targets {
			require.True(t, tg.RawQuery, "panel %q query %s is not raw InfluxQL", p.Title, tg.RefID)
			out = append(out, dashboardQuery{fmt.Sprintf("panel %q query %s", p.Title, tg.RefID), tg.Query})
		}
	}
	for _, a := range dash.Annotations.List {
		if a.Query != "" {
			out = append(out, dashboardQuery{fmt.Sprintf("annotation %q", a.Name), a.Query})
		}
	}
	for _, v := range dash.Templating.List {
		if v.Type == "query" {
			out = append(out, dashboardQuery{fmt.Sprintf("variable %q", v.Name), v.Query})
		}
	}
	require.GreaterOrEqual(t, len(out), 10)
	return out
}

// grafanaMacros substitutes what Grafana does before it sends a query: the
// time filter, the interval (never below the datasource's 10 s), and the
// variables with their defaults: all hosts (as Grafana formats a multi-value
// variable for a regex, from the variable's own query) and a 5m window.
func grafanaMacros(t *testing.T, d *influxd, q string, from, to time.Time) string {
	t.Helper()
	var hosts []string
	for _, s := range d.mustQuery(t, `SHOW TAG VALUES FROM "ecommerce" WITH KEY = "host"`) {
		for _, row := range s.Values {
			hosts = append(hosts, regexp.QuoteMeta(row[1].(string)))
		}
	}
	require.NotEmpty(t, hosts)
	r := strings.NewReplacer(
		"$timeFilter", fmt.Sprintf("time >= %dms and time <= %dms", from.UnixMilli(), to.UnixMilli()),
		"$__interval_ms", "10000",
		"$__interval", "10s",
		"$host", "("+strings.Join(hosts, "|")+")",
		"$window", "5m",
	)
	out := r.Replace(q)
	require.NotRegexp(t, `\$[a-zA-Z_{]`, out, "a macro or variable left in %s", out)
	return out
}

// An outage of InfluxDB of 30 s in a run: collectd goes on (its csv files
// grow meanwhile), and afterwards every value of the outage is in InfluxDB,
// series by series as the csv files have them; the log says once that
// writes failed and once that they work again.
func TestInfluxDBOutage(t *testing.T) {
	t.Parallel()
	d := startInfluxd(t, "collectd")
	c := startCollectd(t, rulePack(t)+simulation(60, 3, 1000, 1)+influxBlock(d, tokenFile(t)))
	waitStarted(t, c)
	_, ok := c.waitFor(regexp.MustCompile(`to InfluxDB at .*, with a token`), 10*time.Second)
	require.True(t, ok, "the token read from TokenFile")
	require.Eventually(t, func() bool { return d.count(t, `"ecommerce"`) > 0 }, 20*time.Second, 100*time.Millisecond, "no values in InfluxDB")
	time.Sleep(2 * time.Second)

	d.stop()
	down := time.Now()
	before := len(csvSeries(t, c, "ecommerce")["gauge-page-hits-total"])
	time.Sleep(30 * time.Second)
	during := len(csvSeries(t, c, "ecommerce")["gauge-page-hits-total"]) - before
	assert.GreaterOrEqual(t, during, 25, "collectd went on writing its csv files during the outage")
	d.start()
	up := time.Now()
	_, ok = c.waitFor(regexp.MustCompile(`InfluxDB: writing to http://\S+ works again after \d+s \(\d+ failed attempts\)`), 20*time.Second)
	require.True(t, ok, "writes did not resume")
	time.Sleep(2 * time.Second)
	stopCollectd(t, c)

	csv := csvSeries(t, c, "ecommerce")
	total := sameSeries(t, csv, influxSeries(t, d, "ecommerce", ""))
	outage := 0
	for _, s := range csv {
		for _, p := range s {
			if p.ns >= down.UnixNano() && p.ns < up.UnixNano() {
				outage++
			}
		}
	}
	inOutage := d.count(t, fmt.Sprintf(`"ecommerce" WHERE time >= %d AND time < %d`, down.UnixNano(), up.UnixNano()))
	assert.Equal(t, outage, inOutage, "every value of the outage arrived")
	assert.Greater(t, outage, 27*25)
	t.Logf("outage of %s: %d values dispatched meanwhile, %d of them in InfluxDB afterwards; %d values in all, as in the csv files",
		up.Sub(down).Round(time.Second), outage, inOutage, total)

	var failed, again, dropped []string
	for _, l := range c.lines() {
		switch {
		case strings.Contains(l.Text, "works again"):
			again = append(again, l.Text)
		case strings.Contains(l.Text, "InfluxDB: writing to") && strings.Contains(l.Text, "failed"):
			failed = append(failed, l.Text)
		case strings.Contains(l.Text, "dropped the oldest"):
			dropped = append(dropped, l.Text)
		}
	}
	require.NotEmpty(t, failed)
	assert.Len(t, failed, 1, "one line when writes fail")
	assert.Regexp(t, `^anomaly plugin: InfluxDB: writing to http://127\.0\.0\.1:\d+ failed: dial tcp 127\.0\.0\.1:\d+: connect: connection refused; retrying, and keeping up to 100000 points meanwhile$`, failed[0])
	assert.Len(t, again, 1, "one line when they work again")
	assert.Empty(t, dropped)

	// The writer's own account at shutdown: every value and alert written.
	written, droppedN, refused, left := writerSummary(t, c)
	health := 0
	for _, s := range csvSeries(t, c, "anomaly") {
		health += len(s)
	}
	notifications := 0
	for _, n := range c.notifications() {
		if n.Plugin == "anomaly" {
			notifications++
		}
	}
	assert.Equal(t, []int{total + health + notifications, 0, 0, 0}, []int{written, droppedN, refused, left})
	assertNoToken(t, c)
}

// writerSummary reads the line the writer logs at shutdown.
func writerSummary(t *testing.T, c *collectd) (written, dropped, refused, left int) {
	t.Helper()
	re := regexp.MustCompile(`^anomaly plugin: InfluxDB: (\d+) points written to \S+, (\d+) dropped \(buffer full\), (\d+) refused, (\d+) not written at shutdown$`)
	for _, l := range c.lines() {
		if m := re.FindStringSubmatch(l.Text); m != nil {
			n := make([]int, 4)
			for i := range n {
				n[i], _ = strconv.Atoi(m[i+1])
			}
			return n[0], n[1], n[2], n[3]
		}
	}
	t.Fatal("no summary of the InfluxDB writer at shutdown")
	return
}

// The same outage with a buffer of 200 points, less than the outage's
// 800: the oldest are dropped, the newest arrive, and one log line says how
// many were dropped - exactly what InfluxDB misses against the csv files.
func TestInfluxDBOutageBeyondTheBuffer(t *testing.T) {
	t.Parallel()
	const batch, limit = 20, 200
	d := startInfluxd(t, "collectd")
	c := startCollectd(t, rulePack(t)+simulation(60, 4, 1000, 1)+
		influxBlock(d, fmt.Sprintf("BatchSize %d", batch), fmt.Sprintf("BufferLimit %d", limit)))
	waitStarted(t, c)
	require.Eventually(t, func() bool { return d.count(t, `"ecommerce"`) > 0 }, 20*time.Second, 100*time.Millisecond, "no values in InfluxDB")
	time.Sleep(2 * time.Second)

	down := time.Now()
	d.stop()
	time.Sleep(30 * time.Second)
	d.start()
	// Values are dropped until the writer's next attempt after the restart.
	_, ok := c.waitFor(regexp.MustCompile(`InfluxDB: writing to http://\S+ works again`), 20*time.Second)
	require.True(t, ok, "writes did not resume")
	up := time.Now()
	line, ok := c.waitFor(regexp.MustCompile(`dropped the oldest \d+ points`), 5*time.Second)
	require.True(t, ok, "no line about dropped points")
	time.Sleep(2 * time.Second)
	stopCollectd(t, c)

	m := regexp.MustCompile(`^anomaly plugin: InfluxDB: the buffer limit of 200 points was reached while writes to http://127\.0\.0\.1:\d+ failed: ` +
		`dropped the oldest (\d+) points \(timestamps \S+ to \S+\)$`).FindStringSubmatch(line.Text)
	require.NotNil(t, m, line.Text)
	droppedN, _ := strconv.Atoi(m[1])
	var drops int
	for _, l := range c.lines() {
		if strings.Contains(l.Text, "dropped the oldest") {
			drops++
		}
	}
	assert.Equal(t, 1, drops, "one line about dropped points")

	// Every series: InfluxDB misses exactly what the line says, all of it
	// from the outage, and older than what arrived of the outage (but for
	// the one batch being retried when the buffer overflowed). The health
	// values and alerts share the buffer.
	csv, influx := csvSeries(t, c, "ecommerce"), influxSeries(t, d, "ecommerce", "")
	for name, s := range csvSeries(t, c, "anomaly") {
		csv["anomaly/"+name] = s
	}
	for name, s := range influxSeries(t, d, "anomaly", "") {
		influx["anomaly/"+name] = s
	}
	type stamped struct {
		ns      int64
		arrived bool
	}
	var outage []stamped
	missing := 0
	for name, want := range csv {
		have := map[int64]bool{}
		for _, p := range influx[name] {
			have[ms(p.ns)] = true
		}
		for _, p := range want {
			arrived := have[ms(p.ns)]
			if !arrived {
				missing++
				// From the outage, or queued when it began (FlushInterval 0.2 s).
				assert.True(t, p.ns >= down.Add(-time.Second).UnixNano() && p.ns < up.UnixNano(), "%s: a value from outside the outage is missing", name)
			}
			if p.ns >= down.UnixNano() && p.ns < up.UnixNano() {
				outage = append(outage, stamped{p.ns, arrived})
			}
		}
	}
	notifications := 0
	for _, n := range c.notifications() {
		if n.Plugin == "anomaly" {
			notifications++
		}
	}
	alerts := d.count(t, `"anomaly_alerts"`)
	missing += notifications - alerts
	assert.Equal(t, droppedN, missing, "the log line counts what InfluxDB misses")
	_, summaryDropped, _, left := writerSummary(t, c)
	assert.Equal(t, []int{droppedN, 0}, []int{summaryDropped, left}, "dropped, and not written at shutdown")
	// The values of one read share a time stamp and may straddle two
	// batches, one dropped, one kept: count the arrived values strictly
	// older than the newest dropped one.
	var newestDropped int64 = math.MinInt64
	for _, s := range outage {
		if !s.arrived && s.ns > newestDropped {
			newestDropped = s.ns
		}
	}
	arrivedBefore := 0
	for _, s := range outage {
		if s.arrived && s.ns < newestDropped {
			arrivedBefore++
		}
	}
	assert.LessOrEqual(t, arrivedBefore, batch, "only the batch being retried is older than a dropped value")
	kept := 0
	for _, s := range outage {
		if s.arrived {
			kept++
		}
	}
	assert.GreaterOrEqual(t, kept, limit-2*batch, "the newest of the outage arrived")
	t.Logf("outage of %s with BufferLimit %d: %d values dispatched meanwhile, %d of them arrived; %d values and alerts dropped in all, as the log line says (%d)",
		up.Sub(down).Round(time.Second), limit, len(outage), kept, missing, droppedN)
	assertNoToken(t, c)
}

// BenchmarkInfluxDBWriter is the writer's throughput into a real InfluxDB
// 1.8 with the default batch settings (BatchSize 5000, FlushInterval 1 s):
// value lists of 27 series on 100 hosts, 10 s apart, from the first queued
// to the last acknowledged. Run it with a fixed count, such as
// -benchtime 1000000x.
func BenchmarkInfluxDBWriter(b *testing.B) {
	d := startInfluxd(b, "bench")
	w, err := influx.New(influx.Config{URL: d.URL, Bucket: d.DB, BufferLimit: max(influx.DefaultBufferLimit, b.N), Timeout: 5 * time.Minute})
	require.NoError(b, err)
	var vls []*metric.ValueList
	for h := range 100 {
		for _, name := range simulatedNames() {
			vls = append(vls, &metric.ValueList{
				Identifier: metric.Identifier{Host: fmt.Sprintf("web-%03d", h), Plugin: "ecommerce", Type: "gauge", TypeInstance: name},
				Interval:   10 * time.Second,
				Values:     []metric.Value{metric.GaugeValue(float64(h) + 0.5)},
				DSNames:    []string{"value"},
			})
		}
	}
	base := time.Now().Add(-time.Duration(b.N/len(vls)+1) * 10 * time.Second)
	b.ReportAllocs()
	b.ResetTimer()
	begin := time.Now()
	for i := 0; i < b.N; i++ {
		vl := vls[i%len(vls)]
		vl.Time = base.Add(time.Duration(i/len(vls)) * 10 * time.Second)
		w.WriteValueList(vl, false)
	}
	w.Close()
	elapsed := time.Since(begin)
	b.StopTimer()
	st := w.Stats()
	require.Equal(b, uint64(b.N), st.Written, "%+v", st)
	require.Equal(b, b.N, d.count(b, `"ecommerce"`))
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "points/s")
}

// simulatedNames are the type instances the simulator dispatches.
func simulatedNames() []string {
	names := []string{"page-hits-total", "asset-hits-total", "page-latency-mean", "asset-latency-mean", "new-sessions",
		"page-response-200", "page-response-400", "page-response-500", "asset-response-200", "asset-response-400", "asset-response-500"}
	for _, p := range []string{"a", "b", "c", "d"} {
		for _, o := range []string{"success", "user_error", "provider_error", "fraud"} {
			names = append(names, "payment-provider-"+p+"."+o)
		}
	}
	return names
}

// The dashboard's shape: what the issue asks of each panel, every query on
// the datasource variable (so the dashboard imports into any Grafana with
// an InfluxDB), and panels that do not overlap.
func TestGrafanaDashboardShape(t *testing.T) {
	b, err := os.ReadFile("../grafana/dashboards/collectd-anomaly.json")
	require.NoError(t, err)
	var dash map[string]any
	require.NoError(t, json.Unmarshal(b, &dash))
	get := func(v any, path ...any) any {
		for _, p := range path {
			switch k := p.(type) {
			case string:
				m, _ := v.(map[string]any)
				v = m[k]
			case int:
				l, _ := v.([]any)
				if k >= len(l) {
					return nil
				}
				v = l[k]
			}
		}
		return v
	}
	ds := map[string]any{"type": "influxdb", "uid": "${datasource}"}
	vars := map[string]any{}
	for _, v := range get(dash, "templating", "list").([]any) {
		vars[get(v, "name").(string)] = v
	}
	assert.Equal(t, "datasource", get(vars["datasource"], "type"))
	assert.Equal(t, "influxdb", get(vars["datasource"], "query"))
	assert.Equal(t, ds, get(vars["host"], "datasource"))

	type cell struct{ x, y int }
	used := map[cell]string{}
	byTitle := map[string]any{}
	ids := map[float64]bool{}
	for _, p := range get(dash, "panels").([]any) {
		title := get(p, "title").(string)
		byTitle[title] = p
		id := get(p, "id").(float64)
		assert.False(t, ids[id], "panel id %v twice", id)
		ids[id] = true
		assert.Equal(t, ds, get(p, "datasource"), title)
		for _, tg := range get(p, "targets").([]any) {
			assert.Equal(t, ds, get(tg, "datasource"), title)
		}
		g := get(p, "gridPos")
		x, y, w, h := int(get(g, "x").(float64)), int(get(g, "y").(float64)), int(get(g, "w").(float64)), int(get(g, "h").(float64))
		assert.LessOrEqual(t, x+w, 24, title)
		for i := x; i < x+w; i++ {
			for j := y; j < y+h; j++ {
				if other, ok := used[cell{i, j}]; ok {
					t.Errorf("panels %q and %q overlap", title, other)
				}
				used[cell{i, j}] = title
			}
		}
	}
	traffic := byTitle["Web traffic: requests/s (bars) and latency (lines)"]
	assert.Equal(t, "bars", get(traffic, "fieldConfig", "defaults", "custom", "drawStyle"))
	for i, ref := range []string{"B", "C"} {
		o := get(traffic, "fieldConfig", "overrides", i)
		assert.Equal(t, ref, get(o, "matcher", "options"))
		assert.Contains(t, get(o, "properties"), map[string]any{"id": "custom.axisPlacement", "value": "right"})
		assert.Contains(t, get(o, "properties"), map[string]any{"id": "custom.drawStyle", "value": "line"})
	}
	for title, threshold := range map[string]float64{
		"Failed requests (4xx + 5xx) share - alert above 10%": 0.10,
		"Server errors (5xx) share - alert above 1%":          0.01,
	} {
		p := byTitle[title]
		require.NotNil(t, p, title)
		steps := get(p, "fieldConfig", "defaults", "thresholds", "steps").([]any)
		assert.Equal(t, threshold, get(steps[len(steps)-1], "value"), title)
		assert.Equal(t, "dashed", get(p, "fieldConfig", "defaults", "custom", "thresholdsStyle", "mode"), title)
	}
	assert.Equal(t, "state-timeline", get(byTitle["Health (web-health)"], "type"))
	for _, title := range []string{"Payments per provider and outcome", "Fraud per hour, by provider", "Conversion rate by hour (%)", "Alerts"} {
		assert.NotNil(t, byTitle[title], title)
	}
	var alerts any
	for _, a := range get(dash, "annotations", "list").([]any) {
		if get(a, "name") == "Alerts" {
			alerts = a
		}
	}
	require.NotNil(t, alerts, "alerts as annotations")
	assert.Equal(t, ds, get(alerts, "datasource"))
	assert.Contains(t, get(alerts, "query"), `FROM "anomaly_alerts"`)
}
