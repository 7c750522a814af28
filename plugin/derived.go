package main

import (
	"sync"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// derivedLimit is how many derived series may wait for dispatch at once.
// Each waits with its newest value only, so the bound is on series, not on
// values: a fleet's states at every tick are one per group.
const derivedLimit = 1 << 18

// derivedQueue holds the derived values (states, scores, Health and
// PeriodRatio outputs) waiting to go back into collectd. A value of a
// series that is waiting replaces the older one: when dispatch falls
// behind, what collectd gets late is each series' newest value, not a
// queue of stale ones - which, dispatched back to back, collectd's write
// threads would reorder and refuse as "too old". Series are dispatched in
// the order they first waited.
type derivedQueue struct {
	mu       sync.Mutex
	waiting  map[derivedKey]int // index in values
	values   []detect.DerivedValue
	wake     chan struct{} // has something when values is not empty
	replaced uint64        // values a newer one of their series replaced
	dropped  uint64        // values of new series beyond derivedLimit
}

type derivedKey struct{ host, group, name string }

func newDerivedQueue() *derivedQueue {
	return &derivedQueue{waiting: map[derivedKey]int{}, wake: make(chan struct{}, 1)}
}

// put queues v, or replaces the waiting value of its series; false if v
// was dropped (derivedLimit series wait already).
func (q *derivedQueue) put(v detect.DerivedValue) bool {
	k := derivedKey{v.Host, v.Group, v.Name}
	q.mu.Lock()
	defer q.mu.Unlock()
	if i, ok := q.waiting[k]; ok {
		q.values[i] = v
		q.replaced++
		return true
	}
	if len(q.values) >= derivedLimit {
		q.dropped++
		return false
	}
	q.waiting[k] = len(q.values)
	q.values = append(q.values, v)
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// take returns what waits, in order, and empties the queue; buf is reused
// for the next take.
func (q *derivedQueue) take(buf []detect.DerivedValue) []detect.DerivedValue {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.values
	q.values = buf[:0]
	clear(q.waiting)
	return out
}

// len is how many series wait.
func (q *derivedQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.values)
}
