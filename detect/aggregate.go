package detect

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AggregateRule judges an aggregate of its series over a moving Window
// against thresholds: the rule every monitoring user writes first ("the
// 30-second mean above 400"), as Riemann's moving windows with folds,
// Kapacitor's window with mean and Prometheus' avg_over_time do.
//
//	<Aggregate "cpu-busy">
//	  Series "cpu-*/percent-active"
//	  PerSeries true
//	  Function "mean"
//	  Window "5m"
//	  FailureMax 90
//	</Aggregate>
//
// The window holds one point per slot in which values came (several values
// of a slot, from several series of the group, make one point: their mean,
// and their count, sum, smallest and largest); a slot without values is no
// point, never a zero, so a series that stops is not "mean 0". Function is
//
//	mean, min, max, sum    of the values in the window
//	stddev                 of the values in the window (sample stddev)
//	median, percentile     of the window's points; Percentile sets P
//	rate                   the sum per second of the window (a counter's
//	                       increments, as the engine delivers them)
//	derivative             the least-squares slope of the points, per second
//	predict                the least-squares line's value Horizon after the
//	                       window's newest point: "the disk is full within
//	                       4 hours" is predict with Horizon "4h", FailureMin 0
//	                       of the free bytes
//
// and the verdict is Thresholds.Level of it (with Hysteresis). No verdict
// while the window holds fewer than MinPoints points (default 1; 3 for
// derivative and predict, whose line needs more than two).
//
// Cost: 40 bytes per slot of the window, and the window's slots walked once
// per judged slot (a 5-minute window of 10-second values is 30).
type AggregateRule struct {
	RuleSpec
	Function   AggregateFunction
	Percentile float64 // for Function percentile, in (0, 100)
	Horizon    time.Duration
	Window     time.Duration
	Thresholds Thresholds
	MinPoints  int
}

// DefaultAggregateRule is an aggregate's defaults: the mean over 5
// minutes, no thresholds (the user's), MinPoints by the function.
func DefaultAggregateRule() AggregateRule {
	return AggregateRule{Function: AggregateMean, Window: 5 * time.Minute, Thresholds: Unbounded()}
}

// AggregateFunction is what an AggregateRule computes over its window.
type AggregateFunction int8

// The functions, written in lower case in the configuration.
const (
	AggregateMean AggregateFunction = iota
	AggregateMin
	AggregateMax
	AggregateSum
	AggregateStdDev
	AggregateMedian
	AggregatePercentile
	AggregateRate
	AggregateDerivative
	AggregatePredict
)

var aggregateNames = []string{"mean", "min", "max", "sum", "stddev", "median", "percentile", "rate", "derivative", "predict"}

func (f AggregateFunction) String() string {
	if f >= 0 && int(f) < len(aggregateNames) {
		return aggregateNames[f]
	}
	return "unknown"
}

// ParseAggregateFunction reads a function's name (any case).
func ParseAggregateFunction(s string) (AggregateFunction, error) {
	if i := slices.Index(aggregateNames, strings.ToLower(s)); i >= 0 {
		return AggregateFunction(i), nil
	}
	return 0, fmt.Errorf("want one of %s", strings.Join(aggregateNames, ", "))
}

// DefaultMinPoints is the fewest points f needs in its window.
func (f AggregateFunction) DefaultMinPoints() int {
	switch f {
	case AggregateDerivative, AggregatePredict:
		return 3
	case AggregateStdDev:
		return 2
	}
	return 1
}

// NewAggregateRule builds an aggregate rule; Inputs[0] is the series.
func NewAggregateRule(spec RuleSpec, series []Selector, r AggregateRule) (*AggregateRule, error) {
	spec.Inputs = []Input{{Name: "Series", Selectors: series}}
	r.RuleSpec = spec
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	switch {
	case r.Function < 0 || int(r.Function) >= len(aggregateNames):
		return nil, settingError(spec.Name, "", "unknown Function")
	case r.Window <= 0:
		return nil, settingError(spec.Name, "Window", "must be positive")
	case !r.Thresholds.Any():
		return nil, settingError(spec.Name, "", "set at least one of WarningMin, WarningMax, FailureMin, FailureMax")
	case r.Thresholds.validate(spec.Name, false) != nil:
		return nil, r.Thresholds.validate(spec.Name, false)
	case r.Function == AggregatePercentile && !(r.Percentile > 0 && r.Percentile < 100):
		return nil, settingError(spec.Name, "Function", "percentile needs Percentile between 0 and 100")
	case r.Function != AggregatePercentile && r.Percentile != 0:
		return nil, settingError(spec.Name, "Percentile", "is for Function percentile")
	case r.Function == AggregatePredict && r.Horizon <= 0:
		return nil, settingError(spec.Name, "Function", "predict needs a positive Horizon")
	case r.Function != AggregatePredict && r.Horizon != 0:
		return nil, settingError(spec.Name, "Horizon", "is for Function predict")
	case r.MinPoints < 0:
		return nil, settingError(spec.Name, "MinPoints", "must not be negative")
	}
	if r.MinPoints == 0 {
		r.MinPoints = r.Function.DefaultMinPoints()
	}
	return &r, nil
}

