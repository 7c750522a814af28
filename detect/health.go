package detect

import (
	"fmt"
	"math"
	"time"
)

// HealthRule is a service's health function: one state of
// "ok", "warn" or "error" from latency and error rate together, reported
// every clock period (default 5 minutes) as a notification - OKAY, WARNING
// or FAILURE, on every period, not only on change - and as a derived series
// (0 ok, 1 warn, 2 error) so that it can be graphed as a state timeline.
//
// The function, over the period:
//
//	latency level = error if mean latency > LatencyFailure, warn if > LatencyWarning, else ok
//	error level   = error if errors/requests > ErrorFailure, warn if > ErrorWarning, else ok
//	health        = the worse of the two
//
// The mean latency is the mean of the latency series' values in the period
// (each value is one interval's mean). With fewer than MinRequests requests
// the error rate is not judged (a quiet period says nothing about it); with
// no latency value at all it is not judged either; with neither, nothing is
// reported for that period - unless the period had no value of any of the
// three series at all: then the service (or its host) is silent, and its
// health is "error" (a FAILURE saying there were no values), not skipped.
// A period ends in the host's own time, its end passed by the allowed
// lateness; for a host that sends nothing any more, when its silence says so
// (see Engine.Tick).
type HealthRule struct {
	RuleSpec
	HealthParams
}

// HealthParams are the options of a HealthRule.
type HealthParams struct {
	Period                         time.Duration
	LatencyWarning, LatencyFailure float64
	ErrorWarning, ErrorFailure     float64
	// MinRequests: a period with fewer requests has no error level.
	MinRequests float64
	// Output is the type instance of the health series; empty is the rule's name.
	Output string
	// LatencyUnit names the latency's unit in messages and charts; empty
	// is "ms" (collectd's and the exercise's).
	LatencyUnit string
}

// DefaultHealthParams are the exercise's health function's: a 5-minute
// period, latency warn/error at 300/500 ms (two and three times the
// model's 150 ms mean; a 5-minute mean of 30 draws with a 50 ms spread
// moves by about 9 ms), error share warn/error at 2%/5% (the model's
// normal share is under 1%), 100 requests for an error level.
func DefaultHealthParams() HealthParams {
	return HealthParams{Period: 5 * time.Minute, LatencyWarning: 300, LatencyFailure: 500,
		ErrorWarning: 0.02, ErrorFailure: 0.05, MinRequests: 100, LatencyUnit: "ms"}
}

// The inputs of a HealthRule, in order.
const (
	healthLatency = iota
	healthErrors
	healthRequests
)

// NewHealthRule builds a health rule from its three series sets.
func NewHealthRule(spec RuleSpec, latency, errors, requests []Selector, p HealthParams) (*HealthRule, error) {
	spec.Inputs = []Input{{Name: "Latency", Selectors: latency}, {Name: "Errors", Selectors: errors}, {Name: "Requests", Selectors: requests}}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if p.Period <= 0 {
		return nil, settingError(spec.Name, "Period", "must be positive")
	}
	for _, b := range []struct {
		name       string
		warn, fail float64
	}{{"Latency", p.LatencyWarning, p.LatencyFailure}, {"Error", p.ErrorWarning, p.ErrorFailure}} {
		if !(b.warn > 0) || !(b.fail > 0) || b.fail < b.warn {
			return nil, settingError(spec.Name, "", "%sWarning and %sFailure must be positive, the failure bound at least the warning bound", b.name, b.name)
		}
	}
	if p.Output == "" {
		p.Output = spec.Name
	}
	if p.LatencyUnit == "" {
		p.LatencyUnit = "ms"
	}
	return &HealthRule{RuleSpec: spec, HealthParams: p}, nil
}

// Kind implements Rule.
func (r *HealthRule) Kind() string { return "health" }

// OutputName implements Emitter.
func (r *HealthRule) OutputName() string { return r.Output }

// EmitsLevels implements LevelEmitter: the health series is the level.
func (r *HealthRule) EmitsLevels() {}

// NewState implements Rule.
func (r *HealthRule) NewState(clock SlotClock) RuleState {
	return &healthState{rule: r, periodAccumulator: newPeriodAccumulator(clock, r.Period, 3)}
}

// HealthWord is the exercise's name for a level.
func HealthWord(l Level) string {
	switch l {
	case Warning:
		return "warn"
	case Failure:
		return "error"
	}
	return "ok"
}

