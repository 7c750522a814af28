package detect

import (
	"math"
	"time"
)

// maxBuckets bounds the memory of a window: a window longer than this many
// slots keeps its slots in buckets of several (an hour of 10 s slots in
// 60 buckets of a minute; 60 divides the usual windows of whole minutes
// into whole buckets). The sums stay exact; only the window's far edge
// moves by whole buckets, so a 1-hour window covers 59 to 60 minutes - and
// a host's state for the whole rule pack is tens of kilobytes, not a megabyte.
const maxBuckets = 60

// floorDiv and floorMod divide rounding towards minus infinity: slots
// and times before a clock's origin fall in the buckets below it.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// ring is the geometry every moving window shares: Len slots kept in
// buckets of per slots each, a ring of n buckets allocated once, advanced as
// time moves forward. What a bucket holds is the window's own.
type ring struct {
	n       int64 // buckets
	per     int64 // slots per bucket
	slots   int   // the window's length in slots
	started bool
	first   int64 // the first slot ever advanced to
	newest  int64 // the newest slot
	turned  int   // buckets recycled since the totals were last rebuilt

	// The newest slot's bucket and its index in the ring (see at): most
	// buckets a window touches are the newest or just before it, whose
	// index needs no division.
	newestBucket int64
	newestIndex  int64
}

func newRing(slots int) ring {
	slots = max(slots, 1)
	per := (slots + maxBuckets - 1) / maxBuckets
	return ring{n: int64((slots + per - 1) / per), per: int64(per), slots: slots}
}

func (g *ring) bucketOf(slot int64) int64 {
	if g.per == 1 {
		return slot
	}
	return floorDiv(slot, g.per)
}

// index is where bucket sits in the ring: counted back from the newest
// bucket when it is within a ring of it, else by division.
func (g *ring) index(bucket int64) int {
	if d := g.newestBucket - bucket; g.started && d >= 0 && d < g.n {
		i := g.newestIndex - d
		if i < 0 {
			i += g.n
		}
		return int(i)
	}
	return int(floorMod(bucket, g.n))
}

// setNewest makes slot the newest and places its bucket.
func (g *ring) setNewest(slot int64) {
	g.newest = slot
	g.newestBucket = g.bucketOf(slot)
	g.newestIndex = floorMod(g.newestBucket, g.n)
}

// holds reports whether slot is still inside the window.
func (g *ring) holds(slot int64) bool { return g.bucketOf(slot) > g.newestBucket-g.n }

// take reports whether a value of slot enters the window (advanced to it
// already): it has not left yet. A slot before the first one (a reordered
// first value) starts the window there, so that its bucket is emptied of
// the value when it leaves.
func (g *ring) take(slot int64) bool {
	if !g.holds(slot) {
		return false
	}
	g.first = min(g.first, slot)
	return true
}

// full reports whether the window has been advanced through as many slots
// as it spans, so that a verdict on it is not one on a partial window.
func (g *ring) full() bool { return g.started && g.newest-g.first+1 >= int64(g.slots) }

// advance makes slot the newest and returns the buckets that enter the ring
// (to-steps, to], which the window recycles in order. Slots not newer than
// the newest change nothing: time only moves forward.
func (g *ring) advance(slot int64) (to, steps int64) {
	if !g.started {
		g.started, g.first = true, slot
		g.setNewest(slot)
		return 0, 0
	}
	if slot <= g.newest {
		return 0, 0
	}
	from, to := g.newestBucket, g.bucketOf(slot)
	g.newest = slot
	// step is negative only when to-from overflowed (a jump across most of
	// int64's range, as from a hostile time): that is past a whole ring too.
	step := to - from
	if step >= 0 && step < g.n {
		g.newestBucket, g.newestIndex = to, g.newestIndex+step
		if g.newestIndex >= g.n {
			g.newestIndex -= g.n
		}
		return to, step
	}
	g.setNewest(slot)
	return to, g.n // past a whole ring, everything has left already
}

// leaves reports whether the bucket that entering replaces held slots of the
// window (not of the time before its first slot).
func (g *ring) leaves(entering int64) bool { return entering-g.n >= g.bucketOf(g.first) }

// rebuildDue counts a recycled bucket and reports whether the totals are to
// be rebuilt: once a turn of the ring, or at once when a subtraction was not
// exact.
func (g *ring) rebuildDue(exact bool) bool {
	g.turned++
	if g.turned >= int(g.n) || !exact {
		g.turned = 0
		return true
	}
	return false
}

// MovingWindow keeps a Summary for the last Len slots (fixed-width time
// buckets, normally one collectd interval each) and their total, updated in
// O(1) as slots enter and leave. The buckets live in a ring allocated once.
//
// Subtracting floating-point sums drifts; the total is rebuilt from the
// buckets each time the ring has turned once, which costs O(buckets) once per
// turn of the ring - and at once when a bucket leaves that held most of the
// total (a hostile 1e308 among counts of hundreds), whose subtraction would
// take the other values' digits with it.
type MovingWindow struct {
	ring
	buckets []Summary
	total   Summary
	expired func(slot int64, s *Summary)
}

// NewMovingWindow makes a window over n slots.
func NewMovingWindow(n int) *MovingWindow {
	g := newRing(n)
	return &MovingWindow{ring: g, buckets: make([]Summary, g.n)}
}

// SlotsPerBucket is how many slots each bucket passed to OnExpire holds.
func (w *MovingWindow) SlotsPerBucket() int64 { return w.per }

// Len is the number of slots the window spans.
func (w *MovingWindow) Len() int { return w.slots }

// OnExpire sets a function that receives each bucket as it leaves the window
// (with the newest slot it held); a baseline window is fed this way from the
// window that follows it in time.
func (w *MovingWindow) OnExpire(f func(slot int64, s *Summary)) { w.expired = f }

