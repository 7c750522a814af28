package detect

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// defaultStep is the slot width when neither the rule nor the value list says.
const defaultStep = 10 * time.Second

// DefaultLatenessIntervals is the allowed lateness when Options leave it 0,
// in intervals of a group's values: collectd's write threads reorder values
// of one series by a few milliseconds under load, a network hop or a relay
// by up to an interval.
const DefaultLatenessIntervals = 2

// maxPendingSlots bounds the slots a group keeps open for late values,
// whatever the allowed lateness (below maxCatchUp: see judgeUpTo).
const maxPendingSlots = 4096

// group is one rule's state for one host (and label): the slot clock, the
// rule's windows and the alert's lifecycle.
//
// Slots are numbered from the group's first value, whose time sits in the
// middle of slot 0: collectd stamps the values of one read a few microseconds
// apart, and centring keeps them in one slot rather than straddling a border.
//
// Time is the event time of the group's clock - its host's, or its own when
// it aggregates hosts. Values wait in their slot (pending) until the slot is
// judged, which is when every series that feeds the group has sent its last
// value for the slot (the alert leaves with the value that decided it), or
// else when the clock has passed the slot's end by the allowed lateness. A
// value for a slot already judged is late: it is dropped and counted.
type group struct {
	mu          sync.Mutex
	rule        Rule
	host, label string
	clock       *eventClock
	ownClock    bool // clock is the group's own: it aggregates hosts
	// members is how many targets feed the group; a slot is complete when
	// each has sent its last value for it.
	members atomic.Int32

	started  bool
	gen      uint32 // counts starts: targets' completions of earlier ones are void
	epoch    uint32 // the clock's epoch at start
	slots    SlotClock
	lateness time.Duration
	// slots and lateness in Unix nanoseconds, for the write path
	originNano, stepNano, latenessNano int64

	lastSlot int64     // the open slot: every slot before it has been judged
	judged   bool      // a slot has been judged since start
	notified time.Time // the newest notification's time: they never go back in time
	pending  []pendingSlot
	state    RuleState
	alert    alertState
	// stateName is the derived series the alert's level is dispatched as
	// after each judgement (Options.States); empty if it is not.
	stateName string
	// forgotten: swept away (Engine.sweep), under the engine's lock.
	forgotten bool
	// resuming: restored from a state file and waiting for its first value,
	// which tells where the downtime ended (see resume).
	resuming bool
}

// resumer is a rule state that must know where a restored group's
// downtime ended: time nobody observed, which it must not take for time
// without events (Count's window would count it as none).
type resumer interface {
	resume(slot int64)
}

// resume takes a restored group to slot, that of its first value after the
// restart. The slots it saved open are judged; the downtime between them
// and slot is not: the collector did not listen then, so it is no evidence
// of silence (a Health period without values, a Count window short of its
// events). Windows that span it hold nothing there, as after a gap. A
// first value within the saved slots' reach is an ordinary one.
func (g *group) resume(sink Sink, slot int64) {
	g.resuming = false
	reach := g.lastSlot + int64(len(g.pending))
	if slot < reach {
		return
	}
	// Up to the newest slot saved with values: the rest of the ring's reach
	// is downtime too.
	upTo := g.lastSlot
	for i := range g.pending {
		if p := &g.pending[i]; p.used && p.slot >= upTo {
			upTo = p.slot + 1
		}
	}
	g.judgeUpTo(sink, upTo, time.Time{})
	if r, ok := g.state.(resumer); ok {
		r.resume(slot)
	}
	// As after a start, the first slot waits for every series to be back.
	g.lastSlot, g.judged = slot, false
}

// pendingSlot holds the values of one open slot until it is judged.
type pendingSlot struct {
	slot     int64
	used     bool
	complete int32 // targets that sent their last value for the slot
	latest   int64 // the newest value time in the slot (Unix nanoseconds)
	values   []pendingValue
}

type pendingValue struct {
	input int
	v     float64
	host  string
}

func (g *group) slotOf(t time.Time) int64 { return g.slots.Of(t) }

// The write path works in Unix nanoseconds: time.Time arithmetic was a
// third of its cost.

// slotOfNano is the slot that holds Unix time ns.
func (g *group) slotOfNano(ns int64) int64 {
	d := ns - g.originNano
	s := d / g.stepNano
	if d < 0 && d%g.stepNano != 0 {
		s--
	}
	return s
}

// endNano is when slot ends, in Unix nanoseconds.
func (g *group) endNano(slot int64) int64 { return g.originNano + (slot+1)*g.stepNano }

