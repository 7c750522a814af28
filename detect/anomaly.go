package detect

import (
	"fmt"
	"math"
	"time"
)

// AnomalyRule learns what is normal for each series it reads and judges
// every new value by how likely it is under that: one detector for any
// metric, with no threshold to pick per metric.
//
//	<Anomaly "cpu">
//	  Series "cpu-*/cpu-user"
//	</Anomaly>
//
// It keeps one state per series (PerSeries is implied). Values are taken per
// slot (one interval of the series, or Resolution): several values in one
// slot are averaged, an empty slot is a gap, and a counter or derive is
// judged as its increase per slot.
//
// # The model of a series
//
// The expected value is a level plus a seasonal offset:
//
//   - The level is an exponentially weighted mean that remembers about
//     Memory values; a value's pull on it is clipped at 3 spreads (Huber), so
//     an outlier hardly moves it. Irregular values are weighted by the time
//     they stand for (a gap of k slots counts as k values of memory). A
//     second, fast level (a fifth of the memory) predicts instead while its
//     mean absolute error is under 85% of the slow one's: a series that
//     wanders (a random walk, memory in use) is judged against where it is,
//     not where it was.
//   - The seasonal offset is a profile over Season (a day by default, at
//     most a week) in buckets of 30 minutes (2 hours for a week; one slot,
//     if longer), read by linear interpolation between buckets. It is learnt
//     as each bucket's offset from the mean of the last season (not from
//     the level's residual, which the level would take for itself), first as
//     a plain mean of the bucket's values, then with a memory of about three
//     seasons; the buckets start again once the mean has seen a whole
//     season. Until then a bucket is near zero and the model is the recent
//     level alone: the warm-up of seasonality needs no switch, and a series
//     without a daily cycle pays only the noise of a small learnt offset.
//   - The spread is the weighted mean absolute deviation of the values from
//     the expectation (memory 5x Memory), floored at half the smallest step
//     the series has taken, so that a series that was constant so far is
//     not infinitely surprised by its first step.
//
// # The score is a calibrated probability
//
// A value's deviation z (in spreads) is judged against the deviations the
// series has had, not against a bell curve that real metrics do not follow:
// per side (above, below), the rule tracks the 95% quantile u of z by
// stochastic approximation, and fits the excesses over u with a generalised
// Pareto tail by the method of moments (shape 0 to 0.45: exponential to
// heavy; never a bounded tail, which would call a value just past the
// largest seen impossible). The tail probability of a deviation is then
//
//	P(side beyond z) = 0.05 * GPD survival(z - u)   for z >= u,
//
// interpolated in log between the share of values on that side and 0.05 for
// z < u. With Direction both (the default) the probability is twice that of
// the value's side (capped at 1); up or down judge one side only. So under
// normal behaviour P(p < a) is about a for any a (the null test checks it),
// and the score 1 - p is dispatched as a derived series (Scores, default
// on) for Grafana, as plugin "anomaly", plugin instance the series, type
// instance the rule. Probabilities stay in float64 down to 1e-308.
//
// A run of unusual values on one side (each p < 0.01) is judged together
// by Fisher's method (chi-square of -2 sum ln p, 2k degrees of freedom, at
// most 12 values), its evidence discounted by (1-r)/(1+r) for the lag-1
// autocorrelation r of the deviations: a shift of 4 sd, no value of which is
// below 1e-5 alone, is found by its third or fourth value, and a random
// walk's runs do not alert.
//
// Only values judged normal teach the model: an anomaly does not move the
// level, the spread or the tail it is judged against.
//
// # Alerts
//
// A value whose probability is below Probability (default 1e-5) is a
// FAILURE, below WarningProbability a WARNING. A raised alert comes back to
// OKAY after RecoverAfter (default 3) values in a row above its bound times
// RecoveryFactor (default 100), so one anomaly of several values, with a
// normal-looking value among them, is one alert.
//
// A change that persists becomes the new normal: after NewNormalAfter
// (default 24) anomalous values with too few normal ones between them to
// cancel them out (each normal value cancels one), the level moves to their
// mean and the spread widens to theirs if it was wider, and the alert ends
// with an OKAY that says so. Slow drifts within the spread are followed by
// the level as they come; a trend faster than that alerts until it becomes
// the new normal.
//
// A flat line is an anomaly too: when a series that varies repeats one value
// exactly for a run of at least FlatAfter values (default 10; 0 turns it
// off), the run's probability is r^run, with r the share of values that
// repeated the previous one (at least 0.02) - a stuck sensor. A series that
// often repeats needs a long run; one that is constant never alerts.
//
// # Warm-up
//
// The first WarmUp values (default 50) teach the model and judge nothing:
// averages start as plain means, the quantiles from a Gaussian-like prior.
//
// # Cost
//
// About 300 bytes of state per series plus 5 bytes per seasonal bucket (48
// buckets for a day, 84 for a week: 736 bytes in all); no allocation after
// the state is made; about 170 ns a value.
type AnomalyRule struct {
	RuleSpec
	AnomalyParams
}

