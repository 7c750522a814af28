package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/replay"
	"github.com/collectd-anomaly/collectd-anomaly/simulate"
)

const replayAbout = `
Runs the rules of the collectd configuration FILE (its <Plugin anomaly>
blocks, read as the plugin reads them) over data in simulated time and
prints the alerts the plugin would have sent: a table of the changes of
alert level, then a summary per rule.

The data comes from one of:
  --csv FILE         a CSV file: time,identifier,value (identifier as collectd
                     writes it, [host/]plugin[-instance]/type[-instance]), or
                     timestamp,value with --series NAME. Times are Unix seconds,
                     RFC 3339 or "2006-01-02 15:04:05" (UTC).
  --influxdb URL     an InfluxDB 1.x server (InfluxQL over HTTP), with --db and
                     the range --from/--to or --last; series are mapped back to
                     collectd identifiers as the plugin's InfluxDB writer names
                     them (measurement plugin, tags host, plugin_instance, type,
                     type_instance, a field per data source), or with
                     --naming collectd as InfluxDB's collectd input does
                     (measurement plugin_ds, tags host, instance, type,
                     type_instance, field value).
  neither            the simulated e-commerce shop: --days, --seed, --incident;
                     a <Simulation> block in FILE sets the model, seed,
                     incidents, host and interval (the flags override them).
The data source types of CSV and InfluxDB series (a gauge, or a counter or
derive whose increments are judged) come from collectd's types.db
(--typesdb, by default the system's), by the type's name where it has none.

Outputs: --json prints one JSON object per alert instead of the table;
--report DIR writes DIR/index.html with a chart per rule and group (what the
rule judged, its baseline, its WARNING and FAILURE bounds, the alerts as
shaded spans and the simulator's incidents, each chart with a legend of
what it draws and the rule's unit on its y axis) and under the charts the
rule's block as written in FILE;
--scores FILE writes, for a single series from CSV, per row in the file's
order the rules' state (0 ok, 1 warning, 2 failure), a score in [0, 1] (1/2
at the bound that raises an alert; 1 - p for <Anomaly>, p its calibrated
tail probability) and log10p, the logarithm of the smallest tail probability
(empty where no rule judges by one), all at full precision.

A progress bar shows on a terminal. ^C stops the replay and prints what was
found until then (exit status 130).`

type replayOptions struct {
	csv, series, host string
	typesDB           string
	interval          time.Duration
	maxSeries         int

	influx, db, rp, user, measurement, where, naming string
	from, to                                         string
	last                                             time.Duration

	days     float64
	seed     int64
	start    string
	incident listFlag

	json, all, quiet bool
	rules            listFlag
	report, scores   string
}

