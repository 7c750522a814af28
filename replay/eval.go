package replay

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/simulate"
)

// IncidentKind is one kind of incident of an evaluation scenario: what it
// changes in the simulated model, for how long, and the rules meant to
// catch it.
type IncidentKind struct {
	Name    string
	Changes []simulate.Change
	// Silence stops every value for the incident's duration (the shop or
	// its collectd is down) instead of changing the model.
	Silence  bool
	Duration time.Duration
	// Expect lists the rules meant to catch it, "rule" or "rule[group]"
	// (then only alerts of that group count). Empty: every rule that catches
	// it at least once is reported.
	Expect []string
}

// Describe words what the incident does: "PageError500=0.03 for 30m0s".
func (k IncidentKind) Describe() string {
	var parts []string
	if k.Silence {
		parts = append(parts, "no values")
	}
	for _, c := range k.Changes {
		name := c.Param
		if c.Provider != "" {
			name = c.Provider + "." + c.Param
		}
		parts = append(parts, name+"="+strconv.FormatFloat(c.Value, 'g', -1, 64))
	}
	return strings.Join(parts, ",") + " for " + shortDuration(k.Duration)
}

// Scenario is an evaluation: runs of the simulated shop, each with
// incidents of every kind at random times, through the rules.
type Scenario struct {
	Kinds []IncidentKind
	// Length is the simulated time of one run (default 7 days).
	Length time.Duration
	// Interval between reads (default 10 s).
	Interval time.Duration
	// WarmUp: no incident starts before it, so that every window and
	// baseline is full (default 12 h).
	WarmUp time.Duration
	// Grace: alerts from an incident's start until Grace after its end
	// belong to it (a detection, or its echo); later ones are false alerts
	// (default 6 h: the longest window of the shipped pack).
	Grace time.Duration
	// PerRun is the number of incidents of each kind in one run (default 1).
	PerRun int
	// Config is the model; zero Params take simulate.DefaultParams. The
	// seed and incidents are the evaluation's.
	Config simulate.Config
	// Host of the simulated values (default "shop"); Start of the runs in
	// simulated time (default 2026-01-05, a Monday, 00:00 UTC).
	Host  string
	Start time.Time
	// Lateness and IdleTimeout are the engine's, as the configuration's
	// AllowedLateness and SeriesIdleTimeout set them (zero: the defaults).
	Lateness, IdleTimeout time.Duration
}

// DefaultStart is when simulated runs begin.
var DefaultStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

func (sc *Scenario) defaults() {
	if sc.Length <= 0 {
		sc.Length = 7 * 24 * time.Hour
	}
	if sc.Interval <= 0 {
		sc.Interval = 10 * time.Second
	}
	if sc.WarmUp <= 0 {
		sc.WarmUp = 12 * time.Hour
	}
	if sc.Grace <= 0 {
		sc.Grace = 6 * time.Hour
	}
	if sc.PerRun <= 0 {
		sc.PerRun = 1
	}
	if len(sc.Config.Params.Providers) == 0 && sc.Config.Params.PageRate == 0 {
		sc.Config.Params = simulate.DefaultParams()
	}
	if sc.Host == "" {
		sc.Host = "shop"
	}
	if sc.Start.IsZero() {
		sc.Start = DefaultStart
	}
}

