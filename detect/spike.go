package detect

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// SpikeModel is the distribution a SpikeRule assumes for its series.
type SpikeModel int8

// The models, written "poisson" and "normal" in the configuration.
const (
	// PoissonModel: the series counts events (requests, payments).
	PoissonModel SpikeModel = iota
	// NormalModel: the series is a measurement (a latency mean).
	NormalModel
)

// ParseSpikeModel reads "poisson" or "normal" (any case).
func ParseSpikeModel(s string) (SpikeModel, error) {
	switch strings.ToLower(s) {
	case "poisson":
		return PoissonModel, nil
	case "normal":
		return NormalModel, nil
	}
	return 0, fmt.Errorf("want \"poisson\" or \"normal\"")
}

func (m SpikeModel) String() string {
	switch m {
	case PoissonModel:
		return "poisson"
	case NormalModel:
		return "normal"
	}
	return "unknown"
}

// DefaultMinFactor is MinFactor's default for the model: 1.5 for counts,
// whose real dispersion exceeds Poisson's, 1 (no guard) for measurements,
// whose baseline stddev already is their real dispersion.
func (m SpikeModel) DefaultMinFactor() float64 {
	if m == NormalModel {
		return 1
	}
	return 1.5
}

// SpikeRule raises an alert when the level of a series changes suddenly: the
// values of a short recent Window are improbable given the Baseline window
// right before it. It answers web task 3 (a traffic spike), payments task 4
// (payments suddenly drop, down to zero when a checkout breaks) and the level
// shift of the latency mean of web task 2:
//
//	<Spike "web-traffic-spike">          # Poisson, up; Window 1m, Baseline 1h
//	  Series "ecommerce/gauge-page-hits-total" "ecommerce/gauge-asset-hits-total"
//	</Spike>
//	<Spike "payment-drop">
//	  Series "ecommerce/gauge-payment-provider-*"
//	  Direction "down"
//	  Window "30m"
//	  Baseline "6h"
//	</Spike>
//	<Spike "web-latency-shift">
//	  Series "ecommerce/gauge-page-latency-mean"
//	  Model "normal"
//	  Direction "both"
//	  Window "5m"
//	</Spike>
//
// # Slots, windows and baseline
//
// Every value of the Series that falls in one slot (one collectd interval) is
// summed (Model poisson: counts add up) or averaged (Model normal: readings of
// a measurement do not): the slot's value x. Window holds the x of its last W slots; each
// slot leaving it feeds the Baseline window of B slots behind it. Only slots
// that received values count: a slot without data (a missed read) is neither
// zero events nor a measurement, and silence is the <Missing> rule's business.
// A value arriving after its slot was judged (more than a slot late) counts
// in the slot still open.
//
// # Statistics
//
// Poisson model (counts). Let the baseline hold N slots with data summing to
// S, and the window n slots with data summing to k (Observed). The expected
// count is lambda = S/N x n (Baseline in the verdict); under a steady rate k is
// Poisson(lambda), and the tail probability (p-value) is
//
//	up:   p = P(X >= k) = P(k, lambda)   (regularized lower incomplete gamma,
//	                                     the CDF at lambda of Gamma(k, 1))
//	down: p = P(X <= k) = Q(k+1, lambda) (distuv.Poisson.CDF)
//
// both from gonum and accurate in relative terms far below 1e-12 (gonum's
// Poisson.Survival is 1 - CDF and stops near 1e-16, hence the Gamma CDF); to
// 1e-15 up to 1e5 expected events, to about 1e-5 at 1e6 (gonum's asymptotic
// series), which is plenty for a decision.
// Counts are taken as whole numbers towards the event (k rounded up for a
// rise, down for a drop). A Poisson tail weighs a change by the evidence: 0.12
// payments per slot make a quiet minute meaningless but half an hour without
// any payment (lambda = 21.6, P(0) = 4e-10) alarming, while at 1115 requests
// per slot a rise of a few percent is already improbable.
//
// Normal model (measurements, "a level shift of the mean"). With the
// baseline's mean m and sample stddev s over N slots, and the window's mean y
// (Observed) over n slots,
//
//	t = (y - m) / (s sqrt(1/n + 1/N))
//
// follows Student's t with N-1 degrees of freedom when both windows come from
// one normal distribution (the exact two-sample test with the baseline's
// variance; with an hour's baseline it is the plain z-score (y - m)/(s/sqrt(n))
// to a few percent). p = P(T >= t) for a rise, P(T <= t) for a drop,
// from distuv.StudentsT.CDF on the side where it is accurate.
//
// Direction "both" takes the smaller of the two one-sided tails and doubles it
// (the two-sided p-value), so Probability means the same false-alert chance per
// window in every direction. The verdict carries p as Probability for
// the message.
//
// One bound for both models: a window is a FAILURE when p < Probability (a
// WARNING when p < WarningProbability, if set). There is no separate z-score
// option: Probability 1e-6 is a one-sided z of 4.75, and a probability reads
// the same for counts and measurements.
//
// # Guards
//
//   - MinFactor (default 1.5 for Poisson): a rise must also reach MinFactor x
//     expected, a drop fall to expected / MinFactor. Real traffic is
//     over-dispersed compared to Poisson (daily swings, bursts of bots): at
//     6690 expected requests a minute, +6% is p < 1e-6 but nobody should be
//     paged for it. With the normal model it defaults to 1 (off): the
//     baseline stddev already measures the real dispersion; when set it
//     compares the means and applies only to a positive baseline mean.
//   - OverDispersion (default on, Poisson without a Reference): counts that
//     vary more than a Poisson process are judged with the variance they
//     show. The baseline's complete buckets (a minute each for an hour of
//     10-second slots) give the extra variance alpha of a bucket's rate
//     (Var = lambda + alpha lambda^2, less twice its standard error under
//     Poisson counts, so that sampling noise is none), and the window is
//     tested as a Poisson count of k/phi against lambda/phi, phi = 1 +
//     alpha lambda (quasi-Poisson). On traffic whose load wanders by 25%
//     every few minutes the traffic-spike rule raised 197 false alerts a
//     week without it and 5.4 with it (anomaly eval), finding 88% of 3x
//     spikes instead of 100%; on Poisson or slowly wandering traffic phi
//     stays 1. With a Reference the load is in the expectation already.
//     With the normal model the same option allows for a level that
//     wanders (latency that follows a drifting load): the t statistic
//     assumes independent slots, and a wander over hours moves a window's
//     mean away from its baseline's by more than the slots' spread says.
//     The rule measures by how much - the mean of t^2 over windows judged
//     OK, one per Window, clipped at 25, over about 24 Baselines (a day for
//     an hour), less its standard error under independent values -
//     and divides t by its square root when that exceeds 1 (after 20 such
//     windows; until then t as it is). On a shop whose latency
//     follows a load wandering by 10% over 2 hours, web-latency-shift
//     raised 17.5 false alerts a week without it (anomaly eval); on
//     independent values the mean of t^2 is 1 and nothing changes.
//   - MinExpected (default 5, Poisson rises): no verdict while lambda is below
//     it; a handful of expected events says nothing about a rise.
//   - A drop needs no such setting: it is judged only while a drop to zero
//     would itself be improbable, P(0) = exp(-lambda) < Probability (or
//     WarningProbability, if set; halved for "both"), i.e. lambda > 13.8 at
//     the default. The payment drop therefore needs a long Window: 30 minutes
//     of 0.12 payments per 10 s expect 21.6.
//   - Data: no verdict until both windows are full (Window + Baseline after
//     the first value), nor while fewer than half of the window's or the
//     baseline's slots hold data (and, normal model, fewer than 2 of the
//     baseline's). With the normal model a baseline without spread (a
//     constant series) gives no verdict.
//
// # Recovery (hysteresis)
//
// A raised alert stays while p < its bound x RecoveryFactor (default 1000,
// capped at 0.5) and the change still reaches sqrt(MinFactor): with the
// defaults FAILURE below 1e-6, recovery above 1e-3 or below 1.22x. One slot
// entering or leaving the window moves p by far less than a factor 1000 once
// an incident shows clearly, so the level cannot flap slot by slot; for the
// payment drop it fires at 3 payments or fewer in 30 minutes (expected 21.6)
// and recovers at 9.
//
// # The baseline during an incident
//
// Slots leave the window into the baseline; those of an incident would make
// the incident the norm: after a traffic spike the raised baseline would hide
// the next one, and after a drop the lowered baseline would make normal traffic
// look like a rise. So a slot that was part of any window judged not OK (by
// the verdict or by the alert's current level) is kept out of the baseline,
// which stays frozen - not emptied - meanwhile. This holds for the whole
// window after the recovery too, since the incident's last slots are still in
// it. An incident caught within Window of its start therefore never touches
// the baseline, and the alert cannot fire again on the polluted baseline.
//
// A change that lasts longer than the Baseline itself is taken as the new
// normal: after a Baseline's worth of slots has been kept out, the baseline is
// fed again (incident slots included), and the alert recovers once the new
// level fills enough of it: for a rise to twice the traffic, about 1.6 x
// Baseline after the change began. Without that limit a lasting change (a successful campaign, a new
// release's latency) would keep its alert on until collectd restarts.
//
// # Defaults and their reasons
//
//   - Window 1 minute: a spike is sudden; six 10-second slots still hold
//     enough data to judge (and, Poisson, 6690 expected requests).
//   - Baseline 1 hour: long enough for a precise rate, short enough to follow
//     the daily curve (with MinFactor absorbing the drift within an hour).
//   - Direction "up", Model "poisson": the exercise's traffic spike.
//   - Probability 1e-6: judged every 10 s the rule runs 8640 (overlapping)
//     tests a day per group, so on data that fits the model at most one false
//     alert in about 100 days (fewer: overlapping windows are correlated).
//   - WarningProbability unset; MinFactor 1.5 (Poisson) or 1 (normal);
//     MinExpected 5; RecoveryFactor 1000 (as the error-share rule's).
type SpikeRule struct {
	RuleSpec
	SpikeParams
}

