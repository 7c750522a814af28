package detect

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Direction says which changes a rule that compares a recent window with a
// baseline looks for: rises, drops, or both.
type Direction int8

// The directions, written "up", "down" and "both" in the configuration.
const (
	DirectionUp Direction = iota
	DirectionDown
	DirectionBoth
)

// ParseDirection reads "up", "down" or "both" (any case).
func ParseDirection(s string) (Direction, error) {
	switch strings.ToLower(s) {
	case "up":
		return DirectionUp, nil
	case "down":
		return DirectionDown, nil
	case "both":
		return DirectionBoth, nil
	}
	return 0, fmt.Errorf("want \"up\", \"down\" or \"both\"")
}

func (d Direction) String() string {
	switch d {
	case DirectionUp:
		return "up"
	case DirectionDown:
		return "down"
	case DirectionBoth:
		return "both"
	}
	return "unknown"
}

func (d Direction) valid() bool { return d >= DirectionUp && d <= DirectionBoth }

// windowAndBaseline is the memory of the rules that compare a recent window
// with the baseline right before it (spike, stddevchange). Each slot's values
// are summed (counts) or averaged (measurements) into one value x; the window keeps the x of its slots (one value
// per slot with data), and each slot leaving it is fed to the baseline,
// unless it was part of a window judged not OK (see SpikeRule). The baseline
// runs on its own slot clock, which advances only with the slots fed to it, so
// keeping slots out freezes it rather than emptying it.
type windowAndBaseline struct {
	win, base *MovingWindow
	// refWin and refBase hold the reference series (SpikeParams.Reference)
	// of the same slots, fed in step: nil without one.
	refWin, refBase *MovingWindow
	refSum          float64
	refHas          bool
	refFed          bool // the last slot to leave win was fed to base

	open      int64 // the slot whose values are being summed
	sum       float64
	n         float64 // values in the open slot
	has       bool    // the open slot received a value
	average   bool    // a slot's value is the mean of its values (measurements), not their sum (counts)
	fed       int64   // slots fed to the baseline: its clock
	anyBad    bool    // some window was judged not OK
	lastBad   int64   // the newest slot whose window was judged not OK
	kept      int     // consecutive slots kept out of the baseline
	keepLimit int     // after this many the baseline is fed regardless
	now       int64   // the slot being judged

	// season, if the rule has a Season, learns from the slots fed to the
	// baseline. Once it is ready the baseline is refilled in the season's
	// units (handover, while the raw one is still judged) and then holds
	// them (seasonal): each slot divided by the profile's shape at its time
	// (counts) or less it (measurements).
	season         *seasonProfile
	handover       *MovingWindow
	seasonal       bool
	origin, stepNs int64 // the slot clock, in Unix ns

	// run, if the rule judges a count's drops, follows the slots since its
	// last event (see zeroRun).
	run *zeroRun
}

func newWindowAndBaseline(winSlots, baseSlots int) *windowAndBaseline {
	wb := &windowAndBaseline{
		win:       NewMovingWindow(winSlots),
		base:      NewMovingWindow(baseSlots),
		open:      math.MinInt64,
		keepLimit: baseSlots,
	}
	wb.win.OnExpire(wb.expire)
	return wb
}

// withSeason makes the baseline seasonal with profile p (nil: none).
func (wb *windowAndBaseline) withSeason(p *seasonProfile, clock SlotClock) {
	wb.season = p
	wb.origin, wb.stepNs = clock.Origin.UnixNano(), int64(clock.Step)
}

// bucketMid is the middle of the window's bucket whose newest slot is
// slot, in Unix ns.
func (wb *windowAndBaseline) bucketMid(slot int64) int64 {
	per := wb.win.SlotsPerBucket()
	return wb.slotTime(slot-per+1) + per*wb.stepNs/2
}

// slotTime is when slot begins, in Unix ns.
func (wb *windowAndBaseline) slotTime(slot int64) int64 { return wb.origin + slot*wb.stepNs }

// windowShape is the profile's mean shape over the window that ends with
// the slot being judged: the factor (counts) or the offset (measurements)
// the window's expectation takes against the baseline in seasonal units.
func (wb *windowAndBaseline) windowShape() float64 {
	from := wb.slotTime(wb.now - int64(wb.win.Len()) + 1)
	return wb.season.meanShape(from, wb.slotTime(wb.now+1))
}

// withReference gives the windows a reference of the same geometry.
func (wb *windowAndBaseline) withReference() {
	wb.refWin, wb.refBase = NewMovingWindow(wb.win.Len()), NewMovingWindow(wb.base.Len())
	wb.refWin.OnExpire(func(_ int64, s *Summary) {
		if wb.refFed {
			wb.refBase.Merge(wb.fed, s)
		}
		if wb.run != nil {
			wb.run.leaveRef(s)
		}
	})
}