// AnomalyParams are the options of an AnomalyRule.
type AnomalyParams struct {
	TailBounds
	// Direction: deviations above (up), below (down), or both.
	Direction Direction
	// Memory is about how many values the level remembers.
	Memory int
	// Season is the period of the seasonal profile; 0 has none.
	Season time.Duration
	// WarmUp is how many values are learnt before any is judged.
	WarmUp int
	// NewNormalAfter is how many anomalous values make a change the new normal.
	NewNormalAfter int
	// FlatAfter is the shortest run of one repeated value judged as a flat
	// line; 0 turns flat lines off.
	FlatAfter int
	// RecoverAfter is how many values in a row within the recovery bound end
	// a raised alert.
	RecoverAfter int
	// Scores dispatches the score of every judged value as a derived series.
	Scores bool
}

// The constants of the model, documented on AnomalyRule.
const (
	anomalyTailShare     = 0.05 // tail beyond the tracked quantile u
	anomalyQuantileStep  = 0.04 // step of u's stochastic approximation, in spreads
	anomalyTailMemory    = 200  // exceedances the tail's moments remember
	anomalyHuber         = 3    // a value's pull on the level, in spreads
	anomalySpreadMemory  = 5    // the spread remembers this many times Memory
	anomalySeasonMemory  = 3    // seasons the profile remembers
	anomalyMaxShape      = 0.45 // heaviest tail the moments may fit
	anomalyMinRepeat     = 0.02 // least share of repeats a flat run is judged with
	maxAnomalySeason     = 7 * 24 * time.Hour
	anomalySeasonBucket  = 30 * time.Minute   // the narrowest bucket
	anomalyMaxBuckets    = 84                 // buckets of a season at most (2 h of a week)
	anomalyPriorQuantile = 2.0                // z of a Gaussian's 95% quantile, in mean absolute deviations
	anomalyPriorExcess   = 0.5                // mean excess over it, in spreads
	anomalyPriorWeight   = 4                  // exceedances the prior counts as
	anomalyShapePrior    = 50                 // exceedances that halve the shrinkage of the shape
	anomalyRunGate       = -4.605170185988091 // ln 0.01: values this unusual form a run
	anomalyMaxRun        = 12                 // values a run combines at most
	anomalyFastFactor    = 5                  // the fast level learns this much faster
	anomalyFastMargin    = 0.85               // the fast level predicts once its error is this much smaller
	// anomalyMaxMagnitude bounds the values judged: beyond it no metric
	// measures anything (bytes ever sent are below 1e20), and the seasonal
	// offsets, kept in float32 (up to 3.4e38), would overflow.
	anomalyMaxMagnitude = 1e30
)

// The reasons of an anomaly verdict other than a value's deviation.
const (
	ReasonFlat      = "flat"
	ReasonRun       = "run"
	ReasonNewNormal = "new normal"
)

