package detect

import (
	"fmt"
	"math"
	"time"
)

// CountRule judges the number of events in a moving window - the sum of
// every value of its Series (all hosts' rejected logins, say) over the last
// Window - against collectd's thresholds: "more than X in any hour".
//
// The comparison is collectd's (see Thresholds.Level): a count greater than
// FailureMax (WarningMax) is a FAILURE (WARNING), so FailureMax X means "more
// than X"; X itself is fine. A count smaller than FailureMin (WarningMin) is
// one too ("fewer than X"). With Hysteresis H an alert that is raised stays
// until the count is back to X - H or below (X + H or above for a minimum):
// with counts, a Hysteresis of 1 or 2 keeps one event entering and leaving the
// window from flapping the alert.
//
// Statistics: none beyond the sum. The user states a bound on a count and the
// rule applies it exactly; there is no inference from a sample, so unlike the
// ratio and error-share rules a count rule needs no minimum of events (a small
// count is exactly what FailureMin is for). The sum is kept per slot in a
// MovingWindow, so every window of Window length ending at a slot border is
// judged ("any 1-hour window", up to the slot width of one collectd interval).
//
// A slot without values counts as zero events: sources that skip zero
// counts would otherwise never let an alert
// recover. A source that has stopped therefore counts as "no events"; pair a
// FailureMin count with a <Missing> rule to tell "no events" from "no data".
//
// Warm-up: no verdict until the window is full, i.e. until Window has passed
// since the group's first value; a count over a partial window would be too
// low and a FailureMin would fire on every start.
//
// Defaults (set by the configuration): Window 1 hour;
// Unit "events". There is no default threshold: X is the user's.
type CountRule struct {
	RuleSpec
	CountParams
}

// CountParams are the options of a CountRule.
type CountParams struct {
	Window     time.Duration
	Thresholds Thresholds
	// Unit names what is counted in messages ("12 fraud outcomes in 1h0m0s");
	// empty is "events".
	Unit string
}

// DefaultCountParams: an hour (the exercise's window), no thresholds
// (X is the user's), "events".
func DefaultCountParams() CountParams {
	return CountParams{Window: time.Hour, Thresholds: Unbounded(), Unit: "events"}
}

// NewCountRule builds a count rule over the sum of series; Inputs[0] is the series.
func NewCountRule(spec RuleSpec, series []Selector, p CountParams) (*CountRule, error) {
	spec.Inputs = []Input{{Name: "Series", Selectors: series}}
	if p.Unit == "" {
		p.Unit = "events"
	}
	r := &CountRule{RuleSpec: spec, CountParams: p}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if p.Window <= 0 {
		return nil, settingError(spec.Name, "Window", "must be positive")
	}
	if !p.Thresholds.Any() {
		return nil, settingError(spec.Name, "", "set at least one of WarningMin, WarningMax, FailureMin, FailureMax")
	}
	if p.Thresholds.Hysteresis < 0 {
		return nil, settingError(spec.Name, "Hysteresis", "must not be negative")
	}
	return r, nil
}

// Kind implements Rule.
func (r *CountRule) Kind() string { return "count" }

// NewState implements Rule.
func (r *CountRule) NewState(clock SlotClock) RuleState {
	n := slotsFor(r.Window, clock.Step)
	return &countState{rule: r, win: NewMovingWindow(n), window: time.Duration(n) * clock.Step}
}

// CheckInterval implements IntervalChecker.
func (r *CountRule) CheckInterval(step time.Duration) []string {
	return windowProblems("Window", r.Window, step, 1, "")
}

// Message implements Rule: "FAILURE: payment-fraud of all hosts: 12 fraud
// outcomes in 1h0m0s, more than 10".
func (r *CountRule) Message(a *Alert, v *Verdict) string {
	var cmp string
	switch {
	case a.Severity == OK:
		cmp = "back within the threshold"
	case v.Observed < v.Threshold:
		cmp = "fewer than"
	default:
		cmp = "more than"
	}
	return fmt.Sprintf("%s: %s of %s: %s %s in %s, %s %s",
		a.Severity, a.Subject(), hostOrAll(a.Host), formatNumber(v.Observed), r.Unit, v.Window, cmp, formatNumber(v.Threshold))
}

type countState struct {
	rule   *CountRule
	win    *MovingWindow
	window time.Duration
}

func (s *countState) Add(_ int, slot int64, v float64) { s.win.Add(slot, v) }

func (s *countState) Span() int64 { return int64(s.win.Len()) }

func (s *countState) Evaluate(slot int64, current Level) Verdict {
	s.win.Advance(slot)
	v := undecided()
	if !s.win.Full() {
		return v
	}
	v.Decided = true
	v.Observed = s.win.Total().Sum
	v.Level, v.Threshold = s.rule.Thresholds.Level(v.Observed, current)
	v.Window = s.window
	return v
}

func (s *countState) saveState(e *stateEncoder) { e.window(s.win) }

func (s *countState) loadState(d *stateDecoder) { d.window(s.win) }

func (s *countState) memory(time.Duration) time.Duration { return s.window }

// ChartUnit implements Charted.
func (r *CountRule) ChartUnit() string { return r.Unit + " per " + CompactDuration(r.Window) }

// ChartValues implements Charted: the judged quantity alone.
func (r *CountRule) ChartValues(v *Verdict) (obs, base, aux float64) {
	return v.Observed, math.NaN(), math.NaN()
}

// ChartBand implements Charted: the thresholds.
func (r *CountRule) ChartBand(_, _ float64) Band { return r.Thresholds.band() }

// Score implements Charted: x / bound for a maximum, bound / x for a minimum.
func (r *CountRule) Score(v *Verdict) float64 { return scoreOf(v, r.Thresholds.distance(v.Observed)) }
