package detect

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// DefaultMaxSeries bounds the series the engine tracks when Options leave it 0.
const DefaultMaxSeries = 500_000

// Options configure an Engine.
type Options struct {
	// Sink receives alerts; it must not block (the engine calls it from
	// Observe and Tick while holding the group's lock).
	Sink Sink
	// MaxSeries bounds memory: value lists of series beyond it are counted
	// in Stats.SeriesDropped and otherwise ignored.
	MaxSeries int
	// Now is the collector's wall clock, used only to refuse value times far
	// in the future and to measure how long nothing has arrived from a host
	// (hostclock.go). nil (replay) refuses none, and takes the time passed
	// to Tick (or of the newest value, if later) for the time values arrive.
	Now func() time.Time
	// Lateness is how long after a slot's end, in its host's own time,
	// values may still arrive for it (late or reordered) and be judged;
	// zero means DefaultLatenessIntervals intervals of the group's values.
	Lateness time.Duration
	// IdleTimeout: a series that sent nothing for this long (wall clock;
	// replay: the time passed to Tick) is forgotten, and so is a group left
	// without series whose alert is not raised - so that once MaxSeries is
	// reached, new series are taken again as old ones go. Zero means
	// DefaultIdleTimeout; negative, never.
	IdleTimeout time.Duration
	// States dispatches every group's alert level (0 OK, 1 WARNING, 2
	// FAILURE) each time its slots are judged, as the derived series
	// <rule>-state (StateSuffix): what an aggregator's FleetRule counts.
	// A level sent again and again, unlike a notification sent once, lets
	// the aggregator tell a host whose state it no longer hears from one
	// that is OK.
	States bool
}

// DefaultIdleTimeout is when an idle series is forgotten if Options leave
// it 0: long enough for a series that reports hourly, short enough that a
// flood of one-off series (a misconfigured exporter, a scan) passes.
const DefaultIdleTimeout = 2 * time.Hour

// Stats counts what the engine did not use, so that operators can see it.
type Stats struct {
	ValueLists    uint64 // value lists observed
	NaN           uint64 // NaN gauges skipped (collectd's "unknown")
	Infinite      uint64 // +-Inf gauges skipped
	Resets        uint64 // counters and derives that fell: their increment is unknown
	Ahead         uint64 // value lists dropped, their time too far ahead of their host's clock
	AheadHost     string // the host of the latest of them
	Stale         uint64 // value lists repeated: the same time as the series' previous one
	Reordered     uint64 // value lists older than the series' previous one (judged if not late; counters' increments are already counted)
	Late          uint64 // value lists dropped, their slot judged already (more than the lateness late)
	LateSeries    string // host/series of the latest of them
	Jumps         uint64 // host clocks that jumped: their rules' state restarted
	JumpHost      string // the host of the latest jump
	Malformed     uint64 // value lists whose number of values changed
	SeriesDropped uint64 // value lists of series beyond MaxSeries
	Evicted       uint64 // series forgotten after IdleTimeout without values
	Series        int    // series tracked (matched by a rule or not)
	Groups        int    // groups of state kept by rules
}

// Engine routes value lists to rules and keeps their state. It is safe for
// concurrent use: the plugin observes from the write ring's goroutine and
// ticks from collectd's read callback, and any number may observe at once.
type Engine struct {
	rules     []Rule
	sink      Sink
	maxSeries int
	now       func() time.Time
	lateness  time.Duration
	idle      time.Duration
	lastSweep int64 // Unix nanoseconds of the last sweep for idle series (under tickMu)
	states    bool
	ruleNames map[string]struct{}

	// tick is the time last passed to Tick (Unix nanoseconds).
	tick atomic.Int64
	// front is the hosts' progress (eventClock.progress) at the last Tick:
	// the progress of the host a quarter from the front, so that neither
	// one host racing through a backfill nor three quarters of them gone
	// silent stop it from saying how far the others are.
	front atomic.Int64
	// leading is the newest progress of any clock: a value ahead of its
	// host's clock is on time if another host has come as far.
	leading  atomic.Int64
	tickMu   sync.Mutex
	progress []int64 // scratch

	mu     sync.RWMutex
	routes map[metric.Identifier]*route
	groups map[groupKey]*group
	hosts  map[string]*eventClock
	all    []*group
	// saved is the state read by RestoreState, by group, until the group's
	// series come back; savedAt when it was written, restoreNow when read.
	saved               map[groupKey][]byte
	savedAt, restoreNow time.Time
	savedSwept          bool // sweepSaved has run

	valueLists, nan, infinite, resets, ahead, stale, reordered, late, jumps, malformed, dropped, evicted atomic.Uint64
	aheadHost, jumpHost                                                                                  atomic.Pointer[string]
	lateRoute                                                                                            atomic.Pointer[route]
}