// PackScenario is the standing measure of the shipped rule pack: one
// incident per task of the exercise, each of a size the task's rule is meant
// to catch, named after the rules of collectd.conf.d/anomaly.conf.
func PackScenario() Scenario {
	ch := func(param string, v float64) simulate.Change { return simulate.Change{Param: param, Value: v} }
	prov := func(p, param string, v float64) simulate.Change {
		return simulate.Change{Provider: p, Param: param, Value: v}
	}
	return Scenario{Kinds: []IncidentKind{
		{Name: "pages-failing", Changes: []simulate.Change{ch("PageError400", 0.15)}, Duration: 30 * time.Minute,
			Expect: []string{"web-failed-requests[page]"}},
		{Name: "pages-5xx", Changes: []simulate.Change{ch("PageError500", 0.03)}, Duration: 30 * time.Minute,
			Expect: []string{"web-server-errors[page]"}},
		{Name: "slow-pages", Changes: []simulate.Change{ch("PageLatencyMean", 400)}, Duration: 30 * time.Minute,
			Expect: []string{"web-health", "web-latency-shift"}},
		{Name: "erratic-latency", Changes: []simulate.Change{ch("PageLatencyStdDev", 150)}, Duration: 30 * time.Minute,
			Expect: []string{"web-latency-spread"}},
		{Name: "traffic-spike", Changes: []simulate.Change{ch("TrafficMultiplier", 3)}, Duration: 15 * time.Minute,
			Expect: []string{"web-traffic-spike"}},
		{Name: "checkout-broken", Changes: []simulate.Change{ch("PaymentRate", 0)}, Duration: 2 * time.Hour,
			Expect: []string{"payment-drop"}},
		{Name: "fraud-wave", Changes: []simulate.Change{prov("a", "Fraud", 0.3)}, Duration: time.Hour,
			Expect: []string{"payment-fraud[a]"}},
		{Name: "provider-a-failing", Changes: []simulate.Change{prov("a", "ProviderError", 0.05)}, Duration: 6 * time.Hour,
			Expect: []string{"payment-provider-errors[a]"}},
		{Name: "shop-down", Silence: true, Duration: 10 * time.Minute,
			Expect: []string{"ecommerce-silent"}},
	}}
}

// Placed is an incident placed in a run, its times from the run's start.
type Placed struct {
	Kind       int
	Start, End time.Duration
}

// Onset is an alert raised (from OK to WARNING or FAILURE) in a run.
type Onset struct {
	Rule, Group, Host string
	Severity          detect.Level
	At                time.Duration // from the run's start
}

// RunOutcome is what one run of a scenario gave.
type RunOutcome struct {
	Seed      uint64
	Incidents []Placed
	Onsets    []Onset
}

// onsetSink keeps the onsets of alerts.
type onsetSink struct {
	start  time.Time
	onsets []Onset
}

func (s *onsetSink) Alert(a detect.Alert) {
	if a.Severity > detect.OK && a.Previous == detect.OK && !a.Repeat {
		s.onsets = append(s.onsets, Onset{Rule: a.Rule, Group: a.Group, Host: a.Host, Severity: a.Severity, At: a.Time.Sub(s.start)})
	}
}

func (s *onsetSink) Value(detect.DerivedValue) {}

// place draws the incidents of a run: every kind PerRun times, in random
// order, one in each of equal segments of the run after WarmUp, at a random
// time within it that leaves the incident and its Grace inside.
func (sc *Scenario) place(seed uint64) ([]Placed, error) {
	n := len(sc.Kinds) * sc.PerRun
	if n == 0 {
		return nil, nil
	}
	rng := rand.New(rand.NewPCG(seed, 0x1c1de47))
	order := make([]int, 0, n)
	for range sc.PerRun {
		for k := range sc.Kinds {
			order = append(order, k)
		}
	}
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	seg := (sc.Length - sc.WarmUp) / time.Duration(n)
	out := make([]Placed, n)
	for i, k := range order {
		free := seg - sc.Kinds[k].Duration - sc.Grace
		if free < 0 {
			return nil, fmt.Errorf("%d incidents with %s of grace do not fit in %s after a warm-up of %s: make the runs longer",
				n, shortDuration(sc.Grace), shortDuration(sc.Length), shortDuration(sc.WarmUp))
		}
		at := sc.WarmUp + time.Duration(i)*seg + time.Duration(rng.Int64N(int64(free)+1))
		at = at.Truncate(sc.Interval)
		out[i] = Placed{Kind: k, Start: at, End: at + sc.Kinds[k].Duration}
	}
	return out, nil
}