// SpikeParams are the options of a SpikeRule.
type SpikeParams struct {
	// Window is the recent span judged.
	Window time.Duration
	// Baseline is the span right before Window it is judged against.
	Baseline time.Duration
	// Direction: rises, drops or both.
	Direction Direction
	// Model: Poisson for counts, normal for measurements.
	Model SpikeModel
	TailBounds
	// MinFactor: a rise must reach MinFactor x the baseline, a drop fall to
	// the baseline / MinFactor (at least 1; 1 is no guard).
	MinFactor float64
	// MinExpected: Poisson rises are not judged while fewer events are
	// expected in the window.
	MinExpected float64
	// OverDispersion judges counts that vary more than a Poisson process
	// (measured in the baseline) with that variance (quasi-Poisson), and
	// measurements whose level wanders with the wander's variance.
	OverDispersion bool
	// Reference, if set, are series the counts follow (payments follow
	// sessions): the Poisson model then expects the baseline's count per
	// reference event times the window's reference events, so that a daily
	// curve, a weekly pattern or a wandering load that moves both is no
	// spike or drop. Empty expects the baseline's count per slot.
	Reference []Selector
	// Season, if set (a day or a week), makes the baseline seasonal: the
	// window is expected to differ from the baseline as the learnt profile
	// of the time of day (week) says (see seasonProfile). 0 is none.
	Season time.Duration
}