// Advance makes slot the newest one, expiring the buckets that fall out.
// Slots not newer than the newest are ignored: time only moves forward.
func (w *MovingWindow) Advance(slot int64) {
	to, steps := w.advance(slot)
	for i := int64(1); i <= steps; i++ {
		w.recycle(to - steps + i)
	}
}

// recycle frees the ring position that bucket entering takes over from the
// bucket a ring's length before it.
func (w *MovingWindow) recycle(entering int64) {
	leaving := entering - w.n
	s := &w.buckets[w.index(entering)]
	exact := true
	if w.leaves(entering) {
		exact = !w.total.dominatedBy(s)
		w.total.Remove(s)
		if w.expired != nil {
			w.expired(leaving*w.per+w.per-1, s)
		}
	}
	*s = Summary{}
	if w.rebuildDue(exact) {
		w.rebuild()
	}
}

func (w *MovingWindow) rebuild() {
	w.total = Summary{}
	for i := range w.buckets {
		w.total.Merge(&w.buckets[i])
	}
}

// Add puts x into slot, advancing the window if slot is newer than its newest.
// It returns false, and does nothing, if slot has already left the window.
func (w *MovingWindow) Add(slot int64, x float64) bool {
	w.Advance(slot)
	if !w.take(slot) {
		return false
	}
	w.buckets[w.index(w.bucketOf(slot))].Add(x)
	w.total.Add(x)
	return true
}

// Merge adds a whole summary into slot, advancing like Add (baselines are fed
// with the slots that leave the window after them).
func (w *MovingWindow) Merge(slot int64, s *Summary) bool {
	w.Advance(slot)
	if !w.take(slot) {
		return false
	}
	w.buckets[w.index(w.bucketOf(slot))].Merge(s)
	w.total.Merge(s)
	return true
}

// Total summarises every value in the window.
func (w *MovingWindow) Total() *Summary { return &w.total }

// Full reports whether the window has been advanced through as many slots as
// it spans, so that a verdict on it is not one on a partial window.
func (w *MovingWindow) Full() bool { return w.full() }

// BucketRates summarises the complete buckets (one value in each of their
// slots): how many, and the mean and the sample variance of their values per
// slot - what a count's dispersion over the bucket's span is measured from.
func (w *MovingWindow) BucketRates() (n int, mean, variance float64) {
	var sum, sq float64
	for i := range w.buckets {
		b := &w.buckets[i]
		if b.N < float64(w.per) {
			continue
		}
		r := b.Sum / b.N
		n++
		sum += r
		sq += r * r
	}
	if n < 2 {
		return n, math.NaN(), math.NaN()
	}
	mean = sum / float64(n)
	return n, mean, max(sq-float64(n)*mean*mean, 0) / float64(n-1)
}

// Newest is the newest slot.
func (w *MovingWindow) Newest() int64 { return w.newest }

// sumPair is the memory of rules that divide one sum by another over the
// same moving window (ratio, errorshare): input 0 is the part, any other
// input the whole. It keeps only the two sums per bucket - 16 bytes where a
// pair of Summary windows took 80 - and rebuilds its totals as
// MovingWindow does.
type sumPair struct {
	ring
	sums        []float64     // per bucket: part, whole
	part, whole float64       // the window's totals
	window      time.Duration // the span the window covers
}

func newSumPair(window time.Duration, clock SlotClock) sumPair {
	g := newRing(slotsFor(window, clock.Step))
	return sumPair{ring: g, sums: make([]float64, 2*g.n), window: time.Duration(g.slots) * clock.Step}
}

func (p *sumPair) Add(input int, slot int64, v float64) {
	p.advanceTo(slot)
	if !p.take(slot) {
		return
	}
	i := 2 * p.index(p.bucketOf(slot))
	if input == 0 {
		p.sums[i] += v
		p.part += v
	} else {
		p.sums[i+1] += v
		p.whole += v
	}
}

func (p *sumPair) advanceTo(slot int64) {
	to, steps := p.advance(slot)
	for k := int64(1); k <= steps; k++ {
		p.recycle(to - steps + k)
	}
}

// recycle frees a bucket's place, as MovingWindow.recycle does.
func (p *sumPair) recycle(entering int64) {
	i := 2 * p.index(entering)
	exact := true
	if p.leaves(entering) {
		exact = !sumDominated(p.part, p.sums[i]) && !sumDominated(p.whole, p.sums[i+1])
		p.part -= p.sums[i]
		p.whole -= p.sums[i+1]
	}
	p.sums[i], p.sums[i+1] = 0, 0
	if p.rebuildDue(exact) {
		p.part, p.whole = 0, 0
		for j := 0; j < len(p.sums); j += 2 {
			p.part += p.sums[j]
			p.whole += p.sums[j+1]
		}
	}
}

func (p *sumPair) Span() int64 { return int64(p.slots) }

// sumsAt advances the window to slot and returns its sums; full is false
// while the window has not yet spanned its length.
func (p *sumPair) sumsAt(slot int64) (part, whole float64, full bool) {
	p.advanceTo(slot)
	return p.part, p.whole, p.full()
}

// saveState and loadState keep the window across a restart (persistent).
func (p *sumPair) saveState(e *stateEncoder) {
	e.ring(&p.ring)
	e.float(p.part)
	e.float(p.whole)
	for _, x := range p.sums {
		e.float(x)
	}
}

func (p *sumPair) loadState(d *stateDecoder) {
	if !d.ring(&p.ring) {
		return
	}
	p.part, p.whole = d.float(), d.float()
	for i := range p.sums {
		p.sums[i] = d.float()
	}
}

func (p *sumPair) memory(time.Duration) time.Duration { return p.window }
