package replay

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// The y axis holds the values and every bound however far from them, from
// 0 for a count; the incidents' ribbon lies above all of it.
func TestChartYAxisHoldsValuesBoundsAndRibbon(t *testing.T) {
	th := detect.Unbounded()
	th.WarningMax, th.FailureMax = 60, 100
	rule, err := detect.NewCountRule(detect.RuleSpec{Name: "c"}, testSelectors(t, "a/b"), detect.CountParams{Window: time.Minute, Thresholds: th, Unit: "errors"})
	require.NoError(t, err)
	from := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	tr := &Trace{Rule: rule}
	values := []float64{3, 5, 4, 6, 5}
	for _, v := range values {
		tr.Buckets = append(tr.Buckets, Bucket{N: 1, ObsMin: v, ObsMax: v, ObsSum: v})
	}
	r := &Report{From: from, To: from.Add(time.Duration(len(values)) * time.Minute)}
	l := r.linesOf(tr, time.Minute)
	for _, ribbon := range []bool{false, true} {
		y := newYAxis(l.ymin, l.ymax, ribbon)
		assert.Equal(t, 0.0, y.min, "a count's axis starts at 0")
		assert.Greater(t, y.ribbon, th.FailureMax, "the highest bound is below the ribbon")
		assert.Equal(t, ribbon, y.max > y.ribbon, "a ribbon only for incidents")
	}
	require.Len(t, l.obs, 1, "one segment: no gap")
	assert.Len(t, l.obs[0], len(values))
}

// A bound below 0 is shown, though the values are positive; constant
// values get room around them.
func TestChartYAxisNegativeBoundAndConstantValues(t *testing.T) {
	y := newYAxis(-5, 10, false)
	assert.Less(t, y.min, -5.0)
	assert.Greater(t, y.max, 10.0)
	y = newYAxis(7, 7, false)
	assert.Less(t, y.min, 7.0)
	assert.Greater(t, y.max, 7.0)
	y = newYAxis(math.Inf(1), math.Inf(-1), false)
	assert.Less(t, y.min, y.max, "nothing drawn: still a range")
}
