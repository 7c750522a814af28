package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"collectd.org/api"
	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/bridge"
	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
	"github.com/collectd-anomaly/collectd-anomaly/simulate"
)

type anomalyPlugin struct {
	host daemon

	// Set during configuration, which collectd runs on one thread before
	// any read or write; read-only afterwards except engine.
	blocks         []config.Block
	settings       *conf.Settings
	registered     bool // callbacks registered (by init)
	initRegistered bool
	interval       time.Duration // of the read callback: engine ticks and simulated reads
	statsHost      string        // the host of the plugin's own statistics (stats.go), set by init
	engine         atomic.Pointer[detect.Engine]

	// outputs are where value lists and alerts go beside the engine
	// (output.go), set by init; notes is the first of them.
	outputs atomic.Pointer[[]output]
	notes   *notifications
	// Counted for the plugin's statistics (stats.go).
	dropped              atomic.Uint64 // queued alerts dropped
	derivedDropped       atomic.Uint64 // derived values dropped (derivedQueue)
	notified, summarised atomic.Uint64 // notifications dispatched; alerts in summaries
	reportMu             sync.Mutex
	lastReport           counters // the read callback's, at its last run
	beyondMaxSeries      bool     // series are being refused (stats.go)
	droppedBefore        uint64   // value lists refused before the episode

	simMu sync.Mutex // collectd may run reads of one plugin concurrently
	sim   *simulation

	silences *silencer    // set by init if SilenceFile is (silence.go)
	state    *stateKeeper // set by init if StateFile is (state.go)
}

func newPlugin(h daemon) *anomalyPlugin {
	return &anomalyPlugin{host: h}
}

// configure is called once per <Plugin anomaly> block. An error makes
// collectd refuse the configuration, naming the offending option. The blocks
// add up; the callbacks are registered by init, once all are read.
func (p *anomalyPlugin) configure(b config.Block) error {
	blocks := append(p.blocks, b)
	s, err := conf.Parse(blocks...)
	if err != nil {
		return err
	}
	e, err := detect.NewEngine(s.Rules, detect.Options{Sink: p, MaxSeries: s.MaxSeries, Now: time.Now, Lateness: s.AllowedLateness,
		IdleTimeout: s.SeriesIdleTimeout, States: s.StateSeries})
	if err != nil {
		return err
	}
	if s.Simulation != nil && !s.Simulation.SeedSet {
		// Logged by describe, so that the run can be repeated: it must be a
		// Seed that the configuration accepts (a whole number up to 2^31-1).
		s.Simulation.Config.Seed = rand.Uint64N(math.MaxInt32 + 1)
	}
	if !p.initRegistered {
		if err := p.host.registerInit(p.init); err != nil {
			return err
		}
		p.initRegistered = true
	}
	p.blocks, p.settings = blocks, s
	p.engine.Store(e)
	return nil
}

// init runs when collectd has read its whole configuration: it registers
// the callbacks, with the read callback's interval known at last.
func (p *anomalyPlugin) init() error {
	if p.registered {
		return nil
	}
	p.interval = p.host.defaultInterval()
	p.statsHost = p.collectorHost()
	if s := p.settings.Simulation; s != nil && s.Interval > 0 {
		p.interval = s.Interval
	}
	if f := p.settings.SilenceFile; f != "" {
		// Before the callbacks: the engine consults it from the first alert.
		p.silences = newSilencer(f, p.host)
		p.silences.check(time.Now())
	}
	if p.settings.StateFile != "" {
		// Before the callbacks: the engine must not have seen a value.
		p.state = newStateKeeper(p)
		p.state.restore(time.Now())
	}
	// Everything the plugin hands collectd later comes from its own
	// goroutines: they need the plugin's context (bridge.SaveContext).
	if err := p.host.saveContext(p.interval); err != nil {
		return err
	}
	// What can fail comes before the callbacks: collectd unloads a plugin
	// whose init fails, but only its read callback - a write callback
	// registered before would judge every value and send nothing, and a
	// shutdown callback wait for a state keeper that never ran.
	if err := p.startOutputs(); err != nil {
		return err
	}
	if err := p.host.registerCallbacks(p); err != nil {
		for _, o := range p.loadOutputs() {
			o.close()
		}
		return err
	}
	p.registered = true
	if p.state != nil {
		p.state.start()
	}
	p.host.infof("anomaly plugin: %s", p.describe())
	return nil
}

