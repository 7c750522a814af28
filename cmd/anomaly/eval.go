package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/replay"
	"github.com/collectd-anomaly/collectd-anomaly/simulate"
)

const evalAbout = `
Measures how well the rules of the collectd configuration FILE detect
incidents of the simulated e-commerce shop. Each run simulates --days of the
shop (the model of FILE's <Simulation> block, or the default model) with one
incident of every kind (--per-run of each) at random times after a warm-up,
through a fresh engine with FILE's rules; runs differ by seed. Per rule and
kind of incident it reports:

  N           incidents of that kind over all runs
  RECALL      the share of them the rule caught: an alert (WARNING or FAILURE)
              of the rule (and group, if the incident names one) from the
              incident's start until --grace after its end
  DELAY       from the incident's start to that alert: median and 95th percentile
  FALSE/WEEK  alerts of the rule outside every incident and its grace, per week
              of that incident-free simulated time

Without --incident, the scenario is the shipped rule pack's: one incident per
task of the exercise, expecting the rules of collectd.conf.d/anomaly.conf.
With --incident, those incidents instead (expect=RULE names the rules meant
to catch one; without it every rule that catches it at least once is shown).

Runs go in parallel (--jobs). A progress bar shows on a terminal; ^C stops
and reports the runs completed (exit status 130).`

func runEval(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "eval", "[flags] FILE", evalAbout)
	seeds := fs.Int("seeds", 20, "number of runs (seeds)")
	firstSeed := fs.Uint64("first-seed", 1, "seed of the first run; the others follow")
	days := fs.Float64("days", 7, "simulated days per run")
	var interval, warmUp, grace time.Duration
	fs.Var(durationFlag{&interval}, "interval", "interval between reads (default 10s, or the <Simulation> Interval)")
	fs.Var(durationFlag{&warmUp}, "warmup", "no incident before this time into a run (default 12h)")
	fs.Var(durationFlag{&grace}, "grace", "alerts until this long after an incident's end belong to it (default 6h)")
	perRun := fs.Int("per-run", 1, "incidents of each kind per run")
	jobs := fs.Int("jobs", 0, "runs at once (default: the number of CPUs)")
	csvOut := fs.String("csv", "", "also write the results as CSV to this `file`")
	var incidents listFlag
	fs.Var(&incidents, "incident", incidentHelp)
	var ruleNames listFlag
	fs.Var(&ruleNames, "rule", "evaluate only this rule (repeatable, or comma-separated names)")
	pos, code, ok := parseArgs(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 || *seeds <= 0 || !(*days > 0 && *days <= maxSimulatedDays) {
		fs.Usage()
		return exitUsage
	}
	src, settings, ok := loadSettings(e, pos[0])
	if !ok {
		return exitFailure
	}
	if _, err := selectRules(settings.Rules, ruleNames); err != nil {
		fmt.Fprintf(e.stderr, "anomaly eval: %v\n", err)
		return exitUsage
	}
	sc, err := scenarioOf(settings, incidents, replay.PackScenario())
	if err != nil {
		fmt.Fprintf(e.stderr, "anomaly eval: %v\n", err)
		return exitUsage
	}
	sc.Length = time.Duration(*days * 24 * float64(time.Hour))
	sc.Interval, sc.WarmUp, sc.Grace, sc.PerRun = interval, warmUp, grace, *perRun
	if sim := settings.Simulation; sim != nil && sim.Interval > 0 && interval == 0 {
		sc.Interval = sim.Interval
	}
	if len(ruleNames) > 0 {
		keep, _ := selectRules(settings.Rules, ruleNames)
		names := map[string]bool{}
		for _, r := range keep {
			names[r.Spec().Name] = true
		}
		var kinds []replay.IncidentKind
		for _, k := range sc.Kinds {
			var expect []string
			for _, x := range k.Expect {
				if name, _, _ := strings.Cut(x, "["); names[name] {
					expect = append(expect, x)
				}
			}
			if len(expect) > 0 || len(k.Expect) == 0 {
				k.Expect = expect
				kinds = append(kinds, k)
			}
		}
		sc.Kinds = kinds
	}
	newRules := rulesOf(src, ruleNames)
	list := seedList(*firstSeed, *seeds)
	bar := newProgress(e, int64(len(list)), "eval", "runs")
	began := time.Now()
	ev, err := replay.Evaluate(ctx, newRules, sc, replay.EvalOptions{Seeds: list, Workers: *jobs,
		Progress: func(done int) { bar.set(int64(done)) }})
	bar.done()
	if err != nil {
		fmt.Fprintf(e.stderr, "anomaly eval: %v\n", err)
		return exitFailure
	}
	elapsed := time.Since(began)
	sc = ev.Scenario
	fmt.Fprintf(e.stdout, "%s of %g simulated days (%s interval, warm-up %s, grace %s), %s per run; rules of %s\n\n",
		plural(len(ev.Runs), "run"), *days, sc.Interval, sc.WarmUp, sc.Grace, plural(len(sc.Kinds)*sc.PerRun, "incident"), pos[0])
	if err := ev.WriteTable(e.stdout); err != nil {
		fmt.Fprintf(e.stderr, "anomaly eval: %v\n", err)
		return exitFailure
	}
	if *csvOut != "" {
		if err := writeFile(*csvOut, ev.WriteCSV); err != nil {
			fmt.Fprintf(e.stderr, "anomaly eval: %v\n", err)
			return exitFailure
		}
	}
	simulated := (time.Duration(len(ev.Runs)) * sc.Length).Hours() / 24
	fmt.Fprintf(e.stderr, "%.4g simulated days in %s (%.3g simulated days per second)\n", simulated, roundDuration(elapsed),
		simulated/elapsed.Seconds())
	if ev.Cancelled {
		fmt.Fprintf(e.stderr, "anomaly eval: interrupted: the table is of the %s completed\n", plural(len(ev.Runs), "run"))
		return exitInterrupted
	}
	return exitOK
}

// writeFile writes a file with write.
func writeFile(path string, write func(w io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// scenarioOf is the evaluation's scenario: the incidents given with
// --incident, or those of fallback; the model of FILE's <Simulation> if it
// has one.
func scenarioOf(settings *conf.Settings, incidents []string, fallback replay.Scenario) (replay.Scenario, error) {
	sc := fallback
	if len(incidents) > 0 {
		sc.Kinds = nil
		for _, s := range incidents {
			in, err := parseIncident(s)
			if err != nil {
				return sc, err
			}
			sc.Kinds = append(sc.Kinds, replay.IncidentKind{Name: in.name, Changes: in.changes, Silence: in.silence,
				Duration: in.duration, Expect: in.expect})
		}
	}
	if sim := settings.Simulation; sim != nil {
		sc.Config = simulate.Config{Params: sim.Config.Params, Mode: sim.Config.Mode, Profile: sim.Config.Profile}
		sc.Interval = sim.Interval
	}
	sc.Lateness, sc.IdleTimeout = settings.AllowedLateness, settings.SeriesIdleTimeout
	return sc, nil
}

// rulesOf gives each run rules of its own, built as the plugin builds them.
func rulesOf(src *conf.Source, names []string) func() ([]detect.Rule, error) {
	blocks := conf.PluginBlocks(src.Root, "anomaly")
	return func() ([]detect.Rule, error) {
		s, err := conf.Parse(blocks...)
		if err != nil {
			return nil, err
		}
		return selectRules(s.Rules, names)
	}
}

func seedList(first uint64, n int) []uint64 {
	list := make([]uint64, 0, n)
	for i := range n {
		list = append(list, first+uint64(i))
	}
	return list
}
