package conf

import (
	"fmt"
	"math"
	"time"

	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// periodRatioBuilder reads <PeriodRatio>: a ratio per clock period (default
// an hour) dispatched as a derived series, optionally with thresholds.
type periodRatioBuilder struct {
	num, den []detect.Selector
	period   time.Duration
	scale    float64
	output   string
	th       detect.Thresholds
}

func newPeriodRatioBuilder() ruleBuilder {
	return &periodRatioBuilder{scale: 1, th: detect.Unbounded()}
}

func (pb *periodRatioBuilder) option(c config.Block, rd reader) (bool, error) {
	if ok, err := thresholdOption(&pb.th, c); ok {
		return true, err
	}
	var err error
	switch {
	case is(c, "Numerator"):
		err = selectors(c, &pb.num)
	case is(c, "Denominator"):
		err = selectors(c, &pb.den)
	case is(c, "Period"):
		pb.period, err = rd.positiveDuration(c)
	case is(c, "Scale"):
		pb.scale, err = oneNumber(c)
		if err == nil && (pb.scale == 0 || math.IsNaN(pb.scale)) {
			err = optionError(c, "must not be zero")
		}
	case is(c, "Output"):
		pb.output, err = oneString(c)
	default:
		return false, nil
	}
	return true, err
}

func (pb *periodRatioBuilder) build(spec detect.RuleSpec, rd reader) (detect.Rule, error) {
	if len(pb.num) == 0 || len(pb.den) == 0 {
		return nil, fmt.Errorf("a period ratio needs Numerator and Denominator series")
	}
	if pb.period == 0 {
		pb.period = rd.scaled(time.Hour)
	}
	return detect.NewPeriodRatioRule(spec, pb.num, pb.den, pb.period, pb.scale, pb.output, pb.th)
}
