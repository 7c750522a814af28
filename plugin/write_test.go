package main

import (
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"collectd.org/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/bridge"
	"github.com/collectd-anomaly/collectd-anomaly/bridge/fake"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// feedPages sends one 10-second interval of page traffic of host: hits
// requests of which failed answered 400.
func feedPages(t *testing.T, p *anomalyPlugin, host string, step int, hits, failed float64) {
	t.Helper()
	at := t0.Add(time.Duration(step) * 10 * time.Second)
	require.NoError(t, p.write(gaugeList(host, "ecommerce", "gauge", "page-hits-total", at, hits)))
	require.NoError(t, p.write(gaugeList(host, "ecommerce", "gauge", "page-response-400", at, failed)))
	require.NoError(t, p.write(gaugeList(host, "ecommerce", "gauge", "page-response-500", at, 0)))
	require.NoError(t, p.write(gaugeList(host, "ecommerce", "gauge", "page-response-200", at, hits-failed)))
}

// The write callback feeds the engine; a ratio crossing its threshold
// reaches collectd as a FAILURE notification, and its recovery as an OKAY.
func TestWriteSendsFailureThenOkay(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d, failedRequests(), opt("Hostname", "central"))
	step := 0
	for ; step < 12; step++ {
		feedPages(t, p, "shop-1", step, 100, 1) // 1%
	}
	for ; step < 24; step++ {
		feedPages(t, p, "shop-1", step, 100, 30) // 30%
	}
	// The FAILURE is queued while writes go on, and dispatched in the background.
	require.Eventually(t, func() bool { return len(d.rec.Notifications()) == 1 }, 2*time.Second, time.Millisecond)
	for ; step < 40; step++ {
		feedPages(t, p, "shop-1", step, 100, 1)
	}
	notes := drain(t, p, d.rec)
	require.Len(t, notes, 2)

	// The one-minute window holds 6 intervals: with two bad ones it holds
	// 2x30 + 4x1 = 64 failed of 600 (10.7%), judged with the values of the
	// second bad interval, which complete its slot.
	f := notes[0]
	assert.Equal(t, bridge.Failure, f.Severity)
	assert.Equal(t, t0.Add(130*time.Second), f.Time)
	assert.Equal(t, "shop-1", f.Host, "a per-host rule names the host, not Hostname")
	assert.Equal(t, "anomaly", f.Plugin)
	assert.Equal(t, "page", f.PluginInstance, "the group label")
	assert.Equal(t, "ratio", f.Type)
	assert.Equal(t, "web-failed-requests", f.TypeInstance)
	assert.Equal(t, "FAILURE: web-failed-requests[page] of shop-1: 10.7% (64 of 600) over 1m0s is above the threshold 10%", f.Message)
	meta := metaMap(t, f.Meta)
	assert.ElementsMatch(t, []string{"rule", "kind", "series", "previous", "observed", "threshold", "window_seconds", "group"}, keys(meta))
	assert.Equal(t, "web-failed-requests", meta["rule"])
	assert.Equal(t, "ratio", meta["kind"])
	assert.Equal(t, failedRE+" / "+hitsRE, meta["series"])
	assert.Equal(t, "OKAY", meta["previous"])
	assert.InDelta(t, 64.0/600, meta["observed"], 1e-12)
	assert.InDelta(t, 0.10, meta["threshold"], 1e-12)
	assert.Equal(t, 60.0, meta["window_seconds"])
	assert.Equal(t, "page", meta["group"])

	// Back to 1%: with one bad interval left the share is 35 of 600 (5.8%),
	// below the threshold less the hysteresis (8%).
	o := notes[1]
	assert.Equal(t, bridge.Okay, o.Severity)
	assert.Equal(t, t0.Add(280*time.Second), o.Time)
	assert.Equal(t, "shop-1", o.Host)
	assert.Equal(t, "anomaly", o.Plugin)
	assert.Equal(t, "page", o.PluginInstance)
	assert.Equal(t, "ratio", o.Type)
	assert.Equal(t, "web-failed-requests", o.TypeInstance)
	assert.Equal(t, "OKAY: web-failed-requests[page] of shop-1: 5.83% (35 of 600) over 1m0s is back within the threshold 8%", o.Message)
	meta = metaMap(t, o.Meta)
	assert.Equal(t, "FAILURE", meta["previous"])
	assert.InDelta(t, 35.0/600, meta["observed"], 1e-12)
	assert.InDelta(t, 0.08, meta["threshold"], 1e-12)
	assert.Empty(t, d.errorLines())
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A rule that aggregates hosts judges their sum, and its notifications carry
// the configured Hostname.
func TestWriteAggregateRuleUsesHostname(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d, failedRequests(opt("AggregateHosts", true)), opt("Hostname", "central"))
	step := 0
	for ; step < 8; step++ {
		feedPages(t, p, "shop-1", step, 60, 0)
		feedPages(t, p, "shop-2", step, 60, 0)
	}
	for ; step < 20; step++ {
		feedPages(t, p, "shop-1", step, 60, 15) // 25% of one host, 12.5% of both
		feedPages(t, p, "shop-2", step, 60, 0)
	}
	notes := drain(t, p, d.rec)
	require.Len(t, notes, 1, "one alert for all hosts")
	n := notes[0]
	assert.Equal(t, bridge.Failure, n.Severity)
	assert.Equal(t, "central", n.Host)
	assert.Equal(t, "page", n.PluginInstance)
	// Five bad intervals of six: 5x15 failed of 6x120 requests of both hosts.
	assert.Equal(t, "FAILURE: web-failed-requests[page] of all hosts: 10.4% (75 of 720) over 1m0s is above the threshold 10%", n.Message)
	assert.Equal(t, t0.Add(120*time.Second), n.Time, "both hosts' values complete the slot")
}

