package detect

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
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
}

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
	Series        int    // series tracked (matched by a rule or not)
	Groups        int    // groups of state kept by rules
}

// Engine routes value lists to rules and keeps their state. It is safe for
// concurrent use by collectd's write threads.
type Engine struct {
	rules     []Rule
	sink      Sink
	maxSeries int
	now       func() time.Time
	lateness  time.Duration

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
	routes map[Identifier]*route
	groups map[groupKey]*group
	hosts  map[string]*eventClock
	all    []*group

	valueLists, nan, infinite, resets, ahead, stale, reordered, late, jumps, malformed, dropped atomic.Uint64
	aheadHost, jumpHost                                                                         atomic.Pointer[string]
	lateRoute                                                                                   atomic.Pointer[route]
}

// NewEngine validates the rules and builds an engine for them.
func NewEngine(rules []Rule, opt Options) (*Engine, error) {
	names := map[string]bool{}
	for _, r := range rules {
		spec := r.Spec()
		if err := spec.Validate(); err != nil {
			return nil, err
		}
		if names[spec.Name] {
			return nil, fmt.Errorf("two rules are named %q", spec.Name)
		}
		names[spec.Name] = true
	}
	if opt.Sink == nil {
		opt.Sink = discard{}
	}
	if opt.MaxSeries <= 0 {
		opt.MaxSeries = DefaultMaxSeries
	}
	return &Engine{
		rules:     rules,
		sink:      opt.Sink,
		maxSeries: opt.MaxSeries,
		now:       opt.Now,
		lateness:  opt.Lateness,
		routes:    map[Identifier]*route{},
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
	id       Identifier
	mu       sync.Mutex
	lastTime time.Time
	epoch    uint32 // the host clock's epoch lastTime belongs to
	prev     []Value
	values   []float64 // scratch: this value list's values as rules see them
	targets  []target
	clock    *eventClock // shared by the routes of one host
}

type target struct {
	g     *group
	input int
	ds    int
	// What the series is done with, in g's slots (group.report): a slot
	// is complete when every target is done with it.
	counted int64
	beyond  uint64
	gen     uint32
	joined  bool // the series has sent a value to g
}

// Observe feeds one value list to every rule that selects it. The engine keeps
// nothing of vl after it returns.
func (e *Engine) Observe(vl *ValueList) {
	e.valueLists.Add(1)
	e.mu.RLock()
	r := e.routes[vl.Identifier]
	e.mu.RUnlock()
	if r == nil {
		if r = e.addRoute(vl); r == nil {
			return
		}
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
		case Gauge:
			r.values[i] = v.Gauge
			if math.IsNaN(v.Gauge) {
				e.nan.Add(1)
			} else if math.IsInf(v.Gauge, 0) {
				// Not a measurement: it would make every sum infinite.
				e.infinite.Add(1)
				r.values[i] = math.NaN()
			}
		case Absolute:
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
// centuries counted nearly every value as late. collectd's own intervals are
// seconds to hours; faster values share one-second slots (their sums and
// counts are unchanged), and zero or negative still means unknown.
const (
	minSlotInterval = time.Second
	maxSlotInterval = 24 * time.Hour
)

func slotInterval(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return min(max(d, minSlotInterval), maxSlotInterval)
}

// addRoute matches a series seen for the first time against every rule.
func (e *Engine) addRoute(vl *ValueList) *route {
	id := vl.Identifier.clone()
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
	r := &route{id: id, prev: make([]Value, len(vl.Values)), values: make([]float64, len(vl.Values)), clock: clock}
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
				r.targets = append(r.targets, target{g: g, input: ii, ds: ds})
				break
			}
		}
	}
	e.routes[id] = r
	return r
}

// producedBy reports whether id is the derived series rule dispatches.
func producedBy(rule Rule, id Identifier) bool {
	e, ok := rule.(Emitter)
	return ok && id.Plugin == "anomaly" && id.Type == "gauge" && id.TypeInstance == e.OutputName()
}

func dataSourceIndex(name string, vl *ValueList) int {
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
	g := &group{rule: r, host: host, label: label, clock: hostClock}
	if host == "" && r.Spec().AggregateHosts {
		g.clock, g.ownClock = &eventClock{}, true
	}
	e.groups[k] = g
	e.all = append(e.all, g)
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
		Series:        len(e.routes),
		Groups:        len(e.all),
	}
}

// Lateness is the allowed lateness of Options; 0 means DefaultLatenessIntervals
// intervals of each group's values.
func (e *Engine) Lateness() time.Duration { return e.lateness }

// Rules returns the engine's rules.
func (e *Engine) Rules() []Rule { return e.rules }