// addInput accounts for v of input (0 the series, 1 the reference).
func (wb *windowAndBaseline) addInput(input int, slot int64, v float64) {
	if input == 0 || wb.refWin == nil {
		wb.add(slot, v)
		return
	}
	if slot > wb.open {
		wb.commit()
		wb.open = slot
	}
	wb.refSum += v
	wb.refHas = true
}

func (wb *windowAndBaseline) add(slot int64, v float64) {
	if slot > wb.open {
		// The first value; or, if the engine ever skipped closing a slot,
		// keep what it held rather than lose it.
		wb.commit()
		wb.open = slot
	}
	// slot < open: a late value of a slot already judged counts in the open one.
	wb.sum += v
	wb.n++
	wb.has = true
}

func (wb *windowAndBaseline) commit() {
	if wb.run != nil && (wb.has || wb.refHas) {
		wb.run.slot(wb.open, wb.has, wb.sum, wb.refSum)
	}
	if wb.has {
		x := wb.sum
		if wb.average {
			x /= wb.n
		}
		wb.win.Add(wb.open, x)
		wb.sum, wb.n, wb.has = 0, 0, false
	}
	if wb.refHas {
		wb.refWin.Add(wb.open, wb.refSum)
		wb.refSum, wb.refHas = 0, false
	}
}

// close completes slot: its sum enters the window, and the slots leaving the
// window go to expire.
func (wb *windowAndBaseline) close(slot int64) {
	if wb.open <= slot {
		wb.commit()
		wb.open = slot + 1
	}
	wb.now = slot
	wb.win.Advance(slot)
	if wb.refWin != nil {
		// In step with win: its expire decided what the baseline keeps.
		wb.refWin.Advance(slot)
	}
}

// expire receives the window's buckets as they leave it: one slot each, or
// several for windows longer than maxBuckets slots (slot is the newest).
func (wb *windowAndBaseline) expire(slot int64, s *Summary) {
	per := wb.win.SlotsPerBucket()
	incident := wb.anyBad && wb.lastBad >= slot // a window holding slot was judged not OK
	wb.refFed = false
	keep := incident && wb.kept < wb.keepLimit
	if wb.run != nil {
		wb.run.leave(slot, s, !keep)
	}
	if wb.season != nil && s.N > 0 && (!keep || !wb.season.ready()) {
		// The profile learns what the baseline takes in, so that an
		// incident is not learnt as normal - but until it is complete from
		// every slot: what the recent baseline alone takes for incidents
		// in the warm-up is mostly the curve itself (the morning's rise).
		wb.season.learn(wb.bucketMid(slot), s.Sum/s.N)
	}
	if keep {
		wb.kept += int(per)
		return
	}
	if !incident {
		wb.kept = 0
	}
	wb.fed += per
	if wb.season != nil {
		wb.feedSeasonal(slot, s)
		return
	}
	wb.base.Merge(wb.fed, s)
	wb.refFed = true
}

// feedSeasonal feeds the baseline of a rule with a Season: once the
// profile is ready the bucket enters the baseline in the season's units -
// first into the handover window while the raw baseline is still judged,
// then, once the handover is full, into the baseline that replaced the raw
// one.
func (wb *windowAndBaseline) feedSeasonal(slot int64, s *Summary) {
	mid := wb.bucketMid(slot)
	if wb.seasonal {
		d := wb.season.deseason(mid, *s)
		wb.base.Merge(wb.fed, &d)
		return
	}
	wb.base.Merge(wb.fed, s)
	if !wb.season.ready() {
		return
	}
	if wb.handover == nil {
		wb.handover = NewMovingWindow(wb.base.Len())
	}
	d := wb.season.deseason(mid, *s)
	wb.handover.Merge(wb.fed, &d)
	if wb.handover.Full() {
		wb.base, wb.handover, wb.seasonal = wb.handover, nil, true
	}
}

// judged records whether the window that ends with slot was judged not OK.
func (wb *windowAndBaseline) judged(slot int64, bad bool) {
	if bad {
		wb.anyBad, wb.lastBad = true, slot
	}
}

// baselineState is the RuleState of the rules that judge a recent window
// against the baseline before it (spike, stddevchange): the windows, the
// guards every such rule has, and the rule's own test.
type baselineState struct {
	wb              *windowAndBaseline
	minWin, minBase float64 // values the window and the baseline need
	judge           func(win, base *Summary, current Level) Verdict
	// calibration, if the rule keeps one, is saved after the windows;
	// a state saved before it had one leaves it as new.
	calibration interface {
		saveState(e *stateEncoder)
		loadState(d *stateDecoder)
	}
}

