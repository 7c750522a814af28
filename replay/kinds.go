package replay

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// What each rule kind judges, for charts and scores. This is the one place
// that knows the meaning of a verdict's fields per kind; a kind it does not
// know is drawn from Observed and Baseline and scored by its level.

// chartValues returns what a chart of the rule draws for a verdict: the
// judged quantity, what it was compared with (NaN if nothing) and a further
// quantity the band needs (NaN if none).
func chartValues(r detect.Rule, v *detect.Verdict) (obs, base, aux float64) {
	nan := math.NaN()
	switch r := r.(type) {
	case *detect.RatioRule, *detect.CountRule, *detect.PeriodRatioRule, *detect.AggregateRule:
		return v.Observed, nan, nan
	case *detect.MissingRule:
		return v.Observed, nan, v.Threshold // the timeout, the default's too
	case *detect.FleetRule:
		return v.Observed, nan, v.Threshold // the hosts the next level needs
	case *detect.HealthRule:
		share := nan
		if v.Denominator > 0 && v.Denominator >= r.MinRequests {
			share = v.Numerator / v.Denominator
		}
		return v.Observed, nan, share
	case *detect.SpikeRule:
		return v.Observed, v.Baseline, nan
	case *detect.StdDevChangeRule:
		return v.Numerator, v.Denominator, nan
	case *detect.ErrorShareRule:
		return v.Observed, v.Baseline, v.Denominator
	case *detect.AnomalyRule:
		return v.Observed, v.Baseline, v.Denominator
	}
	return v.Observed, v.Baseline, v.Threshold
}

