package conf_test

import (
	"testing"
	"time"

	"collectd.org/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
)

// TimeScale divides every duration of the rules, wherever it stands.
func TestParseTimeScale(t *testing.T) {
	s, err := conf.Parse(
		pluginBlock(
			minimalRatio("set", opt("Window", 300), opt("MinDuration", 120), opt("Repeat", "1h"), opt("Resolution", 60)),
			minimalRatio("default"),
		),
		pluginBlock(opt("timescale", 60)), // in a later block, and in any case
	)
	require.NoError(t, err)
	assert.Equal(t, 60.0, s.TimeScale)
	require.Len(t, s.Rules, 2)
	set := onlyRatio(t, &conf.Settings{Rules: s.Rules[:1]})
	assert.Equal(t, 5*time.Second, set.Window)
	assert.Equal(t, 2*time.Second, set.Spec().Lifecycle.MinDuration)
	assert.Equal(t, time.Minute, set.Spec().Lifecycle.Repeat)
	assert.Equal(t, time.Second, set.Spec().Resolution)
	def := onlyRatio(t, &conf.Settings{Rules: s.Rules[1:]})
	assert.Equal(t, 5*time.Second, def.Window, "the default Window is scaled too")

	// The simulation keeps its own time: TimeScale is for rules.
	sim := parseOne(t, opt("TimeScale", 60), bare("Simulation", opt("Interval", 10))).Simulation
	assert.Equal(t, 10*time.Second, sim.Interval)
}

func TestParseTimeScaleErrors(t *testing.T) {
	checkErrors(t, []errorCase{
		{"zero", []config.Block{opt("TimeScale", 0)}, `<Plugin anomaly>: option TimeScale 0: must be more than zero`},
		{"negative", []config.Block{opt("TimeScale", -60)}, `<Plugin anomaly>: option TimeScale -60: must be more than zero`},
		{"string", []config.Block{opt("TimeScale", "fast")}, `<Plugin anomaly>: option TimeScale "fast": want one number`},
		{"windows vanish", []config.Block{opt("TimeScale", 1e12), minimalRatio("r", opt("Window", 300))},
			`<Plugin anomaly>: <Ratio "r">: option Window 300: is less than a nanosecond after TimeScale`},
	})
}
