package detect

import (
	"time"
)

// Alert is a change of an alert's level (or a repeat of it), with everything
// a person or a machine needs to act on it.
type Alert struct {
	Time     time.Time // time of the value whose arrival completed the judged window
	Severity Level
	Previous Level
	Repeat   bool // a reminder of an unchanged WARNING or FAILURE

	Rule  string // the rule's name
	Kind  string // the rule's type
	Host  string // the host judged; empty when the rule aggregates hosts
	Group string // the group label captured by a selector, if any
	// Series describes what the rule reads (its selectors).
	Series string

	Observed  float64
	Threshold float64
	Baseline  float64
	// Probability is the tail probability the rule judged, NaN if none.
	Probability float64
	Window      time.Duration
	Message     string
	Runbook     string // the rule's Runbook, if any
	// Silenced names the silence that held the alert's notification back;
	// outputs set it, the engine never does.
	Silenced string
}

// Subject names what the alert is about: the rule, and its group if any.
func (a *Alert) Subject() string {
	if a.Group == "" {
		return a.Rule
	}
	return a.Rule + "[" + a.Group + "]"
}

// DerivedValue is a value computed by a rule (see Emitter), to be dispatched
// as plugin "anomaly", type "gauge", plugin instance Group, type instance Name.
type DerivedValue struct {
	Host, Group, Name string
	Time              time.Time
	Interval          time.Duration
	Value             float64
}

// Sink receives what the engine produces. Implementations must be safe for
// concurrent use and must not block: the engine calls them from Observe and
// Tick (in the plugin: the write ring's goroutine and the read callback)
// with a group's lock held.
type Sink interface {
	Alert(Alert)
	Value(DerivedValue)
}

// discard is the Sink of an engine given none.
type discard struct{}

func (discard) Alert(Alert)        {}
func (discard) Value(DerivedValue) {}
