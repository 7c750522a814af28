package detect

import (
	"math"
	"time"
)

// zeroRun follows, for a count judged for drops, the slots since its last
// event, so that a drop to nothing that lasts longer than the Window is
// judged over the whole run: where the Window alone expects too few events
// for a drop to zero to be improbable (a shop's payments at night), an hour
// or two without any may be. See SpikeRule.
//
// The run's slots leave the window into the baseline like any other before
// an alert keeps them out; what of the run the baseline holds is counted,
// so that the rate the run is judged against is the baseline's without the
// run itself.
type zeroRun struct {
	start          int64   // the first slot after the last event
	n, ref         float64 // slots with data in the run, and their reference events
	baseN, baseRef float64 // of those, what the baseline took in
	leaving        bool    // the bucket leaving the window now is the run's and was fed
	raised         bool    // the level was last raised by the run's test
}

// reasonRun is the Reason of a verdict on a run without events, judged
// over the run's length (its Window) rather than the rule's.
const reasonRun = "run without events"

// reasonRunEnded is the Reason of the OK verdict that ends an alert a run
// raised, when the window cannot judge: the run's end is all there is.
const reasonRunEnded = "run ended"

func newZeroRun() *zeroRun { return &zeroRun{start: math.MinInt64} }

// slot takes a closed slot: whether it received values, its count x, and
// its reference events.
func (z *zeroRun) slot(slot int64, has bool, x, ref float64) {
	if !has {
		return
	}
	if x > 0 {
		raised := z.raised
		*z = zeroRun{start: slot + 1, raised: raised}
		return
	}
	if z.start == math.MinInt64 {
		z.start = slot
	}
	z.n++
	z.ref += ref
}

// leave takes the window's bucket ending at slot as it leaves; fed: the
// baseline took it in.
func (z *zeroRun) leave(slot int64, s *Summary, fed bool) {
	z.leaving = fed && s.N > 0 && s.Sum == 0 && slot >= z.start
	if z.leaving {
		z.baseN += s.N
	}
}

// leaveRef takes the reference's bucket that leaves with it.
func (z *zeroRun) leaveRef(s *Summary) {
	if z.leaving {
		z.baseRef += s.Sum
	}
}

// duration is the run's length at step.
func (z *zeroRun) duration(step time.Duration) time.Duration { return time.Duration(z.n) * step }

func (z *zeroRun) saveState(e *stateEncoder) {
	e.int(z.start)
	e.float(z.n)
	e.float(z.ref)
	e.float(z.baseN)
	e.float(z.baseRef)
	e.bool(z.leaving)
	e.bool(z.raised)
}

func (z *zeroRun) loadState(d *stateDecoder) {
	z.start, z.n, z.ref, z.baseN, z.baseRef = d.int(), d.float(), d.float(), d.float(), d.float()
	z.leaving, z.raised = d.bool(), d.bool()
}
