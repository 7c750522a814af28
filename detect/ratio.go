package detect

import (
	"fmt"
	"math"
	"time"
)

// RatioRule judges the share sum(numerator) / sum(denominator) over a moving
// window against thresholds, for example failed requests over all requests
// in any 5 minutes. It judges a window only when the window is full (no
// verdicts on the first minutes of data) and holds at least MinDenominator
// events, because a share of three requests says nothing.
//
// MinNumerator (default 0) holds back raising an alert above a maximum
// until the window holds that many numerator events: at night a shop's 5
// minutes hold 300 pages, and 3 server errors among them (normally 0.3)
// are 1% - noise, not an incident; 10 are not. A raised alert recovers by
// its thresholds alone.
type RatioRule struct {
	RuleSpec
	RatioParams
}

// RatioParams are the options of a RatioRule.
type RatioParams struct {
	// Window is the span the share is summed over.
	Window     time.Duration
	Thresholds Thresholds
	// MinDenominator: no verdict while the window holds fewer events.
	MinDenominator float64
	// MinNumerator: an alert above a maximum is raised only with at least
	// this many numerator events in the window.
	MinNumerator float64
}

// DefaultRatioParams: 5 minutes (the exercise's window), no thresholds,
// no minimum of events.
func DefaultRatioParams() RatioParams {
	return RatioParams{Window: 5 * time.Minute, Thresholds: Unbounded()}
}

// NewRatioRule builds a ratio rule; Inputs[0] is the numerator, Inputs[1] the denominator.
func NewRatioRule(spec RuleSpec, numerator, denominator []Selector, p RatioParams) (*RatioRule, error) {
	spec.Inputs = []Input{{Name: "Numerator", Selectors: numerator}, {Name: "Denominator", Selectors: denominator}}
	r := &RatioRule{RuleSpec: spec, RatioParams: p}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if p.Window <= 0 {
		return nil, settingError(spec.Name, "Window", "must be positive")
	}
	if !p.Thresholds.Any() {
		return nil, settingError(spec.Name, "", "set at least one of WarningMin, WarningMax, FailureMin, FailureMax")
	}
	if err := p.Thresholds.validate(spec.Name, true); err != nil {
		return nil, err
	}
	if math.IsNaN(p.MinDenominator) || p.MinDenominator < 0 {
		return nil, settingError(spec.Name, "MinDenominator", "must not be negative")
	}
	if math.IsNaN(p.MinNumerator) || p.MinNumerator < 0 {
		return nil, settingError(spec.Name, "MinNumerator", "must not be negative")
	}
	return r, nil
}

// Kind implements Rule.
func (r *RatioRule) Kind() string { return "ratio" }

// NewState implements Rule.
func (r *RatioRule) NewState(clock SlotClock) RuleState {
	return &ratioState{rule: r, sumPair: newSumPair(r.Window, clock)}
}

// CheckInterval implements IntervalChecker.
func (r *RatioRule) CheckInterval(step time.Duration) []string {
	return windowProblems("Window", r.Window, step, 1, "")
}

// Message implements Rule.
func (r *RatioRule) Message(a *Alert, v *Verdict) string {
	verb := side(a, v, "is back within", "is above", "is below")
	return fmt.Sprintf("%s: %s of %s: %s (%s of %s) over %s %s the threshold %s",
		a.Severity, a.Subject(), hostOrAll(a.Host), formatPercent(v.Observed),
		formatNumber(v.Numerator), formatNumber(v.Denominator), v.Window, verb, formatPercent(v.Threshold))
}

type ratioState struct {
	rule *RatioRule
	sumPair
}

func (s *ratioState) Evaluate(slot int64, current Level) Verdict {
	v := undecided()
	num, den, full := s.sumsAt(slot)
	if !full {
		return v
	}
	if den <= 0 || den < s.rule.MinDenominator {
		return v
	}
	v.Decided = true
	v.Observed = num / den
	v.Numerator, v.Denominator = num, den
	v.Level, v.Threshold = s.rule.Thresholds.Level(v.Observed, current)
	if v.Level > current && v.Observed > v.Threshold && num < s.rule.MinNumerator {
		v.Level = current // too few events to raise on
	}
	v.Window = s.window
	return v
}

// ChartUnit implements Charted.
func (r *RatioRule) ChartUnit() string { return "share over " + CompactDuration(r.Window) }

// ChartValues implements Charted: the judged quantity alone.
func (r *RatioRule) ChartValues(v *Verdict) (obs, base, aux float64) {
	return v.Observed, math.NaN(), math.NaN()
}

// ChartBand implements Charted: the thresholds.
func (r *RatioRule) ChartBand(_, _ float64) Band { return r.Thresholds.band() }

// Score implements Charted: x / bound for a maximum, bound / x for a minimum.
func (r *RatioRule) Score(v *Verdict) float64 { return scoreOf(v, r.Thresholds.distance(v.Observed)) }
