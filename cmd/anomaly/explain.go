package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/replay"
)

// explainOptions are check's --explain flags.
type explainOptions struct {
	incidents listFlag
	seeds     int
	days      float64
	jobs      int
}

const explainAbout = `
With --explain, check measures each rule's trade-off before it goes live:
how many false alerts a week it would send on the shop's normal traffic,
and how fast it catches the incidents named with --incident (the size of
trouble that matters to you, e.g. --incident PageError400=0.15,duration=30m).
Both come from the eval machinery: --seeds runs of --days simulated days of
the shop (the model of FILE's <Simulation> block, or the default model), the
incidents at random times after a 12-hour warm-up. A rule that sends no false
alert in the runs is given the most it could send at 95% confidence: run
more seeds to tighten it.`

// explain prints each rule's false alerts per week and, per incident, its
// recall and delay.
func explain(ctx context.Context, e *env, path string, src *conf.Source, settings *conf.Settings, opt explainOptions) int {
	sc, err := scenarioOf(settings, opt.incidents, replay.Scenario{})
	if err != nil {
		fmt.Fprintf(e.stderr, "anomaly check: %v\n", err)
		return exitUsage
	}
	sc.Length = time.Duration(opt.days * 24 * float64(time.Hour))
	bar := newProgress(e, int64(opt.seeds), "explain", "runs")
	ev, err := replay.Evaluate(ctx, rulesOf(src, nil), sc, replay.EvalOptions{Seeds: seedList(1, opt.seeds), Workers: opt.jobs,
		Progress: func(done int) { bar.set(int64(done)) }})
	bar.done()
	if err != nil {
		fmt.Fprintf(e.stderr, "anomaly check: %v\n", err)
		return exitFailure
	}
	model := "the default model of the shop"
	if settings.Simulation != nil {
		model = "the model of its <Simulation>"
	}
	// A fleet rule counts the states other daemons send: one simulated shop
	// sends none, and its "0 false alerts" would say nothing.
	fleet := map[string]bool{}
	for _, r := range settings.Rules {
		if _, ok := r.(*detect.FleetRule); ok {
			fleet[r.Spec().Name] = true
		}
	}
	writeExplanation(e.stdout, ev, opt.days, model, fleet)
	if ev.Cancelled {
		fmt.Fprintf(e.stderr, "anomaly check: interrupted: the figures are of the %s completed\n", plural(len(ev.Runs), "run"))
		return exitInterrupted
	}
	return exitOK
}

func writeExplanation(w io.Writer, ev *replay.Evaluation, days float64, model string, fleet map[string]bool) {
	sc := &ev.Scenario
	fmt.Fprintf(w, "\nMeasured on %s of %g simulated days (%s, %s interval", plural(len(ev.Runs), "run"), days, model, sc.Interval)
	if len(sc.Kinds) > 0 {
		var names []string
		for _, k := range sc.Kinds {
			names = append(names, k.Describe())
		}
		fmt.Fprintf(w, "; in each, one incident of %s", strings.Join(names, " and one of "))
	}
	fmt.Fprintln(w, "):")
	rows := map[string][]replay.EvalRow{}
	for _, r := range ev.Rows {
		rows[r.Rule] = append(rows[r.Rule], r)
	}
	weeks := ev.CleanWeeks
	for _, rule := range ev.Rules {
		rs := rows[rule]
		if len(rs) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n  %s\n", rule)
		if fleet[rule] {
			fmt.Fprintln(w, "    not measured: a fleet rule counts the states of other hosts' rules, and the simulated shop is one host")
			continue
		}
		fmt.Fprintf(w, "    false alerts: %s\n", falseAlerts(rs[0].FalseAlerts, weeks))
		for _, r := range rs {
			if r.Incident == "" {
				continue
			}
			fmt.Fprintf(w, "    %s: %s\n", r.Change, caught(r))
		}
	}
	for _, k := range sc.Kinds {
		if !caughtByAny(ev, k.Name) {
			fmt.Fprintf(w, "\n  %s: caught by no rule\n", k.Describe())
		}
	}
	if len(sc.Kinds) == 0 {
		fmt.Fprintln(w, "\nName an incident to see how fast each rule catches it, e.g. --incident PageError400=0.15,duration=30m")
	} else {
		fmt.Fprintln(w, "\nOnly rules that caught an incident at least once are shown with it.")
	}
}

// falseAlerts words a count of false alerts over weeks, with the exact
// Poisson upper bound at 95% when the count is small: "none in 10 weeks"
// is not "never".
func falseAlerts(n int, weeks float64) string {
	if weeks <= 0 {
		return "not measured (no incident-free time: make the runs longer)"
	}
	upper := distuv.ChiSquared{K: float64(2 * (n + 1))}.Quantile(0.95) / 2 / weeks
	return fmt.Sprintf("%d in %.3g weeks of normal traffic: %s per week (at most %s at 95%% confidence)",
		n, weeks, rate(float64(n)/weeks), rate(upper))
}

// rate is a rate with the digits that matter: 830, 7.2, 0.54.
func rate(x float64) string {
	switch {
	case x >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case x >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strconv.FormatFloat(x, 'g', 2, 64)
}

func caught(r replay.EvalRow) string {
	if r.Incidents == 0 {
		return "no incident placed"
	}
	s := fmt.Sprintf("caught %d of %d", r.Detected, r.Incidents)
	if r.Detected > 0 {
		s += fmt.Sprintf(", after %s (median), %s (95th percentile)", compact(r.DelayP50), compact(r.DelayP95))
	}
	return s
}

// compact is a delay as people say it: 1m40s, 2h, 5m; "-" for none.
func compact(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return detect.CompactDuration(d.Round(time.Second))
}

func caughtByAny(ev *replay.Evaluation, kind string) bool {
	for _, r := range ev.Rows {
		if r.Incident == kind && r.Detected > 0 {
			return true
		}
	}
	return false
}
