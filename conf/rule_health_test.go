package conf_test

import (
	"testing"
	"time"

	"collectd.org/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

func healthBlock(extra ...config.Block) config.Block {
	return named("Health", "h", append([]config.Block{
		opt("Latency", "app/gauge-latency"), opt("Errors", "app/gauge-errors"), opt("Requests", "app/gauge-requests"),
	}, extra...)...)
}

// <Health> reads every option; the defaults are detect's, the period
// scaled by TimeScale.
func TestParseHealth(t *testing.T) {
	s := parseOne(t, healthBlock(opt("Period", "10m"), opt("LatencyWarning", 0.3), opt("LatencyFailure", 0.5),
		opt("ErrorWarning", 0.01), opt("ErrorFailure", 0.1), opt("MinRequests", 20), opt("Output", "svc-health"),
		opt("LatencyUnit", "s")))
	require.Len(t, s.Rules, 1)
	r := s.Rules[0].(*detect.HealthRule)
	assert.Equal(t, detect.HealthParams{Period: 10 * time.Minute, LatencyWarning: 0.3, LatencyFailure: 0.5,
		ErrorWarning: 0.01, ErrorFailure: 0.1, MinRequests: 20, Output: "svc-health", LatencyUnit: "s"}, r.HealthParams)
	assert.Equal(t, "mean latency per 10m (s)", r.ChartUnit())

	def := parseOne(t, healthBlock()).Rules[0].(*detect.HealthRule)
	want := detect.DefaultHealthParams()
	want.Output = "h"
	assert.Equal(t, want, def.HealthParams)
	scaled := parseOne(t, healthBlock(), opt("TimeScale", 30)).Rules[0].(*detect.HealthRule)
	assert.Equal(t, 10*time.Second, scaled.Period, "5m at TimeScale 30")
}

func TestParseHealthErrors(t *testing.T) {
	const r = `<Plugin anomaly>: <Health "h">: `
	checkErrors(t, []errorCase{
		{"no series", []config.Block{named("Health", "h")}, r + `a health rule needs Latency, Errors and Requests series`},
		{"empty unit", []config.Block{healthBlock(opt("LatencyUnit", ""))}, r + `option LatencyUnit "": must not be empty`},
		{"failure below warning", []config.Block{healthBlock(opt("LatencyFailure", 100))},
			r + `rule "h": LatencyWarning and LatencyFailure must be positive, the failure bound at least the warning bound`},
	})
}