// NewEngine validates the rules and builds an engine for them.
func NewEngine(rules []Rule, opt Options) (*Engine, error) {
	names := map[string]struct{}{}
	for _, r := range rules {
		spec := r.Spec()
		if err := spec.Validate(); err != nil {
			return nil, err
		}
		if _, dup := names[spec.Name]; dup {
			return nil, fmt.Errorf("two rules are named %q", spec.Name)
		}
		names[spec.Name] = struct{}{}
	}
	for _, r := range rules {
		// The edges' states of a rule this engine also runs would be mixed
		// with its own.
		if f, ok := r.(*FleetRule); ok {
			if _, own := names[f.Rule]; own {
				return nil, &SettingError{Rule: f.Name, Setting: "Rule", Problem: fmt.Sprintf("%q names a rule this configuration defines too: a fleet rule counts other daemons' rules (rename one of them)", f.Rule)}
			}
		}
	}
	if opt.Sink == nil {
		opt.Sink = discard{}
	}
	if opt.MaxSeries <= 0 {
		opt.MaxSeries = DefaultMaxSeries
	}
	if opt.IdleTimeout == 0 {
		opt.IdleTimeout = DefaultIdleTimeout
	}
	return &Engine{
		rules:     rules,
		sink:      opt.Sink,
		maxSeries: opt.MaxSeries,
		now:       opt.Now,
		lateness:  opt.Lateness,
		idle:      opt.IdleTimeout,
		states:    opt.States,
		ruleNames: names,
		routes:    map[metric.Identifier]*route{},
		groups:    map[groupKey]*group{},
		hosts:     map[string]*eventClock{},
	}, nil
}

// wallAt is the time a value of time t arrives: the wall clock live; in
// replay, where values come as fast as they are read, the time last passed
// to Tick, or t if that is later.
func (e *Engine) wallAt(t time.Time) time.Time {
	if e.now != nil {
		return e.now()
	}
	if tick := e.tick.Load(); tick > t.UnixNano() {
		return time.Unix(0, tick)
	}
	return t
}

// route is what the engine knows of one series: where its values go, and its
// previous values (to turn counters into increments and drop repeats).
type route struct {
	id       metric.Identifier
	mu       sync.Mutex
	lastTime time.Time
	epoch    uint32 // the host clock's epoch lastTime belongs to
	prev     []metric.Value
	values   []float64 // scratch: this value list's values as rules see them
	targets  []target
	clock    *eventClock // shared by the routes of one host
	// seen is the time of the Tick before its latest value list (Unix
	// nanoseconds), for forgetting idle series.
	seen atomic.Int64
}

type target struct {
	g     *group
	input int
	ds    int
	host  string // the route's host, for rules that count hosts (HostState)
	// What the series is done with, in g's slots (group.report): a slot
	// is complete when every target is done with it.
	counted int64
	beyond  uint64
	gen     uint32
	joined  bool // the series has sent a value to g
}

