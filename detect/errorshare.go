package detect

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mathext"
)

// ErrorShareRule raises an alert when a source (a payment provider, an
// upstream, a backend) returns errors more often than its normal error share
// can explain. Errors and Total are summed per group over a moving Window;
// the groups come from the selectors' capture group (see Selector).
//
// Total must count every trial, the errors included (a Total pattern that
// also matches the errors' series is right: an error is an attempt too).
// Should a window hold more errors than trials anyway, the rule takes the
// errors as the number of trials.
//
// # Statistics
//
// Under normal operation each of the n trials in the window fails
// independently with the provider's normal share p0 (ExpectedShare), so the
// number of errors is X ~ Binomial(n, p0). Seeing k errors, the rule computes
// the tail (p-value)
//
//	P(X >= k | n, p0) = I_p0(k, n-k+1)
//
// (the regularized incomplete beta function, gonum's mathext.RegIncBeta, which
// stays accurate in relative terms far below 1e-12). gonum's
// distuv.Binomial.Survival is computed as 1 - CDF and cannot go below about
// 1e-16, which is why the tail is taken from the incomplete beta directly; the
// tests check it against distuv.Binomial's probabilities summed term by term.
// A tail below Probability is a FAILURE (below WarningProbability a WARNING):
// k errors are too many to be bad luck. Counts are rounded to whole numbers.
//
// Why a binomial tail and not a threshold on the share: of 17 trials an hour
// at a normal share of 0.1%, one error is a share of 6% and means nothing,
// while the same 6% of 100 trials a second is a disaster. The tail weighs the share by the evidence:
// with few trials it takes several errors, with many trials a small rise of
// the share is enough. MinErrors (default 3) is a floor for raising an alert
// whatever the tail says, so that one or two errors (a customer retrying, a
// single timeout) never page anyone even if ExpectedShare is set very low.
//
// A window without trials is undecided (the alert stays as it is): there is
// nothing to judge, and silence is the <Missing> rule's business.
//
// # Recovery (hysteresis)
//
// Once raised, an alert recovers only when the tail is back above its bound
// times RecoveryFactor (default 1000), capped at 0.5 (a tail of 0.5 means about
// the expected number of errors): with the defaults FAILURE below 1e-6 and
// recovery above 1e-3. Each error entering or leaving a window changes the tail
// by a factor of about k / (n p0), 30 to 50 for a sparse source, so recovery takes
// two or three errors fewer than the alert did, and trials entering and leaving
// (n changes, k does not) cannot flap it; at high rates (normal approximation)
// it is the share falling from about 4.8 to 3.1 standard errors above p0.
// MinErrors only holds back raising; the recovery is left to the tail.
//
// # Defaults and their reasons
//
//   - Window 6 hours: for sparse trials the delay is the time to collect the
//     few errors a confident decision needs, not the window; a window much
//     shorter than that misses incidents, a longer one needs more errors and
//     keeps an incident in memory longer (the window bounds the recovery
//     too). A source with little traffic is found sooner with a longer one.
//   - ExpectedShare 0.001, Probability 1e-6: several groups judged every
//     interval run hundreds of thousands of tests a week; even highly
//     correlated, a per-test tail of 1e-4 would page someone now and then.
//   - WarningProbability unset; MinErrors 3; RecoveryFactor 1000 (above).
//
// The rule pack's comments and the README give the calibration of its
// rules: the critical counts per group, and the measured recall, delays and
// false alerts.
//
// # False alerts and detection delay (how to measure them)
//
// Let r be a source's trials per hour, W the window, n = rW and k* the
// critical count: the smallest k >= MinErrors with I_p0(k, n-k+1) < Probability.
//
// False-alert rate: under the normal model an alert starts when an error
// enters a window that already holds k*-1 errors, so alerts per hour are about
// r p0 P(X = k*-1 | n, p0). To measure it, run simulated weeks without
// incidents through the engine (anomaly eval) and count the rule's FAILUREs;
// when there are none, the smallest p-value seen shows the margin.
//
// Detection delay for an error share q: from the start of the incident
// errors arrive at r q per hour, and the window still holds the normal
// trials of the time before, so after t hours (t <= W) it holds about
// Poisson(r q t + r p0 (W - t)) errors; the alert fires once that reaches k*:
//
//	P(delay <= t) ~ P(Poisson(r q t + r p0 (W-t)) >= k*)
//
// plus the slot that closes the window and Hits-1 slots of lifecycle; past W
// it is the first window of length W holding k* errors. The mean is about
// k*/(r q) when that is below W.
type ErrorShareRule struct {
	RuleSpec
	ErrorShareParams
}