func (g *group) start(t time.Time, interval, lateness time.Duration) {
	step := g.rule.Spec().Resolution
	if step <= 0 {
		step = interval
	}
	if step <= 0 {
		step = defaultStep
	}
	if interval <= 0 {
		interval = step
	}
	if lateness <= 0 {
		lateness = DefaultLatenessIntervals * interval
	}
	g.started = true
	g.gen++
	g.epoch = g.clock.epoch.Load()
	// Slot borders fall half an interval before the first value's time and
	// whole intervals after: every value sits in the middle of its
	// interval's part of a slot, so one read a little early or late (by up
	// to half an interval) stays in its slot, and completion (observe)
	// holds for slots of several intervals.
	g.slots = SlotClock{Origin: t.Add(-min(interval, step) / 2), Step: step}
	g.lateness = lateness
	g.originNano, g.stepNano, g.latenessNano = g.slots.Origin.UnixNano(), int64(step), int64(lateness)
	g.lastSlot, g.judged, g.notified = 0, false, time.Time{}
	if n := pendingSlotsFor(lateness, step); len(g.pending) < n {
		g.pending = g.newRing(n)
	}
	for i := range g.pending {
		g.pending[i].used = false
	}
	g.state = g.rule.NewState(g.slots)
}

// pendingSlotsFor is the length of the ring of open slots: a power of two
// that holds the slots the lateness keeps open, and the open one.
func pendingSlotsFor(lateness, step time.Duration) int {
	n := 4
	for n < int(lateness/step)+3 && n < maxPendingSlots {
		n *= 2
	}
	return n
}

// forgettable reports whether the group may be forgotten once it has no
// series: its alert is not raised, or it is one its rule can never end
// without values (endsWhenGone), which it ends now. A rule that judges
// absence (Missing, Health, Count, Fleet) keeps its alert until the series
// is back.
func (g *group) forgettable(sink Sink, idle time.Duration) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.alert.level == OK {
		return true
	}
	if _, ok := g.state.(endsWhenGone); !ok {
		return false
	}
	prev := g.alert.level
	g.alert = alertState{}
	v := undecided()
	v.Decided, v.Reason, v.Window = true, reasonGone, idle
	// Not before what the group sent already: its last judged slot (the
	// state series was dispatched at it, and collectd refuses a value not
	// newer than its series' last), its last notification, its host's
	// newest value.
	at := g.notified
	if newest := time.Unix(0, g.clock.newestNano.Load()).UTC(); newest.After(at) {
		at = newest
	}
	if judged := g.slots.Start(g.lastSlot).Add(g.slots.Step / 2); g.started && judged.After(at) {
		at = judged
	}
	g.notify(sink, v, at, prev, false)
	if g.stateName != "" {
		g.dispatchState(sink, at) // the state series must not stay at the level that ended
	}
	return true
}

// endsWhenGone is a rule state that gives no verdict without values: an
// alert of its raised when its series went away could never end, and its
// group never be forgotten. When every series of the group has been idle
// for the engine's IdleTimeout, the alert ends with an OKAY that says so
// (as Prometheus resolves the alerts of series that went stale).
type endsWhenGone interface{ endsWhenGone() }

func (*aggregateState) endsWhenGone()  {}
func (*anomalyState) endsWhenGone()    {}
func (*baselineState) endsWhenGone()   {}
func (*errorShareState) endsWhenGone() {}
func (*ratioState) endsWhenGone()      {}

// reasonGone is the Reason of the verdict that ends the alert of a group
// whose series are gone.
const reasonGone = "gone"

// restartIfJumped forgets the windows of a group whose clock jumped: the
// time in between never was. The alert's level stays, so that an alert
// raised before the jump is ended by the next OK verdict.
func (g *group) restartIfJumped() {
	if g.started && g.epoch != g.clock.epoch.Load() {
		g.started = false
	}
}

