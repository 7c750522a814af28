package detect

import "time"

// periodAccumulator sums inputs over clock-aligned periods (whole hours,
// whole 5 minutes: multiples of the period since the Unix epoch, so an hourly
// period is a clock hour in every time zone with a whole-hour offset), for
// rules that report once per period rather than judge a moving window.
//
// A slot belongs to the period that holds its middle (where the values' own
// times are). The first period is reported only if the group existed from its
// start: half an hour of data is not an hour's conversion rate.
type periodAccumulator struct {
	clock   SlotClock
	period  time.Duration
	started bool
	partial bool // the current period began before the group's first slot
	current int64
	sums    []Summary

	pending       bool
	pendingPeriod int64
	pendingSums   []Summary
}

func newPeriodAccumulator(clock SlotClock, period time.Duration, inputs int) *periodAccumulator {
	return &periodAccumulator{clock: clock, period: period, sums: make([]Summary, inputs), pendingSums: make([]Summary, inputs)}
}

func (a *periodAccumulator) of(slot int64) int64 {
	mid := a.clock.Start(slot).Add(a.clock.Step / 2).UnixNano()
	p := mid / int64(a.period)
	if mid < 0 && mid%int64(a.period) != 0 {
		p--
	}
	return p
}

// Start and End of period p.
func (a *periodAccumulator) Start(p int64) time.Time { return time.Unix(0, p*int64(a.period)).UTC() }
func (a *periodAccumulator) End(p int64) time.Time   { return time.Unix(0, (p+1)*int64(a.period)).UTC() }

func (a *periodAccumulator) begin(slot int64) {
	a.started = true
	a.current = a.of(slot)
	// Partial if the period had begun more than a slot before this one.
	a.partial = a.clock.Start(slot).Sub(a.Start(a.current)) >= a.clock.Step
}

// add accounts for v in slot; values of a period already closed are dropped.
func (a *periodAccumulator) Add(input int, slot int64, v float64) {
	if !a.started {
		a.begin(slot)
	}
	p := a.of(slot)
	if p < a.current {
		return
	}
	if p > a.current {
		a.close(p)
	}
	a.sums[input].Add(v)
}

// close ends the current period, keeping its sums for finished to report,
// and makes next the current one.
func (a *periodAccumulator) close(next int64) {
	if !a.partial {
		a.pending, a.pendingPeriod = true, a.current
		copy(a.pendingSums, a.sums)
	}
	for i := range a.sums {
		a.sums[i] = Summary{}
	}
	a.current, a.partial = next, false
}

// finished is called as slot is judged: if slot ends a period (or a period
// ended unseen during a gap), it returns that period and its sums.
func (a *periodAccumulator) finished(slot int64) (period int64, sums []Summary, ok bool) {
	if !a.started {
		a.begin(slot)
	}
	if next := a.of(slot + 1); next > a.current && a.of(slot) >= a.current {
		a.close(next)
	}
	if !a.pending {
		return 0, nil, false
	}
	a.pending = false
	return a.pendingPeriod, a.pendingSums, true
}

// resume implements resumer for the rules that embed the accumulator: a
// period the downtime cut short is not reported, nor one it began in
// (partial both, as the first period of a group is).
func (a *periodAccumulator) resume(slot int64) {
	if p := a.of(slot); a.started && p > a.current {
		for i := range a.sums {
			a.sums[i] = Summary{}
		}
		a.current = p
		a.partial = a.clock.Start(slot).Sub(a.Start(p)) >= a.clock.Step
	}
}

// span is the number of slots of a period, which bounds catching up.
func (a *periodAccumulator) Span() int64 { return int64(slotsFor(a.period, a.clock.Step)) + 1 }

// save and load keep the period being summed, and one that ended but was
// not reported yet, across a restart.
func (a *periodAccumulator) saveState(e *stateEncoder) {
	e.bool(a.started)
	e.bool(a.partial)
	e.int(a.current)
	e.bool(a.pending)
	e.int(a.pendingPeriod)
	e.uint(uint64(len(a.sums)))
	for i := range a.sums {
		e.summary(&a.sums[i])
		e.summary(&a.pendingSums[i])
	}
}

func (a *periodAccumulator) loadState(d *stateDecoder) {
	a.started, a.partial, a.current = d.bool(), d.bool(), d.int()
	a.pending, a.pendingPeriod = d.bool(), d.int()
	if d.count(len(a.sums), "inputs") {
		for i := range a.sums {
			d.summary(&a.sums[i])
			d.summary(&a.pendingSums[i])
		}
	}
}

// memory is how long the accumulator needs no value to forget nothing: one
// period.
func (a *periodAccumulator) memory(time.Duration) time.Duration { return a.period }
