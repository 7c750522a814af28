package conf

import (
	"fmt"
	"math"

	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// periodRatioBuilder reads <PeriodRatio>: a ratio per clock period (default
// an hour) dispatched as a derived series, optionally with thresholds.
type periodRatioBuilder struct {
	num, den []detect.Selector
	p        detect.PeriodRatioParams
}

func newPeriodRatioBuilder() ruleBuilder {
	p := detect.DefaultPeriodRatioParams()
	p.Period = 0 // the default is scaled by TimeScale in build
	return &periodRatioBuilder{p: p}
}

func (pb *periodRatioBuilder) option(c config.Block, rd reader) (bool, error) {
	if ok, err := thresholdOption(&pb.p.Thresholds, c); ok {
		return true, err
	}
	var err error
	switch {
	case is(c, "Numerator"):
		err = selectors(c, &pb.num)
	case is(c, "Denominator"):
		err = selectors(c, &pb.den)
	case is(c, "Period"):
		pb.p.Period, err = rd.positiveDuration(c)
	case is(c, "Scale"):
		pb.p.Scale, err = oneNumber(c)
		if err == nil && (pb.p.Scale == 0 || math.IsNaN(pb.p.Scale)) {
			err = optionError(c, "must not be zero")
		}
	case is(c, "Output"):
		pb.p.Output, err = oneString(c)
	default:
		return false, nil
	}
	return true, err
}

func (pb *periodRatioBuilder) build(spec detect.RuleSpec, rd reader) (detect.Rule, error) {
	if len(pb.num) == 0 || len(pb.den) == 0 {
		return nil, fmt.Errorf("a period ratio needs Numerator and Denominator series")
	}
	if pb.p.Period == 0 {
		pb.p.Period = rd.scaled(detect.DefaultPeriodRatioParams().Period)
	}
	return detect.NewPeriodRatioRule(spec, pb.num, pb.den, pb.p)
}
