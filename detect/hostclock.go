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
// A value ahead of that is still on time if the other hosts have come as
// far (eventClock.progress): a host whose values stopped in a bulk load,
// where days of values arrive in minutes, and go on.
//
// A host whose clock really jumped - forward (set right after running slow)
// or back by more than MaxAhead (set right after running fast) - sends
// nothing but values ahead of its clock, or far behind it: once those have
// come for JumpAfter of wall-clock time, or span JumpConfirm of their own
// time (a clock goes on; a broken value does not), its new clock is taken
// and the state of its rules restarts (Stats.Jumps), rather than judging
// hours that never were or dropping every value as late until the old time
// comes round again. The values before are dropped: ahead, or late.
const (
	MaxAhead    = 10 * time.Minute
	JumpAfter   = time.Minute
	JumpConfirm = 30 * time.Second
)

// SettleTime is how long, in wall-clock time, a clock's time must have been
// reached before it closes slots by the lateness: collectd's write threads
// hand values of one series to the plugin out of order by as long as a
// thread waits for a CPU, and in a bulk load milliseconds are minutes of
// the values' time. Replay (no wall clock) needs none. A quarter of a
// second was too short: on two busy cores a write thread was once seen to
// wait longer in a bulk load of 1.4 million value lists (one value late);
// a second costs a live alert of a slot that never completes one second.
const SettleTime = time.Second

// clockSample is a clock's time and the wall-clock time it was reached.
type clockSample struct{ first, wall, t int64 }

// clockSamples is how many samples a clock keeps, each started at least
// SettleTime/8 after the one before: enough to span twice SettleTime.
const clockSamples = 16

// eventClock is the event time of a source of values: one host (shared by
// the routes and groups of its series), or one group that aggregates hosts.
// Its time is the newest value time it accepted; it also remembers when
// that value arrived, and its offset: how far its first value's time was
// from the time it arrived (the host's clock error and the delivery delay),
// from which its silence is measured.
type eventClock struct {
	host string
	// newestNano mirrors newest for the write path: every series of a host
	// but the first of each interval has a time not after it, and needs
	// neither the lock nor the wall clock.
	newestNano atomic.Int64
	// arrivedNano is the wall-clock time the newest value arrived;
	// offsetNano the first value's time less the time it arrived.
	arrivedNano, offsetNano atomic.Int64
	// epoch counts the clock's jumps: state kept for an older epoch restarts.
	epoch atomic.Uint32

	mu         sync.Mutex
	newest     time.Time // newest value time accepted
	aheadSince time.Time // wall-clock time of the first value refused since
	aheadFirst time.Time // and its time
	farSince   time.Time // wall-clock time of the first value far behind since
	farFirst   time.Time // and its time
	samples    [clockSamples]clockSample
	nextSample int

	// routes and groups count what refers to the clock, under the engine's
	// lock: a clock referred to by neither is forgotten (Engine.sweep).
	routes, groups int
}

