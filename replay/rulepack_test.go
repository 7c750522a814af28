package replay_test

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/replay"
	"github.com/collectd-anomaly/collectd-anomaly/simulate"
)

// The shipped rule pack, read as collectd reads it.
func rulePack(t testing.TB) []detect.Rule {
	t.Helper()
	return packRules(t, "../collectd.conf.d/anomaly.conf")
}

// packRules are the rules of the <Plugin anomaly> blocks of a pack file.
func packRules(t testing.TB, path string) []detect.Rule {
	t.Helper()
	root, err := conf.ReadFile(path)
	require.NoError(t, err)
	s, err := conf.Parse(conf.PluginBlocks(root, "anomaly")...)
	require.NoError(t, err)
	return s.Rules
}

const interval = 10 * time.Second

var start = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// simulateRun replays the default model with incidents through the rule pack.
func simulateRun(t testing.TB, seed uint64, duration time.Duration, incidents ...simulate.Incident) *replay.Recorder {
	t.Helper()
	return simulateMode(t, simulate.Gauge, seed, duration, incidents...)
}

// simulateMode is simulateRun with the simulator's mode: counts per interval
// (gauge) or running totals (counter).
func simulateMode(t testing.TB, mode simulate.Mode, seed uint64, duration time.Duration, incidents ...simulate.Incident) *replay.Recorder {
	t.Helper()
	rec := &replay.Recorder{}
	e, err := detect.NewEngine(rulePack(t), detect.Options{Sink: rec})
	require.NoError(t, err)
	sim, err := simulate.New(simulate.Config{Params: simulate.DefaultParams(), Seed: seed, Mode: mode, Incidents: incidents}, interval)
	require.NoError(t, err)
	run := replay.Simulation{Engine: e, Simulator: sim, Host: "shop", Start: start, Interval: interval}
	run.Run(0, int64(duration/interval))
	return rec
}

// The simulator's counter mode dispatches running totals (type "counter");
// the rule pack selects both, and the engine turns totals into increments:
// the same seed gives the same alerts as counts per interval.
func TestRulePackInCounterMode(t *testing.T) {
	incidents := []simulate.Incident{
		incident("pages-4xx", 30*time.Minute, change("PageError400", 0.15)),
		{Name: "checkout-broken", Start: warmUp + 2*time.Hour, Duration: 2 * time.Hour, Changes: []simulate.Change{change("PaymentRate", 0)}},
	}
	notable := func(r *replay.Recorder) []detect.Alert {
		var out []detect.Alert
		for _, a := range r.Alerts() {
			if a.Rule != "web-health" {
				out = append(out, a)
			}
		}
		return out
	}
	counts := notable(simulateMode(t, simulate.Gauge, 9, warmUp+6*time.Hour, incidents...))
	totals := notable(simulateMode(t, simulate.Counter, 9, warmUp+6*time.Hour, incidents...))
	var fired []string
	for _, a := range counts {
		fired = append(fired, a.Severity.String()+" "+a.Subject())
	}
	assert.Contains(t, fired, "FAILURE web-failed-requests[page]")
	assert.Contains(t, fired, "FAILURE payment-drop")
	// The first total of a counter has no increment yet, so a baseline
	// starts one interval later: an alert on a long baseline may move by a
	// slot or two, nothing more.
	require.Len(t, totals, len(counts))
	for i := range counts {
		assert.Equal(t, counts[i].Severity, totals[i].Severity)
		assert.Equal(t, counts[i].Subject(), totals[i].Subject())
		assert.InDelta(t, 0, counts[i].Time.Sub(totals[i].Time).Seconds(), 60, "%s", counts[i].Message)
	}
}

// notable are the alerts a person would be woken for: not OKAY, and not the
// health rule's periodic OKAY either.
func notable(alerts []detect.Alert) []detect.Alert {
	var out []detect.Alert
	for _, a := range alerts {
		if a.Severity != detect.OK {
			out = append(out, a)
		}
	}
	return out
}