func (p *anomalyPlugin) describe() string {
	var names []string
	for _, r := range p.settings.Rules {
		names = append(names, r.Kind()+" "+r.Spec().Name)
	}
	sim := "no simulation"
	if s := p.settings.Simulation; s != nil {
		sim = fmt.Sprintf("simulating e-commerce traffic (seed %d, %s mode, %d incidents)",
			s.Config.Seed, s.Config.Mode, len(s.Config.Incidents))
	}
	return fmt.Sprintf("%d rules (%s); %s", len(names), strings.Join(names, ", "), sim)
}

// write is the write callback: every value list collectd handles passes here.
func (p *anomalyPlugin) write(vl *metric.ValueList) error {
	if !p.ownStatistics(&vl.Identifier) {
		p.engine.Load().Observe(vl)
	}
	for _, o := range p.loadOutputs() {
		o.writeValues(vl)
	}
	return nil
}

// Read is the read callback, run every interval: it advances the engine's
// clock (so silent series are judged) and dispatches simulated traffic.
func (p *anomalyPlugin) Read(ctx context.Context) (err error) {
	// collectd.org's read wrapper does not recover: a panic must not cross
	// into collectd.
	defer recoverTo(&err, "read callback")
	now := time.Now()
	p.engine.Load().Tick(now)
	defer p.report(ctx, now)
	if p.settings.Simulation == nil {
		return nil
	}
	return p.simulate(ctx, now)
}

// Alert implements detect.Sink. The engine calls it with a group locked,
// so the outputs only queue: InfluxDB gets every alert, collectd's
// notification chain the first of a burst and then summaries (burst.go),
// and nothing a silence holds (silence.go).
func (p *anomalyPlugin) Alert(a detect.Alert) {
	if p.silences != nil {
		p.silences.hold(&a, time.Now()) // sets a.Silenced
	}
	for _, o := range p.loadOutputs() {
		o.writeAlert(&a)
	}
}

// Value implements detect.Sink for derived series: they go back into
// collectd from the notifications' goroutine, which has collectd's context.
func (p *anomalyPlugin) Value(v detect.DerivedValue) {
	if p.notes == nil {
		p.derivedDropped.Add(1)
		return
	}
	p.notes.queueValue(v)
}

// dispatchDerived sends a rule's derived value back into collectd, so every
// write plugin stores it like any other value.
func (p *anomalyPlugin) dispatchDerived(v *detect.DerivedValue) {
	defer func() {
		if r := recover(); r != nil {
			p.host.errorf("anomaly plugin: dispatching %s panicked: %v", v.Name, r)
		}
	}()
	host := v.Host
	if host == "" {
		host = p.settings.Hostname
	}
	// A group of one series is named after it ("cpu-0/percent-user"); a
	// slash would split the derived value's identifier in collectd.
	g := &bridge.Gauge{Host: host, Plugin: "anomaly", PluginInstance: strings.ReplaceAll(v.Group, "/", "_"), Type: "gauge", TypeInstance: v.Name,
		Time: v.Time, Interval: v.Interval, Value: v.Value}
	if err := p.host.dispatchGauge(g); err != nil {
		p.host.errorf("anomaly plugin: dispatching %s: %v", v.Name, err)
	}
}

// collectorHost is the host a notification of the plugin itself names.
func (p *anomalyPlugin) collectorHost() string {
	if p.settings.Hostname != "" {
		return p.settings.Hostname
	}
	return p.host.hostname()
}

var severities = map[detect.Level]bridge.Severity{detect.OK: bridge.Okay, detect.Warning: bridge.Warning, detect.Failure: bridge.Failure}

// notification maps an alert onto collectd's notification fields:
// plugin "anomaly", plugin instance the group (a provider, say), type the
// rule's kind and type instance the rule's name; the facts again as meta data.
func (p *anomalyPlugin) notification(a *detect.Alert) *bridge.Notification {
	host := a.Host
	if host == "" {
		// collectd fills in an empty host of a value list, not of a notification.
		host = p.collectorHost()
	}
	meta := []bridge.Meta{
		{Key: "rule", Value: a.Rule},
		{Key: "kind", Value: a.Kind},
		{Key: "series", Value: a.Series},
		{Key: "previous", Value: a.Previous.String()},
		{Key: "observed", Value: a.Observed},
		{Key: "window_seconds", Value: a.Window.Seconds()},
	}
	if a.Group != "" {
		meta = append(meta, bridge.Meta{Key: "group", Value: a.Group})
	}
	if !math.IsNaN(a.Threshold) {
		meta = append(meta, bridge.Meta{Key: "threshold", Value: a.Threshold})
	}
	if !math.IsNaN(a.Baseline) {
		meta = append(meta, bridge.Meta{Key: "baseline", Value: a.Baseline})
	}
	if !math.IsNaN(a.Probability) {
		meta = append(meta, bridge.Meta{Key: "probability", Value: a.Probability})
	}
	if a.Repeat {
		meta = append(meta, bridge.Meta{Key: "repeat", Value: "true"})
	}
	if a.Runbook != "" {
		meta = append(meta, bridge.Meta{Key: "runbook", Value: a.Runbook})
	}
	if a.Silenced != "" {
		// Sent late, when the silence that held it ended.
		meta = append(meta, bridge.Meta{Key: "silenced", Value: a.Silenced})
	}
	return &bridge.Notification{
		Severity:       severities[a.Severity],
		Time:           a.Time,
		Host:           host,
		Plugin:         "anomaly",
		PluginInstance: a.Group,
		Type:           a.Kind,
		TypeInstance:   a.Rule,
		Message:        fitMessage(a.Message, a.Runbook),
		Meta:           meta,
	}
}

