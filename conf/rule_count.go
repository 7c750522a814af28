package conf

import (
	"fmt"
	"time"

	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// countBuilder reads <Count "name">: Series (repeatable), Window (default 1
// hour), collectd's WarningMin/WarningMax/FailureMin/FailureMax/Hysteresis,
// and Unit (the noun of messages, default "events").
type countBuilder struct {
	series []detect.Selector
	window time.Duration
	th     detect.Thresholds
	unit   string
}

func newCountBuilder() ruleBuilder { return &countBuilder{th: detect.Unbounded()} }

func (cb *countBuilder) option(c config.Block, rd reader) (bool, error) {
	if ok, err := thresholdOption(&cb.th, c); ok {
		return true, err
	}
	var err error
	switch {
	case is(c, "Series"):
		err = selectors(c, &cb.series)
	case is(c, "Window"):
		cb.window, err = rd.positiveDuration(c)
	case is(c, "Unit"):
		if cb.unit, err = oneString(c); err == nil && cb.unit == "" {
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
	if cb.window == 0 {
		cb.window = rd.scaled(time.Hour)
	}
	return detect.NewCountRule(spec, cb.series, cb.window, cb.th, cb.unit)
}
