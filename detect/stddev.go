package detect

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// StdDevChangeRule raises an alert when the spread of a series changes: the
// standard deviation of its values over a moving Window against their
// standard deviation over the Baseline window right before it. It answers web
// task 2, "trip an alert if there is a spike in latency ... if the stddev
// changes by more than some threshold value, raise a critical alert":
//
//	<StdDevChange "web-latency-spread">   # Window 5m, Baseline 1h, FailureFactor 2
//	  Series "ecommerce/gauge-page-latency-mean"
//	</StdDevChange>
//
// Values are taken per slot (one collectd interval) as SpikeRule's normal
// model takes them: the values of one slot are averaged into one value (one
// series gives its value), a slot without data is no value, a late value
// counts in the open slot, and the baseline is fed by the slots leaving the
// window.
//
// # Statistics
//
// With the window's sample stddev s_w over n values and the baseline's s_b
// over N values, the rule judges the factor r = s_w / s_b (Observed; Numerator
// s_w and Denominator s_b, Baseline s_b):
//
//	up:   a FAILURE when r > FailureFactor
//	down: a FAILURE when 1/r > FailureFactor (the spread shrank as much)
//	both: either
//
// and a WARNING likewise with WarningFactor. The decision is the factor, as
// the exercise asks: a factor is what a person can set and read. For the
// message the rule also reports the F-test of equal variances: under the
// hypothesis that both windows come from one normal distribution
// r^2 ~ F(n-1, N-1), so p = P(F >= r^2) for "up" (computed as the CDF of
// F(N-1, n-1) at 1/r^2, accurate for tiny tails where gonum's 1 - CDF is
// not), P(F <= r^2) for "down", twice the smaller for "both". It shows how
// surprising the factor is: with the defaults (n = 30, N = 360) a factor 2
// up is p = 2e-10 on normal data, a factor 2 down p = 2e-5 (a spread estimated
// from 30 values shrinks by half more easily than it doubles) - hence the
// default Direction "up". The verdict carries p as Probability.
//
// # Guards and warm-up
//
// No verdict until both windows are full (Window + Baseline after the first
// value), while the window holds fewer than MinCount values, while the
// baseline holds fewer than MinCount or fewer than half of its slots (MinCount
// counts at most as many values as the window or baseline has slots, and at
// least 2), or while the baseline has no spread at all (a constant series:
// any spread would be an infinite factor). A window without spread against a
// baseline with some is a factor 0, an infinite drop: a series that froze.
//
// # Recovery (hysteresis)
//
// A raised alert stays while the factor is above its bound minus Hysteresis
// (default 0.25): FAILURE above 2x, back to OK at 1.75x or below. The factor
// of a 5-minute window moves little from one slot to the next (one value of
// thirty enters, one leaves), so it cannot flap across the band slot by slot.
//
// # The baseline during an incident
//
// As with SpikeRule, a slot that was part of any window judged not OK is kept
// out of the baseline, which stays frozen rather than taking the incident's
// spread (a baseline widened by the incident would make the rule blind to the
// next one and, with "down" or "both", make normal latency look like a
// shrinking spread after it). A change lasting longer than the Baseline itself
// is taken as the new normal: after a Baseline's worth of slots kept out, the
// baseline is fed again.
//
// # Defaults and their reasons
//
//   - Window 5 minutes, Baseline 1 hour: the exercise's.
//   - FailureFactor 2: the exercise's "critical" change; WarningFactor unset.
//   - Direction "up": a latency spike widens the spread, and shrinking is
//     noisier to measure (above).
//   - MinCount 10: a stddev of fewer values is too rough to judge a factor 2
//     (its own relative error is about 1/sqrt(2(n-1)), 24% at 10).
//   - Hysteresis 0.25.
type StdDevChangeRule struct {
	RuleSpec
	StdDevChangeParams
}

// StdDevChangeParams are the options of a StdDevChangeRule.
type StdDevChangeParams struct {
	// Window is the recent span whose stddev is judged.
	Window time.Duration
	// Baseline is the span right before Window it is compared with.
	Baseline time.Duration
	// FailureFactor: a change of the stddev by more than this factor is a FAILURE.
	FailureFactor float64
	// WarningFactor: a change by more is a WARNING; 0 or NaN leaves it unset.
	WarningFactor float64
	// Direction: a widening spread (up), a narrowing one (down), or both.
	Direction Direction
	// MinCount is the fewest values the window needs (at most its slots).
	MinCount int
	// Hysteresis: a raised alert stays until the factor is back below its
	// bound minus Hysteresis.
	Hysteresis float64
	// Season, if set, takes the learnt profile of the time of day (week)
	// out of the baseline, so that a daily curve within it is not spread
	// (see seasonProfile). 0 is none.
	Season time.Duration
}

