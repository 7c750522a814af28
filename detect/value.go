package detect

import (
	"math"
	"time"
)

// Kind is a collectd data source type.
type Kind uint8

// The data source types of collectd, in the order of its DS_TYPE_* constants.
const (
	Counter Kind = iota
	Gauge
	Derive
	Absolute
)

func (k Kind) String() string {
	switch k {
	case Counter:
		return "counter"
	case Gauge:
		return "gauge"
	case Derive:
		return "derive"
	case Absolute:
		return "absolute"
	}
	return "unknown"
}

// Value is one data source's value. Only the field of its Kind is meaningful;
// a union would save bytes but make every caller unsafe.
type Value struct {
	Kind    Kind
	Gauge   float64
	Counter uint64 // COUNTER and ABSOLUTE
	Derive  int64
}

// GaugeValue, CounterValue, DeriveValue and AbsoluteValue build a Value of their kind.
func GaugeValue(v float64) Value   { return Value{Kind: Gauge, Gauge: v} }
func CounterValue(v uint64) Value  { return Value{Kind: Counter, Counter: v} }
func DeriveValue(v int64) Value    { return Value{Kind: Derive, Derive: v} }
func AbsoluteValue(v uint64) Value { return Value{Kind: Absolute, Counter: v} }

// ValueList is what collectd hands its write callbacks. The engine never keeps
// a ValueList nor any of its strings past Observe: the plugin fills it from C
// memory that collectd reuses.
type ValueList struct {
	Identifier
	Time     time.Time
	Interval time.Duration
	Values   []Value
	DSNames  []string // optional; needed only by rules that pick a data source by name
}

// increment turns a cumulative value into the increase since the previous
// one; reset is true when the value fell and no wrap explains it.
//
// A counter that falls has been reset (a restarted daemon, a replaced
// device): how much it counted between the previous value and the reset is
// unknown, so the increment is NaN - no spike, no drop - rather than the new
// value (Prometheus' convention, which reads a counter of a million that
// restarts at 900,000 as 900,000 events in one interval). A wrap is assumed
// only when the values make one plausible: the previous value was in the top
// eighth of the 32-bit range (SNMP's Counter32) or of the 64-bit one, and the
// increment across the wrap is under an eighth of that range. A DERIVE that
// falls is taken as reset the same way.
func increment(kind Kind, prev, cur Value) (inc float64, reset bool) {
	switch kind {
	case Counter:
		if cur.Counter >= prev.Counter {
			return float64(cur.Counter - prev.Counter), false
		}
		if prev.Counter <= math.MaxUint32 {
			if wrapped := uint64(math.MaxUint32) - prev.Counter + cur.Counter + 1; prev.Counter > math.MaxUint32-math.MaxUint32/8 && wrapped < math.MaxUint32/8 {
				return float64(wrapped), false
			}
			return math.NaN(), true
		}
		if wrapped := math.MaxUint64 - prev.Counter + cur.Counter + 1; prev.Counter > math.MaxUint64-math.MaxUint64/8 && wrapped < math.MaxUint64/8 {
			return float64(wrapped), false
		}
		return math.NaN(), true
	case Derive:
		if cur.Derive >= prev.Derive {
			return float64(cur.Derive - prev.Derive), false
		}
		return math.NaN(), true
	}
	return math.NaN(), false
}
