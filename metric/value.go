package metric

import "time"

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

// ValueList is what collectd hands its write callbacks. Nothing keeps a
// ValueList nor any of its strings past the call it was passed to: the
// plugin fills it from C memory that collectd reuses (see Identifier.Clone).
type ValueList struct {
	Identifier
	Time     time.Time
	Interval time.Duration
	Values   []Value
	DSNames  []string // optional; needed only by rules that pick a data source by name
}