// DefaultSpikeParams returns the defaults documented on SpikeRule, for the
// Poisson model (see SpikeModel.DefaultMinFactor for the normal one).
func DefaultSpikeParams() SpikeParams {
	return SpikeParams{
		Window:         time.Minute,
		Baseline:       time.Hour,
		Direction:      DirectionUp,
		Model:          PoissonModel,
		TailBounds:     TailBounds{Probability: 1e-6, WarningProbability: math.NaN(), RecoveryFactor: 1000},
		MinFactor:      PoissonModel.DefaultMinFactor(),
		MinExpected:    5,
		OverDispersion: true,
	}
}

// NewSpikeRule builds a spike rule; Inputs[0] is the series, summed per
// slot, Inputs[1] the reference series, if any.
func NewSpikeRule(spec RuleSpec, series []Selector, p SpikeParams) (*SpikeRule, error) {
	spec.Inputs = []Input{{Name: "Series", Selectors: series}}
	if len(p.Reference) > 0 {
		spec.Inputs = append(spec.Inputs, Input{Name: "Reference", Selectors: p.Reference})
	}
	r := &SpikeRule{RuleSpec: spec, SpikeParams: p}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	switch {
	case p.Window <= 0:
		return nil, settingError(spec.Name, "Window", "must be positive")
	case p.Baseline <= 0:
		return nil, settingError(spec.Name, "Baseline", "must be positive")
	case !p.Direction.valid():
		return nil, settingError(spec.Name, "Direction", "must be up, down or both")
	case p.Model != PoissonModel && p.Model != NormalModel:
		return nil, settingError(spec.Name, "Model", "must be poisson or normal")
	case math.IsNaN(p.MinFactor) || p.MinFactor < 1 || math.IsInf(p.MinFactor, 0):
		return nil, settingError(spec.Name, "MinFactor", "must be at least 1")
	case math.IsNaN(p.MinExpected) || p.MinExpected < 0:
		return nil, settingError(spec.Name, "MinExpected", "must not be negative")
	case len(p.Reference) > 0 && p.Model != PoissonModel:
		return nil, settingError(spec.Name, "Reference", "needs Model poisson")
	case len(p.Reference) > 0 && p.Season > 0:
		return nil, settingError(spec.Name, "Season", "and Reference exclude each other (a Reference follows the curve already)")
	}
	if err := validateSeason(spec.Name, p.Season, p.Window, p.Baseline); err != nil {
		return nil, err
	}
	if err := p.TailBounds.validate(spec.Name); err != nil {
		return nil, err
	}
	return r, nil
}