// Run runs the scenario once, with seed, through a new engine for rules.
func (sc *Scenario) Run(ctx context.Context, rules []detect.Rule, seed uint64) (*RunOutcome, error) {
	sc.defaults()
	placed, err := sc.place(seed)
	if err != nil {
		return nil, err
	}
	cfg := sc.Config
	cfg.Seed = seed
	cfg.Incidents = slices.Clone(cfg.Incidents)
	var silent []Placed
	for i, p := range placed {
		k := sc.Kinds[p.Kind]
		if k.Silence {
			silent = append(silent, p)
		}
		if len(k.Changes) > 0 {
			cfg.Incidents = append(cfg.Incidents, simulate.Incident{Name: fmt.Sprintf("%s#%d", k.Name, i), Start: p.Start, Duration: k.Duration, Changes: k.Changes})
		}
	}
	cfg.Start = sc.Start
	sim, err := simulate.New(cfg, sc.Interval)
	if err != nil {
		return nil, err
	}
	sink := &onsetSink{start: sc.Start}
	e, err := detect.NewEngine(rules, detect.Options{Sink: sink, Lateness: sc.Lateness, IdleTimeout: sc.IdleTimeout})
	if err != nil {
		return nil, err
	}
	run := Simulation{Engine: e, Simulator: sim, Host: sc.Host, Start: sc.Start, Interval: sc.Interval}
	opt := RunOptions{}
	if len(silent) > 0 {
		opt.Silent = func(step int64) bool {
			t := time.Duration(step) * sc.Interval
			for _, p := range silent {
				if t >= p.Start && t < p.End {
					return true
				}
			}
			return false
		}
	}
	if _, err := run.RunContext(ctx, 0, int64(sc.Length/sc.Interval), opt); err != nil {
		return nil, err
	}
	return &RunOutcome{Seed: seed, Incidents: placed, Onsets: sink.onsets}, nil
}

// EvalOptions tune Evaluate.
type EvalOptions struct {
	Seeds []uint64
	// Workers running at once (default GOMAXPROCS).
	Workers int
	// Progress, if set, is called after each run with the runs done.
	Progress func(done int)
}

// Evaluation is the outcome of Evaluate.
type Evaluation struct {
	Scenario Scenario
	Rules    []string // the rules' names, in configuration order
	Runs     []*RunOutcome
	Rows     []EvalRow
	// CleanWeeks is the incident-free simulated time (outside every
	// incident and its grace) that false alerts are counted over, in weeks.
	CleanWeeks float64
	// Cancelled: the context ended the evaluation early; Runs and Rows
	// hold the runs completed until then.
	Cancelled bool
}

// EvalRow is one line of an evaluation: how one rule does on one kind of
// incident, and its false alerts.
type EvalRow struct {
	Rule, Group string
	// Incident is the kind's name, "" for a rule no incident expects.
	Incident, Change string
	// NoSuchRule: the scenario expects a rule the configuration lacks.
	NoSuchRule          bool
	Incidents, Detected int
	// Recall is Detected / Incidents (NaN without incidents).
	Recall float64
	// DelayP50 and DelayP95: from the incident's start to the alert, over
	// the detected incidents; -1 if none.
	DelayP50, DelayP95 time.Duration
	// FalseAlerts: onsets of the rule outside every incident and its grace;
	// FalsePerWeek per week of that incident-free simulated time.
	FalseAlerts  int
	FalsePerWeek float64
}

