package detect

// MovingWindow keeps a Summary for each of the last Len slots (fixed-width
// time buckets, normally one collectd interval each) and their total, updated
// in O(1) as slots enter and leave. The slots live in a ring allocated once.
//
// Subtracting floating-point sums drifts; the total is rebuilt from the slots
// each time the ring has turned once, which costs O(Len) once per Len slots.
type MovingWindow struct {
	slots   []Summary
	started bool
	first   int64 // absolute index of the first slot ever advanced to
	newest  int64 // absolute index of the newest slot
	total   Summary
	turned  int // slots recycled since the total was last rebuilt
	expired func(slot int64, s *Summary)
}

// NewMovingWindow makes a window over n slots.
func NewMovingWindow(n int) *MovingWindow {
	if n < 1 {
		n = 1
	}
	return &MovingWindow{slots: make([]Summary, n)}
}

// Len is the number of slots the window spans.
func (w *MovingWindow) Len() int { return len(w.slots) }

// OnExpire sets a function that receives each slot as it leaves the window; a
// baseline window is fed this way from the window that follows it in time.
func (w *MovingWindow) OnExpire(f func(slot int64, s *Summary)) { w.expired = f }

// Advance makes slot the newest one, expiring the slots that fall out.
// Slots not newer than the newest are ignored: time only moves forward.
func (w *MovingWindow) Advance(slot int64) {
	if !w.started {
		w.started, w.first, w.newest = true, slot, slot
		return
	}
	if slot <= w.newest {
		return
	}
	n := int64(len(w.slots))
	steps := min(slot-w.newest, n) // past n slots, everything has left already
	for i := int64(1); i <= steps; i++ {
		w.recycle(w.newest + i)
	}
	w.newest = slot
}

// recycle frees the ring position that slot entering takes over from the slot
// n before it.
func (w *MovingWindow) recycle(entering int64) {
	leaving := entering - int64(len(w.slots))
	s := &w.slots[w.index(entering)]
	if leaving >= w.first {
		w.total.Remove(s)
		if w.expired != nil {
			w.expired(leaving, s)
		}
	}
	*s = Summary{}
	if w.turned++; w.turned >= len(w.slots) {
		w.rebuild()
	}
}

func (w *MovingWindow) rebuild() {
	w.turned = 0
	w.total = Summary{}
	for i := range w.slots {
		w.total.Merge(&w.slots[i])
	}
}

func (w *MovingWindow) index(slot int64) int {
	n := int64(len(w.slots))
	return int(((slot % n) + n) % n)
}

// Add puts x into slot, advancing the window if slot is newer than its newest.
// It returns false, and does nothing, if slot has already left the window.
func (w *MovingWindow) Add(slot int64, x float64) bool {
	w.Advance(slot)
	if slot <= w.newest-int64(len(w.slots)) {
		return false
	}
	w.slots[w.index(slot)].Add(x)
	w.total.Add(x)
	return true
}

// Merge adds a whole summary into slot, advancing like Add (baselines are fed
// with the slots that leave the window after them).
func (w *MovingWindow) Merge(slot int64, s *Summary) bool {
	w.Advance(slot)
	if slot <= w.newest-int64(len(w.slots)) {
		return false
	}
	w.slots[w.index(slot)].Merge(s)
	w.total.Merge(s)
	return true
}

// Total summarises every value in the window.
func (w *MovingWindow) Total() *Summary { return &w.total }

// Full reports whether the window has been advanced through as many slots as
// it spans, so that a verdict on it is not one on a partial window.
func (w *MovingWindow) Full() bool {
	return w.started && w.newest-w.first+1 >= int64(len(w.slots))
}

// Newest is the absolute index of the newest slot.
func (w *MovingWindow) Newest() int64 { return w.newest }
