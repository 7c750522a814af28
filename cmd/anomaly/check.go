package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

const checkAbout = `
Reads each configuration file as collectd does - "Key value" lines, <Block>s,
quoted strings, numbers, booleans, comments, continued lines and Include of
files, directories and globs - and builds the rules of its <Plugin anomaly>
blocks with the plugin's own code (the blocks handed over one by one, as
collectd does, then the engine's validation of the rules). Every error names
its file and line: the one collectd would stop at first, then any other
broken rule or option. Without errors it lists the rules and where they are.
Several FILEs are checked alone, then together, in order, as one
configuration (as collectd reads the files of one conf.d): a rule name in
two of them, or two <InfluxDB> blocks, is an error only together.

Exit status: 0 when every file is fine, 1 when one is not, 2 on wrong usage.`

func runCheck(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "check", "[--explain [flags]] FILE...", checkAbout+"\n"+explainAbout)
	quiet := fs.Bool("q", false, "print errors only")
	doExplain := fs.Bool("explain", false, "measure each rule's false alerts per week and detection delay (one FILE)")
	var opt explainOptions
	fs.Var(&opt.incidents, "incident", "with --explain: "+incidentHelp)
	fs.IntVar(&opt.seeds, "seeds", 10, "with --explain: number of simulated runs")
	fs.Float64Var(&opt.days, "days", 7, "with --explain: simulated days per run")
	fs.IntVar(&opt.jobs, "jobs", 0, "with --explain: runs at once (default: the number of CPUs)")
	files, code, ok := parseArgs(fs, args)
	if !ok {
		return code
	}
	if len(files) == 0 || (*doExplain && (len(files) != 1 || opt.seeds <= 0 || opt.days <= 0)) {
		fs.Usage()
		return exitUsage
	}
	if !*doExplain && len(opt.incidents) > 0 {
		fmt.Fprintln(e.stderr, "anomaly check: --incident needs --explain")
		return exitUsage
	}
	if *doExplain {
		src, settings, ok := loadSettings(e, files[0])
		if !ok {
			return exitFailure
		}
		if !*quiet {
			describeSettings(e, files[0], src, settings)
		}
		return explain(ctx, e, files[0], src, settings, opt)
	}
	status := exitOK
	for _, f := range files {
		if !checkFiles(e, f, *quiet, true, f) {
			status = exitFailure
		}
	}
	// Files that are fine alone may clash together (a rule name twice, two
	// <InfluxDB> blocks), as collectd reads them when one conf.d holds them.
	if status == exitOK && len(files) > 1 && !checkFiles(e, "together", *quiet, false, files...) {
		status = exitFailure
	}
	return status
}

// checkFiles checks files as one configuration and reports under path
// (with its warnings if notes: files checked alone have said them); it
// returns whether it is fine.
func checkFiles(e *env, path string, quiet, notes bool, files ...string) bool {
	src, err := conf.ReadSources(files...)
	if err != nil {
		// Syntax errors name the file and line already.
		fmt.Fprintln(e.stderr, err)
		return false
	}
	settings, problems := src.Check()
	for _, n := range src.Notes {
		if !notes {
			break
		}
		fmt.Fprintf(e.stderr, "%s: warning: %v\n", n.Pos, n.Err)
	}
	if len(problems) > 0 {
		for _, p := range problems {
			if p.Pos.File == "" {
				fmt.Fprintf(e.stderr, "%s: %v\n", path, p.Err)
			} else {
				fmt.Fprintln(e.stderr, p.Error())
			}
		}
		return false
	}
	if quiet {
		return true
	}
	describeSettings(e, path, src, settings)
	return true
}

// describeSettings lists what a valid configuration sets up.
func describeSettings(e *env, path string, src *conf.Source, s *conf.Settings) {
	fmt.Fprintf(e.stdout, "%s: OK, %s\n", path, plural(len(s.Rules), "rule"))
	where := map[string]string{}
	for _, p := range src.PluginBlocks("anomaly") {
		for _, c := range p.Children() {
			if len(c.Values) == 1 && c.Values[0].IsString() {
				if _, seen := where[c.Values[0].String()]; !seen {
					where[c.Values[0].String()] = c.Pos.String()
				}
			}
		}
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 8, 2, ' ', 0)
	for _, r := range s.Rules {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.Spec().Name, r.Kind(), groupingOf(r), where[r.Spec().Name])
	}
	tw.Flush()
	if sim := s.Simulation; sim != nil {
		seed := "a random seed"
		if sim.SeedSet {
			seed = fmt.Sprintf("seed %d", sim.Config.Seed)
		}
		fmt.Fprintf(e.stdout, "  simulation: %s mode, %s, %s\n", sim.Config.Mode, seed, plural(len(sim.Config.Incidents), "incident"))
	}
	if s.TimeScale != 1 {
		fmt.Fprintf(e.stdout, "  TimeScale %g: every duration of the rules is divided by it\n", s.TimeScale)
	}
	if !src.Loads("anomaly") {
		fmt.Fprintf(e.stdout, "  note: no LoadPlugin anomaly here; another file of collectd's configuration must load the plugin\n")
	}
}

// groupingOf says how a rule splits its state.
func groupingOf(r detect.Rule) string {
	spec := r.Spec()
	var parts []string
	if spec.AggregateHosts {
		parts = append(parts, "all hosts together")
	} else {
		parts = append(parts, "per host")
	}
	if spec.PerSeries {
		parts = append(parts, "per series")
	}
	return strings.Join(parts, ", ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
