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
// Relative to the usual (Season with FailureFactor, WarningFactor): the rule
// learns the count of each time of day (or week) with a seasonProfile of the
// events per slot, and a window is a FAILURE when its count exceeds both
// FailureFactor x the count the profile expects for it and FailureMax -
// "more than 3 times the usual for this hour, and more than 5" - and would
// be improbable as a Poisson count of the usual (P(X >= count) below
// Probability, default 1e-6). The floor is required: at night the usual is
// a fraction of an event, and one stray event would be many times it. The
// tail keeps the factor from paging where the usual is a handful of events
// and learnt from a few nights: 13 where the profile expects 4.3 is three
// times it but happens (p = 5e-4); a raised alert recovers by the
// thresholds (with Hysteresis). The profile learns from the slots that
// leave the window unless a window holding them was judged not OK, so an
// incident is not learnt as the usual. The tail gates only counts above
// the usual: FailureMin and WarningMin stay exact. Warm-up: until every
// bucket of the season has been seen, the usual is the mean count of what
// the profile has seen so far (the message says "so far"), so that a first
// morning far above the night before may alert; until the profile has
// learnt its first bucket (half an hour of a day, an hour of a week) after
// the window is full, there is no verdict.
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
	// Season (a day or a week; 0 is none) with FailureFactor and
	// WarningFactor makes FailureMax and WarningMax floors of a bound
	// relative to the usual count of the time (0: unset).
	Season                       time.Duration
	FailureFactor, WarningFactor float64
	// Probability: with a Season, an alert is raised only on a count whose
	// Poisson tail under the usual is below it.
	Probability float64
}

// DefaultCountParams: an hour (the exercise's window), no thresholds
// (X is the user's), "events".
func DefaultCountParams() CountParams {
	return CountParams{Window: time.Hour, Thresholds: Unbounded(), Unit: "events", Probability: 1e-6}
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
	if err := p.Thresholds.validate(spec.Name, true); err != nil {
		return nil, err
	}
	return r, r.validateSeason()
}

func (r *CountRule) validateSeason() error {
	factors := r.FailureFactor != 0 || r.WarningFactor != 0
	switch {
	case r.Season < 0 || r.Season > maxSeason:
		return settingError(r.Name, "Season", "must be between 0 and 1w")
	case r.Season > 0 && r.Season < 2*r.Window:
		return settingError(r.Name, "Season", "%s must be at least twice Window (%s)", r.Season, 2*r.Window)
	case r.Season > 0 && !(r.Probability > 0 && r.Probability < 1):
		return settingError(r.Name, "Probability", "must be between 0 and 1")
	case r.Season > 0 && !factors:
		return settingError(r.Name, "Season", "needs FailureFactor or WarningFactor: the bound's factor of the usual count")
	case r.Season == 0 && factors:
		return settingError(r.Name, "", "FailureFactor and WarningFactor need a Season, the time the usual count is learnt over")
	case r.FailureFactor != 0 && !(r.FailureFactor > 1 && r.FailureFactor < math.Inf(1)):
		return settingError(r.Name, "FailureFactor", "must be more than 1")
	case r.WarningFactor != 0 && !(r.WarningFactor > 1 && r.WarningFactor < math.Inf(1)):
		return settingError(r.Name, "WarningFactor", "must be more than 1")
	case r.FailureFactor != 0 && r.WarningFactor != 0 && !(r.WarningFactor < r.FailureFactor):
		return settingError(r.Name, "WarningFactor", "must be less than FailureFactor (%s)", formatNumber(r.FailureFactor))
	case r.FailureFactor != 0 && math.IsNaN(r.Thresholds.FailureMax):
		return settingError(r.Name, "FailureFactor", "needs FailureMax, the fewest events that may raise a FAILURE (more than F times the usual and more than N)")
	case r.WarningFactor != 0 && math.IsNaN(r.Thresholds.WarningMax):
		return settingError(r.Name, "WarningFactor", "needs WarningMax, the fewest events that may raise a WARNING")
	}
	return nil
}

// Kind implements Rule.
func (r *CountRule) Kind() string { return "count" }

// NewState implements Rule.
func (r *CountRule) NewState(clock SlotClock) RuleState {
	n := slotsFor(r.Window, clock.Step)
	s := &countState{rule: r, win: NewMovingWindow(n), window: time.Duration(n) * clock.Step,
		origin: clock.Origin.UnixNano(), stepNs: int64(clock.Step), lastBad: math.MinInt64, resumedAt: math.MinInt64}
	if s.season = newSeasonProfile(r.Season, clock.Step, true); s.season != nil {
		s.win.OnExpire(s.learn)
	}
	return s
}

// CheckInterval implements IntervalChecker.
func (r *CountRule) CheckInterval(step time.Duration) []string {
	return append(windowProblems("Window", r.Window, step, 1, ""), seasonProblems(r.Season, step)...)
}

// Message implements Rule: "FAILURE: payment-fraud of all hosts: 12 fraud
// outcomes in 1h0m0s, more than 10", or with a Season "..., more than 9.3
// (3x the usual 3.1 by the daily profile)".
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
	msg := fmt.Sprintf("%s: %s of %s: %s %s in %s, %s %s",
		a.Severity, a.Subject(), hostOrAll(a.Host), formatNumber(v.Observed), r.Unit, v.Window, cmp, formatNumber(v.Threshold))
	switch v.Reason {
	case ReasonSeasonal:
		msg += fmt.Sprintf(" (%sx the usual %s by %s, p=%s)", formatNumber(v.Threshold/v.Baseline), formatNumber(v.Baseline), seasonText(r.Season), formatProbability(v.Probability))
	case reasonSoFar:
		msg += fmt.Sprintf(" (%sx the usual %s so far, while %s is learnt, p=%s)", formatNumber(v.Threshold/v.Baseline), formatNumber(v.Baseline), seasonText(r.Season), formatProbability(v.Probability))
	}
	return msg
}

