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
	buckets []Summary
	per     int64 // slots per bucket
	slots   int   // the window's length in slots
	started bool
	first   int64 // the first slot ever advanced to
	newest  int64 // the newest slot
	total   Summary
	turned  int // buckets recycled since the total was last rebuilt
	expired func(slot int64, s *Summary)
}

// NewMovingWindow makes a window over n slots.
func NewMovingWindow(n int) *MovingWindow {
	n = max(n, 1)
	per := (n + maxBuckets - 1) / maxBuckets
	nb := (n + per - 1) / per
	return &MovingWindow{buckets: make([]Summary, nb), per: int64(per), slots: n}
}

// SlotsPerBucket is how many slots each bucket passed to OnExpire holds.
func (w *MovingWindow) SlotsPerBucket() int64 { return w.per }

// Len is the number of slots the window spans.
func (w *MovingWindow) Len() int { return w.slots }

// OnExpire sets a function that receives each bucket as it leaves the window
// (with the newest slot it held); a baseline window is fed this way from the
// window that follows it in time.
func (w *MovingWindow) OnExpire(f func(slot int64, s *Summary)) { w.expired = f }

func (w *MovingWindow) bucketOf(slot int64) int64 {
	b := slot / w.per
	if slot < 0 && slot%w.per != 0 {
		b--
	}
	return b
}

// Advance makes slot the newest one, expiring the buckets that fall out.
// Slots not newer than the newest are ignored: time only moves forward.
func (w *MovingWindow) Advance(slot int64) {
	if !w.started {
		w.started, w.first, w.newest = true, slot, slot
		return
	}
	if slot <= w.newest {
		return
	}
	from, to := w.bucketOf(w.newest), w.bucketOf(slot)
	steps := min(to-from, int64(len(w.buckets))) // past a whole ring, everything has left already
	for i := int64(1); i <= steps; i++ {
		w.recycle(to - steps + i)
	}
	w.newest = slot
}

// recycle frees the ring position that bucket entering takes over from the
// bucket a ring's length before it.
func (w *MovingWindow) recycle(entering int64) {
	leaving := entering - int64(len(w.buckets))
	s := &w.buckets[w.index(entering)]
	exact := true
	if leaving >= w.bucketOf(w.first) {
		exact = !w.total.dominatedBy(s)
		w.total.Remove(s)
		if w.expired != nil {
			w.expired(leaving*w.per+w.per-1, s)
		}
	}
	*s = Summary{}
	if w.turned++; w.turned >= len(w.buckets) || !exact {
		w.rebuild()
	}
}

func (w *MovingWindow) rebuild() {
	w.turned = 0
	w.total = Summary{}
	for i := range w.buckets {
		w.total.Merge(&w.buckets[i])
	}
}

func (w *MovingWindow) index(bucket int64) int {
	n := int64(len(w.buckets))
	return int(((bucket % n) + n) % n)
}

// holds reports whether slot is still inside the window.
func (w *MovingWindow) holds(slot int64) bool {
	return w.bucketOf(slot) > w.bucketOf(w.newest)-int64(len(w.buckets))
}

// Add puts x into slot, advancing the window if slot is newer than its newest.
// It returns false, and does nothing, if slot has already left the window.
func (w *MovingWindow) Add(slot int64, x float64) bool {
	w.Advance(slot)
	if !w.holds(slot) {
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
	if !w.holds(slot) {
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
func (w *MovingWindow) Full() bool {
	return w.started && w.newest-w.first+1 >= int64(w.slots)
}

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
// input the whole.
type sumPair struct {
	part, whole *MovingWindow
	window      time.Duration // the span the window covers
}

func newSumPair(window time.Duration, clock SlotClock) sumPair {
	n := slotsFor(window, clock.Step)
	return sumPair{part: NewMovingWindow(n), whole: NewMovingWindow(n), window: time.Duration(n) * clock.Step}
}

func (p *sumPair) Add(input int, slot int64, v float64) {
	if input == 0 {
		p.part.Add(slot, v)
	} else {
		p.whole.Add(slot, v)
	}
}

func (p *sumPair) Span() int64 { return int64(p.whole.Len()) }

// sums advances both windows to slot and returns their sums; full is false
// while the window has not yet spanned its length.
func (p *sumPair) sums(slot int64) (part, whole float64, full bool) {
	p.part.Advance(slot)
	p.whole.Advance(slot)
	return p.part.Total().Sum, p.whole.Total().Sum, p.whole.Full()
}

// saveState and loadState keep both windows across a restart (persistent).
func (p *sumPair) saveState(e *stateEncoder) {
	e.window(p.part)
	e.window(p.whole)
}

func (p *sumPair) loadState(d *stateDecoder) {
	d.window(p.part)
	d.window(p.whole)
}

func (p *sumPair) memory(time.Duration) time.Duration { return p.window }