// TestRulePackIsQuietOnTheNormalModel replays four weeks of the default
// model (four seeds): no rule may send a WARNING or FAILURE more than once a
// week on average (the target, met at the time of writing, is none).
func TestRulePackIsQuietOnTheNormalModel(t *testing.T) {
	if testing.Short() {
		t.Skip("four simulated weeks")
	}
	const weeks = 4
	perRule := map[string]int{}
	for _, r := range rulePack(t) {
		perRule[r.Spec().Name] = 0
	}
	for w := 0; w < weeks; w++ {
		rec := simulateRun(t, 20261127+uint64(w), 7*24*time.Hour)
		for _, a := range notable(rec.Alerts()) {
			perRule[a.Rule]++
			t.Logf("false alert: %s %s at %s: %s", a.Severity, a.Subject(), a.Time.Format(time.RFC3339), a.Message)
		}
	}
	var names []string
	for n := range perRule {
		names = append(names, n)
	}
	sort.Strings(names)
	var report []string
	for _, n := range names {
		report = append(report, fmt.Sprintf("%s=%d", n, perRule[n]))
		assert.LessOrEqual(t, perRule[n], weeks, "false alerts in %d weeks of %s", weeks, n)
	}
	t.Logf("false alerts in %d simulated weeks: %s", weeks, strings.Join(report, " "))
}

// task is one of the exercise's alerting tasks: an incident of the model and
// the alert it must cause.
type task struct {
	name     string
	rule     string
	group    string
	severity detect.Level
	incident simulate.Incident
	// maxDelay bounds the time from the incident's start to the alert; the
	// comment of each case says where the bound comes from.
	maxDelay time.Duration
	// recovers: an OKAY must follow the incident's end within this bound.
	recovers time.Duration
	// periodic rules report every period: they repeat by design.
	periodic bool
}

// warmUp lets every rule's windows and baselines fill before an incident.
const warmUp = 12 * time.Hour

func incident(name string, d time.Duration, changes ...simulate.Change) simulate.Incident {
	return simulate.Incident{Name: name, Start: warmUp, Duration: d, Changes: changes}
}

func change(param string, v float64) simulate.Change { return simulate.Change{Param: param, Value: v} }

var tasks = []task{
	{
		// Page latency's spread triples (50 -> 150 ms): the 5-minute window's
		// variance doubles twice over once 12 of its 30 slots are incident
		// slots, (12 x 150^2 + 18 x 50^2) / 30 = 4 x 50^2; the bound is the
		// whole window.
		name: "web 2: latency spread", rule: "web-latency-spread", group: "page", severity: detect.Failure,
		incident: incident("jittery-pages", 30*time.Minute, change("PageLatencyStdDev", 150)),
		maxDelay: 5 * time.Minute, recovers: 6 * time.Minute,
	},
	{
		// Page latency's mean rises by two of its standard deviations
		// (150 -> 250 ms): the window's mean moves 100/30 ms per incident
		// slot against a standard error of 50 x sqrt(1/30 + 1/360) = 9.5 ms,
		// so the t-test passes 1e-6 (t of about 5) after some 15 slots.
		name: "web 2: latency level shift", rule: "web-latency-shift", group: "page", severity: detect.Failure,
		incident: incident("slow-pages", 30*time.Minute, change("PageLatencyMean", 250)),
		maxDelay: 5 * time.Minute, recovers: 6 * time.Minute,
	},
	{
		// Traffic doubles: the one-minute window reaches 1.5x the hour's
		// rate once half of it is incident, 3 slots; the Poisson tail of
		// 1.5 x 6690 requests is far below 1e-6.
		name: "web 3: traffic spike", rule: "web-traffic-spike", severity: detect.Failure,
		incident: incident("rush", 15*time.Minute, change("TrafficMultiplier", 2)),
		maxDelay: 2 * time.Minute, recovers: 2 * time.Minute,
	},
	{
		// 15% of pages fail: the 5-minute window passes 10% once two thirds
		// of it are incident slots (2/3 x 15.7% = 10.5%), 200 s, plus the
		// slot that completes the window.
		name: "web 4: failed requests", rule: "web-failed-requests", group: "page", severity: detect.Failure,
		incident: incident("pages-4xx", 30*time.Minute, change("PageError400", 0.15)),
		maxDelay: 4 * time.Minute, recovers: 6 * time.Minute,
	},
	{
		// 3% of pages with a 5xx: the window passes 1% a third of the way in.
		name: "web 5: server errors", rule: "web-server-errors", group: "page", severity: detect.Failure,
		incident: incident("pages-5xx", 30*time.Minute, change("PageError500", 0.03)),
		maxDelay: 3 * time.Minute, recovers: 6 * time.Minute,
	},
	{
		// Latency mean 400 ms: the first whole 5-minute period of the
		// incident reports warn; the period holding its start may too.
		name: "web 6: health warns on latency", rule: "web-health", severity: detect.Warning,
		incident: incident("slow-pages", 30*time.Minute, change("PageLatencyMean", 400)),
		maxDelay: 10 * time.Minute, recovers: 11 * time.Minute, periodic: true,
	},
	{
		// 60% of pages fail with a 5xx: 6.2% of all requests (pages are
		// 10.3% of them) plus the normal 0.8%, above the 5% error bound.
		name: "web 6: health errors on error rate", rule: "web-health", severity: detect.Failure,
		incident: incident("many-errors", 30*time.Minute, change("PageError500", 0.6)),
		maxDelay: 10 * time.Minute, recovers: 11 * time.Minute, periodic: true,
	},
}

