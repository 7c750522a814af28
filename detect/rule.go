package detect

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Input is one named set of series a rule reads, such as a ratio's numerator.
// A series that matches several selectors of one input counts once.
type Input struct {
	Name      string
	Selectors []Selector
}

// RuleSpec is what every rule has in common: its name, what it reads, how it
// groups series, and its alert lifecycle.
type RuleSpec struct {
	Name   string
	Inputs []Input
	// Hosts restricts the rule to matching hosts (default all).
	Hosts HostMatcher
	// AggregateHosts puts every host's series into one group instead of
	// judging each host on its own (the default, for a central collectd).
	AggregateHosts bool
	// DataSource names the data source read from multi-valued value lists;
	// empty reads the first.
	DataSource string
	// Resolution is the width of a window slot; zero takes the interval of
	// the first value list a group receives.
	Resolution time.Duration
	// PerSeries keeps one state for each series (per host) instead of one for
	// all the series the rule selects; the series names the group.
	PerSeries bool
	Lifecycle Lifecycle
	// Message, if set, words the rule's notifications (see MessageTemplate);
	// Runbook is a link for the person on call, carried in the message and
	// the notification's meta data.
	Message *MessageTemplate
	Runbook string
	// Fingerprint identifies the rule's configuration in a state file: a
	// rule whose fingerprint changed starts with no saved state.
	Fingerprint string
}

// Spec returns the spec itself, so that rule types embedding a RuleSpec
// satisfy most of Rule.
func (s *RuleSpec) Spec() *RuleSpec { return s }

// Describe lists the selectors of each input, for messages and meta data.
func (s *RuleSpec) Describe() string {
	parts := make([]string, 0, len(s.Inputs))
	for _, in := range s.Inputs {
		sels := make([]string, len(in.Selectors))
		for i, sel := range in.Selectors {
			sels[i] = sel.String()
		}
		parts = append(parts, strings.Join(sels, " + "))
	}
	return strings.Join(parts, " / ")
}

// SettingError is an error about a rule's settings, found when the rule is
// built: it names the rule and the setting at fault, so that a configuration
// reader can point at the line that sets it.
type SettingError struct {
	Rule string
	// Setting is the option as the documentation spells it ("Window"), or
	// "" when the error is about several or about the rule as a whole.
	Setting string
	// Problem is what is wrong, the rest of the sentence after the setting.
	Problem string
}

func (e *SettingError) Error() string {
	if e.Setting == "" {
		return fmt.Sprintf("rule %q: %s", e.Rule, e.Problem)
	}
	return fmt.Sprintf("rule %q: %s %s", e.Rule, e.Setting, e.Problem)
}

func settingError(rule, setting, format string, args ...any) error {
	return &SettingError{Rule: rule, Setting: setting, Problem: fmt.Sprintf(format, args...)}
}

// Validate checks what every rule needs.
func (s *RuleSpec) Validate() error {
	if s.Name == "" {
		return fmt.Errorf("rule without a name")
	}
	for _, in := range s.Inputs {
		if len(in.Selectors) == 0 {
			return settingError(s.Name, "", "no series for %s", in.Name)
		}
	}
	if s.Lifecycle.Hits < 0 || s.Lifecycle.MinDuration < 0 || s.Lifecycle.Repeat < 0 || s.Resolution < 0 {
		return settingError(s.Name, "", "Hits, MinDuration, Repeat and Resolution must not be negative")
	}
	return nil
}

// Rule is a configured detector. The engine keeps one RuleState per group of
// the series the rule's inputs select.
type Rule interface {
	Spec() *RuleSpec
	// Kind names the rule type ("ratio", ...), for notifications.
	Kind() string
	// NewState returns empty state for one group, whose slots clock describes.
	NewState(clock SlotClock) RuleState
	// Message words a verdict for the person on call.
	Message(a *Alert, v *Verdict) string
}

// RuleState is a rule's memory for one group.
type RuleState interface {
	// Add accounts for value v of the given input in slot.
	Add(input int, slot int64, v float64)
	// Evaluate judges the window that ends with slot, which is complete,
	// given the alert's current level (for hysteresis). Slots are evaluated
	// once each, in order.
	Evaluate(slot int64, current Level) Verdict
	// Span is how many slots back the state looks, which bounds the work of
	// catching up after a gap.
	Span() int64
}

