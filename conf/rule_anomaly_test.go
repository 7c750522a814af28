package conf_test

import (
	"testing"
	"time"

	"collectd.org/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

func TestParseAnomalyRule(t *testing.T) {
	s := parseOne(t, named("Anomaly", "cpu",
		opt("Series", "cpu-*/percent-user"),
		opt("Direction", "up"),
		opt("Probability", 1e-6),
		opt("WarningProbability", 1e-4),
		opt("Memory", 30),
		opt("Season", "1w"),
		opt("WarmUp", 100),
		opt("NewNormalAfter", 12),
		opt("FlatAfter", 0),
		opt("RecoverAfter", 5),
		opt("Scores", false),
	))
	require.Len(t, s.Rules, 1)
	r, ok := s.Rules[0].(*detect.AnomalyRule)
	require.True(t, ok, "rule is a %T", s.Rules[0])
	assert.Equal(t, "anomaly", r.Kind())
	assert.True(t, r.Spec().PerSeries, "one state per series")
	assert.Equal(t, detect.DirectionUp, r.Direction)
	assert.Equal(t, 1e-6, r.Probability)
	assert.Equal(t, 1e-4, r.WarningProbability)
	assert.Equal(t, 30, r.Memory)
	assert.Equal(t, 7*24*time.Hour, r.Season)
	assert.Equal(t, 100, r.WarmUp)
	assert.Equal(t, 12, r.NewNormalAfter)
	assert.Equal(t, 0, r.FlatAfter)
	assert.Equal(t, 5, r.RecoverAfter)
	assert.False(t, r.Scores)

	d := parseOne(t, named("Anomaly", "any", opt("Series", "*/*")))
	def := d.Rules[0].(*detect.AnomalyRule)
	assert.Equal(t, detect.DefaultAnomalyParams().Memory, def.Memory)
	assert.Equal(t, 24*time.Hour, def.Season)
	assert.True(t, def.Scores)
}

func TestParseAnomalyErrors(t *testing.T) {
	a := func(children ...config.Block) []config.Block {
		return []config.Block{named("Anomaly", "a", append([]config.Block{opt("Series", "*/*")}, children...)...)}
	}
	r := `<Plugin anomaly>: <Anomaly "a">: `
	checkErrors(t, []errorCase{
		{"no Series", []config.Block{named("Anomaly", "a")}, r + `an anomaly rule needs Series`},
		{"FlatAfter 1", a(opt("FlatAfter", 1)), r + `option FlatAfter 1: must be 0 (off) or at least 2`},
		{"Season too long", a(opt("Season", "2w")), r + `rule "a": Season must be between 0 and 1w`},
		{"Memory", a(opt("Memory", 1)), r + `option Memory 1: want a whole number from 2 to 2147483647`},
		{"Direction", a(opt("Direction", "sideways")), r + `option Direction "sideways": want "up", "down" or "both"`},
		{"Probability", a(opt("Probability", 2)), r + `option Probability 2: must be between 0 and 1`},
	})
}

func TestParseAggregateRule(t *testing.T) {
	s := parseOne(t, named("Aggregate", "disk-full",
		opt("Series", "df-root/df_complex-free"),
		opt("Function", "predict"),
		opt("Horizon", "4h"),
		opt("Window", "1h"),
		opt("FailureMin", 0),
	))
	require.Len(t, s.Rules, 1)
	r, ok := s.Rules[0].(*detect.AggregateRule)
	require.True(t, ok, "rule is a %T", s.Rules[0])
	assert.Equal(t, detect.AggregatePredict, r.Function)
	assert.Equal(t, 4*time.Hour, r.Horizon)
	assert.Equal(t, time.Hour, r.Window)
	assert.Equal(t, 0.0, r.Thresholds.FailureMin)
	assert.Equal(t, 3, r.MinPoints)

	p := parseOne(t, named("Aggregate", "p95", opt("Series", "app/gauge-latency"), opt("Function", "percentile"),
		opt("Percentile", 95), opt("FailureMax", 400)))
	pr := p.Rules[0].(*detect.AggregateRule)
	assert.Equal(t, 95.0, pr.Percentile)
	assert.Equal(t, 5*time.Minute, pr.Window, "the default window")

	r0 := `<Plugin anomaly>: <Aggregate "a">: `
	checkErrors(t, []errorCase{
		{"no thresholds", []config.Block{named("Aggregate", "a", opt("Series", "*/*"))},
			r0 + `rule "a": set at least one of WarningMin, WarningMax, FailureMin, FailureMax`},
		{"Function", []config.Block{named("Aggregate", "a", opt("Series", "*/*"), opt("Function", "avg"), opt("FailureMax", 1))},
			r0 + `option Function "avg": want one of mean, min, max, sum, stddev, median, percentile, rate, derivative, predict`},
		{"no Series", []config.Block{named("Aggregate", "a", opt("FailureMax", 1))}, r0 + `an aggregate needs Series`},
	})
}