// Observe feeds one value list to every rule that selects it. The engine keeps
// nothing of vl after it returns.
func (e *Engine) Observe(vl *metric.ValueList) {
	e.valueLists.Add(1)
	e.mu.RLock()
	r := e.routes[vl.Identifier]
	e.mu.RUnlock()
	if r == nil {
		if r = e.addRoute(vl); r == nil {
			return
		}
	}
	if t := e.tick.Load(); r.seen.Load() != t {
		r.seen.Store(t)
	}
	if len(r.targets) == 0 {
		return
	}
	ok, jumped := r.clock.accept(vl.Time, e)
	if !ok {
		e.ahead.Add(1)
		e.aheadHost.Store(&r.clock.host)
		return
	}
	if jumped {
		e.jumps.Add(1)
		e.jumpHost.Store(&r.clock.host)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(vl.Values) != len(r.prev) {
		e.malformed.Add(1)
		return
	}
	if epoch := r.clock.epoch.Load(); epoch != r.epoch {
		r.epoch, r.lastTime = epoch, time.Time{}
	}
	first := r.lastTime.IsZero()
	if !first && vl.Time.Equal(r.lastTime) {
		e.stale.Add(1)
		return
	}
	// Older than the previous value list: collectd's write threads, or a
	// relay, reordered them. A gauge is judged if its slot is still open;
	// a counter's increment up to the newer value is counted already.
	older := !first && vl.Time.Before(r.lastTime)
	if older {
		e.reordered.Add(1)
	} else {
		r.lastTime = vl.Time
	}
	for i, v := range vl.Values {
		switch v.Kind {
		case metric.Gauge:
			r.values[i] = v.Gauge
			if math.IsNaN(v.Gauge) {
				e.nan.Add(1)
			} else if math.IsInf(v.Gauge, 0) {
				// Not a measurement: it would make every sum infinite.
				e.infinite.Add(1)
				r.values[i] = math.NaN()
			}
		case metric.Absolute:
			r.values[i] = float64(v.Counter)
		default:
			// A cumulative value says nothing until there is a previous one.
			r.values[i] = math.NaN()
			if older {
				continue
			}
			if !first && r.prev[i].Kind == v.Kind {
				inc, reset := increment(v.Kind, r.prev[i], v)
				if reset {
					e.resets.Add(1)
				}
				r.values[i] = inc
			}
			r.prev[i] = v
		}
	}
	late := false
	interval := slotInterval(vl.Interval)
	for i := range r.targets {
		t := &r.targets[i]
		if x := r.values[t.ds]; !math.IsNaN(x) && t.g.observe(e, t, vl.Time, interval, x) {
			late = true
		}
	}
	if late {
		e.late.Add(1)
		e.lateRoute.Store(r)
	}
}

// The interval a value list claims is the width of the slots of a group
// whose rule has no Resolution, and sets its lateness. A hostile or broken
// sender's interval is held within these bounds: one of a nanosecond made a
// 5-minute window 3e11 slots - a ring of that many points, a catch-up loop
// over as many (fuzzing found the engine stuck in it) - and one of two
// centuries counted nearly every value as late. collectd's intervals go
// down to fractions of a second (Interval 0.5 is legal): 100 ms keeps them
// their own slots, and a 5-minute window 3,000 slots at most; zero or
// negative still means unknown.
const (
	minSlotInterval = 100 * time.Millisecond
	maxSlotInterval = 24 * time.Hour
)

func slotInterval(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return min(max(d, minSlotInterval), maxSlotInterval)
}

// addRoute matches a series seen for the first time against every rule.
func (e *Engine) addRoute(vl *metric.ValueList) *route {
	id := vl.Identifier.Clone()
	series := id.Series()
	e.mu.Lock()
	defer e.mu.Unlock()
	if r := e.routes[id]; r != nil {
		return r
	}
	if len(e.routes) >= e.maxSeries {
		e.dropped.Add(1)
		return nil
	}
	clock := e.hosts[id.Host]
	if clock == nil {
		clock = &eventClock{host: id.Host}
		e.hosts[id.Host] = clock
	}
	r := &route{id: id, prev: make([]metric.Value, len(vl.Values)), values: make([]float64, len(vl.Values)), clock: clock}
	r.seen.Store(e.tick.Load())
	clock.routes++
	if e.ownState(id) {
		e.routes[id] = r
		return r
	}
	for ri, rule := range e.rules {
		spec := rule.Spec()
		if !spec.Hosts.Match(id.Host) {
			continue
		}
		ds := dataSourceIndex(spec.DataSource, vl)
		if ds < 0 || producedBy(rule, id) {
			continue
		}
		for ii, in := range spec.Inputs {
			for _, sel := range in.Selectors {
				label, ok := sel.Match(series)
				if !ok {
					continue
				}
				host := id.Host
				if spec.AggregateHosts {
					host = ""
				}
				if spec.PerSeries {
					label = series
				}
				g := e.group(ri, host, label, clock)
				g.members.Add(1)
				r.targets = append(r.targets, target{g: g, input: ii, ds: ds, host: id.Host})
				break
			}
		}
	}
	// Exactly as many targets as the series has: append's doubling left a
	// third of them empty, for every series the engine keeps.
	r.targets = slices.Clone(r.targets)
	e.routes[id] = r
	return r
}

// producedBy reports whether id is the derived series rule dispatches.
func producedBy(rule Rule, id metric.Identifier) bool {
	e, ok := rule.(Emitter)
	return ok && id.Plugin == "anomaly" && id.Type == "gauge" && id.TypeInstance == e.OutputName()
}

// ownState reports whether id is the state series of one of the engine's
// own rules (Options.States). No rule of the engine reads those: a dead man's
// switch over "*/*" would hear a silent host in the states the engine keeps
// dispatching for it, and never fire. Forwarded states of other daemons'
// rules - another name - are read as any series.
func (e *Engine) ownState(id metric.Identifier) bool {
	if !e.states || id.Plugin != "anomaly" || id.Type != "gauge" || !strings.HasSuffix(id.TypeInstance, StateSuffix) {
		return false
	}
	_, ok := e.ruleNames[strings.TrimSuffix(id.TypeInstance, StateSuffix)]
	return ok
}

func dataSourceIndex(name string, vl *metric.ValueList) int {
	if len(vl.Values) == 0 {
		return -1
	}
	if name == "" {
		return 0
	}
	for i, n := range vl.DSNames {
		if n == name && i < len(vl.Values) {
			return i
		}
	}
	return -1
}

type groupKey struct {
	rule        int
	host, label string
}

// group returns the state of one rule for one host and label; e.mu is held.
// A group of one host keeps that host's clock; one that aggregates hosts
// (host "") its own.
func (e *Engine) group(rule int, host, label string, hostClock *eventClock) *group {
	k := groupKey{rule, host, label}
	if g := e.groups[k]; g != nil {
		return g
	}
	r := e.rules[rule]
	g := e.newGroup(k, hostClock)
	if host == "" && r.Spec().AggregateHosts {
		g.clock, g.ownClock = &eventClock{}, true
	} else {
		hostClock.groups++
	}
	if blob, ok := e.saved[k]; ok {
		delete(e.saved, k)
		g.restore(e, blob)
	}
	e.groups[k] = g
	e.all = append(e.all, g)
	return g
}

// newGroup is the group of k on clock, not started.
func (e *Engine) newGroup(k groupKey, clock *eventClock) *group {
	g := &group{rule: e.rules[k.rule], host: k.host, label: k.label, clock: clock}
	if e.states {
		g.stateName = g.rule.Spec().Name + StateSuffix
	}
	return g
}

// Tick tells the engine that the wall clock has reached now. Each group
// judges the slots its own clock (its host's newest value time) has passed
// by the lateness, which its values did not close yet (a series that
// stopped while its host goes on), or, for a host silent for longer than
// the lateness, its clock carried forward by its silence.
// The live plugin calls it with the wall clock every interval; replay with
// the time of the data it has reached, as if it arrived live.
func (e *Engine) Tick(now time.Time) {
	for n := now.UnixNano(); ; {
		t := e.tick.Load()
		if t >= n || e.tick.CompareAndSwap(t, n) {
			break
		}
	}
	e.tickMu.Lock()
	defer e.tickMu.Unlock()
	e.mu.RLock()
	defer e.mu.RUnlock()
	e.progress = e.progress[:0]
	for _, c := range e.hosts {
		if c.newestNano.Load() != 0 {
			e.progress = append(e.progress, c.progress())
		}
	}
	front := int64(0)
	if n := len(e.progress); n > 0 {
		slices.Sort(e.progress)
		front = e.progress[n-1-n/4]
	}
	e.front.Store(front)
	for _, g := range e.all {
		g.tick(e, now)
	}
	if n := now.UnixNano(); e.idle > 0 && n-e.lastSweep >= int64(e.idle)/4 {
		if e.lastSweep != 0 {
			e.mu.RUnlock()
			e.sweep(n)
			e.mu.RLock()
		}
		e.lastSweep = n
	}
}

// sweep forgets the series idle for longer than IdleTimeout at now (Unix
// nanoseconds), the groups they leave without series unless their alert is
// raised (a silent host's FAILURE must get its OKAY when it is back), and
// the clocks of hosts left with neither. Tick runs it a few times per
// IdleTimeout; it holds the engine's lock for one pass over the series.
func (e *Engine) sweep(now int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, r := range e.routes {
		if now-r.seen.Load() <= int64(e.idle) {
			continue
		}
		delete(e.routes, id)
		for i := range r.targets {
			r.targets[i].g.members.Add(-1)
		}
		r.clock.routes--
		e.evicted.Add(1)
	}
	forgot := false
	for k, g := range e.groups {
		if g.members.Load() > 0 || !g.forgettable(e.sink, e.idle) {
			continue
		}
		delete(e.groups, k)
		g.forgotten, forgot = true, true
		if !g.ownClock {
			g.clock.groups--
		}
	}
	if forgot {
		// In place and in order: Tick judges the groups as they came.
		n := len(e.all)
		e.all = slices.DeleteFunc(e.all, func(g *group) bool { return g.forgotten })
		clear(e.all[len(e.all):n])
	}
	for host, c := range e.hosts {
		if c.routes == 0 && c.groups == 0 {
			delete(e.hosts, host)
		}
	}
	if len(e.saved) > 0 && !e.savedSwept && now-e.restoreNow.UnixNano() > int64(e.idle) {
		// Once: what is left of the file after it (raised alerts of rules
		// about silence) stays as it is until its series come back.
		e.sweepSaved()
		e.savedSwept = true
	}
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var aheadHost, jumpHost, lateSeries string
	if h := e.aheadHost.Load(); h != nil {
		aheadHost = *h
	}
	if h := e.jumpHost.Load(); h != nil {
		jumpHost = *h
	}
	if r := e.lateRoute.Load(); r != nil {
		lateSeries = r.id.String()
	}
	return Stats{
		ValueLists:    e.valueLists.Load(),
		NaN:           e.nan.Load(),
		Infinite:      e.infinite.Load(),
		Resets:        e.resets.Load(),
		Ahead:         e.ahead.Load(),
		AheadHost:     aheadHost,
		Stale:         e.stale.Load(),
		Reordered:     e.reordered.Load(),
		Late:          e.late.Load(),
		LateSeries:    lateSeries,
		Jumps:         e.jumps.Load(),
		JumpHost:      jumpHost,
		Malformed:     e.malformed.Load(),
		SeriesDropped: e.dropped.Load(),
		Evicted:       e.evicted.Load(),
		Series:        len(e.routes),
		Groups:        len(e.all),
	}
}

// Lateness is the allowed lateness of Options; 0 means DefaultLatenessIntervals
// intervals of each group's values.
func (e *Engine) Lateness() time.Duration { return e.lateness }

// Rules returns the engine's rules.
func (e *Engine) Rules() []Rule { return e.rules }