// Kind implements Rule.
func (r *AggregateRule) Kind() string { return "aggregate" }

// describe names the function as messages do: "mean", "p95", "predicted in 4h0m0s".
func (r *AggregateRule) describe() string {
	switch r.Function {
	case AggregatePercentile:
		return "p" + strconv.FormatFloat(r.Percentile, 'g', -1, 64)
	case AggregatePredict:
		return "predicted in " + r.Horizon.String()
	case AggregateRate:
		return "rate per second"
	case AggregateDerivative:
		return "change per second"
	}
	return r.Function.String()
}

// Message implements Rule, e.g. "FAILURE: cpu-busy[cpu-0] of db-1: mean 93.2
// over 5m0s is above the threshold 90". A raised alert held by Hysteresis
// says so: "mean 17.3 over 5m0s has not come back above 20 (the threshold
// 15 plus the hysteresis 5)".
func (r *AggregateRule) Message(a *Alert, v *Verdict) string {
	th := &r.Thresholds
	head := fmt.Sprintf("%s: %s of %s: %s %s over %s ", a.Severity, a.Subject(), hostOrAll(a.Host), r.describe(),
		formatNumber(v.Observed), v.Window)
	if a.Severity == OK {
		return head + "is back within the threshold " + formatNumber(v.Threshold)
	}
	below := v.Threshold == th.WarningMin || v.Threshold == th.FailureMin
	switch {
	case below && v.Observed < v.Threshold:
		return head + "is below the threshold " + formatNumber(v.Threshold)
	case !below && v.Observed > v.Threshold:
		return head + "is above the threshold " + formatNumber(v.Threshold)
	case below:
		return head + fmt.Sprintf("has not come back above %s (the threshold %s plus the hysteresis %s)",
			formatNumber(v.Threshold+th.Hysteresis), formatNumber(v.Threshold), formatNumber(th.Hysteresis))
	}
	return head + fmt.Sprintf("has not come back below %s (the threshold %s less the hysteresis %s)",
		formatNumber(v.Threshold-th.Hysteresis), formatNumber(v.Threshold), formatNumber(th.Hysteresis))
}

// CheckInterval implements IntervalChecker: MinPoints points need as many
// slots.
func (r *AggregateRule) CheckInterval(step time.Duration) []string {
	return windowProblems("Window", r.Window, step, r.MinPoints, "MinPoints")
}

// NewState implements Rule.
func (r *AggregateRule) NewState(clock SlotClock) RuleState {
	n := slotsFor(r.Window, clock.Step)
	s := &aggregateState{rule: r, points: make([]aggregatePoint, n), step: clock.Step, window: time.Duration(n) * clock.Step}
	if r.Function == AggregateMedian || r.Function == AggregatePercentile {
		s.scratch = make([]float64, 0, n)
	}
	for i := range s.points {
		s.points[i].slot = math.MinInt64
	}
	return s
}

// aggregatePoint is one slot's values.
type aggregatePoint struct {
	slot              int64
	n                 float64
	sum, sq, min, max float64
}

type aggregateState struct {
	rule    *AggregateRule
	points  []aggregatePoint // a ring: slot s at s mod len
	scratch []float64
	step    time.Duration
	window  time.Duration
}

func (s *aggregateState) at(slot int64) *aggregatePoint {
	i := slot % int64(len(s.points))
	if i < 0 {
		i += int64(len(s.points))
	}
	return &s.points[i]
}

// Add implements RuleState.
func (s *aggregateState) Add(_ int, slot int64, v float64) {
	p := s.at(slot)
	if p.slot != slot {
		*p = aggregatePoint{slot: slot, min: v, max: v}
	}
	p.n++
	p.sum += v
	p.sq += v * v
	p.min, p.max = min(p.min, v), max(p.max, v)
}

// Span implements RuleState.
func (s *aggregateState) Span() int64 { return int64(len(s.points)) }