// Without a Hostname an aggregate rule's notification takes collectd's own:
// collectd fills in the host of value lists, but plugin_dispatch_notification
// passes a notification on as it is.
func TestWriteAggregateRuleWithoutHostname(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d, failedRequests(opt("AggregateHosts", true)))
	for step := 0; step < 20; step++ {
		feedPages(t, p, "shop-1", step, 100, 50)
	}
	notes := drain(t, p, d.rec)
	require.Len(t, notes, 1)
	assert.Equal(t, "collectd-host", notes[0].Host)
}

// Host restricts a rule: other hosts' values do not count.
func TestWriteHostPatternRestrictsTheRule(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d, failedRequests(opt("Host", "shop-*")))
	for step := 0; step < 20; step++ {
		feedPages(t, p, "db-1", step, 100, 50)
		feedPages(t, p, "shop-1", step, 100, 0)
	}
	assert.Empty(t, drain(t, p, d.rec))
}

// notification maps every field of an alert, and leaves out what it lacks.
func TestNotificationFields(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d, opt("Hostname", "central"))
	when := t0.Add(time.Hour)
	n := p.notification(&detect.Alert{
		Time: when, Severity: detect.Warning, Previous: detect.Failure, Repeat: true,
		Rule: "latency", Kind: "spread", Series: "ecommerce/gauge-page-latency-mean",
		Observed: 120, Threshold: math.NaN(), Baseline: 50, Probability: math.NaN(), Window: 5 * time.Minute,
		Message: "WARNING: latency",
	})
	assert.Equal(t, bridge.Warning, n.Severity)
	assert.Equal(t, when, n.Time)
	assert.Equal(t, "central", n.Host, "no host: the configured Hostname")
	assert.Equal(t, "anomaly", n.Plugin)
	assert.Empty(t, n.PluginInstance)
	assert.Equal(t, "spread", n.Type)
	assert.Equal(t, "latency", n.TypeInstance)
	assert.Equal(t, "WARNING: latency", n.Message)
	assert.Equal(t, []bridge.Meta{
		{Key: "rule", Value: "latency"},
		{Key: "kind", Value: "spread"},
		{Key: "series", Value: "ecommerce/gauge-page-latency-mean"},
		{Key: "previous", Value: "FAILURE"},
		{Key: "observed", Value: 120.0},
		{Key: "window_seconds", Value: 300.0},
		{Key: "baseline", Value: 50.0},
		{Key: "repeat", Value: "true"},
	}, n.Meta, "no group, no threshold")

	for level, want := range map[detect.Level]bridge.Severity{detect.OK: bridge.Okay, detect.Warning: bridge.Warning, detect.Failure: bridge.Failure} {
		assert.Equal(t, want, p.notification(&detect.Alert{Severity: level, Host: "h"}).Severity, level.String())
	}
	assert.Equal(t, "h", p.notification(&detect.Alert{Host: "h"}).Host)
}

// Every meta value has a type collectd's notification meta data can hold.
func TestNotificationMetaTypesAreDispatchable(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d)
	n := p.notification(&detect.Alert{Rule: "r", Kind: "ratio", Group: "g", Observed: 1, Threshold: 2, Baseline: 3, Repeat: true, Window: time.Second})
	daemon := fake.Install()
	defer daemon.Uninstall()
	require.NoError(t, bridge.Collectd{}.Notify(n))
	got := daemon.Dispatched()
	require.Len(t, got, 1)
	assert.Equal(t, n.Meta, got[0].Meta)
}

// A notification the daemon refuses costs a log line, not the plugin.
func TestNotifyErrorIsLogged(t *testing.T) {
	d := newFakeDaemon()
	d.notifierFor = failingNotifier{}
	p := configured(t, d)
	p.Alert(detect.Alert{Rule: "r", Group: "page", Severity: detect.Failure})
	p.Alert(detect.Alert{Rule: "r", Severity: detect.OK})
	require.NoError(t, p.Shutdown(t.Context()))
	assert.Equal(t, []string{
		"anomaly plugin: dispatching notification for r[page]: chain is down",
		"anomaly plugin: dispatching notification for r: chain is down",
	}, d.errorLines())
}