// DefaultAnomalyParams returns the defaults documented on AnomalyRule.
func DefaultAnomalyParams() AnomalyParams {
	return AnomalyParams{
		TailBounds:     TailBounds{Probability: 1e-5, WarningProbability: math.NaN(), RecoveryFactor: 100},
		Direction:      DirectionBoth,
		Memory:         20,
		Season:         24 * time.Hour,
		WarmUp:         50,
		NewNormalAfter: 24,
		FlatAfter:      10,
		RecoverAfter:   3,
		Scores:         true,
	}
}

// NewAnomalyRule builds an anomaly rule; Inputs[0] is the series.
func NewAnomalyRule(spec RuleSpec, series []Selector, p AnomalyParams) (*AnomalyRule, error) {
	spec.Inputs = []Input{{Name: "Series", Selectors: series}}
	spec.PerSeries = true
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if err := p.TailBounds.validate(spec.Name); err != nil {
		return nil, err
	}
	switch {
	case !p.Direction.valid():
		return nil, settingError(spec.Name, "Direction", "must be up, down or both")
	case p.Memory < 2:
		return nil, settingError(spec.Name, "Memory", "must be at least 2")
	case p.Season < 0 || p.Season > maxAnomalySeason:
		return nil, settingError(spec.Name, "Season", "must be between 0 and 1w")
	case p.WarmUp < 2:
		return nil, settingError(spec.Name, "WarmUp", "must be at least 2")
	case p.NewNormalAfter < 1:
		return nil, settingError(spec.Name, "NewNormalAfter", "must be at least 1")
	case p.FlatAfter != 0 && p.FlatAfter < 2:
		return nil, settingError(spec.Name, "FlatAfter", "must be 0 (off) or at least 2")
	case p.RecoverAfter < 1:
		return nil, settingError(spec.Name, "RecoverAfter", "must be at least 1")
	}
	return &AnomalyRule{RuleSpec: spec, AnomalyParams: p}, nil
}

// Kind implements Rule.
func (r *AnomalyRule) Kind() string { return "anomaly" }

// OutputName implements Emitter.
func (r *AnomalyRule) OutputName() string { return r.Name }

// NewState implements Rule.
func (r *AnomalyRule) NewState(clock SlotClock) RuleState {
	s := &anomalyState{
		rule:       r,
		originNano: clock.Origin.UnixNano(),
		stepNano:   int64(clock.Step),
		alphaLevel: 1 / float64(r.Memory),
		alphaScale: 1 / float64(anomalySpreadMemory*r.Memory),
	}
	if r.Season > 0 && clock.Step > 0 && clock.Step < r.Season {
		width := max(clock.Step, anomalySeasonBucket, r.Season/anomalyMaxBuckets)
		n := int(r.Season / width)
		if n >= 2 {
			s.season = make([]float32, n)
			s.visits = make([]uint8, n)
			s.bucketNano = int64(r.Season) / int64(n)
			s.seasonNano = int64(r.Season)
			s.alphaSeason = min(0.5, float64(clock.Step)/float64(anomalySeasonMemory*s.bucketNano))
			s.alphaMean = min(0.5, float64(clock.Step)/float64(r.Season))
		}
	}
	s.up.reset()
	s.down.reset()
	return s
}

// CheckInterval implements IntervalChecker: a season of fewer than two
// buckets at the data's interval has no profile.
func (r *AnomalyRule) CheckInterval(step time.Duration) []string {
	if r.Season > 0 && r.Season < 2*max(step, anomalySeasonBucket) {
		return []string{fmt.Sprintf("Season %s is less than two buckets of %s: no seasonal profile", r.Season, max(step, anomalySeasonBucket))}
	}
	return nil
}

