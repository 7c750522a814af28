package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"collectd.org/api"
	"collectd.org/network"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/replay"
	"github.com/collectd-anomaly/collectd-anomaly/simulate"
)

// skewConfig is a failed-pages ratio over 5 one-second slots and a dead
// man's switch of 3 s, for values sent every second.
const skewConfig = `
<Plugin anomaly>
  <Ratio "failed">
    Numerator   "ecommerce/gauge-page-response-500"
    Denominator "ecommerce/gauge-page-hits-total"
    Window 5
    FailureMax 0.10
  </Ratio>
  <Missing "silent">
    Series "ecommerce/*"
    Timeout 3
  </Missing>
</Plugin>
`

// skewedHost is a host whose clock is offset from the collector's.
type skewedHost struct {
	name   string
	offset time.Duration
	stops  int // the last second it sends
}

// Three hosts whose clocks are 120 s behind, right and 120 s ahead of the
// collector's send through collectd's network plugin, each with the same
// incident (30% of the pages failing from second 15 to 24). Each is judged
// on its own clock: one FAILURE, at the value that decided it - the second
// bad second, 2 x 30 of 500 pages over the window - and handed to exec
// before any later value is sent (at the statistical floor, not an interval
// late); one OKAY at the same second of each. The host ahead stops at second
// 30 while the others go on: its silence is reported with its own clock's
// times, 3.5 s silent and certain 2 intervals (the allowed lateness) later.
func TestSkewedClocksAreJudgedOnTheirOwn(t *testing.T) {
	t.Parallel()
	c, port, pg := startPagedCollectd(t, "LoadPlugin anomaly\n"+skewConfig)

	hosts := []skewedHost{{"behind", -120 * time.Second, 40}, {"right", 0, 40}, {"ahead", 120 * time.Second, 30}}
	client, err := network.Dial(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), network.ClientOptions{})
	require.NoError(t, err)
	defer client.Close()
	const deciding = 16 // the second bad second
	start := time.Now().Truncate(time.Second).Add(time.Second)
	valueTime := func(h skewedHost, second int) time.Time {
		return start.Add(time.Duration(second)*time.Second + h.offset)
	}
	var floorDelay time.Duration
	for second := 0; second <= 40; second++ {
		time.Sleep(time.Until(start.Add(time.Duration(second) * time.Second)))
		for _, h := range hosts {
			if second > h.stops {
				continue
			}
			failed := 1.0
			if second >= 15 && second < 25 {
				failed = 30
			}
			for ti, v := range map[string]float64{"page-hits-total": 100, "page-response-500": failed} {
				require.NoError(t, client.Write(context.Background(), &api.ValueList{
					Identifier: api.Identifier{Host: h.name, Plugin: "ecommerce", Type: "gauge", TypeInstance: ti},
					Time:       valueTime(h, second), Interval: time.Second,
					Values: []api.Value{api.Gauge(v)}, DSNames: []string{"value"},
				}))
			}
		}
		require.NoError(t, client.Flush())
		if second == deciding {
			// Nothing more is sent until the three FAILUREs are out.
			sent := time.Now()
			require.Eventually(t, func() bool { return len(failures(pg.pages(t), "failed")) == len(hosts) },
				10*time.Second, 5*time.Millisecond, "the FAILUREs leave with the deciding values")
			floorDelay = time.Since(sent)
		}
	}
	time.Sleep(time.Second) // the last values through the write queue
	stopCollectd(t, c)
	t.Logf("the FAILUREs reached exec %s after the deciding values were sent", floorDelay.Round(time.Millisecond))

	byHost := map[string][]page{}
	for _, p := range pg.pages(t) {
		byHost[p.fields["Host"]] = append(byHost[p.fields["Host"]], p)
	}
	var okSecond []float64
	for _, h := range hosts {
		ps := byHost[h.name]
		sort.Slice(ps, func(i, j int) bool { return ps[i].time(t) < ps[j].time(t) })
		var got []string
		for _, p := range ps {
			got = append(got, p.fields["TypeInstance"]+" "+p.fields["Severity"])
		}
		want := []string{"failed FAILURE", "failed OKAY"}
		if h.stops < 40 {
			want = append(want, "silent FAILURE")
		}
		require.Equal(t, want, got, "%s: %v", h.name, ps)
		at := func(p page) float64 { return p.time(t) - float64(start.Add(h.offset).UnixNano())/1e9 }
		assert.InDelta(t, deciding, at(ps[0]), 0.002, "%s: the FAILURE carries its deciding value's time, in the host's clock", h.name)
		okSecond = append(okSecond, at(ps[1]))
		if h.stops < 40 {
			assert.InDelta(t, float64(h.stops)+5.5, at(ps[2]), 0.002, "%s: silent 3.5 s, certain 2 s later", h.name)
			assert.Contains(t, ps[2].message, fmt.Sprintf("from ahead since %s, 5.5s ago (timeout 3s)",
				valueTime(h, h.stops).UTC().Format("2006-01-02 15:04:05 UTC")))
		}
	}
	for _, s := range okSecond {
		assert.Equal(t, math.Round(okSecond[0]), math.Round(s), "the OKAY at the same second of each host's clock: %v", okSecond)
	}
	for _, l := range c.lines() {
		require.False(t, l.bad(), "collectd's log: [%s] %s", l.Severity, l.Text)
	}
}