// fitMessage keeps a message that ends with its runbook within collectd's
// MaxMessage bytes by shortening what comes before the runbook: cut at the
// end, a pager would show half a link.
func fitMessage(msg, runbook string) string {
	suffix := detect.RunbookSuffix(runbook)
	if len(msg) <= bridge.MaxMessage || runbook == "" || !strings.HasSuffix(msg, suffix) {
		return msg
	}
	const ellipsis = "…"
	keep := bridge.MaxMessage - len(suffix) - len(ellipsis)
	if keep <= 0 {
		return msg // a runbook longer than the message can hold: cut as any
	}
	body := msg[:keep]
	for len(body) > 0 && !utf8.RuneStart(msg[len(body)]) {
		body = body[:len(body)-1]
	}
	return body + ellipsis + suffix
}

// Shutdown delivers what the outputs hold: the notifications still queued,
// then what InfluxDB has not been sent.
func (p *anomalyPlugin) Shutdown(context.Context) (err error) {
	defer recoverTo(&err, "shutdown callback")
	// collectd has stopped its write threads: the value lists still in the
	// write ring go through the engine before its alerts are drained.
	p.host.stopWriter()
	if p.state != nil {
		// Every value list has gone through the engine: its state is whole.
		p.state.shutdown()
	}
	for _, o := range p.loadOutputs() {
		o.close()
	}
	p.reportFinal()
	return nil
}

// simulation is the simulator and where it stands.
type simulation struct {
	sim       *simulate.Simulator
	interval  time.Duration
	step      int64
	incidents map[string]bool
}

func (p *anomalyPlugin) simulate(ctx context.Context, now time.Time) error {
	p.simMu.Lock()
	defer p.simMu.Unlock()
	cfg := p.settings.Simulation
	if p.sim == nil {
		c := cfg.Config
		c.Start = now // the profile's hours are those of the first read
		s, err := simulate.New(c, p.interval)
		if err != nil {
			return err
		}
		p.sim = &simulation{sim: s, interval: p.interval, incidents: map[string]bool{}}
	}
	s := p.sim
	step := s.step
	s.step++
	p.logIncidents(s, step)
	for _, v := range s.sim.Step(step) {
		var value api.Value = api.Gauge(v.Value)
		if v.Counter() {
			value = api.Counter(uint64(v.Value))
		}
		vl := &api.ValueList{
			Identifier: api.Identifier{Host: cfg.Host, Plugin: simulate.Plugin, Type: v.Type, TypeInstance: v.TypeInstance},
			Time:       now,
			Interval:   s.interval,
			Values:     []api.Value{value},
			DSNames:    []string{"value"},
		}
		if err := p.host.dispatch(ctx, vl); err != nil {
			return fmt.Errorf("dispatching %s/%s-%s: %w", simulate.Plugin, v.Type, v.TypeInstance, err)
		}
	}
	return nil
}

// logIncidents says when a simulated incident starts and ends, so that a
// person watching the log can tell cause from effect.
func (p *anomalyPlugin) logIncidents(s *simulation, step int64) {
	active := map[string]bool{}
	for _, name := range s.sim.ActiveIncidents(step) {
		active[name] = true
		if !s.incidents[name] {
			p.host.infof("anomaly plugin: simulated incident %q starts", name)
		}
	}
	for name := range s.incidents {
		if !active[name] {
			p.host.infof("anomaly plugin: simulated incident %q ends", name)
		}
	}
	s.incidents = active
}

// recoverTo turns a panic in a callback collectd.org calls into the
// callback's error, which collectd logs: collectd.org's wrappers do not
// recover, and a panic crossing into C would end the daemon.
func recoverTo(err *error, callback string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s panicked: %v", callback, r)
	}
}