// Message implements Rule, e.g. "FAILURE: cpu[cpu-0/cpu-user] of db-1: 93.2
// is far above the usual 12.5 +- 3.1 (p=2.1e-09)".
func (r *AnomalyRule) Message(a *Alert, v *Verdict) string {
	head := fmt.Sprintf("%s: %s of %s: ", a.Severity, a.Subject(), hostOrAll(a.Host))
	usual := formatNumber(v.Baseline) + " +- " + formatNumber(v.Denominator)
	switch {
	case v.Reason == ReasonNewNormal:
		return head + fmt.Sprintf("%s is the new normal after %d anomalous values (it was %s)",
			formatNumber(v.Observed), r.NewNormalAfter, usual)
	case v.Reason == ReasonRun && a.Severity != OK:
		where := "above"
		if v.Observed < v.Baseline {
			where = "below"
		}
		return head + fmt.Sprintf("%s and the %s values before it are %s the usual %s (together p=%s)",
			formatNumber(v.Observed), formatNumber(v.Numerator-1), where, usual, formatProbability(v.Probability))
	case v.Reason == ReasonFlat && a.Severity != OK:
		return head + fmt.Sprintf("stuck at %s for %s values (p=%s)",
			formatNumber(v.Observed), formatNumber(v.Numerator), formatProbability(v.Probability))
	case a.Severity == OK:
		return head + fmt.Sprintf("%s is back within the usual %s (p=%s)",
			formatNumber(v.Observed), usual, formatProbability(v.Probability))
	}
	where := "above"
	if v.Observed < v.Baseline {
		where = "below"
	}
	return head + fmt.Sprintf("%s is far %s the usual %s (p=%s)",
		formatNumber(v.Observed), where, usual, formatProbability(v.Probability))
}

// tailFit is what one side of a series' deviations looks like: the tracked
// 95% quantile u and the weighted moments of the excesses over it.
type tailFit struct {
	u, m1, m2, seen float64
}

func (t *tailFit) reset() {
	*t = tailFit{u: anomalyPriorQuantile, m1: anomalyPriorExcess, m2: 2 * anomalyPriorExcess * anomalyPriorExcess}
}

// logSurvival is log P(deviation beyond z) on this side, z >= 0 in spreads,
// given the share of values on this side.
func (t *tailFit) logSurvival(z, share float64) float64 {
	const logQ = -2.995732273553991 // ln anomalyTailShare
	if z < t.u {
		logShare := math.Log(max(share, anomalyTailShare))
		return logShare + z/t.u*(logQ-logShare)
	}
	y := z - t.u
	shape, scale := t.shape()
	if shape == 0 {
		return logQ - y/scale
	}
	return logQ - math.Log1p(shape*y/scale)/shape
}

// shape and scale of the generalised Pareto tail, by the method of moments:
// mean m1 = s/(1-k), variance v = s^2/((1-k)^2 (1-2k)).
func (t *tailFit) shape() (shape, scale float64) {
	v := t.m2 - t.m1*t.m1
	if v > 0 {
		shape = 0.5 * (1 - t.m1*t.m1/v)
	}
	// Shrunk towards an exponential tail while few excesses were seen: a
	// shape from tens of excesses is mostly noise, and a noisy shape makes
	// far values far too likely (a heavy tail) or impossible.
	seen := min(t.seen, anomalyTailMemory)
	shape *= seen / (seen + anomalyShapePrior)
	shape = min(max(shape, 0), anomalyMaxShape)
	return shape, max(t.m1*(1-shape), 1e-9)
}

// learn moves the quantile towards the 95% one and the moments towards an
// excess; step weighs the quantile's move (larger while warming up).
func (t *tailFit) learn(z, step float64) {
	if z > t.u {
		y := z - t.u
		t.seen++
		a := max(1.0/anomalyTailMemory, 1/(t.seen+anomalyPriorWeight))
		t.m1 += a * (y - t.m1)
		t.m2 += a * (y*y - t.m2)
		t.u += step * (1 - anomalyTailShare)
	} else {
		t.u = max(t.u-step*anomalyTailShare, 0.1)
	}
}

