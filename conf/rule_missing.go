package conf

import (
	"fmt"
	"time"

	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// missingBuilder reads <Missing "name">: Series (repeatable), Timeout
// (default 0: detect.DefaultMissingIntervals slot widths, 30 s at a 10 s
// interval) and the common PerSeries (default false: one alert per host when
// none of its series arrives; true: one per silent series).
type missingBuilder struct {
	series  []detect.Selector
	timeout time.Duration
}

func newMissingBuilder() ruleBuilder { return &missingBuilder{} }

func (mb *missingBuilder) option(c config.Block, rd reader) (bool, error) {
	var err error
	switch {
	case is(c, "Series"):
		err = selectors(c, &mb.series)
	case is(c, "Timeout"):
		mb.timeout, err = rd.duration(c)
	default:
		return false, nil
	}
	return true, err
}

func (mb *missingBuilder) build(spec detect.RuleSpec, rd reader) (detect.Rule, error) {
	if len(mb.series) == 0 {
		return nil, fmt.Errorf("a missing rule needs Series")
	}
	return detect.NewMissingRule(spec, mb.series, mb.timeout)
}