// Kind implements Rule.
func (r *SpikeRule) Kind() string { return "spike" }

// NewState implements Rule.
func (r *SpikeRule) NewState(clock SlotClock) RuleState {
	w, b := slotsFor(r.Window, clock.Step), slotsFor(r.Baseline, clock.Step)
	minBase := (b + 1) / 2
	if r.Model == NormalModel {
		minBase = max(minBase, 2) // a stddev needs two values
	}
	st := &spikeState{rule: r, window: time.Duration(w) * clock.Step}
	wb := newWindowAndBaseline(w, b)
	st.wb = wb
	// Readings of a measurement in one slot (several series, or a value
	// that came late into the open slot) are averaged; counts add up.
	wb.average = r.Model == NormalModel
	if len(r.Reference) > 0 {
		wb.withReference()
		st.ref = wb
	}
	wb.withSeason(newSeasonProfile(r.Season, clock.Step, r.Model == PoissonModel), clock)
	bs := &baselineState{
		wb:      wb,
		minWin:  float64((w + 1) / 2),
		minBase: float64(minBase),
		judge:   st.judge,
	}
	if r.Model == NormalModel && r.OverDispersion {
		st.wander = newZCalibration(w, b)
		bs.calibration = &st.wander
	}
	return bs
}

// CheckInterval implements IntervalChecker: the normal model's baseline
// needs two values for its spread.
func (r *SpikeRule) CheckInterval(step time.Duration) []string {
	need := 1
	if r.Model == NormalModel {
		need = 2
	}
	return append(append(windowProblems("Window", r.Window, step, 1, ""),
		windowProblems("Baseline", r.Baseline, step, need, "the normal model's spread")...),
		seasonProblems(r.Season, step)...)
}

// Message implements Rule, e.g. "FAILURE: payment-drop of shop-1: 2 in
// 30m0s against 21.6 expected from the previous 6h0m0s (0.09259x), p=1.1e-07 <
// 1e-06" or, normal model, "FAILURE: latency-shift of shop-1: mean 260 over
// 5m0s against 150 in the previous 1h0m0s (+110), p=7.4e-27 < 1e-06". A
// recovery says "p=0.2 >= 0.001", or "within 1.225x of it (p=3e-09)" when the
// change fell below sqrt(MinFactor) while still improbable.
func (r *SpikeRule) Message(a *Alert, v *Verdict) string {
	var judged string
	switch {
	case a.Severity != OK:
		judged = fmt.Sprintf("p=%s < %s", formatProbability(v.Probability), formatProbability(v.Threshold))
	case v.Probability < v.Threshold:
		// Still improbable, but the change fell short of sqrt(MinFactor).
		f := math.Sqrt(r.MinFactor)
		if v.Observed < v.Baseline {
			f = 1 / f
		}
		judged = fmt.Sprintf("within %sx of it (p=%s)", formatNumber(f), formatProbability(v.Probability))
	default:
		judged = fmt.Sprintf("p=%s >= %s", formatProbability(v.Probability), formatProbability(v.Threshold))
	}
	// A measurement's baseline is compared with, not expected, unless the
	// profile made it an expectation.
	from, against := "the previous "+r.Baseline.String(), "in"
	if v.Reason == ReasonSeasonal {
		from, against = from+" and "+seasonText(r.Season), "expected from"
	}
	if r.Model == NormalModel {
		return fmt.Sprintf("%s: %s of %s: mean %s over %s against %s %s (%s), %s",
			a.Severity, a.Subject(), hostOrAll(a.Host), formatNumber(v.Observed), v.Window,
			formatNumber(v.Baseline), against+" "+from, deltaText(v.Observed-v.Baseline), judged)
	}
	return fmt.Sprintf("%s: %s of %s: %s in %s against %s expected from %s (%sx), %s",
		a.Severity, a.Subject(), hostOrAll(a.Host), countText(v.Observed), v.Window,
		countText(v.Baseline), from, formatNumber(v.Observed/v.Baseline), judged)
}

