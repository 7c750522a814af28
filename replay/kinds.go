package replay

import (
	"math"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// What each rule kind judges, for charts and scores, is the kind's own
// (detect.Charted, in the kind's file). A rule that is not Charted (none
// of the shipped kinds) is drawn from Observed and Baseline, has no band and
// is scored by its level.

// Band is the bounds a rule compares with at one point of a chart.
type Band = detect.Band

// chartValues returns what a chart of the rule draws for a verdict: the
// judged quantity, what it was compared with (NaN if nothing) and a further
// quantity the band needs (NaN if none).
func chartValues(r detect.Rule, v *detect.Verdict) (obs, base, aux float64) {
	if c, ok := r.(detect.Charted); ok {
		return c.ChartValues(v)
	}
	return v.Observed, v.Baseline, v.Threshold
}

// Unit names the y axis of a rule's chart: what the rule judges, in what
// unit, over what span, so that a value read off the chart is one the
// rule's messages and thresholds speak of.
func Unit(r detect.Rule) string {
	if c, ok := r.(detect.Charted); ok {
		return c.ChartUnit()
	}
	return "observed"
}

// bandOf returns the band of rule r at a chart point whose mean baseline
// and auxiliary quantity (see chartValues) are base and aux.
func bandOf(r detect.Rule, base, aux float64) Band {
	if c, ok := r.(detect.Charted); ok {
		return c.ChartBand(base, aux)
	}
	return detect.NoBand()
}

// Score says how anomalous a verdict finds its window, in [0, 1]: 0 for
// nothing unusual (or no verdict), 1/2 at the bound that raises the rule's
// first alert, towards 1 beyond it (detect.Charted's Score per kind:
// thresholds x / bound, tails ln p / ln Probability, the anomaly kind 1 - p
// of its calibrated tail). A rule that is not Charted scores its level / 2.
func Score(r detect.Rule, v *detect.Verdict) float64 {
	if c, ok := r.(detect.Charted); ok {
		return c.Score(v)
	}
	if math.IsNaN(v.Observed) && !v.Decided {
		return 0
	}
	u := float64(v.Level)
	return u / (1 + u)
}
