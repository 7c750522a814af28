package detect

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
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