func runReplay(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "replay", "[flags] FILE", replayAbout)
	var o replayOptions
	fs.StringVar(&o.csv, "csv", "", "read the values from this CSV `file` (- for standard input)")
	fs.StringVar(&o.series, "series", "", "the series of a two-column CSV (timestamp,value): a collectd `identifier`")
	fs.StringVar(&o.host, "host", "", "host of series named without one (CSV; default replay), or of the simulated values (default shop)")
	fs.StringVar(&o.typesDB, "typesdb", "", "collectd's types.db `file`, for the data source types of CSV and InfluxDB series (default "+replay.SystemTypesDB+" if present; \"none\" guesses by the type's name)")
	fs.IntVar(&o.maxSeries, "max-series", replay.DefaultMaxSeries, "refuse a CSV file with more series than this (bounds memory: about 0.2 KB per series and 16 bytes per value, plus the rules' state)")
	fs.Var(durationFlag{&o.interval}, "interval", "interval between values (default: inferred for CSV and InfluxDB, 10s or <Simulation> Interval for the simulator)")
	fs.StringVar(&o.influx, "influxdb", "", "read the values from the InfluxDB server at this `URL` (http://127.0.0.1:8086)")
	fs.StringVar(&o.db, "db", "collectd", "InfluxDB database")
	fs.StringVar(&o.rp, "rp", "", "InfluxDB retention policy (default: the database's)")
	fs.StringVar(&o.user, "user", "", "InfluxDB user (the password from $INFLUX_PASSWORD)")
	fs.StringVar(&o.measurement, "measurement", "", "InfluxQL `regex` of the measurements to read (default all)")
	fs.StringVar(&o.naming, "naming", "plugin", "InfluxDB naming of the series: plugin (this plugin's writer) or collectd (InfluxDB's collectd input)")
	fs.StringVar(&o.where, "where", "", "extra InfluxQL condition, e.g. \"host = 'shop'\"")
	fs.StringVar(&o.from, "from", "", "InfluxDB: start of the range (RFC 3339 or a date)")
	fs.StringVar(&o.to, "to", "", "InfluxDB: end of the range (default now)")
	fs.Var(durationFlag{&o.last}, "last", "InfluxDB: the range is this long up to --to (default 7d when --from is not given)")
	fs.Float64Var(&o.days, "days", 7, "simulator: days to simulate")
	fs.Int64Var(&o.seed, "seed", -1, "simulator: seed (default: <Simulation> Seed, or 1)")
	fs.StringVar(&o.start, "start", "", "simulator: start of the simulated time (default 2026-01-05T00:00:00Z)")
	fs.Var(&o.incident, "incident", "simulator: "+incidentHelp)
	fs.BoolVar(&o.json, "json", false, "print alerts as JSON lines")
	fs.BoolVar(&o.all, "all", false, "print every notification, periodic reports and repeats included")
	fs.BoolVar(&o.quiet, "q", false, "no summary")
	fs.Var(&o.rules, "rule", "replay only this rule (repeatable, or comma-separated names)")
	fs.StringVar(&o.report, "report", "", "write an HTML report with charts into this `directory`")
	fs.StringVar(&o.scores, "scores", "", "write per-timestamp state and score of a single CSV series to this CSV `file`")
	pos, code, ok := parseArgs(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fs.Usage()
		return exitUsage
	}
	if o.csv != "" && o.influx != "" {
		fmt.Fprintln(e.stderr, "anomaly replay: --csv and --influxdb are two sources: give one")
		return exitUsage
	}
	if o.scores != "" && o.csv == "" {
		fmt.Fprintln(e.stderr, "anomaly replay: --scores needs a single series from --csv")
		return exitUsage
	}
	src, settings, ok := loadSettings(e, pos[0])
	if !ok {
		return exitFailure
	}
	rules, err := selectRules(settings.Rules, o.rules)
	if err != nil {
		fmt.Fprintf(e.stderr, "anomaly replay: %v\n", err)
		return exitUsage
	}
	r := &replayRun{e: e, o: &o, settings: settings, rules: rules, config: pos[0], blocks: src.RuleBlocks()}
	return r.run(ctx)
}

// loadSettings reads and checks a configuration, reporting problems.
func loadSettings(e *env, path string) (*conf.Source, *conf.Settings, bool) {
	src, err := conf.ReadSource(path)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return nil, nil, false
	}
	s, problems := src.Check()
	if len(problems) > 0 {
		for _, n := range src.Notes {
			fmt.Fprintf(e.stderr, "%s: warning: %v\n", n.Pos, n.Err)
		}
		for _, p := range problems {
			if p.Pos.File == "" {
				fmt.Fprintf(e.stderr, "%s: %v\n", path, p.Err)
			} else {
				fmt.Fprintln(e.stderr, p.Error())
			}
		}
		return nil, nil, false
	}
	return src, s, true
}

// selectRules keeps the named rules (all when names is empty).
func selectRules(rules []detect.Rule, names []string) ([]detect.Rule, error) {
	if len(names) == 0 {
		return rules, nil
	}
	want := map[string]bool{}
	for _, n := range names {
		for _, part := range strings.Split(n, ",") {
			if part = strings.TrimSpace(part); part != "" {
				want[part] = true
			}
		}
	}
	var out []detect.Rule
	var all []string
	for _, r := range rules {
		all = append(all, r.Spec().Name)
		if want[r.Spec().Name] {
			out = append(out, r)
			delete(want, r.Spec().Name)
		}
	}
	if len(want) > 0 {
		var missing []string
		for n := range want {
			missing = append(missing, n)
		}
		return nil, fmt.Errorf("no rule named %s (the rules are %s)", strings.Join(missing, ", "), strings.Join(all, ", "))
	}
	return out, nil
}