// anomalyState is one series' model.
type anomalyState struct {
	rule *AnomalyRule

	// the slot being filled
	sum   float64
	count int32

	n        int64 // values learnt or judged
	lastSlot int64

	level, scale, quantum  float64
	fast, errSlow, errFast float64 // a level of a fifth of the memory, and both levels' errors
	useFast                bool
	positive               float64 // share of deviations above the expectation
	up, down               tailFit

	originNano, stepNano       int64
	alphaLevel, alphaScale     float64
	season                     []float32 // the profile: offsets from the season's mean
	visits                     []uint8   // values each bucket has learnt (up to 255)
	mean                       float64   // the mean over about a season, which the profile is learnt against
	bucketNano, seasonNano     int64
	alphaSeason, alphaMean     float64
	seasonSeen                 bool // the mean has seen a whole season
	prev, repeats              float64
	flatRun                    int64
	shiftN, shiftCount         int64
	shiftFlat                  bool    // the shift is of a flat line (not saved: one shift may mix after a restart)
	shiftMean, shiftAbs        float64 // the shift's mean deviation, and its mean absolute deviation from that
	runX                       float64 // -2 ln p summed over the run of unusual values
	runK                       int32   // values in the run
	runSide                    int8
	prevZ, lagProduct, zSquare float64 // for the deviations' autocorrelation
	calm                       int
}

// Add implements RuleState: the values of a slot are averaged.
func (s *anomalyState) Add(_ int, _ int64, v float64) {
	if !(math.Abs(v) <= anomalyMaxMagnitude) {
		return // no measurement: a broken sensor's 1e200, as a gap
	}
	s.sum += v
	s.count++
}

// Span implements RuleState: the state holds no window of slots.
func (s *anomalyState) Span() int64 { return 1 }

// Evaluate implements RuleState.
func (s *anomalyState) Evaluate(slot int64, current Level) Verdict {
	v := undecided()
	if s.count == 0 {
		return v // a gap
	}
	x := s.sum / float64(s.count)
	s.sum, s.count = 0, 0
	t := s.originNano + slot*s.stepNano
	gap := slot - s.lastSlot
	s.lastSlot = slot
	s.n++
	if s.n == 1 {
		s.level, s.fast, s.mean, s.prev, s.positive = x, x, x, x, 0.5
		return v
	}
	r := &s.rule.AnomalyParams
	seasonal, bucket, frac := s.seasonalAt(t)
	expected := s.expected() + seasonal
	e := x - expected

	// How the value repeats the previous one, and the data's resolution.
	if x == s.prev {
		s.flatRun++
	} else {
		s.flatRun = 0
		if d := math.Abs(x - s.prev); s.quantum == 0 || d < s.quantum {
			s.quantum = d
		}
	}
	s.prev = x

	spread := max(s.scale, s.quantum/2, 1e-12*math.Abs(expected), math.SmallestNonzeroFloat64)
	z := e / spread
	logP := 0.0 // log of the two-sided (or one-sided) tail probability
	switch {
	case e > 0 && r.Direction != DirectionDown:
		logP = s.up.logSurvival(z, s.positive)
	case e < 0 && r.Direction != DirectionUp:
		logP = s.down.logSurvival(-z, 1-s.positive)
	}
	if r.Direction == DirectionBoth {
		logP = min(0, logP+math.Ln2)
	}
	reason := ""
	// A run of unusual values on one side is judged together (Fisher's
	// method): a level shift of 5 sd is a few values each at p ~ 1e-4,
	// together far less likely than any of them.
	side := int8(1)
	if e < 0 {
		side = -1
	}
	if logP < anomalyRunGate && (side == s.runSide || s.runK == 0) && s.n > int64(r.WarmUp) {
		s.runSide = side
		s.runK = min(s.runK+1, anomalyMaxRun)
		s.runX -= 2 * logP
		if s.runK > 1 {
			// Deviations that follow each other (a random walk's, or any
			// autocorrelated noise's) make runs by themselves: their
			// evidence counts as (1-r)/(1+r) of independent ones'.
			discount := 1.0
			if rho := s.autocorrelation(); rho > 0 {
				discount = (1 - rho) / (1 + rho)
			}
			if lr := logChiSquareSurvival(discount*s.runX, int(s.runK)); lr < logP {
				logP, reason = lr, ReasonRun
			}
		}
	} else {
		s.runK, s.runX = 0, 0
	}
	if r.FlatAfter > 0 && s.flatRun+1 >= int64(r.FlatAfter) && s.scale > 0 {
		if lf := float64(s.flatRun+1) * math.Log(max(s.repeats, anomalyMinRepeat)); lf < logP {
			logP, reason = lf, ReasonFlat
		}
	}
	p := math.Exp(logP)

	warming := s.n <= int64(r.WarmUp)
	anomalous := !warming && p < r.loosest()
	if anomalous {
		// A flat line and a deviation are two changes, not one: a new
		// normal from both would sit between them.
		if flat := reason == ReasonFlat; flat != s.shiftFlat {
			s.shiftN, s.shiftFlat = 0, flat
		}
		s.shiftTowards(e)
	} else {
		s.learn(x, e, z, seasonal, gap, bucket, frac, s.flatRun > 0)
		if s.shiftN > 0 {
			s.shiftN--
		}
	}
	if warming {
		return v
	}

	level, bound := r.judge(p, current)
	if current > OK && level < current {
		if s.calm++; s.calm < r.RecoverAfter {
			level = current
		}
	} else {
		s.calm = 0
	}
	v.Decided, v.Level = true, level
	v.Observed, v.Baseline, v.Denominator = x, expected, spread
	v.Probability, v.Threshold, v.Reason = p, bound, reason
	switch reason {
	case ReasonFlat:
		v.Numerator = float64(s.flatRun + 1)
	case ReasonRun:
		v.Numerator = float64(s.runK)
	}
	if s.shiftN >= int64(r.NewNormalAfter) {
		s.renormalise(reason == ReasonFlat)
		v.Level, v.Reason, s.calm = OK, ReasonNewNormal, 0
	}
	v.Emit, v.Value = r.Scores, 1-p
	return v
}