// ErrorShareParams are the options of an ErrorShareRule.
type ErrorShareParams struct {
	// Window is the moving window errors and trials are summed over.
	Window time.Duration
	// ExpectedShare is the normal error share p0 (errors / trials).
	ExpectedShare float64
	// TailBounds judge the tail P(X >= errors).
	TailBounds
	// MinErrors is the fewest errors in the window that may raise an alert.
	MinErrors int
}

// DefaultErrorShareParams returns the defaults documented on ErrorShareRule.
func DefaultErrorShareParams() ErrorShareParams {
	return ErrorShareParams{
		Window:        6 * time.Hour,
		ExpectedShare: 0.001,
		TailBounds:    TailBounds{Probability: 1e-6, WarningProbability: math.NaN(), RecoveryFactor: 1000},
		MinErrors:     3,
	}
}

// NewErrorShareRule builds an error-share rule; Inputs[0] are the errors,
// Inputs[1] every trial (errors included).
func NewErrorShareRule(spec RuleSpec, errs, total []Selector, p ErrorShareParams) (*ErrorShareRule, error) {
	spec.Inputs = []Input{{Name: "Errors", Selectors: errs}, {Name: "Total", Selectors: total}}
	r := &ErrorShareRule{RuleSpec: spec, ErrorShareParams: p}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	between := func(x float64) bool { return x > 0 && x < 1 } // false for NaN
	switch {
	case p.Window <= 0:
		return nil, settingError(spec.Name, "Window", "must be positive")
	case !between(p.ExpectedShare):
		return nil, settingError(spec.Name, "ExpectedShare", "must be between 0 and 1")
	case p.MinErrors < 0:
		return nil, settingError(spec.Name, "MinErrors", "must not be negative")
	}
	if err := p.TailBounds.validate(spec.Name); err != nil {
		return nil, err
	}
	return r, nil
}

// Kind implements Rule.
func (r *ErrorShareRule) Kind() string { return "errorshare" }

// NewState implements Rule.
func (r *ErrorShareRule) NewState(clock SlotClock) RuleState {
	return &errorShareState{rule: r, sumPair: newSumPair(r.Window, clock)}
}

// CheckInterval implements IntervalChecker.
func (r *ErrorShareRule) CheckInterval(step time.Duration) []string {
	return windowProblems("Window", r.Window, step, 1, "")
}

// Message implements Rule: "FAILURE: provider-errors[a] of shop-1: 5 errors
// of 104 (4.81%, expected 0.1%) in 6h0m0s, p-value 9.1e-08 < 1e-06".
func (r *ErrorShareRule) Message(a *Alert, v *Verdict) string {
	p := v.Probability
	cmp := "<"
	if a.Severity == OK {
		cmp = ">="
	}
	return fmt.Sprintf("%s: %s of %s: %s errors of %s (%s, expected %s) in %s, p-value %s %s %s",
		a.Severity, a.Subject(), hostOrAll(a.Host), formatNumber(v.Numerator), formatNumber(v.Denominator),
		formatPercent(v.Observed), formatPercent(v.Baseline), v.Window,
		formatProbability(p), cmp, formatProbability(v.Threshold))
}