// HostState is a RuleState that needs to know which host each value came
// from (FleetRule counts hosts): the engine calls AddFrom instead of Add.
type HostState interface {
	RuleState
	AddFrom(host string, input int, slot int64, v float64)
}

// Verdict is a rule's judgement of one window.
type Verdict struct {
	// Decided is false when the window holds too little to judge (warming
	// up, too few events); the alert then stays as it is.
	Decided   bool
	Level     Level
	Observed  float64 // the value judged (a ratio, a count, a stddev...)
	Threshold float64 // the bound it was compared with, NaN if none
	Baseline  float64 // what it was compared against, NaN if none
	// Numerator and Denominator are the raw quantities behind Observed where
	// it is a ratio, for the message; NaN otherwise.
	Numerator, Denominator float64
	// Probability is the tail probability of the window under the normal
	// model, for rules that judge by one (or report one); NaN otherwise.
	Probability float64
	// Window is the span the verdict covers.
	Window time.Duration
	// Reason names why, for a rule that judges in more than one way (see
	// AnomalyRule's ReasonFlat); empty otherwise.
	Reason string

	// Periodic asks for a notification of Level whatever the lifecycle says:
	// a rule that reports on a schedule (health) rather than on change.
	Periodic bool
	// Emit asks for Value to be dispatched as a derived series (see Emitter),
	// whether or not the verdict is Decided.
	Emit  bool
	Value float64
	// ValueTime and ValueInterval stamp the derived value; zero takes the
	// time of the value that completed the slot and the slot width.
	ValueTime     time.Time
	ValueInterval time.Duration
	// LastValue is the time of the newest value the verdict saw, for rules
	// that report silence; zero otherwise.
	LastValue time.Time
}

// Emitter is a rule that dispatches a derived series: its values go back
// into collectd as plugin "anomaly", type "gauge", type instance OutputName,
// plugin instance the group label. The engine never routes that series into
// the rule that produced it, so a derived value cannot feed itself.
type Emitter interface {
	OutputName() string
}

// LevelEmitter is an Emitter whose derived values are alert levels (0, 1,
// 2) - a health series - which writers store with their health words.
type LevelEmitter interface {
	Emitter
	EmitsLevels()
}

// IntervalChecker is a rule that can tell, for values at one interval (the
// width of its slots), why it would never judge them, or judge another span
// than it says: replay warns of it before it plays recorded data.
type IntervalChecker interface {
	CheckInterval(step time.Duration) []string
}

// windowProblems is what a window of d says at slots of step: one shorter
// than a slot covers the slot (a longer span than configured); one of fewer
// slots than need can never judge.
func windowProblems(option string, d, step time.Duration, need int, why string) []string {
	var out []string
	n := slotsFor(d, step)
	if d < step {
		out = append(out, fmt.Sprintf("%s %s is shorter than the data's interval %s: it covers one slot of %s", option, d, step, step))
	}
	if n < need {
		out = append(out, fmt.Sprintf("%s %s holds %d slot(s) of %s; %s needs %d: it never judges", option, d, n, step, why, need))
	}
	return out
}

// SlotClock maps a group's slots to time: slot s spans
// [Origin + s*Step, Origin + (s+1)*Step).
type SlotClock struct {
	Origin time.Time
	Step   time.Duration
}

// Start is when slot s begins.
func (c SlotClock) Start(s int64) time.Time { return c.Origin.Add(time.Duration(s) * c.Step) }

// Of is the slot that holds t.
func (c SlotClock) Of(t time.Time) int64 {
	d := t.Sub(c.Origin)
	s := int64(d / c.Step)
	if d < 0 && d%c.Step != 0 {
		s--
	}
	return s
}

func undecided() Verdict {
	nan := math.NaN()
	return Verdict{Observed: nan, Threshold: nan, Baseline: nan, Numerator: nan, Denominator: nan, Probability: nan}
}

// slotsFor is how many slots of width step cover d (at least one).
func slotsFor(d, step time.Duration) int {
	if step <= 0 {
		return 1
	}
	n := int((d + step - 1) / step)
	return max(n, 1)
}
