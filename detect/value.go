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

// increment turns a cumulative value into the increase since the previous one.
// Counters are assumed to have wrapped when they fall from near the top of the
// 32-bit range (as SNMP counters do) and to have been reset otherwise, in which
// case the new value is the increase since the reset - Prometheus' convention.
func increment(kind Kind, prev, cur Value) float64 {
	switch kind {
	case Counter:
		if cur.Counter >= prev.Counter {
			return float64(cur.Counter - prev.Counter)
		}
		if prev.Counter <= math.MaxUint32 && prev.Counter > math.MaxUint32-math.MaxUint32/8 {
			return float64(math.MaxUint32 - prev.Counter + cur.Counter + 1)
		}
		return float64(cur.Counter)
	case Derive:
		if cur.Derive >= prev.Derive {
			return float64(cur.Derive - prev.Derive)
		}
		if cur.Derive >= 0 {
			return float64(cur.Derive)
		}
		return 0
	}
	return math.NaN()
}