// Unit names the y axis of a rule's chart: what the rule judges, in what
// unit, over what span, so that a value read off the chart is one the
// rule's messages and thresholds speak of.
func Unit(r detect.Rule) string {
	switch r := r.(type) {
	case *detect.RatioRule:
		return "share over " + shortDuration(r.Window)
	case *detect.CountRule:
		return r.Unit + " per " + shortDuration(r.Window)
	case *detect.PeriodRatioRule:
		return scaledRatio(r.Scale) + " per " + shortDuration(r.Period)
	case *detect.MissingRule:
		return "silence (seconds)"
	case *detect.FleetRule:
		return "hosts with " + r.Rule + " raised"
	case *detect.HealthRule:
		return "mean latency per " + shortDuration(r.Period) + " (ms)" // as its messages say
	case *detect.SpikeRule:
		if r.Model == detect.NormalModel {
			return "mean per " + shortDuration(r.Window)
		}
		return "count per " + shortDuration(r.Window)
	case *detect.StdDevChangeRule:
		return "standard deviation over " + shortDuration(r.Window)
	case *detect.ErrorShareRule:
		return "error share over " + shortDuration(r.Window)
	case *detect.AnomalyRule:
		return "value per slot"
	case *detect.AggregateRule:
		return aggregateUnit(r)
	}
	return "observed"
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

// aggregateUnit names what an aggregate rule's function makes of its window.
func aggregateUnit(r *detect.AggregateRule) string {
	over := " over " + shortDuration(r.Window)
	switch r.Function {
	case detect.AggregatePercentile:
		return fmt.Sprintf("%gth percentile", r.Percentile) + over
	case detect.AggregateRate:
		return "rate per second" + over
	case detect.AggregateDerivative:
		return "slope per second" + over
	case detect.AggregatePredict:
		return "predicted in " + shortDuration(r.Horizon) + " (fit" + over + ")"
	}
	return r.Function.String() + over
}

// Band is the bounds a rule compares with at one point of a chart: a value
// above WarnHi or below WarnLo raises a WARNING, above FailHi or below FailLo
// a FAILURE (NaN: no such bound). A rule without WARNING bounds has only
// FAILURE ones, so that a chart names the level each line raises.
type Band struct {
	WarnLo, WarnHi, FailLo, FailHi float64
}

// Lo is the lower edge of what the rule takes for normal: the bound that
// raises the first alert on that side (NaN if none).
func (b Band) Lo() float64 { return firstSet(b.WarnLo, b.FailLo) }

// Hi is the upper edge of what the rule takes for normal (see Lo).
func (b Band) Hi() float64 { return firstSet(b.WarnHi, b.FailHi) }

func firstSet(a, b float64) float64 {
	if math.IsNaN(a) {
		return b
	}
	return a
}

// bandOf returns the band of rule r at a chart point whose mean baseline
// and auxiliary quantity (see chartValues) are base and aux.
func bandOf(r detect.Rule, base, aux float64) Band {
	nan := math.NaN()
	b := Band{WarnLo: nan, WarnHi: nan, FailLo: nan, FailHi: nan}
	thresholds := func(th detect.Thresholds) Band {
		return Band{WarnLo: th.WarningMin, WarnHi: th.WarningMax, FailLo: th.FailureMin, FailHi: th.FailureMax}
	}
	switch r := r.(type) {
	case *detect.RatioRule:
		return thresholds(r.Thresholds)
	case *detect.CountRule:
		return thresholds(r.Thresholds)
	case *detect.PeriodRatioRule:
		return thresholds(r.Thresholds)
	case *detect.AggregateRule:
		return thresholds(r.Thresholds)
	case *detect.MissingRule:
		// A silence past the timeout is a FAILURE (the rule has no WARNING).
		// Timeout 0 is a number of the series' intervals: the verdict's.
		switch {
		case r.Timeout > 0:
			b.FailHi = r.Timeout.Seconds()
		case aux > 0:
			b.FailHi = aux
		}
		return b
	case *detect.HealthRule:
		b.WarnHi, b.FailHi = r.LatencyWarning, r.LatencyFailure
		return b
	case *detect.FleetRule:
		// The verdict's own count: a share's hosts move with those reporting.
		if aux > 0 {
			b.FailHi = aux - 0.5 // "at least n" is above n - 1/2
		}
		return b
	case *detect.SpikeRule:
		if math.IsNaN(base) || r.Model != detect.PoissonModel {
			return b
		}
		b.FailLo, b.FailHi = spikeBounds(r, base, r.Probability)
		if isSet(r.WarningProbability) {
			b.WarnLo, b.WarnHi = spikeBounds(r, base, r.WarningProbability)
		}
		return b
	case *detect.StdDevChangeRule:
		if math.IsNaN(base) {
			return b
		}
		b.FailLo, b.FailHi = factorBounds(r.Direction, base, r.FailureFactor)
		if isSet(r.WarningFactor) {
			b.WarnLo, b.WarnHi = factorBounds(r.Direction, base, r.WarningFactor)
		}
		return b
	case *detect.ErrorShareRule:
		if !(aux > 0) {
			return b
		}
		b.FailHi = errorShareBound(r, aux, r.Probability)
		if isSet(r.WarningProbability) {
			b.WarnHi = errorShareBound(r, aux, r.WarningProbability)
		}
		return b
	}
	return b
}

// isSet tells a set WARNING probability or factor from an unset one (0 or NaN).
func isSet(x float64) bool { return x > 0 && !math.IsNaN(x) }

// loosest is the probability or factor bound that raises the first alert.
func loosest(failure, warning float64) float64 {
	if isSet(warning) {
		return warning
	}
	return failure
}

// spikeBounds are the counts a Poisson spike rule's tail p is crossed at,
// around baseline base: the exact Poisson bounds (as the rule computes its
// tails), widened by MinFactor (NaN where a side is not judged).
func spikeBounds(r *detect.SpikeRule, base, p float64) (lo, hi float64) {
	lo, hi = math.NaN(), math.NaN()
	if r.Direction == detect.DirectionBoth {
		p /= 2 // the rule's tail is two-sided
	}
	f := max(r.MinFactor, 1)
	if r.Direction != detect.DirectionDown && base >= r.MinExpected {
		hi = max(base*f, poissonUpper(base, p))
	}
	if r.Direction != detect.DirectionUp && math.Exp(-base) < p {
		lo = min(base/f, poissonLower(base, p))
	}
	return lo, hi
}

// factorBounds are the values a change by factor f from base reaches, on
// the sides the direction judges (NaN on the others).
func factorBounds(d detect.Direction, base, f float64) (lo, hi float64) {
	lo, hi = math.NaN(), math.NaN()
	if d != detect.DirectionDown {
		hi = base * f
	}
	if d != detect.DirectionUp {
		lo = base / f
	}
	return lo, hi
}

// errorShareBound is the share of n requests above which the errors' tail
// is below p (NaN if no count of errors is): the fewest errors whose tail
// is, found by binary search, but at least MinErrors.
func errorShareBound(r *detect.ErrorShareRule, n, p float64) float64 {
	n = math.Round(n)
	lo, hi := 0.0, n+1
	for lo < hi {
		k := math.Floor((lo + hi) / 2)
		if binomialAtLeast(k, n, r.ExpectedShare) < p {
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

// poissonUpper is the smallest count k with P(X >= k) < p, X ~ Poisson(lambda).
func poissonUpper(lambda, p float64) float64 {
	lo, hi := math.Ceil(lambda), math.Ceil(lambda+20*math.Sqrt(lambda)+50)
	for lo < hi {
		k := math.Floor((lo + hi) / 2)
		if (distuv.Gamma{Alpha: k, Beta: 1}).CDF(lambda) < p {
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
		if (distuv.Poisson{Lambda: lambda}).CDF(k) < p {
			lo = k
		} else {
			hi = k - 1
		}
	}
	return lo
}

// binomialAtLeast is P(X >= k) for X ~ Binomial(n, p).
func binomialAtLeast(k, n, p float64) float64 {
	switch {
	case k <= 0:
		return 1
	case k > n:
		return 0
	}
	return mathext.RegIncBeta(k, n-k+1, p)
}

// Score says how anomalous a verdict finds its window, in [0, 1]: 0 for
// nothing unusual (or no verdict), 1/2 at the bound that raises the rule's
// first alert, towards 1 beyond it. It is u/(1+u) for u, the distance
// covered towards that bound:
//
//	thresholds (ratio, count, period ratio, aggregate): x / bound for a maximum,
//	    bound / x for a minimum (the largest of the bounds set)
//	spike, error share: ln p / ln Probability, p the verdict's tail probability
//	stddev change: (factor - 1) / (bound factor - 1), in the judged direction
//	missing: silence / timeout
//	fleet: raised hosts / (hosts needed - 1/2)
//	health: the larger of latency / LatencyWarning and errors / ErrorWarning
//	other kinds: the level (0, 1 or 2)
//
// so that a detector can be scored on labelled data by thresholding the
// score (1/2 is the rule's own decision, apart from hysteresis and guards).
// The anomaly kind is the exception: its score is 1 - p, p its calibrated
// tail probability, so that a score above 1 - a happens about a of the time
// under normal behaviour (detect.AnomalyRule).
func Score(r detect.Rule, v *detect.Verdict) float64 {
	if math.IsNaN(v.Observed) && !v.Decided {
		return 0
	}
	if _, ok := r.(*detect.AnomalyRule); ok {
		if !v.Decided || math.IsNaN(v.Probability) {
			return 0
		}
		return 1 - v.Probability
	}
	u := math.NaN()
	tail := func(p, bound float64) float64 {
		switch {
		case math.IsNaN(p) || p >= 1:
			return 0
		case p <= 0:
			return math.Inf(1)
		}
		return math.Log(p) / math.Log(bound)
	}
	switch r := r.(type) {
	case *detect.RatioRule:
		u = thresholdDistance(r.Thresholds, v.Observed)
	case *detect.CountRule:
		u = thresholdDistance(r.Thresholds, v.Observed)
	case *detect.PeriodRatioRule:
		u = thresholdDistance(r.Thresholds, v.Observed)
	case *detect.AggregateRule:
		u = thresholdDistance(r.Thresholds, v.Observed)
	case *detect.MissingRule:
		if v.Threshold > 0 {
			u = v.Observed / v.Threshold
		}
	case *detect.FleetRule:
		if v.Threshold > 0 {
			u = v.Observed / (v.Threshold - 0.5)
		}
	case *detect.HealthRule:
		u = v.Observed / r.LatencyWarning
		if v.Denominator > 0 && v.Denominator >= r.MinRequests {
			u = max(u, v.Numerator/v.Denominator/r.ErrorWarning)
		}
	case *detect.SpikeRule:
		u = tail(v.Probability, loosest(r.Probability, r.WarningProbability))
	case *detect.ErrorShareRule:
		u = tail(binomialAtLeast(math.Round(v.Numerator), math.Round(v.Denominator), r.ExpectedShare),
			loosest(r.Probability, r.WarningProbability))
	case *detect.StdDevChangeRule:
		change := v.Observed
		switch r.Direction {
		case detect.DirectionDown:
			change = 1 / change
		case detect.DirectionBoth:
			change = max(change, 1/change)
		}
		if f := loosest(r.FailureFactor, r.WarningFactor); f > 1 {
			u = max(change-1, 0) / (f - 1)
		}
	default:
		u = float64(v.Level)
	}
	switch {
	case math.IsNaN(u) || u <= 0:
		return 0
	case math.IsInf(u, 1):
		return 1
	}
	return u / (1 + u)
}

// thresholdDistance is x against the loosest bounds of th (see Score).
func thresholdDistance(th detect.Thresholds, x float64) float64 {
	if math.IsNaN(x) {
		return math.NaN()
	}
	u := 0.0
	if !math.IsNaN(th.WarningMax) || !math.IsNaN(th.FailureMax) {
		hi := th.WarningMax
		if math.IsNaN(hi) {
			hi = th.FailureMax
		}
		switch {
		case hi > 0 && x >= 0:
			u = max(u, x/hi)
		case x > hi:
			u = max(u, 2)
		}
	}
	if !math.IsNaN(th.WarningMin) || !math.IsNaN(th.FailureMin) {
		lo := th.WarningMin
		if math.IsNaN(lo) {
			lo = th.FailureMin
		}
		switch {
		case lo > 0 && x > 0:
			u = max(u, lo/x)
		case lo > 0:
			u = math.Inf(1)
		case x < lo:
			u = max(u, 2)
		}
	}
	return u
}
