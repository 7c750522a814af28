package detect

import (
	"sync"
	"sync/atomic"
	"time"
)

// MaxAhead is how far a value's time may run ahead of its host's clock
// before the value is dropped (and counted in Stats.Ahead). A host's clock
// is the newest value time it sent, carried forward by the collector's wall
// clock since that value arrived: a host that was down an hour and comes
// back is on time, a value stamped ten years ahead (a broken clock, a
// mistyped PUTVAL) is not, and it moves nothing - it cannot make the host's
// real values look old, nor its silence look like decades.
//
// A host whose clock really jumped forward (set right after running slow)
// sends nothing but values ahead of it: after JumpAfter of wall-clock time
// of those, its new clock is taken.
const (
	MaxAhead  = 10 * time.Minute
	JumpAfter = time.Minute
)

// hostClock is one host's clock, shared by the routes of its series.
type hostClock struct {
	host string
	// newestNano mirrors newest for the write path: every series of a host
	// but the first of each interval has a time not after it, and needs
	// neither the lock nor the wall clock.
	newestNano atomic.Int64

	mu         sync.Mutex
	newest     time.Time // newest value time accepted
	arrived    time.Time // wall-clock time newest arrived
	aheadSince time.Time // wall-clock time of the first value refused since
}

// accept reports whether a value of time t, arriving at wall-clock time
// now(), is on the host's clock, and advances the clock if it is newer.
func (c *hostClock) accept(t time.Time, wall func() time.Time) bool {
	if n := c.newestNano.Load(); n != 0 && t.UnixNano() <= n {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := wall()
	if c.newest.IsZero() {
		// The first value: the host's clock may be off the collector's by
		// hours, but not by more than a day.
		if t.After(now.Add(24 * time.Hour)) {
			return false
		}
		c.advance(t, now)
		return true
	}
	expected := c.newest.Add(max(now.Sub(c.arrived), 0))
	if t.After(expected.Add(MaxAhead)) {
		if c.aheadSince.IsZero() {
			c.aheadSince = now
		}
		if now.Sub(c.aheadSince) < JumpAfter {
			return false
		}
		// Only values ahead for a minute: the host's clock jumped.
	}
	c.aheadSince = time.Time{}
	if t.After(c.newest) {
		c.advance(t, now)
	}
	return true
}

func (c *hostClock) advance(t, now time.Time) {
	c.newest, c.arrived = t, now
	c.newestNano.Store(t.UnixNano())
}