// tailText prints a probability with 2 significant digits.
// countText prints a count: whole from 1000 on (10035, not 1.004e+04).
func countText(x float64) string {
	if math.Abs(x) >= 1000 && math.Abs(x) < 1e15 {
		return strconv.FormatFloat(math.Round(x), 'f', 0, 64)
	}
	return formatNumber(x)
}

func deltaText(x float64) string {
	if x >= 0 {
		return "+" + formatNumber(x)
	}
	return formatNumber(x)
}

// poissonAtLeast is P(X >= k) for X ~ Poisson(lambda), k a whole number:
// the regularized lower incomplete gamma P(k, lambda), accurate in relative
// terms for tiny tails (unlike 1 - CDF).
func poissonAtLeast(k, lambda float64) float64 {
	if k <= 0 {
		return 1
	}
	return distuv.Gamma{Alpha: k, Beta: 1}.CDF(lambda)
}

// poissonAtMost is P(X <= k) for X ~ Poisson(lambda): for a whole k the
// regularized upper incomplete gamma Q(k+1, lambda), which also continues it
// to the fractional counts of the quasi-Poisson test.
func poissonAtMost(k, lambda float64) float64 {
	if k < 0 {
		return 0
	}
	return mathext.GammaIncRegComp(k+1, lambda)
}

// spikeTest is the outcome of one window's test.
type spikeTest struct {
	p                  float64 // tail probability (two-sided for "both")
	observed, baseline float64 // as in the verdict
	rising             bool    // the side judged
}

type spikeState struct {
	rule   *SpikeRule
	window time.Duration
	wb     *windowAndBaseline // the windows, for the baseline's dispersion
	ref    *windowAndBaseline // with the reference's windows, if the rule has one
	wander zCalibration       // normal model: how far apart windows and baselines wander
}

// judge tests the window against the baseline; baselineState has checked
// that both hold enough values.
func (s *spikeState) judge(win, base *Summary, current Level) Verdict {
	v := undecided()
	var tst spikeTest
	var ok bool
	if s.rule.Model == NormalModel {
		tst, ok = s.normalTest(win, base, current)
	} else {
		tst, ok = s.poissonTest(win, base)
	}
	if !ok {
		return v
	}
	r := &s.rule.SpikeParams
	failBound, warnBound := r.bounds(current)
	level := OK
	switch {
	case tst.p < failBound && s.factorHolds(&tst, current == Failure):
		level = Failure
	case tst.p < warnBound && s.factorHolds(&tst, current >= Warning): // false when unset
		level = Warning
	}
	v.Decided = true
	v.Level = level
	switch {
	case level == Failure:
		v.Threshold = failBound
	case level == Warning || !math.IsNaN(warnBound):
		v.Threshold = warnBound
	default:
		v.Threshold = failBound
	}
	v.Observed, v.Baseline = tst.observed, tst.baseline
	v.Window = s.window
	v.Probability = tst.p
	if s.wb.seasonal {
		v.Reason = ReasonSeasonal
	}
	return v
}

// factorHolds applies MinFactor (its square root for an alert already raised).
func (s *spikeState) factorHolds(t *spikeTest, raised bool) bool {
	f := s.rule.MinFactor
	if raised {
		f = math.Sqrt(f)
	}
	if f <= 1 || !(t.baseline > 0) {
		return true // no guard, or a ratio to a baseline at or below zero means nothing
	}
	if t.rising {
		return t.observed >= f*t.baseline
	}
	return t.observed*f <= t.baseline
}

