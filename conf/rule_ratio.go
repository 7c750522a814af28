package conf

import (
	"fmt"

	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// ratioBuilder reads <Ratio "name"> (detect.RatioRule documents the
// options):
//
//	<Ratio "web-server-errors">
//	  Numerator   "ecommerce/gauge-page-response-500"   # repeatable, summed
//	  Denominator "ecommerce/gauge-page-hits-total"     # repeatable, summed
//	  Window "5m"                 # default 5m
//	  FailureMax 0.01             # collectd's WarningMin/WarningMax/FailureMin/FailureMax/Hysteresis
//	  MinDenominator 50           # no verdict with fewer events (default 0)
//	  MinNumerator 5              # raise above a maximum only with this many (default 0)
//	</Ratio>
type ratioBuilder struct {
	num, den []detect.Selector
	p        detect.RatioParams
}

func newRatioBuilder() ruleBuilder {
	p := detect.DefaultRatioParams()
	p.Window = 0 // the default is scaled by TimeScale in build
	return &ratioBuilder{p: p}
}

func (rb *ratioBuilder) option(c config.Block, rd reader) (bool, error) {
	if ok, err := thresholdOption(&rb.p.Thresholds, c); ok {
		return true, err
	}
	var err error
	switch {
	case is(c, "Numerator"):
		err = selectors(c, &rb.num)
	case is(c, "Denominator"):
		err = selectors(c, &rb.den)
	case is(c, "Window"):
		rb.p.Window, err = rd.positiveDuration(c)
	case is(c, "MinDenominator"):
		rb.p.MinDenominator, err = nonNegative(c)
	case is(c, "MinNumerator"):
		rb.p.MinNumerator, err = nonNegative(c)
	default:
		return false, nil
	}
	return true, err
}

func (rb *ratioBuilder) build(spec detect.RuleSpec, rd reader) (detect.Rule, error) {
	if len(rb.num) == 0 || len(rb.den) == 0 {
		return nil, fmt.Errorf("a ratio needs Numerator and Denominator series")
	}
	if rb.p.Window == 0 {
		rb.p.Window = rd.scaled(detect.DefaultRatioParams().Window)
	}
	return detect.NewRatioRule(spec, rb.num, rb.den, rb.p)
}
