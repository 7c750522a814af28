package conf

import (
	"fmt"

	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// countBuilder reads <Count "name">: Series (repeatable), Window (default 1
// hour), collectd's WarningMin/WarningMax/FailureMin/FailureMax/Hysteresis,
// Unit (the noun of messages, default "events"), and Season with
// FailureFactor/WarningFactor and Probability for bounds relative to the
// usual count.
type countBuilder struct {
	series      []detect.Selector
	p           detect.CountParams
	probability *config.Block // the Probability option, if written
}

func newCountBuilder() ruleBuilder {
	p := detect.DefaultCountParams()
	p.Window = 0 // the default is scaled by TimeScale in build
	return &countBuilder{p: p}
}

func (cb *countBuilder) option(c config.Block, rd reader) (bool, error) {
	if ok, err := thresholdOption(&cb.p.Thresholds, c); ok {
		return true, err
	}
	var err error
	switch {
	case is(c, "Series"):
		err = selectors(c, &cb.series)
	case is(c, "Window"):
		cb.p.Window, err = rd.positiveDuration(c)
	case is(c, "Season"):
		cb.p.Season, err = rd.duration(c)
	case is(c, "FailureFactor"):
		cb.p.FailureFactor, err = factorAboveOneOption(c)
	case is(c, "WarningFactor"):
		cb.p.WarningFactor, err = factorAboveOneOption(c)
	case is(c, "Probability"):
		cb.p.Probability, err = probabilityOption(c)
		cb.probability = &c
	case is(c, "Unit"):
		if cb.p.Unit, err = oneString(c); err == nil && cb.p.Unit == "" {
			err = optionError(c, "must not be empty")
		}
	default:
		return false, nil
	}
	return true, err
}

func (cb *countBuilder) build(spec detect.RuleSpec, rd reader) (detect.Rule, error) {
	if len(cb.series) == 0 {
		return nil, fmt.Errorf("a count needs Series")
	}
	if cb.p.Window == 0 {
		cb.p.Window = rd.scaled(detect.DefaultCountParams().Window)
	}
	if cb.probability != nil && cb.p.Season == 0 {
		// Without a Season there is no usual to take a tail against.
		return nil, optionError(*cb.probability, "is for a count relative to the usual: set Season and FailureFactor")
	}
	return detect.NewCountRule(spec, cb.series, cb.p)
}