// Evaluate implements RuleState.
func (s *aggregateState) Evaluate(slot int64, current Level) Verdict {
	v := undecided()
	r := s.rule
	var points, n, sum, sq float64
	lo, hi := math.Inf(1), math.Inf(-1)
	// For the line: x in slots before the newest, y the point's mean.
	var sx, sy, sxx, sxy float64
	s.scratch = s.scratch[:0]
	for i := range s.points {
		p := &s.points[i]
		if p.slot > slot || p.slot <= slot-int64(len(s.points)) || p.n == 0 {
			continue
		}
		points++
		n += p.n
		sum += p.sum
		sq += p.sq
		lo, hi = min(lo, p.min), max(hi, p.max)
		x, y := float64(p.slot-slot), p.sum/p.n
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
		if s.scratch != nil {
			s.scratch = append(s.scratch, y)
		}
	}
	if points < float64(max(r.MinPoints, 1)) {
		return v
	}
	var x float64
	switch r.Function {
	case AggregateMean:
		x = sum / n
	case AggregateMin:
		x = lo
	case AggregateMax:
		x = hi
	case AggregateSum:
		x = sum
	case AggregateStdDev:
		if n < 2 {
			return v
		}
		mean := sum / n
		x = math.Sqrt(max(sq-n*mean*mean, 0) / (n - 1))
	case AggregateMedian:
		x = quantile(s.scratch, 0.5)
	case AggregatePercentile:
		x = quantile(s.scratch, r.Percentile/100)
	case AggregateRate:
		x = sum / s.window.Seconds()
	case AggregateDerivative, AggregatePredict:
		den := points*sxx - sx*sx
		if den == 0 {
			return v
		}
		slope := (points*sxy - sx*sy) / den // per slot
		intercept := (sy - slope*sx) / points
		if r.Function == AggregateDerivative {
			x = slope / s.step.Seconds()
		} else {
			x = intercept + slope*float64(r.Horizon)/float64(s.step)
		}
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return v
	}
	level, bound := r.Thresholds.Level(x, current)
	v.Decided, v.Level = true, level
	v.Observed, v.Threshold = x, bound
	v.Numerator, v.Denominator = n, points
	v.Window = s.window
	return v
}

// quantile is the q-quantile of xs by linear interpolation between order
// statistics (xs is reordered).
func quantile(xs []float64, q float64) float64 {
	slices.Sort(xs)
	pos := q * float64(len(xs)-1)
	i := int(pos)
	if i >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	f := pos - float64(i)
	return xs[i]*(1-f) + xs[i+1]*f
}

func (s *aggregateState) saveState(e *stateEncoder) {
	e.uint(uint64(len(s.points)))
	for i := range s.points {
		p := &s.points[i]
		e.int(p.slot)
		e.float(p.n)
		e.float(p.sum)
		e.float(p.sq)
		e.float(p.min)
		e.float(p.max)
	}
}

func (s *aggregateState) loadState(d *stateDecoder) {
	if !d.count(len(s.points), "a window of slots") {
		return
	}
	for i := range s.points {
		p := &s.points[i]
		p.slot, p.n, p.sum, p.sq, p.min, p.max = d.int(), d.float(), d.float(), d.float(), d.float(), d.float()
	}
}

func (s *aggregateState) memory(time.Duration) time.Duration { return s.window }

// ChartUnit implements Charted.
func (r *AggregateRule) ChartUnit() string { return r.aggregateUnit() }

// ChartValues implements Charted: the judged quantity alone.
func (r *AggregateRule) ChartValues(v *Verdict) (obs, base, aux float64) {
	return v.Observed, math.NaN(), math.NaN()
}

// ChartBand implements Charted: the thresholds.
func (r *AggregateRule) ChartBand(_, _ float64) Band { return r.Thresholds.band() }

// Score implements Charted: x / bound for a maximum, bound / x for a minimum.
func (r *AggregateRule) Score(v *Verdict) float64 {
	return scoreOf(v, r.Thresholds.distance(v.Observed))
}

// aggregateUnit names what the function makes of the window.
func (r *AggregateRule) aggregateUnit() string {
	over := " over " + CompactDuration(r.Window)
	switch r.Function {
	case AggregatePercentile:
		return fmt.Sprintf("%gth percentile", r.Percentile) + over
	case AggregateRate:
		return "rate per second" + over
	case AggregateDerivative:
		return "slope per second" + over
	case AggregatePredict:
		return "predicted in " + CompactDuration(r.Horizon) + " (fit" + over + ")"
	}
	return r.Function.String() + over
}
