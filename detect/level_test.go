package detect

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestThresholdsLevels(t *testing.T) {
	th := Unbounded()
	th.WarningMax, th.FailureMax, th.FailureMin = 0.05, 0.10, 0.001
	cases := []struct {
		x     float64
		want  Level
		bound float64
	}{
		{0.02, OK, 0.05},
		{0.06, Warning, 0.05},
		{0.11, Failure, 0.10},
		{0.0001, Failure, 0.001},
	}
	for _, c := range cases {
		l, b := th.Level(c.x, OK)
		assert.Equal(t, c.want, l, "x=%v", c.x)
		assert.Equal(t, c.bound, b, "x=%v", c.x)
	}
}

func TestThresholdsHysteresis(t *testing.T) {
	th := Unbounded()
	th.FailureMax, th.Hysteresis = 0.10, 0.02
	l, _ := th.Level(0.09, OK)
	assert.Equal(t, OK, l)
	l, _ = th.Level(0.09, Failure)
	assert.Equal(t, Failure, l, "within the hysteresis band a failure persists")
	l, b := th.Level(0.079, Failure)
	assert.Equal(t, OK, l)
	assert.InDelta(t, 0.08, b, 1e-12, "recovery is judged against the relaxed bound")
}

func TestThresholdsUnsetNeverFire(t *testing.T) {
	l, b := Unbounded().Level(1e300, OK)
	assert.Equal(t, OK, l)
	assert.True(t, math.IsNaN(b))
	assert.False(t, Unbounded().Any())
}

// A failure that eases to a warning names the configured warning bound, not
// the bound hysteresis lowered it to while the alert lasts.
func TestThresholdsNameTheConfiguredBound(t *testing.T) {
	th := Unbounded()
	th.WarningMax, th.FailureMax, th.Hysteresis = 0.05, 0.10, 0.02
	l, b := th.Level(0.07, Failure)
	assert.Equal(t, Warning, l)
	assert.Equal(t, 0.05, b)
	l, b = th.Level(0.09, Failure)
	assert.Equal(t, Failure, l, "within the hysteresis band")
	assert.Equal(t, 0.10, b)
	l, b = th.Level(0.02, Warning)
	assert.Equal(t, OK, l)
	assert.InDelta(t, 0.03, b, 1e-12, "recovery is judged against the relaxed bound")
}

// A Hysteresis that would keep a raised alert for every value is refused,
// naming it: wider than half the band between a level's minimum and
// maximum (a WARNING between 10 and 20 held by 6 is one at every x), or,
// for a share or a count, than a maximum (recovery below 0). The
// reviewer's cases and their neighbours that are fine.
func TestHysteresisMustLetAnAlertEnd(t *testing.T) {
	th := func(set func(*Thresholds)) Thresholds {
		x := Unbounded()
		set(&x)
		return x
	}
	for _, tc := range []struct {
		th          Thresholds
		nonNegative bool
		want        string // "" for none
	}{
		{th(func(x *Thresholds) { x.WarningMin, x.WarningMax, x.Hysteresis = 10, 20, 6 }), false, "Hysteresis 6 must be at most half of WarningMax - WarningMin (10)"},
		{th(func(x *Thresholds) { x.WarningMin, x.WarningMax, x.Hysteresis = 10, 20, 5 }), false, ""},
		{th(func(x *Thresholds) { x.FailureMax, x.Hysteresis = 0.05, 0.1 }), true, "Hysteresis 0.1 must not exceed FailureMax (0.05)"},
		{th(func(x *Thresholds) { x.FailureMax, x.Hysteresis = 0.05, 0.1 }), false, ""},
		{th(func(x *Thresholds) { x.FailureMax, x.Hysteresis = 0.05, 0.05 }), true, ""},
		{th(func(x *Thresholds) { x.FailureMax, x.Hysteresis = 1, math.NaN() }), false, "Hysteresis must not be negative"},
	} {
		err := tc.th.validate("r", tc.nonNegative)
		if tc.want == "" {
			assert.NoError(t, err, "%+v", tc.th)
			continue
		}
		var se *SettingError
		require.ErrorAs(t, err, &se, "%+v", tc.th)
		assert.Equal(t, "Hysteresis", se.Setting)
		assert.Contains(t, err.Error(), tc.want)
	}
	_, err := NewRatioRule(RuleSpec{Name: "failed", Lifecycle: Lifecycle{Hits: 1}}, []Selector{MustSelector("a/b")}, []Selector{MustSelector("a/c")},
		RatioParams{Window: time.Minute, Thresholds: th(func(x *Thresholds) { x.FailureMax, x.Hysteresis = 0.05, 0.1 })})
	assert.ErrorContains(t, err, "must not exceed FailureMax", "a ratio's share is never negative")
}