// replayRun is one replay: its source, engine and outputs.
type replayRun struct {
	e        *env
	o        *replayOptions
	settings *conf.Settings
	rules    []detect.Rule
	config   string
	blocks   []conf.RuleBlock // the rules as written, for the report

	recorder  *replay.Recorder
	tracer    *replay.Tracer
	engine    *detect.Engine
	from, to  time.Time
	source    string
	incidents []replay.Span
	csvRec    *replay.Recording
	reached   time.Time // where an interrupted simulation stopped
}

// build makes the engine, with a tracer when charts or scores are wanted.
func (r *replayRun) build(from, to time.Time) error {
	r.from, r.to = from, to
	r.recorder = &replay.Recorder{}
	rules := r.rules
	var sink detect.Sink = r.recorder
	if r.o.report != "" || r.o.scores != "" {
		r.tracer = &replay.Tracer{Sink: r.recorder, From: from, To: to, Slots: r.o.scores != ""}
		if r.o.report != "" {
			r.tracer.Buckets = 1000
		}
		rules = r.tracer.Wrap(rules)
		sink = r.tracer
	}
	var err error
	// As the plugin builds it (configure), but on the values' clock alone.
	r.engine, err = detect.NewEngine(rules, detect.Options{Sink: sink, MaxSeries: r.settings.MaxSeries,
		Lateness: r.settings.AllowedLateness, IdleTimeout: r.settings.SeriesIdleTimeout, States: r.settings.StateSeries})
	return err
}

func (r *replayRun) run(ctx context.Context) int {
	e, o := r.e, r.o
	began := time.Now()
	var values int64
	var err error
	switch {
	case o.csv != "":
		values, err = r.fromCSV(ctx)
	case o.influx != "":
		values, err = r.fromInfluxDB(ctx)
	default:
		values, err = r.fromSimulator(ctx)
	}
	interrupted := errors.Is(err, context.Canceled)
	if err != nil && !interrupted {
		fmt.Fprintf(e.stderr, "anomaly replay: %v\n", err)
		return exitFailure
	}
	elapsed := time.Since(began)
	if r.engine == nil {
		// Interrupted before anything was replayed.
		fmt.Fprintln(e.stderr, "anomaly replay: interrupted")
		return exitInterrupted
	}
	if code := r.output(); code != exitOK {
		return code
	}
	st := r.engine.Stats()
	fmt.Fprintf(e.stderr, "replayed %d values (%d series) in %s: %.3g values/s", values, st.Series, roundDuration(elapsed), float64(values)/elapsed.Seconds())
	if st.NaN+st.Infinite+st.Stale+st.Late+st.Malformed+st.SeriesDropped > 0 {
		fmt.Fprintf(e.stderr, "; not used: %d NaN, %d infinite, %d repeated, %d late, %d malformed, %d beyond MaxSeries",
			st.NaN, st.Infinite, st.Stale, st.Late, st.Malformed, st.SeriesDropped)
	}
	fmt.Fprintln(e.stderr)
	if interrupted {
		until := "then"
		if !r.reached.IsZero() {
			until = r.reached.UTC().Format(replay.TimeFormat) + " (simulated time)"
		}
		fmt.Fprintf(e.stderr, "anomaly replay: interrupted: the alerts above are those until %s\n", until)
		return exitInterrupted
	}
	return exitOK
}

// output prints the alerts and writes the report and scores.
func (r *replayRun) output() int {
	e, o := r.e, r.o
	alerts := r.recorder.Alerts()
	shown := alerts
	if !o.all {
		shown = replay.Changes(alerts)
	}
	var err error
	if o.json {
		err = replay.WriteAlertJSON(e.stdout, shown)
	} else {
		err = replay.WriteAlertTable(e.stdout, shown)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "anomaly replay: %v\n", err)
		return exitFailure
	}
	if !o.quiet {
		w := e.stdout
		if o.json {
			w = e.stderr
		}
		fmt.Fprintln(w)
		_ = replay.WriteSummary(w, replay.Summarize(r.rules, alerts, r.to))
	}
	if o.report != "" {
		rep := &replay.Report{Title: "anomaly replay: " + r.config, Source: r.source, From: r.from, To: r.to,
			Rules: r.rules, Traces: r.tracer.Traces(), Alerts: alerts, Incidents: r.incidents, RuleBlocks: r.blocks}
		if err := rep.Write(o.report); err != nil {
			fmt.Fprintf(e.stderr, "anomaly replay: report: %v\n", err)
			return exitFailure
		}
		fmt.Fprintf(e.stderr, "report: %s\n", strings.TrimSuffix(o.report, "/")+"/index.html")
	}
	if o.scores != "" {
		if err := r.writeScores(); err != nil {
			fmt.Fprintf(e.stderr, "anomaly replay: scores: %v\n", err)
			return exitFailure
		}
	}
	return exitOK
}

