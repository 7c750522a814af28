package conf_test

import (
	"testing"

	"collectd.org/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// minimalRules is the least configuration of each rule kind. A kind added
// to conf without one here fails TestEveryRuleKindIsWhole.
var minimalRules = map[string][]config.Block{
	"Aggregate":    {opt("Series", "app/gauge-x"), opt("Function", "mean"), opt("FailureMax", 1)},
	"Anomaly":      {opt("Series", "app/gauge-x")},
	"Count":        {opt("Series", "app/gauge-x"), opt("FailureMax", 1)},
	"ErrorShare":   {opt("Errors", "app/gauge-errors"), opt("Total", "app/gauge-requests")},
	"Fleet":        {opt("Rule", "web-latency-shift"), opt("FailureHosts", 2)},
	"Health":       {opt("Latency", "app/gauge-latency"), opt("Errors", "app/gauge-errors"), opt("Requests", "app/gauge-requests")},
	"Missing":      {opt("Series", "app/*")},
	"PeriodRatio":  {opt("Numerator", "app/gauge-a"), opt("Denominator", "app/gauge-b")},
	"Ratio":        {opt("Numerator", "app/gauge-a"), opt("Denominator", "app/gauge-b"), opt("FailureMax", 0.1)},
	"Spike":        {opt("Series", "app/gauge-x")},
	"StdDevChange": {opt("Series", "app/gauge-x")},
}

// Every rule kind conf builds carries what the rest of the product needs of
// it, in its own file: the chart's unit, values and band and the score
// (detect.Charted), which replay draws and scores from.
func TestEveryRuleKindIsWhole(t *testing.T) {
	kinds := conf.RuleKinds()
	require.Len(t, minimalRules, len(kinds), "a minimal configuration for each of %v", kinds)
	for _, kind := range kinds {
		body, ok := minimalRules[kind]
		require.True(t, ok, "no minimal <%s> in minimalRules", kind)
		s := parseOne(t, named(kind, "r", body...))
		require.Len(t, s.Rules, 1, kind)
		r := s.Rules[0]
		_, charted := r.(detect.Charted)
		assert.True(t, charted, "<%s> (%T) is not detect.Charted", kind, r)
		if charted {
			assert.NotEmpty(t, r.(detect.Charted).ChartUnit(), kind)
		}
	}
}