// learn teaches the model a value judged normal (or one of the warm-up).
func (s *anomalyState) learn(x, e, z, seasonal float64, gap int64, bucket int, frac float64, repeated bool) {
	n := float64(s.n - 1) // deviations seen, this one included
	alphaLevel := max(s.alphaLevel, 1/n)
	if gap > 1 {
		alphaLevel = 1 - math.Pow(1-alphaLevel, float64(gap))
	}
	alphaScale := max(s.alphaScale, 1/n)
	step := max(anomalyQuantileStep, 1/(n*anomalyTailShare))

	if s.scale > 0 {
		s.up.learn(z, step)
		s.down.learn(-z, step)
		c := within(z, anomalyHuber)
		s.lagProduct += alphaScale * (c*s.prevZ - s.lagProduct)
		s.zSquare += alphaScale * (c*c - s.zSquare)
		s.prevZ = c
	}
	clip := anomalyHuber * s.scale
	if s.scale == 0 {
		clip = math.Inf(1) // no spread yet to clip with
	}
	absDev := min(math.Abs(e), 2*clip)
	s.scale += alphaScale * (absDev - s.scale)
	side := 0.0
	if e > 0 {
		side = 1
	}
	if e != 0 {
		s.positive += alphaScale * (side - s.positive)
	}
	rep := 0.0
	if repeated {
		rep = 1
	}
	s.repeats += alphaScale * (rep - s.repeats)
	// Each level learns from its own residual (e is the residual of the one
	// that predicted).
	eSlow, eFast := x-seasonal-s.level, x-seasonal-s.fast
	s.level += alphaLevel * within(eSlow, clip)
	// The fast level follows a series that wanders (a random walk's
	// residuals against a slow level are long runs on one side); each level
	// keeps the mean absolute error of its own predictions, and the better
	// one predicts (by a margin, so that noise does not flip it).
	if s.scale > 0 {
		s.errSlow += alphaScale * (min(math.Abs(eSlow), 2*clip) - s.errSlow)
		s.errFast += alphaScale * (min(math.Abs(eFast), 2*clip) - s.errFast)
		switch {
		case !s.useFast && s.errFast < anomalyFastMargin*s.errSlow:
			s.useFast = true
		case s.useFast && s.errFast > s.errSlow:
			s.useFast = false
		}
	}
	alphaFast := max(min(anomalyFastFactor*s.alphaLevel, 0.5), 1/n)
	if gap > 1 {
		alphaFast = 1 - math.Pow(1-alphaFast, float64(gap))
	}
	s.fast += alphaFast * within(eFast, clip)
	if s.season != nil {
		// The profile learns the offset of the value from the season's mean,
		// not the residual of the level, which would take most of the cycle
		// for itself and leave the profile to learn it over weeks. A bucket
		// starts as the plain mean of its values.
		s.mean += max(s.alphaMean, 1/n) * within(x-s.mean, clip+math.Abs(s.level-s.mean))
		if !s.seasonSeen && s.n*s.stepNano >= s.seasonNano {
			// The mean has seen a season now: the buckets learnt against a
			// mean of part of it start again, as plain means.
			s.seasonSeen = true
			clear(s.visits)
		}
		next := (bucket + 1) % len(s.season)
		near := bucket
		if frac > 0.5 {
			near = next
		}
		if s.visits[near] < math.MaxUint8 {
			s.visits[near]++
		}
		a := max(s.alphaSeason, 1/float64(s.visits[near]))
		off := x - s.mean - seasonal
		if s.scale > 0 {
			off = within(off, clip)
		}
		s.season[bucket] += float32(a * off * (1 - frac))
		s.season[next] += float32(a * off * frac)
	}
}