func (s *baselineState) Add(input int, slot int64, v float64) { s.wb.addInput(input, slot, v) }

func (s *baselineState) Span() int64 { return s.wb.span() }

func (s *baselineState) Evaluate(slot int64, current Level) Verdict {
	s.wb.close(slot)
	v := undecided()
	if s.wb.full() {
		if win, base := s.wb.win.Total(), s.wb.base.Total(); win.N >= s.minWin && base.N >= s.minBase {
			v = s.judge(win, base, current)
		}
	}
	s.wb.judged(slot, (v.Decided && v.Level != OK) || current != OK)
	return v
}

func (wb *windowAndBaseline) full() bool {
	return wb.win.Full() && wb.base.Full() && (wb.refWin == nil || wb.refBase.Full())
}

func (wb *windowAndBaseline) span() int64 { return int64(wb.win.Len() + wb.base.Len()) }

// saveState keeps the window, the baseline and the slot being summed
// across a restart (persistent): a spike rule is not blind for its
// baseline's length after one. StdDevChange shares it.
func (s *baselineState) saveState(e *stateEncoder) {
	wb := s.wb
	e.window(wb.win)
	e.window(wb.base)
	e.bool(wb.refWin != nil)
	if wb.refWin != nil {
		e.window(wb.refWin)
		e.window(wb.refBase)
		e.float(wb.refSum)
		e.bool(wb.refHas)
		e.bool(wb.refFed)
	}
	e.int(wb.open)
	e.float(wb.sum)
	e.float(wb.n)
	e.bool(wb.has)
	e.int(wb.fed)
	e.bool(wb.anyBad)
	e.int(wb.lastBad)
	e.int(int64(wb.kept))
	if wb.season != nil { // only a rule with a Season has these (its fingerprint says so)
		wb.season.saveState(e)
		e.bool(wb.seasonal)
		e.bool(wb.handover != nil)
		if wb.handover != nil {
			e.window(wb.handover)
		}
	}
	if s.calibration != nil {
		s.calibration.saveState(e)
	}
}

func (s *baselineState) loadState(d *stateDecoder) {
	wb := s.wb
	d.window(wb.win)
	d.window(wb.base)
	if ref := d.bool(); ref != (wb.refWin != nil) {
		d.fail("a reference saved: %v, configured: %v", ref, wb.refWin != nil)
		return
	}
	if wb.refWin != nil {
		d.window(wb.refWin)
		d.window(wb.refBase)
		wb.refSum, wb.refHas, wb.refFed = d.float(), d.bool(), d.bool()
	}
	wb.open, wb.sum, wb.n, wb.has = d.int(), d.float(), d.float(), d.bool()
	wb.fed, wb.anyBad, wb.lastBad, wb.kept = d.int(), d.bool(), d.int(), int(d.int())
	if wb.season != nil {
		wb.season.loadState(d)
		wb.seasonal = d.bool()
		wb.handover = nil
		if d.bool() {
			wb.handover = NewMovingWindow(wb.base.Len())
			d.window(wb.handover)
		}
	}
	if s.calibration != nil && d.err == nil && len(d.b) > 0 {
		s.calibration.loadState(d)
	}
}

// memory: the windows' span, or a season with a seasonal profile, which a
// restart of a few hours must not lose (stale windows after a longer gap
// are what a gap in the data leaves anyway).
func (s *baselineState) memory(step time.Duration) time.Duration {
	m := time.Duration(s.wb.span()) * step
	if s.wb.season != nil {
		m = max(m, time.Duration(s.wb.season.period))
	}
	return m
}

// dispersion is the extra variance of the baseline's count, alpha in
// Var = lambda + alpha x lambda^2 (a negative binomial's), measured from
// the rates of its buckets, less twice its standard error under a Poisson
// count (so that sampling noise alone is no dispersion); 0 with fewer than
// 10 complete buckets.
//
// In a seasonal baseline the rates are in the season's units: a count of
// mean m at shape f has Poisson variance m/f there, with f taken as the
// window's shape (the baseline is right before it).
func (wb *windowAndBaseline) dispersion(shape float64) float64 {
	n, mean, variance := wb.base.BucketRates()
	if n < 10 || !(mean > 0) {
		return 0
	}
	poisson := mean / (float64(wb.base.SlotsPerBucket()) * shape) // a bucket rate's variance if Poisson
	se := math.Sqrt(2/float64(n-1)) * poisson
	return max(variance-poisson-2*se, 0) / (mean * mean)
}