// Rules that judge by a tail probability say it in the meta data too.
func TestNotificationCarriesProbability(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d)
	n := p.notification(&detect.Alert{Rule: "drop", Kind: "spike", Severity: detect.Failure, Host: "h",
		Observed: 2, Threshold: 1e-6, Baseline: 21.6, Probability: 2.7e-7, Window: 30 * time.Minute})
	assert.Contains(t, n.Meta, bridge.Meta{Key: "probability", Value: 2.7e-7})
	n = p.notification(&detect.Alert{Rule: "r", Kind: "ratio", Host: "h", Threshold: 0.1, Baseline: math.NaN(), Probability: math.NaN()})
	for _, m := range n.Meta {
		assert.NotEqual(t, "probability", m.Key, "none for rules without one")
	}
}

// The score of an <Anomaly> rule reaches collectd as a derived gauge whose
// plugin instance is the series, with its slash (collectd's separator)
// made an underscore. Values come as collectd's interval brings them: each
// score is dispatched before the next value (a burst keeps the newest of
// each series: TestDerivedValuesOfABurstAreTheNewestOfEachSeries).
func TestAnomalyScoresAreDispatchedUnderTheSeries(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d, named("Anomaly", "cpu", opt("Series", "cpu-*/percent-user")))
	for i := range 80 {
		at := t0.Add(time.Duration(i) * 10 * time.Second)
		require.NoError(t, p.write(gaugeList("db-1", "cpu-0", "percent", "user", at, 20+float64(i%7))))
		require.Eventually(t, func() bool { return p.notes.values.len() == 0 }, 5*time.Second, time.Millisecond)
	}
	drain(t, p, d.rec)
	d.mu.Lock()
	defer d.mu.Unlock()
	var scores int
	for _, vl := range d.dispatched {
		if vl.Plugin == "anomaly" && vl.TypeInstance == "cpu" {
			scores++
			assert.Equal(t, "cpu-0_percent-user", vl.PluginInstance)
			assert.Equal(t, "db-1", vl.Host)
			x := float64(vl.Values[0].(api.Gauge))
			assert.True(t, x >= 0 && x <= 1, "a score: %v", x)
		}
	}
	assert.Greater(t, scores, 20, "every value judged after the warm-up")
}

// A rule's Message and Runbook reach collectd: the worded message, and the
// runbook in the meta data as well as in the message.
func TestWriteUsesTheRulesMessageAndRunbook(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d, failedRequests(opt("Message", "{severity}: {observed_percent} of {group} requests fail on {host}"),
		opt("Runbook", "https://wiki.example/pages")))
	step := 0
	for ; step < 12; step++ {
		feedPages(t, p, "shop-1", step, 100, 1)
	}
	for ; step < 24; step++ {
		feedPages(t, p, "shop-1", step, 100, 30)
	}
	for ; step < 40; step++ {
		feedPages(t, p, "shop-1", step, 100, 1)
	}
	notes := drain(t, p, d.rec)
	require.Len(t, notes, 2)
	assert.Equal(t, "FAILURE: 10.7% of page requests fail on shop-1 Runbook: https://wiki.example/pages", notes[0].Message)
	assert.Equal(t, "OKAY: 5.83% of page requests fail on shop-1 Runbook: https://wiki.example/pages", notes[1].Message)
	assert.Equal(t, "https://wiki.example/pages", metaMap(t, notes[0].Meta)["runbook"])
	assert.Empty(t, d.errorLines())
}

// A message that ends with its runbook and is too long for collectd's 255
// bytes is shortened before the runbook, so that the pager shows the whole
// link; a short one is left alone, and so is one without a runbook.
func TestALongMessageKeepsItsRunbookWhole(t *testing.T) {
	runbook := "https://wiki.example.com/runbooks/web-health-degraded"
	body := "FAILURE: web-health of shop-frontend-01.prod.eu-west-1.example.com is error: latency 812 ms (warn 300, error 500), errors 7.5% (warn 2%, error 5%) over 5m0s ending 14:35:00 on the frontends of the eu-west-1 shop é"
	long := body + " Runbook: " + runbook
	require.Greater(t, len(long), bridge.MaxMessage)
	got := fitMessage(long, runbook)
	assert.LessOrEqual(t, len(got), bridge.MaxMessage)
	assert.True(t, strings.HasSuffix(got, "… Runbook: "+runbook), got)
	assert.True(t, strings.HasPrefix(long, strings.TrimSuffix(got, "… Runbook: "+runbook)))
	assert.True(t, utf8.ValidString(got))
	short := "FAILURE: x Runbook: " + runbook
	assert.Equal(t, short, fitMessage(short, runbook))
	assert.Equal(t, body+body, fitMessage(body+body, ""), "no runbook: collectd cuts it")
}
