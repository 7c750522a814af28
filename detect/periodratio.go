package detect

import (
	"fmt"
	"math"
	"time"
)

// PeriodRatioRule computes sum(numerator) / sum(denominator) over each clock
// period - the conversion rate per hour: successful payments over new
// sessions - and dispatches it back into collectd as a derived series, so
// every write plugin stores it and it can be graphed. With thresholds it also
// alerts on the period's value (a conversion rate collapsing, say); without,
// it only computes.
//
// A period without any denominator (no sessions) has no rate: nothing is
// dispatched rather than a zero or an infinity.
type PeriodRatioRule struct {
	RuleSpec
	PeriodRatioParams
}

// PeriodRatioParams are the options of a PeriodRatioRule.
type PeriodRatioParams struct {
	Period     time.Duration
	Scale      float64 // multiplies the ratio: 100 for percent
	Output     string  // type instance of the derived series; empty is the rule's name
	Thresholds Thresholds
}

// DefaultPeriodRatioParams: clock hours, the plain ratio, no thresholds.
func DefaultPeriodRatioParams() PeriodRatioParams {
	return PeriodRatioParams{Period: time.Hour, Scale: 1, Thresholds: Unbounded()}
}

// NewPeriodRatioRule builds the rule; Inputs[0] is the numerator, Inputs[1] the denominator.
func NewPeriodRatioRule(spec RuleSpec, numerator, denominator []Selector, p PeriodRatioParams) (*PeriodRatioRule, error) {
	spec.Inputs = []Input{{Name: "Numerator", Selectors: numerator}, {Name: "Denominator", Selectors: denominator}}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if p.Period <= 0 {
		return nil, settingError(spec.Name, "Period", "must be positive")
	}
	if p.Scale == 0 || math.IsNaN(p.Scale) || math.IsInf(p.Scale, 0) {
		return nil, settingError(spec.Name, "Scale", "must be a non-zero number")
	}
	if p.Output == "" {
		p.Output = spec.Name
	}
	return &PeriodRatioRule{RuleSpec: spec, PeriodRatioParams: p}, nil
}

// Kind implements Rule.
func (r *PeriodRatioRule) Kind() string { return "periodratio" }

// OutputName implements Emitter.
func (r *PeriodRatioRule) OutputName() string { return r.Output }

// NewState implements Rule.
func (r *PeriodRatioRule) NewState(clock SlotClock) RuleState {
	return &periodRatioState{rule: r, periodAccumulator: newPeriodAccumulator(clock, r.Period, 2)}
}

// Message implements Rule.
func (r *PeriodRatioRule) Message(a *Alert, v *Verdict) string {
	return fmt.Sprintf("%s: %s of %s: %s (%s / %s) in the %s ending %s, threshold %s",
		a.Severity, a.Subject(), hostOrAll(a.Host), formatNumber(v.Observed), formatNumber(v.Numerator),
		formatNumber(v.Denominator), v.Window, v.ValueTime.UTC().Format("15:04"), formatNumber(v.Threshold))
}

type periodRatioState struct {
	rule *PeriodRatioRule
	// The accumulator adds the values (Add, Span) and keeps them across
	// restarts (saveState, loadState, memory).
	*periodAccumulator
}

func (s *periodRatioState) Evaluate(slot int64, current Level) Verdict {
	v := undecided()
	p, sums, ok := s.finished(slot)
	if !ok || sums[1].Sum <= 0 {
		return v
	}
	num, den := sums[0].Sum, sums[1].Sum
	v.Emit = true
	v.Value = s.rule.Scale * num / den
	v.ValueTime = s.End(p)
	v.ValueInterval = s.rule.Period
	v.Observed, v.Numerator, v.Denominator = v.Value, num, den
	v.Window = s.rule.Period
	if s.rule.Thresholds.Any() {
		v.Decided = true
		v.Level, v.Threshold = s.rule.Thresholds.Level(v.Value, current)
	}
	return v
}

// ChartUnit implements Charted.
func (r *PeriodRatioRule) ChartUnit() string {
	return scaledRatio(r.Scale) + " per " + CompactDuration(r.Period)
}

// ChartValues implements Charted: the judged quantity alone.
func (r *PeriodRatioRule) ChartValues(v *Verdict) (obs, base, aux float64) {
	return v.Observed, math.NaN(), math.NaN()
}

// ChartBand implements Charted: the thresholds.
func (r *PeriodRatioRule) ChartBand(_, _ float64) Band { return r.Thresholds.band() }

// Score implements Charted: x / bound for a maximum, bound / x for a minimum.
func (r *PeriodRatioRule) Score(v *Verdict) float64 {
	return scoreOf(v, r.Thresholds.distance(v.Observed))
}

// scaledRatio names a period ratio multiplied by its Scale.
func scaledRatio(scale float64) string {
	switch scale {
	case 1:
		return "ratio"
	case 100:
		return "percent"
	}
	return fmt.Sprintf("ratio x %g", scale)
}
