package conf_test

import (
	"testing"

	"collectd.org/config"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/conf/conftest"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// The block builders, short for the many tables of tests.
var (
	opt         = conftest.Opt
	named       = conftest.Named
	bare        = conftest.Bare
	pluginBlock = conftest.PluginBlock
)

// minimalRatio is a valid ratio rule plus extra options.
func minimalRatio(name string, extra ...config.Block) config.Block {
	children := []config.Block{
		opt("Numerator", "ecommerce/gauge-page-response-500"),
		opt("Denominator", "ecommerce/gauge-page-hits-total"),
		opt("FailureMax", 0.1),
	}
	return named("Ratio", name, append(children, extra...)...)
}

// parseOne parses one <Plugin anomaly> block that must be valid.
func parseOne(t *testing.T, children ...config.Block) *conf.Settings {
	t.Helper()
	s, err := conf.Parse(pluginBlock(children...))
	require.NoError(t, err)
	require.NotNil(t, s)
	return s
}

// ratio returns the only rule of s as a ratio rule.
func onlyRatio(t *testing.T, s *conf.Settings) *detect.RatioRule {
	t.Helper()
	require.Len(t, s.Rules, 1)
	r, ok := s.Rules[0].(*detect.RatioRule)
	require.True(t, ok, "rule is a %T", s.Rules[0])
	return r
}

func selectorTexts(sels []detect.Selector) []string {
	var out []string
	for _, s := range sels {
		out = append(out, s.String())
	}
	return out
}