func providerChange(provider, param string, v float64) simulate.Change {
	return simulate.Change{Provider: provider, Param: param, Value: v}
}

var paymentTasks = []task{
	{
		// Checkout breaks: no payment attempts. The 1-hour window expects
		// 43.2 (per session, as many) and fires once it holds 14 or fewer
		// (P = 1e-6): about 36 minutes of zeros, depending on the last
		// minutes before the break. Recovery needs p >= 1e-3, 23 or more in
		// the window: about 35 minutes of payments again.
		name: "payments 4: payment drop", rule: "payment-drop", severity: detect.Failure,
		incident: incident("checkout-broken", 2*time.Hour, change("PaymentRate", 0)),
		maxDelay: 45 * time.Minute, recovers: 50 * time.Minute,
	},
	{
		// Provider a's fraud share at 30% (the exercise's class setup): 5.3
		// fraud outcomes an hour among its ~17 attempts; 3 of 17 have a
		// binomial tail of 1.8e-5 under the normal 0.3%, below 1e-4, so
		// the 3rd comes after a Gamma(3, 5.3/h) wait: 34 min on average,
		// over 2 h with probability 0.2%. Recovery: the hour's count drains
		// to one in 1 h.
		name: "payments 2: fraud", rule: "payment-fraud", group: "a", severity: detect.Failure,
		incident: incident("fraud-wave", 3*time.Hour, providerChange("a", "Fraud", 0.3)),
		maxDelay: 2 * time.Hour, recovers: 65 * time.Minute,
	},
	{
		// Provider a's provider_error share at 5% (normal 0.1%): 0.86
		// errors an hour, and the binomial tail needs 4-6 of them in the 6 h
		// window. Over 400 simulated incidents (detect/errorshare_test.go) the
		// delay's median was 5.4 h and its 90th percentile 12.5 h at the first
		// version's 1e-6; the bound is above that. Recovery: the errors leave
		// the window in 6 h, and the alert ends once the window's tail is
		// back above 1% (at most one error): in this run two stray errors
		// after the incident hold it 4 hours more.
		name: "payments 3: provider errors", rule: "payment-provider-errors", group: "a", severity: detect.Failure,
		incident: incident("provider-a-failing", 24*time.Hour, providerChange("a", "ProviderError", 0.05)),
		maxDelay: 16 * time.Hour, recovers: 12 * time.Hour,
	},
}