// Message implements Rule. Observed is the latency, Numerator/Denominator
// the errors and requests.
func (r *HealthRule) Message(a *Alert, v *Verdict) string {
	if math.IsNaN(v.Observed) && !(v.Denominator > 0) {
		return fmt.Sprintf("%s: %s of %s is %s: no latency or request values over %s ending %s",
			a.Severity, a.Subject(), hostOrAll(a.Host), HealthWord(a.Severity), v.Window, v.ValueTime.UTC().Format("15:04:05"))
	}
	errs := "n/a"
	if share := r.judgedShare(v); !math.IsNaN(share) {
		errs = formatPercent(share)
	}
	return fmt.Sprintf("%s: %s of %s is %s: latency %s %s (warn %s, error %s), errors %s (warn %s, error %s) over %s ending %s",
		a.Severity, a.Subject(), hostOrAll(a.Host), HealthWord(a.Severity),
		formatNumber(v.Observed), r.LatencyUnit, formatNumber(r.LatencyWarning), formatNumber(r.LatencyFailure),
		errs, formatPercent(r.ErrorWarning), formatPercent(r.ErrorFailure), v.Window, v.ValueTime.UTC().Format("15:04:05"))
}

// Level is the health function itself; NaN inputs are not judged.
func (r *HealthRule) Level(latency, errorShare float64) Level {
	level := OK
	switch {
	case latency > r.LatencyFailure:
		level = Failure
	case latency > r.LatencyWarning:
		level = Warning
	}
	switch {
	case errorShare > r.ErrorFailure:
		level = Failure
	case errorShare > r.ErrorWarning:
		level = max(level, Warning)
	}
	return level
}

type healthState struct {
	rule *HealthRule
	// The accumulator adds the values (Add, Span) and keeps them across
	// restarts (saveState, loadState, memory).
	*periodAccumulator
}

func (s *healthState) Evaluate(slot int64, current Level) Verdict {
	v := undecided()
	p, sums, ok := s.finished(slot)
	if !ok {
		return v
	}
	latency := sums[healthLatency].Mean()
	share := math.NaN()
	if req := sums[healthRequests].Sum; req > 0 && req >= s.rule.MinRequests {
		share = sums[healthErrors].Sum / req
	}
	silent := sums[healthLatency].N == 0 && sums[healthErrors].N == 0 && sums[healthRequests].N == 0
	if math.IsNaN(latency) && math.IsNaN(share) && !silent {
		return v
	}
	v.Decided, v.Periodic, v.Emit = true, true, true
	v.Level = s.rule.Level(latency, share)
	if silent {
		v.Level = Failure
	}
	v.Value = float64(v.Level)
	v.ValueTime, v.ValueInterval = s.End(p), s.rule.Period
	v.Observed = latency
	v.Numerator, v.Denominator = sums[healthErrors].Sum, sums[healthRequests].Sum
	v.Window = s.rule.Period
	return v
}

// ChartUnit implements Charted: the latency, as the messages say.
func (r *HealthRule) ChartUnit() string {
	return "mean latency per " + CompactDuration(r.Period) + " (" + r.LatencyUnit + ")"
}

// ChartValues implements Charted: the latency, and the error share when
// the period held enough requests to judge it.
func (r *HealthRule) ChartValues(v *Verdict) (obs, base, aux float64) {
	return v.Observed, math.NaN(), r.judgedShare(v)
}

func (r *HealthRule) judgedShare(v *Verdict) float64 {
	if v.Denominator > 0 && v.Denominator >= r.MinRequests {
		return v.Numerator / v.Denominator
	}
	return math.NaN()
}

// ChartBand implements Charted: the latency bounds.
func (r *HealthRule) ChartBand(_, _ float64) Band {
	b := NoBand()
	b.WarnHi, b.FailHi = r.LatencyWarning, r.LatencyFailure
	return b
}

// Score implements Charted: the larger of latency / LatencyWarning and
// errors / ErrorWarning.
func (r *HealthRule) Score(v *Verdict) float64 {
	u := v.Observed / r.LatencyWarning
	if share := r.judgedShare(v); !math.IsNaN(share) {
		u = max(u, share/r.ErrorWarning)
	}
	return scoreOf(v, u)
}