// DefaultStdDevChangeParams returns the defaults documented on StdDevChangeRule.
func DefaultStdDevChangeParams() StdDevChangeParams {
	return StdDevChangeParams{
		Window:        5 * time.Minute,
		Baseline:      time.Hour,
		FailureFactor: 2,
		WarningFactor: math.NaN(),
		Direction:     DirectionUp,
		MinCount:      10,
		Hysteresis:    0.25,
	}
}

func (p *StdDevChangeParams) warningSet() bool {
	return !math.IsNaN(p.WarningFactor) && p.WarningFactor != 0
}

// NewStdDevChangeRule builds a stddev-change rule; Inputs[0] is the series.
func NewStdDevChangeRule(spec RuleSpec, series []Selector, p StdDevChangeParams) (*StdDevChangeRule, error) {
	spec.Inputs = []Input{{Name: "Series", Selectors: series}}
	r := &StdDevChangeRule{RuleSpec: spec, StdDevChangeParams: p}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	lowest, lowestName := p.FailureFactor, "FailureFactor"
	if p.warningSet() {
		lowest, lowestName = p.WarningFactor, "WarningFactor"
	}
	switch {
	case p.Window <= 0:
		return nil, settingError(spec.Name, "Window", "must be positive")
	case p.Baseline <= 0:
		return nil, settingError(spec.Name, "Baseline", "must be positive")
	case !(p.FailureFactor > 1) || math.IsInf(p.FailureFactor, 0):
		return nil, settingError(spec.Name, "FailureFactor", "must be more than 1")
	case p.warningSet() && !(p.WarningFactor > 1 && p.WarningFactor < p.FailureFactor):
		return nil, settingError(spec.Name, "WarningFactor", "must be between 1 and FailureFactor")
	case !p.Direction.valid():
		return nil, settingError(spec.Name, "Direction", "must be up, down or both")
	case p.MinCount < 2:
		return nil, settingError(spec.Name, "MinCount", "must be at least 2")
	case !(p.Hysteresis >= 0) || p.Hysteresis >= lowest-1:
		return nil, settingError(spec.Name, "Hysteresis", "must be at least 0 and less than %s - 1", lowestName)
	}
	if err := validateSeason(spec.Name, p.Season, p.Window, p.Baseline); err != nil {
		return nil, err
	}
	return r, nil
}

// Kind implements Rule.
func (r *StdDevChangeRule) Kind() string { return "stddevchange" }

// NewState implements Rule.
func (r *StdDevChangeRule) NewState(clock SlotClock) RuleState {
	w, b := slotsFor(r.Window, clock.Step), slotsFor(r.Baseline, clock.Step)
	minWin := max(min(r.MinCount, w), 2)
	wb := newWindowAndBaseline(w, b)
	wb.average = true // the spread of a measurement: a slot's readings are averaged
	wb.withSeason(newSeasonProfile(r.Season, clock.Step, false), clock)
	st := &stdDevState{rule: r, window: time.Duration(w) * clock.Step, wb: wb}
	return &baselineState{
		wb:      wb,
		minWin:  float64(minWin),
		minBase: float64(max(min(r.MinCount, b), (b+1)/2, 2)),
		judge:   st.judge,
	}
}

// Message implements Rule, e.g. "FAILURE: web-latency-spread of shop-1:
// stddev 120 over 5m0s is 2.4x the 50 of the previous 1h0m0s, above the
// factor 2x (F-test p=7.3e-17)".
func (r *StdDevChangeRule) Message(a *Alert, v *Verdict) string {
	verb := side(a, v, "back within", "above", "below")
	of := "the previous " + r.Baseline.String()
	if v.Reason == ReasonSeasonal {
		of += " less " + seasonText(r.Season)
	}
	return fmt.Sprintf("%s: %s of %s: stddev %s over %s is %sx the %s of %s, %s the factor %sx (F-test p=%s)",
		a.Severity, a.Subject(), hostOrAll(a.Host), formatNumber(v.Numerator), v.Window,
		formatNumber(v.Observed), formatNumber(v.Denominator), of, verb, formatNumber(v.Threshold),
		formatProbability(v.Probability))
}

