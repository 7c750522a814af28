package detect

import (
	"sync"
	"time"
)

// defaultStep is the slot width when neither the rule nor the value list says.
const defaultStep = 10 * time.Second

// group is one rule's state for one host (and label): the slot clock, the
// rule's windows and the alert's lifecycle.
//
// Slots are numbered from the group's first value, whose time sits in the
// middle of slot 0: collectd stamps the values of one read a few microseconds
// apart, and centring keeps them in one slot rather than straddling a border.
type group struct {
	mu          sync.Mutex
	rule        Rule
	host, label string

	started  bool
	clock    SlotClock
	lastSlot int64 // the open slot: every slot before it has been judged
	state    RuleState
	alert    alertState
}

func (g *group) slotOf(t time.Time) int64 { return g.clock.Of(t) }

func (g *group) start(t time.Time, interval time.Duration) {
	step := g.rule.Spec().Resolution
	if step <= 0 {
		step = interval
	}
	if step <= 0 {
		step = defaultStep
	}
	g.started = true
	g.clock = SlotClock{Origin: t.Add(-step / 2), Step: step}
	g.state = g.rule.NewState(g.clock)
}

func (g *group) observe(sink Sink, input int, t time.Time, interval time.Duration, v float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.started {
		g.start(t, interval)
	}
	s := g.slotOf(t)
	if s > g.lastSlot {
		g.judgeUpTo(sink, s, t)
	}
	g.state.Add(input, s, v)
}

func (g *group) tick(sink Sink, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.started {
		return
	}
	// The slot before now's may still receive values that are a little late.
	if s := g.slotOf(now) - 1; s > g.lastSlot {
		g.judgeUpTo(sink, s, now)
	}
}

// judgeUpTo evaluates every slot from the open one up to (not including)
// slot, which becomes the open one. After a long gap only the last Span slots
// matter: older ones left every window already.
func (g *group) judgeUpTo(sink Sink, slot int64, t time.Time) {
	from := g.lastSlot
	if span := g.state.Span() + 1; slot-from > span {
		from = slot - span
	}
	for c := from; c < slot; c++ {
		g.judge(sink, c, t)
	}
	g.lastSlot = slot
}

func (g *group) judge(sink Sink, slot int64, t time.Time) {
	v := g.state.Evaluate(slot, g.alert.level)
	if v.Emit {
		g.emit(sink, v, t)
	}
	if !v.Decided {
		return
	}
	prev := g.alert.level
	tr := g.alert.step(v.Level, t, &g.rule.Spec().Lifecycle)
	if v.Periodic {
		tr = change
		g.alert.level = v.Level
	}
	if tr != stay {
		g.notify(sink, v, t, prev, tr == repeat)
	}
}

// emit and notify take the verdict by value: the rule's Message gets its
// address, which would otherwise move every verdict to the heap, including
// the many that notify nothing.
func (g *group) emit(sink Sink, v Verdict, t time.Time) {
	dv := DerivedValue{Host: g.host, Group: g.label, Name: g.rule.(Emitter).OutputName(),
		Time: v.ValueTime, Interval: v.ValueInterval, Value: v.Value}
	if dv.Time.IsZero() {
		dv.Time = t
	}
	if dv.Interval == 0 {
		dv.Interval = g.clock.Step
	}
	sink.Value(dv)
}

func (g *group) notify(sink Sink, v Verdict, t time.Time, prev Level, repeated bool) {
	when := t
	if v.Periodic && !v.ValueTime.IsZero() {
		when = v.ValueTime
	}
	spec := g.rule.Spec()
	a := Alert{
		Time:        when,
		Severity:    g.alert.level,
		Previous:    prev,
		Repeat:      repeated,
		Rule:        spec.Name,
		Kind:        g.rule.Kind(),
		Host:        g.host,
		Group:       g.label,
		Series:      spec.Describe(),
		Observed:    v.Observed,
		Threshold:   v.Threshold,
		Baseline:    v.Baseline,
		Window:      v.Window,
		Probability: v.Probability,
	}
	a.Message = g.rule.Message(&a, &v)
	sink.Alert(a)
}
