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
// right before it. The README's <Spike> section is the user's reference and
// says what the defaults were chosen on; this is how the rule judges.
//
// Slots. The values of the Series that fall in one slot (one interval) are
// summed (Model poisson: counts add up) or averaged (Model normal: readings
// of a measurement do not). Window holds its last W slots; each slot
// leaving it feeds the Baseline of B slots behind it. A slot without data
// is neither zero events nor a measurement (silence is <Missing>'s
// business); a value later than its judged slot counts in the open one.
//
// Poisson. With S events in the baseline's N slots and k in the window's n,
// lambda = S/N x n, and p = P(X >= k) for a rise (the regularised lower
// incomplete gamma, accurate far below 1e-12 where gonum's Poisson.Survival
// stops near 1e-16) or P(X <= k) for a drop, k rounded towards the event.
// OverDispersion measures the extra variance alpha of the baseline's bucket
// rates (Var = lambda + alpha lambda^2, less twice its standard error under
// Poisson counts) and tests k/phi against lambda/phi, phi = 1 + alpha
// lambda; with a Reference lambda follows the reference counts instead.
//
// Normal. t = (y - m) / (s sqrt(1/n + 1/N)) against Student's t with N-1
// degrees of freedom. OverDispersion keeps the mean of t^2 over windows
// judged OK (one per Window, clipped at 25, about 24 Baselines of memory)
// and divides t by its square root once that mean, less its standard error,
// exceeds 1: a wandering level makes windows differ by more than the slots'
// spread says. Direction "both" doubles the smaller one-sided tail.
//
// A run without events. A Poisson rule that judges drops (without a
// Season) also follows the slots since the count's last event (zeroRun):
// once such a run is longer than the Window, it is judged as a whole, p =
// exp(-lambda) of its expected count at the baseline's rate without the
// run (per reference event, with a Reference). Where the Window expects
// too few events for a drop to zero to be improbable - payments at night -
// an hour or two without any still is. Its test only raises or holds what
// it raised. When the window cannot judge, the next event ends that alert:
// its verdicts are OK until the alert is (however many Hits it needs).
//
// Levels and guards. FAILURE when p < Probability, WARNING when p <
// WarningProbability, and the change reaches MinFactor x expected (or
// falls to expected / MinFactor). Poisson rises need MinExpected expected
// events; a drop is judged only while a drop to zero would itself be
// improbable, exp(-lambda) < the bound. No verdict until both windows are
// full and at least half of each holds data (normal: 2 baseline slots and
// some spread). A raised alert stays while p < its bound x RecoveryFactor
// (capped at 0.5) and the change still reaches sqrt(MinFactor), so one slot
// more or less cannot make it flap.
//
// The baseline during an incident. A slot that was part of any window judged
// not OK is kept out of the baseline, which stays frozen meanwhile, so that
// an incident does not become the normal it is compared with. After a
// Baseline's worth of slots kept out, the change is the new normal: the
// baseline is fed again and the alert recovers as the new level fills it.
//
// Season (see seasonProfile) makes the baseline seasonal: the window is
// expected to differ from the baseline as the learnt profile says.
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
	st := &spikeState{rule: r, window: time.Duration(w) * clock.Step, step: clock.Step}
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
	if r.Model == PoissonModel && r.Direction != DirectionUp && r.Season == 0 {
		wb.run = newZeroRun()
		bs.calibration = wb.run
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
	case v.Reason == reasonRunEnded:
		judged = "the first events after a run without any"
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
	step   time.Duration
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
	run := false
	z := s.wb.run
	if z != nil && current == OK {
		z.raised = false // whatever the run raised has ended
	}
	if s.rule.Model == NormalModel {
		tst, ok = s.normalTest(win, base, current)
	} else {
		tst, ok = s.poissonTest(win, base)
		// The run's test only raises, or holds what it raised: that a run
		// is not improbable says nothing of the level.
		if rt, rok := s.runTest(win, base); rok && (rt.p < s.rule.loosest() || z.raised) && (!ok || rt.p < tst.p) {
			tst, ok, run = rt, true, true
		}
	}
	if !ok {
		if z != nil && z.raised && z.n <= win.N {
			// Raised by a run without events, ended by one: with too few
			// expected for the window to judge, that is all there is. OK
			// until the alert has ended, however many verdicts its
			// Lifecycle asks for.
			v.Decided, v.Level, v.Reason = true, OK, reasonRunEnded
			v.Observed, v.Baseline, v.Window = win.Sum, tst.baseline, s.window
		}
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
	if z != nil {
		if run {
			v.Window, v.Reason = z.duration(s.step), reasonRun
		}
		if level != OK {
			z.raised = run // the newest alerting verdict says who holds the alert
		}
	}
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

// runTest judges a run of slots without events that is longer than the
// window (see zeroRun): P(0) = exp(-lambda) of the run's expected count, at
// the rate of the baseline without the run (per reference event, with a
// Reference).
func (s *spikeState) runTest(win, base *Summary) (spikeTest, bool) {
	z := s.wb.run
	if z == nil || z.n <= win.N {
		return spikeTest{}, false // the window's own test covers it
	}
	var lambda float64
	if s.ref != nil {
		den := s.ref.refBase.Total().Sum - z.baseRef
		if !(den > 0) {
			return spikeTest{}, false
		}
		lambda = base.Sum / den * max(z.ref, 0)
	} else {
		den := base.N - z.baseN
		if !(den > 0) {
			return spikeTest{}, false
		}
		lambda = base.Sum / den * z.n
	}
	if !(lambda > 0) {
		return spikeTest{}, false
	}
	phi := 1.0
	if s.rule.OverDispersion && s.ref == nil {
		phi = min(1+s.wb.dispersion(1)*lambda, max(lambda, 1))
	}
	scale := 1.0
	if s.rule.Direction == DirectionBoth {
		scale = 2
	}
	return spikeTest{p: min(1, scale*math.Exp(-lambda/phi)), observed: 0, baseline: lambda}, true
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
	// (the README says what less twice it cost in false alerts).
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

// ChartValues implements Charted: the window and its expectation; a run
// without events, judged over its own length, at the Window's rate, so
// that the chart keeps one unit.
func (r *SpikeRule) ChartValues(v *Verdict) (obs, base, aux float64) {
	if v.Reason == reasonRun && v.Window > 0 {
		k := float64(r.Window) / float64(v.Window)
		return v.Observed * k, v.Baseline * k, math.NaN()
	}
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