// observe accounts for value v of target tg at time t; it reports whether
// the value was late (its slot judged already) and dropped.
func (g *group) observe(e *Engine, tg *target, t time.Time, interval time.Duration, v float64) (late bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.restartIfJumped()
	if !g.started {
		g.start(t, interval, e.lateness)
	}
	if g.ownClock {
		g.clock.note(t, e)
	}
	if g.resuming {
		g.resume(e.sink, g.slotOfNano(t.UnixNano()))
	}
	tn, wn := t.UnixNano(), g.clock.newestNano.Load()
	s, closable := g.slotOfNano(tn), g.slotOfNano(wn-g.latenessNano)
	if s < g.lastSlot && !g.judged && s >= closable {
		// Before the first value, but nothing was judged yet: a reordered
		// start, which opens the group earlier.
		g.lastSlot = s
	}
	if closable > g.lastSlot {
		g.closeBy(e.sink, g.clock.settled(e))
	}
	if s < g.lastSlot {
		// A series' first value for a slot judged already: it joined the
		// group (a new file system, a new provider) and starts with the
		// next slot; late only if it had sent values before.
		late, tg.joined = tg.joined, true
		return late
	}
	tg.joined = true
	if n := int64(len(g.pending)); s >= g.lastSlot+n && !g.grow(s-g.lastSlot+1) {
		g.judgeUpTo(e.sink, s-n+1, time.Time{})
	}
	p := g.slotAt(s)
	p.values = append(p.values, pendingValue{tg.input, v, tg.host})
	p.latest = max(p.latest, tn)
	if interval <= 0 {
		interval = g.slots.Step
	}
	// The series' next value falls in a later slot: it is done with s.
	if tn+int64(interval) >= g.endNano(s) {
		g.report(tg, s)
	}
	// Judge complete slots now, stamped with their newest value's time (the
	// one that decided, whatever order the values came in). The group's
	// first slot waits until its clock has passed the slot by the lateness:
	// until then it may not have seen all its series (a write thread may
	// hold one's first value back). A series whose first value comes later
	// still joins with the next slot (above).
	for g.judged || wn >= g.endNano(g.lastSlot)+g.latenessNano {
		q := &g.pending[g.index(g.lastSlot)]
		if !q.used || q.slot != g.lastSlot || q.complete < g.members.Load() {
			break
		}
		g.judgeUpTo(e.sink, g.lastSlot+1, time.Time{})
	}
	return false
}

// report counts target tg done with slot s, once. Slots a series skips are
// not counted: it may have skipped them, or its values for them may still
// be on their way (collectd's write threads reorder values of a series, a
// relay may hold some); they are judged at the lateness. tg.counted is the
// newest slot up to which all are counted, tg.beyond has bit k-1 set for
// slot tg.counted+k.
func (g *group) report(tg *target, s int64) {
	if tg.gen != g.gen {
		tg.gen, tg.counted, tg.beyond = g.gen, g.lastSlot-1, 0
	}
	if s < g.lastSlot || s <= tg.counted {
		return
	}
	if s-tg.counted > 64 {
		tg.counted, tg.beyond = s-1, 0
	}
	bit := uint64(1) << (s - tg.counted - 1)
	if tg.beyond&bit != 0 {
		return
	}
	tg.beyond |= bit
	g.slotAt(s).complete++
	for tg.beyond&1 != 0 {
		tg.counted++
		tg.beyond >>= 1
	}
}

// tick closes the slots the group's clock has passed by the lateness; a
// clock silent for longer than the lateness (measured at wall-clock time
// now) is carried forward by its silence: values that would come now for
// those slots would be late by more than the lateness.
func (g *group) tick(e *Engine, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.restartIfJumped()
	if !g.started {
		return
	}
	if g.resuming {
		// Restored, and no value of the group yet: its host's clock tells
		// where the downtime ended (a counter's first value list after the
		// restart moves the clock but gives the group no value). That slot
		// has no increment: the group resumes after it (a gauge's value for
		// it still reopens it: nothing was judged since).
		n := g.clock.newestNano.Load()
		if n == 0 {
			return
		}
		g.resume(e.sink, g.slotOfNano(n)+1)
	}
	w := g.clock.settled(e)
	if s := g.clock.silence(now, e.front.Load()); s > g.lateness {
		w = g.clock.time().Add(s)
	}
	g.closeBy(e.sink, w)
}

// grow makes the pending ring hold at least n slots (up to maxPendingSlots),
// for values that come faster than their clock settles (a bulk load); it
// reports whether it does.
func (g *group) grow(n int64) bool {
	if n > maxPendingSlots {
		return false
	}
	size := int64(len(g.pending))
	for size < n {
		size *= 2
	}
	size = min(size, maxPendingSlots)
	old := g.pending
	g.pending = g.newRing(int(size))
	for _, p := range old {
		if p.used {
			g.pending[g.index(p.slot)] = p
		}
	}
	return true
}

// closeBy judges the slots that clock time w has passed by the lateness,
// each stamped with closedAt.
func (g *group) closeBy(sink Sink, w time.Time) {
	if !w.IsZero() {
		g.judgeUpTo(sink, g.slotOf(w.Add(-g.lateness)), time.Time{})
	}
}

// newRing makes a pending ring of n slots, each with room for as many
// values as the busiest slot so far had, in one allocation: a ring that
// grows in a bulk load costs one allocation, not one per slot.
func (g *group) newRing(n int) []pendingSlot {
	per := 1
	for _, p := range g.pending {
		per = max(per, cap(p.values))
	}
	ring := make([]pendingSlot, n)
	backing := make([]pendingValue, n*per)
	for i := range ring {
		ring[i].values = backing[i*per : i*per : (i+1)*per]
	}
	return ring
}