// seasonalAt is the profile's offset at t, with the bucket before t and the
// share of the way to the next one (for learning).
func (s *anomalyState) seasonalAt(t int64) (offset float64, bucket int, frac float64) {
	if s.season == nil {
		return 0, 0, 0
	}
	phase := t % s.seasonNano
	if phase < 0 {
		phase += s.seasonNano
	}
	// Buckets are centred on their middles.
	pos := float64(phase)/float64(s.bucketNano) - 0.5
	if pos < 0 {
		pos += float64(len(s.season))
	}
	bucket = int(pos) % len(s.season)
	frac = pos - math.Floor(pos)
	next := (bucket + 1) % len(s.season)
	return float64(s.season[bucket])*(1-frac) + float64(s.season[next])*frac, bucket, frac
}

// expected is the level that predicts: the slow one, or the fast one while
// it has predicted better.
func (s *anomalyState) expected() float64 {
	if s.useFast {
		return s.fast
	}
	return s.level
}

// autocorrelation is the lag-1 autocorrelation of the deviations learnt.
func (s *anomalyState) autocorrelation() float64 {
	if s.zSquare <= 0 {
		return 0
	}
	return min(s.lagProduct/s.zSquare, 0.99)
}

// within is x clipped to [-c, c].
func within(x, c float64) float64 { return min(max(x, -c), c) }

// logChiSquareSurvival is ln P(X > x) for X ~ chi-square with 2k degrees of
// freedom: e^(-x/2) * sum_{i<k} (x/2)^i / i!.
func logChiSquareSurvival(x float64, k int) float64 {
	h := x / 2
	term, sum := 1.0, 1.0
	for i := 1; i < k; i++ {
		term *= h / float64(i)
		sum += term
	}
	return -h + math.Log(sum)
}

// shiftTowards counts an anomalous deviation towards a new normal.
func (s *anomalyState) shiftTowards(e float64) {
	if s.shiftN == 0 {
		s.shiftCount, s.shiftMean, s.shiftAbs = 0, 0, 0
	}
	s.shiftN++
	s.shiftCount++
	// A running mean, and the mean absolute deviation from it: squares of
	// values far from the level (a broken sensor's 1e200) overflow.
	n := float64(s.shiftCount)
	s.shiftMean += (e - s.shiftMean) / n
	s.shiftAbs += (math.Abs(e-s.shiftMean) - s.shiftAbs) / n
}