func TestTasksFireOnTheirIncidents(t *testing.T) {
	tasks := append(append([]task(nil), tasks...), paymentTasks...)
	for _, tk := range tasks {
		t.Run(tk.name, func(t *testing.T) {
			total := warmUp + tk.incident.Duration + tk.recovers + time.Hour
			rec := simulateRun(t, 7, total, tk.incident)
			begin := start.Add(tk.incident.Start)
			end := begin.Add(tk.incident.Duration)
			var fired, last *detect.Alert
			raised := 0
			for _, a := range rec.Alerts() {
				if a.Rule != tk.rule || a.Group != tk.group {
					continue
				}
				if a.Severity == tk.severity && a.Previous < tk.severity {
					raised++
				}
				if a.Severity != detect.OK && a.Time.Before(begin) {
					t.Errorf("alert before the incident: %s", a.Message)
				}
				if fired == nil && a.Severity >= tk.severity && !a.Time.Before(begin) {
					fired = &a
				}
				if !a.Time.After(end.Add(tk.recovers)) {
					last = &a
				}
			}
			require.NotNil(t, fired, "no %s from %s", tk.severity, tk.rule)
			delay := fired.Time.Sub(begin)
			t.Logf("%s: %s after %s: %s", tk.name, tk.severity, delay, fired.Message)
			assert.LessOrEqual(t, delay, tk.maxDelay)
			// Recovered: the alert is OK again at the latest tk.recovers
			// after the incident (the data may let it recover sooner).
			if os.Getenv("RULEPACK_DEBUG") != "" {
				for _, a := range rec.Alerts() {
					if a.Rule == tk.rule {
						t.Logf("%s %s", a.Time.Sub(begin), a.Message)
					}
				}
			}
			require.NotNil(t, last)
			assert.Equal(t, detect.OK, last.Severity, "state %s after the incident: %s", tk.recovers, last.Message)
			if !tk.periodic {
				assert.Equal(t, 1, raised, "raised once, no flapping while the incident lasts")
			}
		})
	}
}

// Payments task 1: the conversion rate per clock hour is dispatched as a
// value, and it is the rate of the model.
func TestConversionRatePerHour(t *testing.T) {
	rec := simulateRun(t, 11, 49*time.Hour)
	var rates []float64
	for _, v := range rec.Values() {
		if v.Name != "conversion-rate" {
			continue
		}
		assert.Zero(t, v.Time.Minute(), "at the end of a clock hour")
		assert.Equal(t, time.Hour, v.Interval)
		rates = append(rates, v.Value)
	}
	require.Len(t, rates, 49, "one per complete hour, the last one too: its last slot is complete with its values")
	// Expected: 0.012 x 98.6% / 2.4 = 0.493%. An hour has ~42.6 successes
	// over ~8640 sessions, so one hour's rate has a relative spread of about
	// 1/sqrt(42.6) = 15%; the mean of 48 hours about 2.2%. Allow 4.5 of those.
	mean := 0.0
	for _, r := range rates {
		mean += r / float64(len(rates))
	}
	want := 100 * 0.012 * (1 - 0.014) / 2.4
	assert.InEpsilon(t, want, mean, 4.5*0.022)
}

// The dead man's switch: the shop's values stop arriving (the plugin keeps
// ticking the engine with the wall clock) and come back.
func TestSilentHostIsAnAlert(t *testing.T) {
	rec := &replay.Recorder{}
	e, err := detect.NewEngine(rulePack(t), detect.Options{Sink: rec})
	require.NoError(t, err)
	sim, err := simulate.New(simulate.Config{Params: simulate.DefaultParams(), Seed: 3}, interval)
	require.NoError(t, err)
	run := replay.Simulation{Engine: e, Simulator: sim, Host: "shop", Start: start, Interval: interval}
	run.Run(0, 360) // an hour of values
	silentFrom := run.Time(360)
	for step := int64(360); step < 420; step++ { // ten minutes of ticks only
		e.Tick(run.Time(step))
	}
	run.Run(420, 480)
	var got []detect.Alert
	for _, a := range rec.Alerts() {
		if a.Rule == "ecommerce-silent" {
			got = append(got, a)
		}
	}
	require.Len(t, got, 2, "one FAILURE, one OKAY")
	assert.Equal(t, detect.Failure, got[0].Severity)
	// 3 silent intervals (30 s) exceeded with the 4th slot, which ends 35 s
	// after the last value, certain 2 intervals (the lateness) after that:
	// 55 s after the last value, 45 s after the first missing one.
	assert.Equal(t, 45*time.Second, got[0].Time.Sub(silentFrom))
	assert.Contains(t, got[0].Message, "55s ago")
	assert.Contains(t, got[0].Message, "no values of ecommerce/* from shop")
	assert.Equal(t, detect.OK, got[1].Severity)
	assert.Equal(t, run.Time(420), got[1].Time, "OKAY with the first values back, which decide it")
}