type countState struct {
	rule   *CountRule
	win    *MovingWindow
	window time.Duration
	// With a Season: the usual events per slot of each time, the clock
	// that places slots in it, and the newest slot of a window judged not
	// OK (slots up to it are not learnt).
	season         *seasonProfile
	origin, stepNs int64
	lastBad        int64
	// resumedAt is the first slot after a restart's downtime, downFrom the
	// newest slot before it (see resume; not saved: a window spanning two
	// restarts counts the first).
	resumedAt, downFrom int64
}

// learn takes a bucket leaving the window into the profile (in events per
// slot: a slot without values counted none) unless a window holding it
// was judged not OK - but every bucket until the profile is complete.
func (s *countState) learn(slot int64, b *Summary) {
	if s.season.ready() && slot <= s.lastBad {
		return
	}
	per := s.win.SlotsPerBucket()
	first := slot - per + 1
	if s.resumedAt != math.MinInt64 && first < s.resumedAt && slot > s.downFrom {
		return // a bucket of the restart's downtime: no events seen is not none
	}
	s.season.learn(s.origin+first*s.stepNs+per*s.stepNs/2, b.Sum/float64(per))
}

// usual is the count the profile expects in the window ending with slot.
func (s *countState) usual(slot int64) float64 {
	from := s.origin + (slot-int64(s.win.Len())+1)*s.stepNs
	mean := s.season.total / float64(len(s.season.values))
	return float64(s.win.Len()) * mean * s.season.meanShape(from, s.origin+(slot+1)*s.stepNs)
}

// reasonSoFar marks a count judged in the warm-up, against the usual so far.
const reasonSoFar = "so far"

// bounds are the thresholds for the window ending with slot, relative to
// the usual count once the profile has seen a bucket; false before.
func (s *countState) bounds(slot int64, v *Verdict) (Thresholds, bool) {
	switch {
	case s.season == nil:
		return s.rule.Thresholds, true
	case s.season.ready():
		v.Baseline, v.Reason = s.usual(slot), ReasonSeasonal
	case s.season.seen > 0:
		v.Baseline, v.Reason = float64(s.win.Len())*s.season.total/float64(s.season.seen), reasonSoFar
	default:
		return Thresholds{}, false
	}
	return s.rule.relative(v.Baseline), true
}

// relative is the thresholds against a usual count (NaN: none known): the
// factors of it wherever they exceed the floors.
func (r *CountRule) relative(usual float64) Thresholds {
	t := r.Thresholds
	if f := r.FailureFactor * usual; r.FailureFactor != 0 && f > t.FailureMax {
		t.FailureMax = f
	}
	if f := r.WarningFactor * usual; r.WarningFactor != 0 && f > t.WarningMax {
		t.WarningMax = f
	}
	return t
}

func (s *countState) Add(_ int, slot int64, v float64) { s.win.Add(slot, v) }

func (s *countState) Span() int64 { return int64(s.win.Len()) }

func (s *countState) Evaluate(slot int64, current Level) Verdict {
	s.win.Advance(slot)
	v := undecided()
	if !s.win.Full() || (s.resumedAt != math.MinInt64 && slot-s.resumedAt < int64(s.win.Len())-1) {
		return v
	}
	t, ok := s.bounds(slot, &v)
	if !ok {
		return v
	}
	v.Decided = true
	v.Observed = s.win.Total().Sum
	v.Level, v.Threshold = t.Level(v.Observed, current)
	if v.Reason != "" {
		v.Probability = poissonAtLeast(math.Ceil(v.Observed), v.Baseline)
		// The tail gates counts above the usual only: FailureMin and
		// WarningMin stay the user's exact bounds.
		if v.Level > current && v.Observed > v.Threshold && !(v.Probability < s.rule.Probability) {
			v.Level = current // above the factor, but the usual explains it
		}
	}
	if v.Level != OK || current != OK {
		s.lastBad = slot
	}
	v.Window = s.window
	return v
}

// resume implements resumer: no verdict until the window has seen a whole
// Window since slot, so that none counts the downtime as a time without
// events. The season's profile is kept.
func (s *countState) resume(slot int64) {
	s.downFrom, s.resumedAt = s.win.Newest(), slot
}

func (s *countState) saveState(e *stateEncoder) {
	e.window(s.win)
	if s.season != nil { // only a rule with a Season has these (its fingerprint says so)
		e.int(s.lastBad)
		s.season.saveState(e)
	}
}

func (s *countState) loadState(d *stateDecoder) {
	d.window(s.win)
	if s.season != nil {
		s.lastBad = d.int()
		s.season.loadState(d)
	}
}

func (s *countState) memory(time.Duration) time.Duration {
	if s.season != nil {
		return max(s.window, time.Duration(s.season.period))
	}
	return s.window
}

// ChartUnit implements Charted.
func (r *CountRule) ChartUnit() string { return r.Unit + " per " + CompactDuration(r.Window) }

// ChartValues implements Charted: the judged quantity, and the usual
// count with a Season.
func (r *CountRule) ChartValues(v *Verdict) (obs, base, aux float64) {
	return v.Observed, v.Baseline, math.NaN()
}

// ChartBand implements Charted: the thresholds (against the usual count).
func (r *CountRule) ChartBand(base, _ float64) Band { return r.relative(base).band() }

// Score implements Charted: x / bound for a maximum, bound / x for a minimum.
func (r *CountRule) Score(v *Verdict) float64 {
	return scoreOf(v, r.relative(v.Baseline).distance(v.Observed))
}