// renormalise takes the anomalous values since the change as the new normal:
// the level moves by their mean deviation, the spread widens to theirs.
func (s *anomalyState) renormalise(flat bool) {
	mean := s.shiftMean
	s.level += mean
	s.fast += mean
	s.mean += mean
	s.scale = max(s.scale, s.shiftAbs)
	s.shiftN, s.shiftCount, s.shiftMean, s.shiftAbs = 0, 0, 0, 0
	if !finite(s.level) || !finite(s.fast) || !finite(s.mean) || !finite(s.scale) {
		// Beyond float64: the model starts again with the next value.
		fresh := s.rule.NewState(SlotClock{Origin: time.Unix(0, s.originNano), Step: time.Duration(s.stepNano)})
		*s = *fresh.(*anomalyState)
		return
	}
	if flat {
		// A flat line that lasted is the new normal too: repeats are what
		// the series does now, until it varies again.
		s.repeats = 1
	}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// memory: the level forgets in about Memory values, the profile in a
// season; a restart shorter than either keeps what they learnt.
func (s *anomalyState) memory(step time.Duration) time.Duration {
	return max(time.Duration(anomalySpreadMemory*s.rule.Memory)*step, s.rule.Season)
}

// saveState keeps everything the detector learnt (persistent).
func (s *anomalyState) saveState(e *stateEncoder) {
	e.float(s.sum)
	e.int(int64(s.count))
	e.int(s.n)
	e.int(s.lastSlot)
	for _, f := range []float64{s.level, s.scale, s.quantum, s.fast, s.errSlow, s.errFast, s.positive,
		s.up.u, s.up.m1, s.up.m2, s.up.seen, s.down.u, s.down.m1, s.down.m2, s.down.seen,
		s.mean, s.prev, s.repeats, s.shiftMean, s.shiftAbs, s.runX, s.prevZ, s.lagProduct, s.zSquare} {
		e.float(f)
	}
	e.bool(s.useFast)
	e.bool(s.seasonSeen)
	for _, n := range []int64{s.flatRun, s.shiftN, s.shiftCount, int64(s.runK), int64(s.runSide), int64(s.calm)} {
		e.int(n)
	}
	e.uint(uint64(len(s.season)))
	for i := range s.season {
		e.float(float64(s.season[i]))
		e.uint(uint64(s.visits[i]))
	}
}

func (s *anomalyState) loadState(d *stateDecoder) {
	s.sum, s.count, s.n, s.lastSlot = d.float(), int32(d.int()), d.int(), d.int()
	for _, f := range []*float64{&s.level, &s.scale, &s.quantum, &s.fast, &s.errSlow, &s.errFast, &s.positive,
		&s.up.u, &s.up.m1, &s.up.m2, &s.up.seen, &s.down.u, &s.down.m1, &s.down.m2, &s.down.seen,
		&s.mean, &s.prev, &s.repeats, &s.shiftMean, &s.shiftAbs, &s.runX, &s.prevZ, &s.lagProduct, &s.zSquare} {
		*f = d.float()
	}
	s.useFast, s.seasonSeen = d.bool(), d.bool()
	s.flatRun, s.shiftN, s.shiftCount = d.int(), d.int(), d.int()
	s.runK, s.runSide, s.calm = int32(d.int()), int8(d.int()), int(d.int())
	if d.count(len(s.season), "a season of buckets") {
		for i := range s.season {
			s.season[i] = float32(d.float())
			s.visits[i] = uint8(min(d.uint(), 255))
		}
	}
}

// ChartUnit implements Charted.
func (r *AnomalyRule) ChartUnit() string { return "value per slot" }

// ChartValues implements Charted: the value, its expectation and spread.
func (r *AnomalyRule) ChartValues(v *Verdict) (obs, base, aux float64) {
	return v.Observed, v.Baseline, v.Denominator
}

// ChartBand implements Charted: none a chart could draw from the means.
func (r *AnomalyRule) ChartBand(_, _ float64) Band { return NoBand() }

// Score implements Charted, unlike the other kinds: 1 - p, p the
// calibrated tail probability, so that a score above 1 - a happens about a
// of the time under normal behaviour.
func (r *AnomalyRule) Score(v *Verdict) float64 {
	if !v.Decided || math.IsNaN(v.Probability) {
		return 0
	}
	return 1 - v.Probability
}