// errorShareTail is P(X >= k) for X ~ Binomial(n, p), accurate in relative
// terms for tiny tails: I_p(k, n-k+1). k and n are rounded to whole numbers.
func errorShareTail(k, n, p float64) float64 {
	k, n = math.Round(k), math.Round(n)
	switch {
	case math.IsNaN(k) || math.IsNaN(n) || math.IsNaN(p):
		return math.NaN()
	case k <= 0 || p >= 1:
		return 1
	case k > n || p <= 0:
		return 0
	}
	if n <= maxExactTrials {
		if tail := mathext.RegIncBeta(k, n-k+1, p); tail >= 0 && tail <= 1 {
			return tail
		}
	}
	// Beyond the incomplete beta's reach (it returned 0.46 for a tail of
	// 0.5 at 1e8 trials, and -8 at 1e11): for a share up to 1% and up to a
	// million expected errors the Poisson limit, whose variance is off by
	// the share (a normal tail is 700 times too small for 30 errors where
	// 10 are expected, and 2.3 times at 8 sd of 1e4 expected); else the
	// normal approximation with a continuity correction - past 1e7 trials
	// that is 1e5 expected errors or more, whose skew is small (and the
	// incomplete gamma not accurate there).
	lambda := n * p
	if p <= 0.01 && lambda < 1e6 {
		return poissonAtLeast(k, lambda)
	}
	z := (k - 0.5 - lambda) / math.Sqrt(lambda*(1-p))
	return 0.5 * math.Erfc(z/math.Sqrt2)
}

// maxExactTrials is where errorShareTail leaves the exact tail, within 2%
// of it for tails of 0.5 down to 3e-7 at 1e7 trials (a 6-hour window of 460
// trials a second).
const maxExactTrials = 1e7

// errorShareState sums errors (the part) and trials (the whole).
type errorShareState struct {
	rule *ErrorShareRule
	sumPair
}

func (s *errorShareState) Evaluate(slot int64, current Level) Verdict {
	v := undecided()
	errs, trials, full := s.sumsAt(slot)
	if !full {
		return v
	}
	r := &s.rule.ErrorShareParams
	k, n := math.Round(errs), math.Round(trials)
	n = max(n, k)
	if n <= 0 {
		return v
	}
	tail := errorShareTail(k, n, r.ExpectedShare)
	level, bound := r.judge(tail, current)
	if level > current && k < float64(r.MinErrors) {
		// Too few errors to raise it: the alert stays, within its bound.
		level = current
		_, bound = r.judge(1, current)
	}
	v.Decided = true
	v.Level = level
	v.Threshold = bound
	v.Observed = k / n
	v.Probability = tail
	v.Baseline = r.ExpectedShare
	v.Numerator, v.Denominator = k, n
	v.Window = s.window
	return v
}

// ChartUnit implements Charted.
func (r *ErrorShareRule) ChartUnit() string { return "error share over " + CompactDuration(r.Window) }

// ChartValues implements Charted: the share, the expected share and the
// trials the bound depends on.
func (r *ErrorShareRule) ChartValues(v *Verdict) (obs, base, aux float64) {
	return v.Observed, v.Baseline, v.Denominator
}

// ChartBand implements Charted: the share of aux trials above which the
// errors' tail is below the bounds.
func (r *ErrorShareRule) ChartBand(_, aux float64) Band {
	b := NoBand()
	if !(aux > 0) {
		return b
	}
	b.FailHi = r.shareBound(aux, r.Probability)
	if r.warningSet() {
		b.WarnHi = r.shareBound(aux, r.WarningProbability)
	}
	return b
}

// shareBound is the share of n trials above which the errors' tail is
// below p (NaN if no count of errors is): the fewest errors whose tail is,
// by binary search, but at least MinErrors.
func (r *ErrorShareRule) shareBound(n, p float64) float64 {
	n = math.Round(n)
	lo, hi := 0.0, n+1
	for lo < hi {
		k := math.Floor((lo + hi) / 2)
		if errorShareTail(k, n, r.ExpectedShare) < p {
			hi = k
		} else {
			lo = k + 1
		}
	}
	k := max(lo, float64(r.MinErrors))
	if k > n {
		return math.NaN()
	}
	return (k - 0.5) / n
}

// Score implements Charted: ln p / ln Probability, p the errors' tail.
func (r *ErrorShareRule) Score(v *Verdict) float64 {
	p := errorShareTail(math.Round(v.Numerator), math.Round(v.Denominator), r.ExpectedShare)
	return scoreOf(v, tailDistance(p, r.loosest()))
}