// failures are the FAILUREs of rule among pages.
func failures(ps []page, rule string) []page {
	var out []page
	for _, p := range ps {
		if p.fields["TypeInstance"] == rule && p.fields["Severity"] == "FAILURE" {
			out = append(out, p)
		}
	}
	return out
}

// bulkHost is a simulated shop host of the bulk load, and the steps it is
// silent in.
type bulkHost struct {
	name           string
	sim            *simulate.Simulator
	silentFrom, to int
}

// A bulk load - three simulated days of two shop hosts, an incident of
// every kind of the pack's scenario, one host silent for ten minutes in the
// middle and the other for the last half hour - sent through collectd's
// network plugin at tens of thousands of value lists a second (collectd's
// default 5 write threads, which reorder values of a series) gives, alert
// for alert, what `anomaly replay` of the same values gives: the same rule,
// group, host, severity, time and message. Before event time the live
// plugin found none of the incidents of such a load. Not one value is
// dropped as late.
func TestBulkLoadAlertsAsReplay(t *testing.T) {
	t.Parallel()
	days := loadEnvInt(t, "ANOMALY_BULK_DAYS", 3)
	rate := loadEnvInt(t, "ANOMALY_BULK_RATE", 30000)
	writeThreads := loadEnvInt(t, "ANOMALY_BULK_WRITE_THREADS", 5)
	const interval = 10 * time.Second
	steps := days*8640 + 360
	start := time.Now().Add(-time.Duration(steps)*interval - time.Hour).Truncate(time.Hour)
	hosts := bulkHosts(t, steps, interval)

	dir := t.TempDir()
	csvPath := filepath.Join(dir, "values.csv")
	packets, values, last := encodeBulk(t, hosts, steps, start, interval, csvPath)
	t.Logf("%d value lists of %d hosts over %s, in %d datagrams", values, len(hosts), time.Duration(steps)*interval, len(packets))

	// A busy machine may keep collectd's receive thread from its socket long
	// enough to fill the buffer: the comparison needs every value, so a run
	// that lost datagrams is run again (at most three times, as the load
	// benchmark does).
	var c *collectd
	var pg *pager
	for attempt := 1; ; attempt++ {
		var drops int
		var took time.Duration
		c, pg, drops, took = sendBulk(t, packets, values, rate, writeThreads)
		t.Logf("sent at %.0f value lists/s; %d datagrams dropped at collectd's socket", float64(values)/took.Seconds(), drops)
		if drops == 0 {
			break
		}
		require.Less(t, attempt, 3, "datagrams dropped at collectd's socket in three runs: the comparison needs every value")
	}

	totals, ok := c.waitFor(regexp.MustCompile(`anomaly plugin: stopped: `), time.Second)
	require.True(t, ok, "the plugin's totals at shutdown")
	t.Logf("WriteThreads %d: %s", writeThreads, totals.Text)
	m := regexp.MustCompile(`stopped: (\d+) value lists, (\d+) reordered, (\d+) late`).FindStringSubmatch(totals.Text)
	require.NotNil(t, m, totals.Text)
	assert.Equal(t, "0", m[3], "values dropped as late")

	live := map[string]int{}
	for _, p := range pg.pages(t) {
		if p.time(t) < float64(last.Unix()) {
			live[alertKey(p.time(t), p.fields["TypeInstance"], p.fields["PluginInstance"], p.fields["Host"], p.fields["Severity"], p.message)]++
		}
	}
	replayed := replayAlerts(t, csvPath, last)
	var missed, extra []string
	for k, n := range replayed {
		for range n - live[k] {
			missed = append(missed, k)
		}
	}
	for k, n := range live {
		for range n - replayed[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missed)
	sort.Strings(extra)
	kinds := map[string]bool{}
	for k := range replayed {
		rule, _, _ := strings.Cut(strings.Fields(k)[1], "[")
		kinds[rule] = true
	}
	t.Logf("%d alerts in replay, %d live; rules alerting: %v", len(replayed), len(live), keys(kinds))
	assert.Empty(t, missed, "alerts of replay the live plugin did not send")
	assert.Empty(t, extra, "alerts the live plugin sent that replay does not")
	for _, rule := range []string{"web-failed-requests", "web-server-errors", "web-latency-shift", "web-latency-spread",
		"web-traffic-spike", "payment-drop", "payment-fraud", "payment-provider-errors", "ecommerce-silent", "web-health"} {
		assert.True(t, kinds[rule], "an alert of %s", rule)
	}
	for _, l := range c.lines() {
		require.False(t, l.bad(), "collectd's log: [%s] %s", l.Severity, l.Text)
	}
}

// sendBulk starts collectd with the shipped pack and exec paging, sends the
// datagrams at rate value lists a second, waits until exec has been handed
// every notification and stops collectd. It returns collectd, the pager,
// the datagrams collectd's socket dropped and how long the sending took.
func sendBulk(t *testing.T, packets [][]byte, values, rate, writeThreads int) (*collectd, *pager, int, time.Duration) {
	c, port, pg := startPagedCollectd(t, fmt.Sprintf(`WriteThreads %d
%s
<Plugin anomaly>
  # Every alert on its own, as replay lists them.
  BurstLimit 1000000
</Plugin>
`, writeThreads, rulePack(t)))

	conn, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	require.NoError(t, err)
	defer conn.Close()
	began := time.Now()
	for i, p := range packets {
		if due := began.Add(time.Duration(float64(values) * float64(i) / float64(len(packets)) / float64(rate) * float64(time.Second))); time.Until(due) > time.Millisecond {
			time.Sleep(time.Until(due))
		}
		_, err := conn.Write(p)
		require.NoError(t, err)
	}
	took := time.Since(began)
	// Until exec has been handed everything: no new notification for 3 s.
	for n, stable := -1, 0; stable < 6; time.Sleep(500 * time.Millisecond) {
		if m := len(pg.pages(t)); m == n {
			stable++
		} else {
			n, stable = m, 0
		}
	}
	drops, _ := udpDrops(port)
	stopCollectd(t, c)
	return c, pg, drops, took
}

// bulkHosts are the two hosts of the bulk load: shop-a with every incident
// of the pack's scenario, one after the other, and ten minutes of silence;
// shop-b with a fraud wave, silent for the last half hour.
func bulkHosts(t *testing.T, steps int, interval time.Duration) []bulkHost {
	var incidents []simulate.Incident
	at := 3 * time.Hour
	for _, k := range replay.PackScenario().Kinds {
		if len(k.Changes) == 0 {
			continue
		}
		if k.Name == "provider-a-failing" {
			// The pack's scenario is sized to be caught with a median delay
			// of 5.4 h; a bulk load of one run needs it caught for sure.
			k.Changes = []simulate.Change{{Provider: "a", Param: "ProviderError", Value: 0.2}}
		}
		incidents = append(incidents, simulate.Incident{Name: k.Name, Start: at, Duration: k.Duration, Changes: k.Changes})
		at += k.Duration + 5*time.Hour
	}
	a, err := simulate.New(simulate.Config{Params: simulate.DefaultParams(), Seed: 1, Incidents: incidents}, interval)
	require.NoError(t, err)
	fraud := simulate.Incident{Name: "fraud", Start: 20 * time.Hour, Duration: time.Hour,
		Changes: []simulate.Change{{Provider: "a", Param: "Fraud", Value: 0.3}}}
	b, err := simulate.New(simulate.Config{Params: simulate.DefaultParams(), Seed: 2, Incidents: []simulate.Incident{fraud}}, interval)
	require.NoError(t, err)
	silentA := int((at + 2*time.Hour) / interval)
	return []bulkHost{{"shop-a", a, silentA, silentA + 60}, {"shop-b", b, steps - 180, steps}}
}

// encodeBulk encodes the hosts' values, step by step, into datagrams of the
// network plugin and writes them as a CSV for replay. It returns the
// datagrams, the number of value lists and the time of the last.
func encodeBulk(t *testing.T, hosts []bulkHost, steps int, start time.Time, interval time.Duration, csvPath string) ([][]byte, int, time.Time) {
	f, err := os.Create(csvPath)
	require.NoError(t, err)
	defer f.Close()
	w := bufio.NewWriter(f)
	buf := network.NewBuffer(network.DefaultBufferSize)
	var packets [][]byte
	flush := func() {
		p, err := buf.Bytes()
		require.NoError(t, err)
		packets = append(packets, p)
	}
	ctx := context.Background()
	vl := api.ValueList{Identifier: api.Identifier{Plugin: "ecommerce"}, Interval: interval, Values: []api.Value{nil}, DSNames: []string{"value"}}
	n := 0
	var last time.Time
	for step := range steps {
		vl.Time = start.Add(time.Duration(step) * interval)
		for _, h := range hosts {
			vs := h.sim.Step(int64(step))
			if step >= h.silentFrom && step < h.to {
				continue
			}
			vl.Host = h.name
			for _, v := range vs {
				vl.Type, vl.TypeInstance = v.Type, v.TypeInstance
				vl.Values[0] = api.Gauge(v.Value)
				err := buf.Write(ctx, &vl)
				if errors.Is(err, network.ErrNotEnoughSpace) {
					flush()
					err = buf.Write(ctx, &vl)
				}
				require.NoError(t, err)
				fmt.Fprintf(w, "%d,%s/ecommerce/%s-%s,%s\n", vl.Time.Unix(), h.name, v.Type, v.TypeInstance, strconv.FormatFloat(v.Value, 'g', -1, 64))
				n++
				last = vl.Time
			}
		}
	}
	flush()
	require.NoError(t, w.Flush())
	return packets, n, last
}

// replayAlerts runs `anomaly replay` of the shipped pack over the CSV and
// returns its alerts before last, as alertKey counts.
func replayAlerts(t *testing.T, csvPath string, last time.Time) map[string]int {
	bin := anomalyCommand(t)
	pack, err := filepath.Abs("../collectd.conf.d/anomaly.conf")
	require.NoError(t, err)
	cmd := exec.Command(bin, "replay", pack, "--csv", csvPath, "--json", "--all", "-q")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	require.NoError(t, err, "anomaly replay: %s", stderr.String())
	got := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(stdout)), "\n") {
		var a struct {
			Time, Severity, Rule, Group, Host, Message string
		}
		require.NoError(t, json.Unmarshal([]byte(line), &a), line)
		at, err := time.Parse(time.RFC3339Nano, a.Time)
		require.NoError(t, err)
		if at.Before(last) {
			got[alertKey(float64(at.UnixNano())/1e9, a.Rule, a.Group, a.Host, a.Severity, a.Message)]++
		}
	}
	return got
}

// alertKey is what two alerts must share to be the same: time (to the
// millisecond exec prints), rule, group, host, severity and message (as much
// of it as a collectd notification holds).
func alertKey(at float64, rule, group, host, severity, message string) string {
	if len(message) > 255 {
		message = message[:255]
	}
	return fmt.Sprintf("%.3f %s[%s] %s %s %s", at, rule, group, host, severity, message)
}
