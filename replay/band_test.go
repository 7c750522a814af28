package replay

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

func testSelectors(t *testing.T, s string) []detect.Selector {
	t.Helper()
	x, err := detect.ParseSelector(s)
	require.NoError(t, err)
	return []detect.Selector{x}
}

// A chart names the level each bound raises: a threshold rule's bounds are
// WARNING or FAILURE as configured, and the normal band's edges are the
// bounds that raise the first alert.
func TestBandOfThresholdsKeepsSeverities(t *testing.T) {
	th := detect.Unbounded()
	th.WarningMin, th.FailureMax = 2, 100
	count, err := detect.NewCountRule(detect.RuleSpec{Name: "c"}, testSelectors(t, "a/b"), detect.CountParams{Window: time.Minute, Thresholds: th, Unit: "events"})
	require.NoError(t, err)
	b := bandOf(count, math.NaN(), math.NaN())
	assert.Equal(t, th.WarningMin, b.WarnLo)
	assert.True(t, math.IsNaN(b.FailLo), "no FailureMin")
	assert.True(t, math.IsNaN(b.WarnHi), "no WarningMax")
	assert.Equal(t, th.FailureMax, b.FailHi)
	assert.Equal(t, th.WarningMin, b.Lo())
	assert.Equal(t, th.FailureMax, b.Hi(), "the only upper bound raises the first alert")
}

// A spike rule with WarningProbability has both bounds, each the count
// whose Poisson tail crosses its probability; the warning does not move
// the FAILURE bound.
func TestBandOfSpikeDrawsWarningAndFailureBounds(t *testing.T) {
	p := detect.DefaultSpikeParams()
	p.MinFactor = 1 // the tails alone set the bounds
	failOnly, err := detect.NewSpikeRule(detect.RuleSpec{Name: "s"}, testSelectors(t, "a/b"), p)
	require.NoError(t, err)
	p.WarningProbability = 1e-3
	both, err := detect.NewSpikeRule(detect.RuleSpec{Name: "s"}, testSelectors(t, "a/b"), p)
	require.NoError(t, err)

	const base = 100.0
	b := bandOf(both, base, math.NaN())
	assert.Equal(t, bandOf(failOnly, base, math.NaN()).FailHi, b.FailHi)
	assert.True(t, math.IsNaN(bandOf(failOnly, base, math.NaN()).WarnHi), "no WARNING bound without WarningProbability")
	atLeast := func(k float64) float64 { return 1 - distuv.Poisson{Lambda: base}.CDF(k-1) }
	for _, c := range []struct {
		bound, p float64
	}{{b.FailHi, p.Probability}, {b.WarnHi, p.WarningProbability}} {
		assert.Less(t, atLeast(c.bound), c.p, "the bound's tail is below p")
		assert.GreaterOrEqual(t, atLeast(c.bound-1), c.p, "one less is not")
	}
	assert.Less(t, b.WarnHi, b.FailHi)
	assert.Equal(t, b.WarnHi, b.Hi())
	assert.True(t, math.IsNaN(b.Lo()), "Direction up: no lower bound")
}

// A stddev change rule's bounds are the baseline times its factors.
func TestBandOfStdDevChangeFactors(t *testing.T) {
	p := detect.DefaultStdDevChangeParams()
	p.WarningFactor, p.Direction = 1.5, detect.DirectionBoth
	r, err := detect.NewStdDevChangeRule(detect.RuleSpec{Name: "s"}, testSelectors(t, "a/b"), p)
	require.NoError(t, err)
	const base = 4.0
	b := bandOf(r, base, math.NaN())
	assert.Equal(t, Band{WarnLo: base / p.WarningFactor, WarnHi: base * p.WarningFactor,
		FailLo: base / p.FailureFactor, FailHi: base * p.FailureFactor}, b)
}

// A missing rule's bound is its timeout, the default (a number of the
// series' intervals) included, which only the verdict knows.
func TestBandOfMissingTimeout(t *testing.T) {
	byDefault, err := detect.NewMissingRule(detect.RuleSpec{Name: "m"}, testSelectors(t, "a/b"), 0)
	require.NoError(t, err)
	v := &detect.Verdict{Observed: 5, Threshold: 30}
	obs, base, aux := chartValues(byDefault, v)
	b := bandOf(byDefault, base, aux)
	assert.Equal(t, v.Observed, obs)
	assert.Equal(t, v.Threshold, b.FailHi)
	assert.True(t, math.IsNaN(b.WarnHi), "a silence raises no WARNING")

	set, err := detect.NewMissingRule(detect.RuleSpec{Name: "m"}, testSelectors(t, "a/b"), time.Minute)
	require.NoError(t, err)
	assert.Equal(t, time.Minute.Seconds(), bandOf(set, math.NaN(), math.NaN()).FailHi)
}

// A fleet rule's chart draws its FAILURE line between one host short of
// the verdict's bound and the bound: "at least 3" is above 2.5.
func TestBandOfFleetIsHalfAHostBelowItsBound(t *testing.T) {
	fleet, err := detect.NewFleetRule(detect.RuleSpec{Name: "f"}, "other", detect.FleetRule{FailureShare: 0.5})
	require.NoError(t, err)
	b := bandOf(fleet, math.NaN(), 3)
	assert.Equal(t, 2.5, b.FailHi)
	assert.True(t, math.IsNaN(bandOf(fleet, math.NaN(), math.NaN()).FailHi), "no verdict, no line")
}
