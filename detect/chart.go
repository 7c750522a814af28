package detect

import "math"

// Charted is what a chart, a score and a report need of a rule kind: the
// meaning of its verdicts' fields. Every kind implements it in its own file,
// so that a new kind is one file here and one in conf (conf's tests check
// that every kind it builds is Charted).
type Charted interface {
	// ChartUnit names the y axis of the rule's chart: what it judges, in
	// what unit, over what span, as its messages and thresholds speak of it.
	ChartUnit() string
	// ChartValues returns what a chart draws for a verdict: the judged
	// quantity, what it was compared with (NaN if nothing) and a further
	// quantity the band needs (NaN if none).
	ChartValues(v *Verdict) (obs, base, aux float64)
	// ChartBand returns the bounds at a chart point whose mean baseline and
	// auxiliary quantity (see ChartValues) are base and aux.
	ChartBand(base, aux float64) Band
	// Score says how anomalous the verdict finds its window, in [0, 1]: 0
	// for nothing unusual (or no verdict), 1/2 at the bound that raises the
	// rule's first alert, towards 1 beyond it - u/(1+u) for u, the distance
	// covered towards that bound (see scoreOf); so that a detector can be
	// scored on labelled data by thresholding it.
	Score(v *Verdict) float64
}

// Band is the bounds a rule compares with at one point of a chart: a value
// above WarnHi or below WarnLo raises a WARNING, above FailHi or below FailLo
// a FAILURE (NaN: no such bound). A rule without WARNING bounds has only
// FAILURE ones, so that a chart names the level each line raises.
type Band struct {
	WarnLo, WarnHi, FailLo, FailHi float64
}

// NoBand is a band without bounds.
func NoBand() Band {
	nan := math.NaN()
	return Band{WarnLo: nan, WarnHi: nan, FailLo: nan, FailHi: nan}
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

// band is the band of collectd-style thresholds.
func (t Thresholds) band() Band {
	return Band{WarnLo: t.WarningMin, WarnHi: t.WarningMax, FailLo: t.FailureMin, FailHi: t.FailureMax}
}

// distance is x against the loosest bounds of t: x / bound for a maximum,
// bound / x for a minimum, the largest of the sides set.
func (t Thresholds) distance(x float64) float64 {
	if math.IsNaN(x) {
		return math.NaN()
	}
	u := 0.0
	if hi := firstSet(t.WarningMax, t.FailureMax); !math.IsNaN(hi) {
		switch {
		case hi > 0 && x >= 0:
			u = max(u, x/hi)
		case x > hi:
			u = max(u, 2)
		}
	}
	if lo := firstSet(t.WarningMin, t.FailureMin); !math.IsNaN(lo) {
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

// tailDistance is ln p / ln bound: 1 at the bound, more beyond it.
func tailDistance(p, bound float64) float64 {
	switch {
	case math.IsNaN(p) || p >= 1:
		return 0
	case p <= 0:
		return math.Inf(1)
	}
	return math.Log(p) / math.Log(bound)
}

// scoreOf maps a distance u towards the first alert's bound to [0, 1):
// u/(1+u), 0 without a verdict (a NaN Observed that decided nothing).
func scoreOf(v *Verdict, u float64) float64 {
	switch {
	case math.IsNaN(v.Observed) && !v.Decided:
		return 0
	case math.IsNaN(u) || u <= 0:
		return 0
	case math.IsInf(u, 1):
		return 1
	}
	return u / (1 + u)
}

// factorBounds are the values a change by factor f from base reaches, on
// the sides the direction judges (NaN on the others).
func factorBounds(d Direction, base, f float64) (lo, hi float64) {
	lo, hi = math.NaN(), math.NaN()
	if d != DirectionDown {
		hi = base * f
	}
	if d != DirectionUp {
		lo = base / f
	}
	return lo, hi
}
