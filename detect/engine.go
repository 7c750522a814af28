package detect

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxSeries bounds the series the engine tracks when Options leave it 0.
const DefaultMaxSeries = 500_000

// Options configure an Engine.
type Options struct {
	// Sink receives alerts; it must not block (the engine calls it from
	// collectd's write threads while holding the group's lock).
	Sink Sink
	// MaxSeries bounds memory: value lists of series beyond it are counted
	// in Stats.SeriesDropped and otherwise ignored.
	MaxSeries int
	// Now is the collector's wall clock, used only to refuse value times far
	// in the future (hostclock.go); nil (replay) refuses none.
	Now func() time.Time
}

// Stats counts what the engine did not use, so that operators can see it.
type Stats struct {
	ValueLists    uint64 // value lists observed
	NaN           uint64 // NaN gauges skipped (collectd's "unknown")
	Infinite      uint64 // +-Inf gauges skipped
	Resets        uint64 // counters and derives that fell: their increment is unknown
	Ahead         uint64 // value lists dropped, their time too far ahead of their host's clock
	AheadHost     string // the host of the latest of them
	Stale         uint64 // value lists not newer than the series' previous one (repeated or out of order)
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

	mu     sync.RWMutex
	routes map[Identifier]*route
	groups map[groupKey]*group
	hosts  map[string]*hostClock
	all    []*group

	valueLists, nan, infinite, resets, ahead, stale, malformed, dropped atomic.Uint64
	aheadHost                                                           atomic.Pointer[string]
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
		routes:    map[Identifier]*route{},
		groups:    map[groupKey]*group{},
		hosts:     map[string]*hostClock{},
	}, nil
}

// route is what the engine knows of one series: where its values go, and its
// previous values (to turn counters into increments and drop repeats).
type route struct {
	mu       sync.Mutex
	lastTime time.Time
	prev     []Value
	values   []float64 // scratch: this value list's values as rules see them
	targets  []target
	clock    *hostClock // shared by the routes of one host
}

type target struct {
	g     *group
	input int
	ds    int
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
	if e.now != nil && !r.clock.accept(vl.Time, e.now) {
		e.ahead.Add(1)
		e.aheadHost.Store(&r.clock.host)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(vl.Values) != len(r.prev) {
		e.malformed.Add(1)
		return
	}
	first := r.lastTime.IsZero()
	if !first && !vl.Time.After(r.lastTime) {
		e.stale.Add(1)
		return
	}
	r.lastTime = vl.Time
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
	for _, t := range r.targets {
		if x := r.values[t.ds]; !math.IsNaN(x) {
			t.g.observe(e.sink, t.input, vl.Time, vl.Interval, x)
		}
	}
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
		clock = &hostClock{host: id.Host}
		e.hosts[id.Host] = clock
	}
	r := &route{prev: make([]Value, len(vl.Values)), values: make([]float64, len(vl.Values)), clock: clock}
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
				r.targets = append(r.targets, target{g: e.group(ri, host, label), input: ii, ds: ds})
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
func (e *Engine) group(rule int, host, label string) *group {
	k := groupKey{rule, host, label}
	if g := e.groups[k]; g != nil {
		return g
	}
	g := &group{rule: e.rules[rule], host: host, label: label}
	e.groups[k] = g
	e.all = append(e.all, g)
	return g
}

// Tick tells the engine that time has reached now: windows of groups that
// received nothing since are judged as they stand, allowing values one slot
// late. The live plugin calls it with the wall clock every interval; replay
// calls it with the newest time of the recorded data.
func (e *Engine) Tick(now time.Time) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, g := range e.all {
		g.tick(e.sink, now)
	}
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var aheadHost string
	if h := e.aheadHost.Load(); h != nil {
		aheadHost = *h
	}
	return Stats{
		ValueLists:    e.valueLists.Load(),
		NaN:           e.nan.Load(),
		Infinite:      e.infinite.Load(),
		Resets:        e.resets.Load(),
		Ahead:         e.ahead.Load(),
		AheadHost:     aheadHost,
		Stale:         e.stale.Load(),
		Malformed:     e.malformed.Load(),
		SeriesDropped: e.dropped.Load(),
		Series:        len(e.routes),
		Groups:        len(e.all),
	}
}

// Rules returns the engine's rules.
func (e *Engine) Rules() []Rule { return e.rules }