func (s *spikeState) poissonTest(win, base *Summary) (spikeTest, bool) {
	r := &s.rule.SpikeParams
	lambda := base.Sum / base.N * win.N
	if s.ref != nil {
		// The baseline's count per reference event, times the window's.
		refWin, refBase := s.ref.refWin.Total(), s.ref.refBase.Total()
		if !(refBase.Sum > 0) || refWin.N == 0 {
			return spikeTest{observed: win.Sum, baseline: math.NaN()}, false
		}
		lambda = base.Sum / refBase.Sum * max(refWin.Sum, 0)
	}
	shape := 1.0
	if s.wb.seasonal {
		// The baseline is in the season's units: the window expects its
		// rate times the profile's shape over the window.
		shape = s.wb.windowShape()
		lambda *= shape
	}
	k := max(win.Sum, 0)
	t := spikeTest{observed: win.Sum, baseline: lambda}
	if !(lambda > 0) {
		return t, false
	}
	// Over-dispersion: a count that varies more than a Poisson process
	// (bursts, a wandering load, the daily curve within the baseline) is
	// judged with variance phi x lambda, as a Poisson count of k/phi events
	// against lambda/phi (quasi-Poisson). With a Reference the load's curve
	// and wander are in the expectation already; the raw counts' dispersion
	// would count them twice.
	phi := 1.0
	if r.OverDispersion && s.ref == nil {
		phi = min(1+s.wb.dispersion(shape)*lambda, max(lambda, 1))
	}
	// The test is of the count's whole events, in units of phi.
	lq := lambda / phi
	scale := 1.0
	if r.Direction == DirectionBoth {
		scale = 2
	}
	upOK := r.Direction != DirectionDown && lq >= r.MinExpected
	downOK := r.Direction != DirectionUp && scale*math.Exp(-lq) < r.loosest()
	pUp, pDown := math.Inf(1), math.Inf(1)
	if upOK {
		pUp = poissonAtLeast(math.Ceil(k)/phi, lq)
	}
	if downOK {
		pDown = poissonAtMost(math.Floor(k)/phi, lq)
	}
	return t.pick(pUp, pDown, scale)
}

func (s *spikeState) normalTest(win, base *Summary, current Level) (spikeTest, bool) {
	r := &s.rule.SpikeParams
	t := spikeTest{observed: win.Mean(), baseline: base.Mean()}
	if s.wb.seasonal {
		t.baseline += s.wb.windowShape() // the baseline is the level less the profile
	}
	sd := base.StdDev()
	if !(sd > 0) {
		return t, false
	}
	z := (t.observed - t.baseline) / (sd * math.Sqrt(1/win.N+1/base.N))
	if r.OverDispersion {
		z = s.wander.judge(z, s.wb.now, current)
	}
	st := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: base.N - 1}
	pUp, pDown := math.Inf(1), math.Inf(1)
	scale := 1.0
	switch r.Direction {
	case DirectionUp:
		pUp = st.CDF(-z)
	case DirectionDown:
		pDown = st.CDF(z)
	default:
		pUp, pDown, scale = st.CDF(-z), st.CDF(z), 2
	}
	return t.pick(pUp, pDown, scale)
}

// pick judges the side with the smaller tail; +Inf marks a side not judged.
func (t spikeTest) pick(pUp, pDown, scale float64) (spikeTest, bool) {
	if math.IsInf(pUp, 1) && math.IsInf(pDown, 1) {
		return t, false
	}
	t.rising = pUp <= pDown
	t.p = min(1, scale*min(pUp, pDown))
	return t, true
}

// zCalibration learns how far a normal-model window's t statistic strays
// under normal operation: the mean of t^2 over windows judged OK (one per
// window length, clipped at zClip) with a memory of zMemory baselines. A
// wandering level makes it exceed 1; t is then judged in units of its
// square root.
type zCalibration struct {
	meanSq       float64
	n            int64
	last         int64 // the slot of the last window taken in
	every, limit int64 // slots between samples; samples of memory
}

const (
	zClip      = 25 // a t^2 beyond this (5 sd) is news, not spread
	zMemory    = 24 // baselines of memory
	zWarmSteps = 20 // windows before the calibration applies
)