// types reads the types.db of --typesdb.
func (o *replayOptions) types() (replay.TypesDB, error) {
	if o.typesDB == "none" {
		return nil, nil
	}
	db, err := replay.LoadTypesDB(o.typesDB)
	if err != nil {
		return nil, fmt.Errorf("--typesdb: %v", err)
	}
	return db, nil
}

func (r *replayRun) writeScores() error {
	f, err := os.Create(r.o.scores)
	if err != nil {
		return err
	}
	if err := replay.WriteScores(f, r.csvRec, r.tracer.Traces()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (r *replayRun) fromCSV(ctx context.Context) (int64, error) {
	o := r.o
	in := os.Stdin
	name := "standard input"
	if o.csv != "-" {
		f, err := os.Open(o.csv)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		in, name = f, o.csv
	}
	types, err := o.types()
	if err != nil {
		return 0, err
	}
	rec, err := replay.ReadCSV(in, name, replay.CSVOptions{Series: o.series, Host: o.host, Interval: o.interval, MaxSeries: o.maxSeries, Types: types})
	if err != nil {
		return 0, err
	}
	if rec.Len() == 0 {
		return 0, fmt.Errorf("%s: no values", name)
	}
	if o.scores != "" && len(rec.Series) != 1 {
		return 0, fmt.Errorf("--scores needs a single series; %s has %d", name, len(rec.Series))
	}
	r.csvRec = rec
	r.source = fmt.Sprintf("%d values of %d series from %s.", rec.Len(), len(rec.Series), name)
	return r.play(ctx, rec)
}

// play replays a recording with a progress bar.
func (r *replayRun) play(ctx context.Context, rec *replay.Recording) (int64, error) {
	for _, w := range replay.Warnings(r.rules, rec) {
		fmt.Fprintf(r.e.stderr, "anomaly replay: warning: %s\n", w)
	}
	end := rec.End().Add(rec.Series[0].Interval)
	if err := r.build(rec.Start(), end); err != nil {
		return 0, err
	}
	bar := newProgress(r.e, int64(rec.Len()), "replay", "values")
	n, err := rec.Play(ctx, r.engine, replay.PlayOptions{Tracer: r.tracer, Progress: func(done int) { bar.set(int64(done)) }})
	bar.done()
	return int64(n), err
}

func (r *replayRun) fromInfluxDB(ctx context.Context) (int64, error) {
	o := r.o
	to := time.Now().UTC()
	if o.to != "" {
		t, err := parseTime(o.to)
		if err != nil {
			return 0, fmt.Errorf("--to: %v", err)
		}
		to = t
	}
	var from time.Time
	switch {
	case o.from != "":
		t, err := parseTime(o.from)
		if err != nil {
			return 0, fmt.Errorf("--from: %v", err)
		}
		from = t
	case o.last > 0:
		from = to.Add(-o.last)
	default:
		from = to.Add(-7 * 24 * time.Hour)
	}
	types, err := o.types()
	if err != nil {
		return 0, err
	}
	src := &replay.InfluxDB{URL: o.influx, Database: o.db, RetentionPolicy: o.rp, User: o.user,
		Password: os.Getenv("INFLUX_PASSWORD"), Measurements: o.measurement, Where: o.where,
		Start: from, End: to, Interval: o.interval, Types: types}
	switch o.naming {
	case "plugin":
		src.Mapping = replay.PluginMapping
	case "collectd":
		src.Mapping = replay.CollectdMapping
	default:
		return 0, fmt.Errorf("--naming %q: want plugin or collectd", o.naming)
	}
	bar := newProgress(r.e, int64(to.Sub(from)/time.Second), "query", "s")
	rec, err := src.Read(ctx, func(done, _ time.Duration) { bar.set(int64(done / time.Second)) })
	bar.done()
	if err != nil {
		return 0, err
	}
	if rec.Len() == 0 {
		return 0, fmt.Errorf("InfluxDB %s, database %s: no values from %s to %s", o.influx, o.db, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	r.source = fmt.Sprintf("%d values of %d series from InfluxDB %s, database %s.", rec.Len(), len(rec.Series), o.influx, o.db)
	n, err := r.play(ctx, rec)
	r.from, r.to = from, to
	return n, err
}

func (r *replayRun) fromSimulator(ctx context.Context) (int64, error) {
	o := r.o
	cfg := simulate.Config{Params: simulate.DefaultParams(), Seed: 1}
	interval, host := 10*time.Second, "shop"
	if sim := r.settings.Simulation; sim != nil {
		cfg = sim.Config
		if !sim.SeedSet {
			cfg.Seed = 1
		}
		if sim.Interval > 0 {
			interval = sim.Interval
		}
		if sim.Host != "" {
			host = sim.Host
		}
	}
	if o.seed >= 0 {
		cfg.Seed = uint64(o.seed)
	}
	if o.interval > 0 {
		interval = o.interval
	}
	if o.host != "" {
		host = o.host
	}
	start := replay.DefaultStart
	if o.start != "" {
		t, err := parseTime(o.start)
		if err != nil {
			return 0, fmt.Errorf("--start: %v", err)
		}
		start = t
	}
	var silent []replay.Span
	for _, s := range o.incident {
		in, err := parseIncident(s)
		if err != nil {
			return 0, err
		}
		if !in.hasStart {
			return 0, fmt.Errorf("incident %q: want start=D, from the start of the run", s)
		}
		if in.silence {
			silent = append(silent, replay.Span{Name: in.name, Start: start.Add(in.start), End: start.Add(in.start + in.duration)})
		}
		if len(in.changes) > 0 {
			cfg.Incidents = append(cfg.Incidents, simulate.Incident{Name: in.name, Start: in.start, Duration: in.duration, Changes: in.changes})
		}
	}
	cfg.Start = start
	sim, err := simulate.New(cfg, interval)
	if err != nil {
		return 0, fmt.Errorf("simulation: %v", err)
	}
	for _, in := range cfg.Incidents {
		r.incidents = append(r.incidents, replay.Span{Name: in.Name, Start: start.Add(in.Start), End: start.Add(in.Start + in.Duration)})
	}
	r.incidents = append(r.incidents, silent...)
	if !(o.days <= maxSimulatedDays) {
		return 0, fmt.Errorf("--days %g: at most %d (a century)", o.days, maxSimulatedDays)
	}
	length := time.Duration(o.days * 24 * float64(time.Hour))
	steps := int64(length / interval)
	if steps <= 0 {
		return 0, fmt.Errorf("--days %g: nothing to simulate", o.days)
	}
	if err := r.build(start, start.Add(time.Duration(steps)*interval)); err != nil {
		return 0, err
	}
	r.source = fmt.Sprintf("The simulated shop (host %s): %g days at a %s interval, seed %d, %s.", host, o.days, interval, cfg.Seed,
		plural(len(r.incidents), "incident"))
	run := replay.Simulation{Engine: r.engine, Simulator: sim, Host: host, Start: start, Interval: interval}
	opt := replay.RunOptions{Tracer: r.tracer}
	if len(silent) > 0 {
		opt.Silent = func(step int64) bool {
			t := run.Time(step)
			for _, s := range silent {
				if !t.Before(s.Start) && t.Before(s.End) {
					return true
				}
			}
			return false
		}
	}
	bar := newProgress(r.e, steps, "simulate", "reads")
	opt.Progress = func(step int64) { bar.set(step) }
	done, err := run.RunContext(ctx, 0, steps, opt)
	bar.done()
	if err != nil {
		r.reached = run.Time(done)
	}
	return done * int64(len(sim.Names())), err
}

// roundDuration keeps three significant digits or so of a run time.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// maxSimulatedDays bounds --days where a time.Duration (292 years) would
// overflow into a negative length.
const maxSimulatedDays = 36500