// accept reports whether a value of time t, arriving now (e.wallAt), is on
// the host's clock, and advances the clock if it is newer. jumped is true
// when the clock jumped to t. Without a wall clock (replay) no value is
// ahead.
func (c *eventClock) accept(t time.Time, e *Engine) (ok, jumped bool) {
	tn := t.UnixNano()
	if n := c.newestNano.Load(); n != 0 && tn <= n && n-tn <= int64(MaxAhead) {
		return true, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now, checkAhead := e.wallAt(t), e.now != nil
	if c.newest.IsZero() {
		// The first value: the host's clock may be off the collector's by
		// hours, but not by more than a day.
		if checkAhead && t.After(now.Add(24*time.Hour)) {
			return false, false
		}
		c.advance(t, now, &e.leading)
		return true, false
	}
	if t.Before(c.newest.Add(-MaxAhead)) {
		// Far behind: late for every rule, unless the clock was set back.
		if c.farSince.IsZero() || t.Before(c.farFirst) {
			c.farSince, c.farFirst = now, t
		}
		if now.Sub(c.farSince) < JumpAfter && t.Sub(c.farFirst) < JumpConfirm {
			return true, false
		}
		c.jump(t, now, &e.leading)
		return true, true
	}
	if !t.After(c.newest) {
		return true, false
	}
	expected := c.newest.Add(max(now.Sub(time.Unix(0, c.arrivedNano.Load())), 0))
	if checkAhead && t.After(expected.Add(MaxAhead)) && tn-c.offsetNano.Load() > e.leading.Load()+int64(MaxAhead) {
		if c.aheadSince.IsZero() || t.Before(c.aheadFirst) {
			c.aheadSince, c.aheadFirst = now, t
		}
		if now.Sub(c.aheadSince) < JumpAfter && t.Sub(c.aheadFirst) < JumpConfirm {
			return false, false
		}
		// Values ahead for a while: the host's clock jumped.
		c.jump(t, now, &e.leading)
		return true, true
	}
	c.advance(t, now, &e.leading)
	return true, false
}

func (c *eventClock) jump(t, now time.Time, leading *atomic.Int64) {
	c.epoch.Add(1)
	c.newest = time.Time{}
	c.samples, c.nextSample = [clockSamples]clockSample{}, 0
	c.advance(t, now, leading)
}

// advance makes t the clock's time; c.mu is held. leading is the
// engine's newest progress of any clock, raised to this one's.
func (c *eventClock) advance(t, now time.Time, leading *atomic.Int64) {
	if c.newest.IsZero() {
		c.offsetNano.Store(t.UnixNano() - now.UnixNano())
	}
	c.newest = t
	c.aheadSince, c.farSince = time.Time{}, time.Time{}
	tn := t.UnixNano()
	w := now.UnixNano()
	if s := &c.samples[(c.nextSample+clockSamples-1)%clockSamples]; s.first != 0 && w-s.first < int64(SettleTime/8) {
		s.wall, s.t = w, tn
	} else {
		c.samples[c.nextSample] = clockSample{w, w, tn}
		c.nextSample = (c.nextSample + 1) % clockSamples
	}
	for p := tn - c.offsetNano.Load(); ; {
		l := leading.Load()
		if l >= p || leading.CompareAndSwap(l, p) {
			break
		}
	}
	c.arrivedNano.Store(now.UnixNano())
	c.newestNano.Store(tn)
}

// note advances an aggregate group's clock with t (values were accepted
// by their hosts' clocks already); the group's lock is held.
func (c *eventClock) note(t time.Time, e *Engine) {
	if t.UnixNano() <= c.newestNano.Load() {
		return
	}
	c.mu.Lock()
	c.advance(t, e.wallAt(t), &e.leading)
	c.mu.Unlock()
}

// settled is the clock's time as it was SettleTime ago by the wall clock
// (its time in replay), zero if none.
func (c *eventClock) settled(e *Engine) time.Time {
	n := c.newestNano.Load()
	if n == 0 {
		return time.Time{}
	}
	if e.now == nil {
		return time.Unix(0, n).UTC()
	}
	cut := e.now().UnixNano() - int64(SettleTime)
	if c.arrivedNano.Load() <= cut {
		return time.Unix(0, n).UTC()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	best := int64(0)
	for _, s := range c.samples {
		if s.wall != 0 && s.wall <= cut {
			best = max(best, s.t)
		}
	}
	if best == 0 {
		return time.Time{}
	}
	return time.Unix(0, best).UTC()
}

// time is the clock's time, zero before any value.
func (c *eventClock) time() time.Time {
	if n := c.newestNano.Load(); n != 0 {
		return time.Unix(0, n).UTC()
	}
	return time.Time{}
}

// progress is the clock's time less its offset: where it stands in the
// frame of the time values arrive, common to all hosts whatever their
// clocks' errors.
func (c *eventClock) progress() int64 {
	return c.newestNano.Load() - c.offsetNano.Load()
}

// silence is how long the source has been silent at wall-clock time now,
// measured two ways, the longer of which counts: by the wall clock since
// its newest value arrived (a lone host that stopped sending), and by how
// far its progress lags the progress of the hosts (event time: a host that
// stopped while the others go on, in replay or in a bulk load where days
// of values arrive in minutes; only once nothing came for SettleTime).
// front is the hosts' progress (Engine.Tick), 0 if unknown.
func (c *eventClock) silence(now time.Time, front int64) time.Duration {
	if c.newestNano.Load() == 0 {
		return 0
	}
	wall := now.UnixNano() - c.arrivedNano.Load()
	event := int64(0)
	if front != 0 && wall >= int64(SettleTime) {
		// A source that sent within SettleTime is not silent, however far
		// the others' progress is ahead: in a bulk load hosts take turns
		// by milliseconds, which are minutes of their values' time (the
		// bulk e2e test lost a value now and then to this).
		event = front - c.progress()
	}
	return time.Duration(max(wall, event, 0))
}