func newZCalibration(winSlots, baseSlots int) zCalibration {
	return zCalibration{
		last:  math.MinInt64,
		every: int64(winSlots),
		limit: max(int64(zMemory*baseSlots/winSlots), zWarmSteps),
	}
}

// judge takes in z (when the window is due and the alert OK) and returns
// it in the units of the spread learnt before.
func (c *zCalibration) judge(z float64, slot int64, current Level) float64 {
	scale := 1.0
	// Less the mean's standard error under independent values (t^2 has a
	// variance of about 2), so that sampling noise rarely counts as wander
	// (less twice it, web-latency-shift on a shop's day kept 0.39 false
	// alerts a week instead of 0.18).
	if excess := c.meanSq - math.Sqrt(2/float64(c.n)); c.n >= zWarmSteps && excess > 1 {
		scale = math.Sqrt(excess)
	}
	if current == OK && (c.last == math.MinInt64 || slot-c.last >= c.every) && !math.IsNaN(z) {
		c.last = slot
		c.n = min(c.n+1, c.limit)
		c.meanSq += (min(z*z, zClip) - c.meanSq) / float64(c.n)
	}
	return z / scale
}

func (c *zCalibration) saveState(e *stateEncoder) {
	e.float(c.meanSq)
	e.int(c.n)
	e.int(c.last)
}

func (c *zCalibration) loadState(d *stateDecoder) {
	c.meanSq, c.n, c.last = d.float(), d.int(), d.int()
	c.n = min(max(c.n, 0), c.limit)
}

// ChartUnit implements Charted.
func (r *SpikeRule) ChartUnit() string {
	if r.Model == NormalModel {
		return "mean per " + CompactDuration(r.Window)
	}
	return "count per " + CompactDuration(r.Window)
}

// ChartValues implements Charted: the window and its expectation.
func (r *SpikeRule) ChartValues(v *Verdict) (obs, base, aux float64) {
	return v.Observed, v.Baseline, math.NaN()
}

// ChartBand implements Charted: for the Poisson model the counts the
// tail bounds are crossed at around base (exact Poisson bounds, widened by
// MinFactor); the normal model has none a chart could draw from the mean.
func (r *SpikeRule) ChartBand(base, _ float64) Band {
	b := NoBand()
	if math.IsNaN(base) || r.Model != PoissonModel {
		return b
	}
	b.FailLo, b.FailHi = r.countBounds(base, r.Probability)
	if r.warningSet() {
		b.WarnLo, b.WarnHi = r.countBounds(base, r.WarningProbability)
	}
	return b
}

// countBounds are the counts around baseline base whose tail is p, on the
// sides the rule judges (NaN elsewhere).
func (r *SpikeRule) countBounds(base, p float64) (lo, hi float64) {
	lo, hi = math.NaN(), math.NaN()
	if r.Direction == DirectionBoth {
		p /= 2 // the rule's tail is two-sided
	}
	f := max(r.MinFactor, 1)
	if r.Direction != DirectionDown && base >= r.MinExpected {
		hi = max(base*f, poissonUpper(base, p))
	}
	if r.Direction != DirectionUp && math.Exp(-base) < p {
		lo = min(base/f, poissonLower(base, p))
	}
	return lo, hi
}

// poissonUpper is the smallest count k with P(X >= k) < p, X ~ Poisson(lambda).
func poissonUpper(lambda, p float64) float64 {
	lo, hi := math.Ceil(lambda), math.Ceil(lambda+20*math.Sqrt(lambda)+50)
	for lo < hi {
		k := math.Floor((lo + hi) / 2)
		if poissonAtLeast(k, lambda) < p {
			hi = k
		} else {
			lo = k + 1
		}
	}
	return lo
}

// poissonLower is the largest count k with P(X <= k) < p (-1 if none).
func poissonLower(lambda, p float64) float64 {
	lo, hi := -1.0, math.Floor(lambda)
	for lo < hi {
		k := math.Ceil((lo + hi) / 2)
		if poissonAtMost(k, lambda) < p {
			lo = k
		} else {
			hi = k - 1
		}
	}
	return lo
}

// Score implements Charted: ln p / ln Probability (the loosest bound).
func (r *SpikeRule) Score(v *Verdict) float64 {
	return scoreOf(v, tailDistance(v.Probability, r.loosest()))
}
