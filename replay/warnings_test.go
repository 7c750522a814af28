package replay

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

func TestWarningsNameRulesThatNeverJudgeAndSelectorsThatMatchNothing(t *testing.T) {
	in := "time,identifier,value\n"
	for i := range 10 {
		at := time.Date(2026, 1, 5, i, 0, 0, 0, time.UTC).Format(time.RFC3339)
		in += at + ",h/app/gauge-hourly,1\n"
	}
	rec, err := ReadCSV(strings.NewReader(in), "hourly.csv", CSVOptions{})
	require.NoError(t, err)
	require.Equal(t, time.Hour, rec.Series[0].Interval)

	sel := func(s string) []detect.Selector {
		x, err := detect.ParseSelector(s)
		require.NoError(t, err)
		return []detect.Selector{x}
	}
	spread, err := detect.NewStdDevChangeRule(detect.RuleSpec{Name: "spread"}, sel("app/gauge-hourly"), detect.DefaultStdDevChangeParams())
	require.NoError(t, err)
	sp := detect.DefaultSpikeParams()
	sp.Model = detect.NormalModel
	shift, err := detect.NewSpikeRule(detect.RuleSpec{Name: "shift"}, sel("app/gauge-hourly"), sp)
	require.NoError(t, err)
	typo, err := detect.NewAnomalyRule(detect.RuleSpec{Name: "typo"}, sel("app/gauge-hourlyy"), detect.DefaultAnomalyParams())
	require.NoError(t, err)
	fine, err := detect.NewAnomalyRule(detect.RuleSpec{Name: "fine"}, sel("app/*"), detect.DefaultAnomalyParams())
	require.NoError(t, err)

	got := Warnings([]detect.Rule{spread, shift, typo, fine}, rec)
	assert.Equal(t, []string{
		`rule "spread" at the 1h0m0s interval of h/app/gauge-hourly: Window 5m0s is shorter than the data's interval 1h0m0s: it covers one slot of 1h0m0s`,
		`rule "spread" at the 1h0m0s interval of h/app/gauge-hourly: Window 5m0s holds 1 slot(s) of 1h0m0s; a stddev needs 2: it never judges`,
		`rule "spread" at the 1h0m0s interval of h/app/gauge-hourly: Baseline 1h0m0s holds 1 slot(s) of 1h0m0s; a stddev needs 2: it never judges`,
		`rule "shift" at the 1h0m0s interval of h/app/gauge-hourly: Window 1m0s is shorter than the data's interval 1h0m0s: it covers one slot of 1h0m0s`,
		`rule "shift" at the 1h0m0s interval of h/app/gauge-hourly: Baseline 1h0m0s holds 1 slot(s) of 1h0m0s; the normal model's spread needs 2: it never judges`,
		`rule "typo": Series "app/gauge-hourlyy" matches no series of the data`,
	}, got)
}
