package detect

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// The state file's values are written by a small binary codec: varints for
// integers, little-endian IEEE bits for floats, length-prefixed strings.
// Every rule kind saves and restores its own state with it (persistent),
// in the kind's file; the engine frames them (statefile.go).

// persistent is a RuleState that survives a restart.
type persistent interface {
	// memory is how long the state stays of use without values: its
	// windows' span. Saved longer ago, a group keeps only its alert.
	memory(step time.Duration) time.Duration
	saveState(e *stateEncoder)
	// loadState restores into a state just made by NewState for the same
	// rule and slot clock; it fails (d.fail) if the saved geometry differs.
	loadState(d *stateDecoder)
}

type stateEncoder struct{ b []byte }

func (e *stateEncoder) int(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *stateEncoder) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *stateEncoder) float(v float64) {
	e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v))
}

func (e *stateEncoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

func (e *stateEncoder) bytes(p []byte) {
	e.uint(uint64(len(p)))
	e.b = append(e.b, p...)
}

func (e *stateEncoder) string(s string) {
	e.uint(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *stateEncoder) summary(s *Summary) {
	e.float(s.N)
	e.float(s.Sum)
	e.float(s.shift)
	e.float(s.s1)
	e.float(s.s2)
}

// ring saves a window's geometry and where it stands; loading checks the
// geometry.
func (e *stateEncoder) ring(g *ring) {
	e.int(g.per)
	e.int(int64(g.slots))
	e.uint(uint64(g.n))
	e.bool(g.started)
	e.int(g.first)
	e.int(g.newest)
	e.int(int64(g.turned))
}

// window saves a moving window with its geometry.
func (e *stateEncoder) window(w *MovingWindow) {
	e.ring(&w.ring)
	e.summary(&w.total)
	for i := range w.buckets {
		e.summary(&w.buckets[i])
	}
}

// stateDecoder reads what stateEncoder wrote. The first problem sticks:
// later reads return zeros, and err says what went wrong. Lengths are
// checked against what is left, so a hostile file cannot make it allocate
// more than its own size.
type stateDecoder struct {
	b   []byte
	err error
}

var errTruncated = errors.New("truncated")

func (d *stateDecoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

func (d *stateDecoder) int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errTruncated
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *stateDecoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errTruncated
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *stateDecoder) float() float64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.err = errTruncated
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

func (d *stateDecoder) bool() bool {
	if d.err != nil {
		return false
	}
	if len(d.b) < 1 || d.b[0] > 1 {
		d.fail("bad boolean")
		return false
	}
	v := d.b[0] == 1
	d.b = d.b[1:]
	return v
}

// length reads a count of items of at least size bytes each.
func (d *stateDecoder) length(size int) int {
	n := d.uint()
	if d.err == nil && n > uint64(len(d.b)/max(size, 1)) {
		d.err = errTruncated
		return 0
	}
	return int(n)
}

func (d *stateDecoder) bytes() []byte {
	n := d.length(1)
	if d.err != nil {
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *stateDecoder) string() string { return string(d.bytes()) }

func (d *stateDecoder) summary(s *Summary) {
	s.N, s.Sum, s.shift, s.s1, s.s2 = d.float(), d.float(), d.float(), d.float(), d.float()
}

// ring restores into g, which must have the saved geometry: a window of
// another length (the rule's Window changed, or the interval) starts fresh.
func (d *stateDecoder) ring(g *ring) bool {
	per, slots, n := d.int(), d.int(), d.uint()
	if d.err == nil && (per != g.per || slots != int64(g.slots) || n != uint64(g.n)) {
		d.fail("a window of %d slots in %d buckets, now %d in %d", slots, n, g.slots, g.n)
		return false
	}
	g.started = d.bool()
	g.first, g.newest, g.turned = d.int(), d.int(), int(d.int())
	if d.err == nil && g.started && g.first > g.newest {
		d.fail("a window whose first slot %d is after its newest %d", g.first, g.newest)
		return false
	}
	g.setNewest(g.newest)
	return d.err == nil
}

// window restores into w (see ring).
func (d *stateDecoder) window(w *MovingWindow) {
	if !d.ring(&w.ring) {
		return
	}
	d.summary(&w.total)
	for i := range w.buckets {
		d.summary(&w.buckets[i])
	}
}

// count reads a number of items that must equal want (a ring's length).
func (d *stateDecoder) count(want int, what string) bool {
	n := d.uint()
	if d.err == nil && n != uint64(want) {
		d.fail("%s of %d, now %d", what, n, want)
	}
	return d.err == nil
}