// CheckInterval implements IntervalChecker: a stddev needs two values in
// the window and in the baseline, and a slot gives one.
func (r *StdDevChangeRule) CheckInterval(step time.Duration) []string {
	return append(append(windowProblems("Window", r.Window, step, 2, "a stddev"),
		windowProblems("Baseline", r.Baseline, step, 2, "a stddev")...),
		seasonProblems(r.Season, step)...)
}

// varianceTest is the F-test's tail for a window of n values whose stddev is
// ratio times that of a baseline of nb values.
func varianceTest(ratio, n, nb float64, d Direction) float64 {
	f := ratio * ratio
	up := 1.0 // P(F(n-1, nb-1) >= f)
	if f > 0 && !math.IsInf(f, 1) {
		up = distuv.F{D1: nb - 1, D2: n - 1}.CDF(1 / f)
	} else if math.IsInf(f, 1) {
		up = 0
	}
	down := distuv.F{D1: n - 1, D2: nb - 1}.CDF(f) // P(F(n-1, nb-1) <= f); 0 at f = 0
	if math.IsInf(f, 1) {
		down = 1
	}
	switch d {
	case DirectionUp:
		return up
	case DirectionDown:
		return down
	}
	return min(1, 2*min(up, down))
}

type stdDevState struct {
	rule   *StdDevChangeRule
	window time.Duration
	wb     *windowAndBaseline // whether the baseline is seasonal
}

// judge compares the spreads; baselineState has checked that the window
// and the baseline hold enough values.
func (s *stdDevState) judge(win, base *Summary, current Level) Verdict {
	v := undecided()
	sw, sb := win.StdDev(), base.StdDev()
	if !(sb > 0) {
		return v
	}
	r := &s.rule.StdDevChangeParams
	ratio := sw / sb
	// change is how far the factor went in a judged direction (>= 1 when it did).
	rising := ratio >= 1
	var change float64
	switch r.Direction {
	case DirectionUp:
		change, rising = ratio, true
	case DirectionDown:
		change, rising = 1/ratio, false
	default:
		change = max(ratio, 1/ratio)
	}
	failBound, warnBound := r.FailureFactor, math.NaN()
	if r.warningSet() {
		warnBound = r.WarningFactor
	}
	if current == Failure {
		failBound -= r.Hysteresis
	}
	if current >= Warning {
		warnBound -= r.Hysteresis // NaN stays NaN
	}
	level, bound := OK, failBound
	switch {
	case change > failBound:
		level = Failure
	case change > warnBound: // false when unset
		level, bound = Warning, warnBound
	case !math.IsNaN(warnBound):
		bound = warnBound
	}
	v.Decided = true
	v.Level = level
	v.Threshold = bound
	if !rising {
		v.Threshold = 1 / bound // in the units of Observed
	}
	v.Observed, v.Baseline = ratio, sb
	v.Numerator, v.Denominator = sw, sb
	v.Window = s.window
	v.Probability = varianceTest(ratio, win.N, base.N, r.Direction)
	if s.wb.seasonal {
		v.Reason = ReasonSeasonal
	}
	return v
}

// ChartUnit implements Charted.
func (r *StdDevChangeRule) ChartUnit() string {
	return "standard deviation over " + CompactDuration(r.Window)
}

// ChartValues implements Charted: the window's stddev and the baseline's.
func (r *StdDevChangeRule) ChartValues(v *Verdict) (obs, base, aux float64) {
	return v.Numerator, v.Denominator, math.NaN()
}

// ChartBand implements Charted: the baseline's stddev times the factors.
func (r *StdDevChangeRule) ChartBand(base, _ float64) Band {
	b := NoBand()
	if math.IsNaN(base) {
		return b
	}
	b.FailLo, b.FailHi = factorBounds(r.Direction, base, r.FailureFactor)
	if r.warningSet() {
		b.WarnLo, b.WarnHi = factorBounds(r.Direction, base, r.WarningFactor)
	}
	return b
}

// Score implements Charted: (factor - 1) / (bound factor - 1), in the
// judged direction.
func (r *StdDevChangeRule) Score(v *Verdict) float64 {
	change := v.Observed
	switch r.Direction {
	case DirectionDown:
		change = 1 / change
	case DirectionBoth:
		change = max(change, 1/change)
	}
	u := math.NaN()
	f := r.FailureFactor
	if r.warningSet() {
		f = r.WarningFactor
	}
	if f > 1 {
		u = max(change-1, 0) / (f - 1)
	}
	return scoreOf(v, u)
}