// Evaluate runs the scenario once per seed, on Workers goroutines, each run
// with its own engine over newRules' rules, and sums up the outcomes per
// rule and incident kind. When ctx ends it early, it returns what the runs
// completed until then gave, with Cancelled set.
func Evaluate(ctx context.Context, newRules func() ([]detect.Rule, error), sc Scenario, opt EvalOptions) (*Evaluation, error) {
	sc.defaults()
	rules, err := newRules()
	if err != nil {
		return nil, err
	}
	ev := &Evaluation{Scenario: sc}
	for _, r := range rules {
		ev.Rules = append(ev.Rules, r.Spec().Name)
	}
	if _, err := sc.place(0); err != nil {
		return nil, err
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	seeds := make(chan uint64)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range min(workers, max(len(opt.Seeds), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seed := range seeds {
				rules, err := newRules()
				var out *RunOutcome
				if err == nil {
					out, err = sc.Run(ctx, rules, seed)
				}
				mu.Lock()
				switch {
				case err == nil:
					ev.Runs = append(ev.Runs, out)
					if opt.Progress != nil {
						opt.Progress(len(ev.Runs))
					}
				case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
				case firstErr == nil:
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, s := range opt.Seeds {
		select {
		case seeds <- s:
		case <-ctx.Done():
			break feed
		}
	}
	close(seeds)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	ev.Cancelled = ctx.Err() != nil
	sort.Slice(ev.Runs, func(i, j int) bool { return ev.Runs[i].Seed < ev.Runs[j].Seed })
	ev.summarize()
	return ev, nil
}

// expectation is a rule, and maybe a group, an incident kind expects.
type expectation struct{ rule, group string }

func parseExpectation(s string) expectation {
	if i := strings.IndexByte(s, '['); i > 0 && strings.HasSuffix(s, "]") {
		return expectation{s[:i], s[i+1 : len(s)-1]}
	}
	return expectation{rule: s}
}

func (x expectation) String() string {
	if x.group == "" {
		return x.rule
	}
	return x.rule + "[" + x.group + "]"
}

func (x expectation) matches(o *Onset) bool {
	return o.Rule == x.rule && (x.group == "" || o.Group == x.group)
}

// summarize fills Rows from Runs.
func (ev *Evaluation) summarize() {
	sc := &ev.Scenario
	known := map[string]bool{}
	for _, r := range ev.Rules {
		known[r] = true
	}
	// False alerts, and the incident-free time they are counted over.
	falses := map[string]int{}
	var clean time.Duration
	for _, run := range ev.Runs {
		clean += sc.Length
		for _, p := range run.Incidents {
			clean -= min(p.End+sc.Grace, sc.Length) - p.Start
		}
		for i := range run.Onsets {
			if owner(run, sc, &run.Onsets[i]) < 0 {
				falses[run.Onsets[i].Rule]++
			}
		}
	}
	weeks := clean.Hours() / (7 * 24)
	ev.CleanWeeks = weeks
	perWeek := func(rule string) float64 {
		if weeks <= 0 {
			return math.NaN()
		}
		return float64(falses[rule]) / weeks
	}
	reported := map[string]bool{}
	for k, kind := range sc.Kinds {
		var exps []expectation
		for _, e := range kind.Expect {
			exps = append(exps, parseExpectation(e))
		}
		if len(exps) == 0 {
			// Every rule that caught it at least once.
			caught := map[string]bool{}
			for _, run := range ev.Runs {
				for _, p := range run.Incidents {
					if p.Kind != k {
						continue
					}
					for i := range run.Onsets {
						if o := &run.Onsets[i]; o.At >= p.Start && o.At < p.End+sc.Grace {
							caught[o.Rule] = true
						}
					}
				}
			}
			for _, r := range ev.Rules {
				if caught[r] {
					exps = append(exps, expectation{rule: r})
				}
			}
		}
		for _, x := range exps {
			row := EvalRow{Rule: x.rule, Group: x.group, Incident: kind.Name, Change: kind.Describe(),
				NoSuchRule: !known[x.rule], DelayP50: -1, DelayP95: -1, Recall: math.NaN(),
				FalseAlerts: falses[x.rule], FalsePerWeek: perWeek(x.rule)}
			var delays []time.Duration
			for _, run := range ev.Runs {
				for _, p := range run.Incidents {
					if p.Kind != k {
						continue
					}
					row.Incidents++
					for i := range run.Onsets {
						o := &run.Onsets[i]
						if x.matches(o) && o.At >= p.Start && o.At < p.End+sc.Grace {
							row.Detected++
							delays = append(delays, o.At-p.Start)
							break
						}
					}
				}
			}
			if row.Incidents > 0 {
				row.Recall = float64(row.Detected) / float64(row.Incidents)
			}
			if len(delays) > 0 {
				slices.Sort(delays)
				row.DelayP50, row.DelayP95 = percentile(delays, 0.5), percentile(delays, 0.95)
			}
			reported[x.rule] = true
			ev.Rows = append(ev.Rows, row)
		}
	}
	for _, r := range ev.Rules {
		if !reported[r] {
			ev.Rows = append(ev.Rows, EvalRow{Rule: r, DelayP50: -1, DelayP95: -1, Recall: math.NaN(),
				FalseAlerts: falses[r], FalsePerWeek: perWeek(r)})
		}
	}
}

// owner is the index of the incident whose span (plus grace) holds the
// onset, or -1.
func owner(run *RunOutcome, sc *Scenario, o *Onset) int {
	for i, p := range run.Incidents {
		if o.At >= p.Start && o.At < p.End+sc.Grace {
			return i
		}
	}
	return -1
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// shortDuration prints 30m, 6h, 1h30m, 10s rather than 30m0s.
func shortDuration(d time.Duration) string { return detect.CompactDuration(d) }
