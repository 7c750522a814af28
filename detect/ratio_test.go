package detect

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// MinNumerator holds back raising: 3 errors in 300 requests are 1%, above
// the threshold but too few; 10 are an incident. Once raised, the alert
// recovers by its threshold, whatever the count.
func TestRatioMinNumeratorHoldsBackRaising(t *testing.T) {
	r, err := NewRatioRule(RuleSpec{Name: "errors"}, []Selector{MustSelector("web/gauge-errors")}, []Selector{MustSelector("web/gauge-requests")}, RatioParams{Window: time.Minute, Thresholds: Thresholds{FailureMax: 0.008, WarningMax: nan(), WarningMin: nan(), FailureMin: nan()}, MinDenominator: 50, MinNumerator: 5})
	require.NoError(t, err)
	judge := func(errors float64, current Level) Level {
		st := r.NewState(SlotClock{Origin: t0, Step: 10 * time.Second})
		var v Verdict
		for slot := int64(0); slot < 6; slot++ {
			st.Add(1, slot, 50)
			if slot == 5 {
				st.Add(0, slot, errors)
			}
			v = st.Evaluate(slot, current)
		}
		require.True(t, v.Decided)
		return v.Level
	}
	assert.Equal(t, OK, judge(3, OK), "1% of 300, but 3 errors")
	assert.Equal(t, Failure, judge(10, OK))
	assert.Equal(t, Failure, judge(3, Failure), "a raised alert stays by its threshold")
	assert.Equal(t, OK, judge(1, Failure), "and recovers by it")
	r.MinNumerator = 0
	assert.Equal(t, Failure, judge(3, OK), "without it, 1% is a FAILURE")
}