// index is slot's place in the pending ring, whose length is a power of 2.
func (g *group) index(slot int64) int { return int(slot & int64(len(g.pending)-1)) }

// slotAt is the pending slot s, which is open and within reach of the ring.
func (g *group) slotAt(s int64) *pendingSlot {
	p := &g.pending[g.index(s)]
	if !p.used || p.slot != s {
		p.used, p.slot, p.complete, p.latest, p.values = true, s, 0, 0, p.values[:0]
	}
	return p
}

// closedAt is when slot became certain: with its newest value if every
// series had sent its last value for it, else at its end plus the lateness.
// Either way a time of the values, not of when the slot was noticed: the
// same in replay, in a bulk load and live.
func (g *group) closedAt(slot int64) time.Time {
	if p := &g.pending[g.index(slot)]; p.used && p.slot == slot && p.complete >= g.members.Load() {
		return time.Unix(0, p.latest).UTC()
	}
	return g.slots.Start(slot + 1).Add(g.lateness)
}

// apply hands the rule's state the values that waited in slot.
func (g *group) apply(slot int64) {
	p := &g.pending[g.index(slot)]
	if !p.used || p.slot != slot {
		return
	}
	hs, _ := g.state.(HostState)
	for _, pv := range p.values {
		if hs != nil {
			hs.AddFrom(pv.host, pv.input, slot, pv.v)
		} else {
			g.state.Add(pv.input, slot, pv.v)
		}
	}
	p.used, p.values = false, p.values[:0]
}

// maxCatchUp is how many slots a group judges one by one after a gap
// (a day of 10 s slots); past it only the last Span slots are judged, which
// is all that matters by then (every window has emptied), so that a gap of
// a century costs what one of a day does.
const maxCatchUp = 8640

// judgeUpTo evaluates every slot from the open one up to (not including)
// slot, which becomes the open one. t stamps the verdicts; zero stamps each
// with closedAt. After a gap longer than maxCatchUp
// slots, the slots between the first maxCatchUp and the last Span are
// skipped.
func (g *group) judgeUpTo(sink Sink, slot int64, t time.Time) {
	if slot <= g.lastSlot {
		return
	}
	span := g.state.Span() + 1
	for c := g.lastSlot; c < slot; c++ {
		if skipTo := slot - span; c-g.lastSlot == maxCatchUp && skipTo > c {
			c = skipTo // no value waits there: the pending ring is shorter
		}
		at := t
		if at.IsZero() {
			at = g.closedAt(c)
		}
		g.apply(c)
		g.judge(sink, c, at)
	}
	g.lastSlot, g.judged = slot, true
	if g.stateName != "" {
		// Once per call, for the newest slot: a catch-up after a gap judges
		// thousands of slots, and only where they ended matters to anyone
		// counting states. Stamped with the middle of that slot, where its
		// values sit: in the host's own clock, as the values are, and
		// rising by a slot each time (collectd drops a value list not newer
		// than its series' last, and an aggregator's fleet rule, on the
		// newest time of any host, would find a state stamped with a
		// verdict's time - at the lateness, ahead of the values - late).
		g.dispatchState(sink, g.slots.Start(slot-1).Add(g.slots.Step/2))
	}
}

// dispatchState sends the alert's level as the group's state series at t.
func (g *group) dispatchState(sink Sink, t time.Time) {
	sink.Value(DerivedValue{Host: g.host, Group: g.label, Name: g.stateName, Time: t, Interval: g.slots.Step, Value: float64(g.alert.level)})
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
		dv.Interval = g.slots.Step
	}
	sink.Value(dv)
}

func (g *group) notify(sink Sink, v Verdict, t time.Time, prev Level, repeated bool) {
	when := t
	if v.Periodic && !v.ValueTime.IsZero() {
		when = v.ValueTime
	}
	// A slot judged at the lateness is stamped with its end plus the
	// lateness, the next one with its value's time, which may be earlier
	// (values came back during the lateness): the OKAY follows the FAILURE.
	if when.Before(g.notified) {
		when = g.notified
	}
	g.notified = when
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
	if v.Reason == reasonGone {
		// Not the rule's message, nor its template: there is no verdict to
		// word, only that nothing came.
		a.Message = fmt.Sprintf("%s: %s of %s: no values for %s: its series are gone", a.Severity, a.Subject(), hostOrAll(a.Host), v.Window)
		s := *spec
		s.Message = nil
		spec = &s
	} else {
		a.Message = g.rule.Message(&a, &v)
	}
	wordAlert(spec, &a)
	sink.Alert(a)
}
