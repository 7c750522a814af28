package conf

import (
	"fmt"

	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// aggregateBuilder reads an <Aggregate> block (detect.AggregateRule
// documents the functions):
//
//	<Aggregate "cpu-busy">
//	  Series "cpu-*/percent-active"   # repeatable
//	  Function "mean"                 # mean (default), min, max, sum, stddev, median,
//	                                  # percentile, rate, derivative, predict
//	  Percentile 95                   # for percentile
//	  Horizon "4h"                    # for predict
//	  Window "5m"                     # default 5m
//	  MinPoints 1                     # default 1 (3 for derivative and predict)
//	  FailureMax 90                   # the threshold options, one at least
//	</Aggregate>
type aggregateBuilder struct {
	series []detect.Selector
	r      detect.AggregateRule
}

func newAggregateBuilder() ruleBuilder {
	r := detect.DefaultAggregateRule()
	r.Window = 0 // the default is scaled by TimeScale in build
	return &aggregateBuilder{r: r}
}

func (b *aggregateBuilder) option(c config.Block, rd reader) (bool, error) {
	if ok, err := thresholdOption(&b.r.Thresholds, c); ok {
		return true, err
	}
	var err error
	switch {
	case is(c, "Series"):
		err = selectors(c, &b.series)
	case is(c, "Function"):
		var s string
		if s, err = oneString(c); err == nil {
			if b.r.Function, err = detect.ParseAggregateFunction(s); err != nil {
				err = optionError(c, "%v", err)
			}
		}
	case is(c, "Percentile"):
		b.r.Percentile, err = oneNumber(c)
		if err == nil && !(b.r.Percentile > 0 && b.r.Percentile < 100) {
			err = optionError(c, "must be between 0 and 100")
		}
	case is(c, "Horizon"):
		b.r.Horizon, err = rd.positiveDuration(c)
	case is(c, "Window"):
		b.r.Window, err = rd.positiveDuration(c)
	case is(c, "MinPoints"):
		b.r.MinPoints, err = oneInt(c, 1)
	default:
		return false, nil
	}
	return true, err
}

func (b *aggregateBuilder) build(spec detect.RuleSpec, rd reader) (detect.Rule, error) {
	if len(b.series) == 0 {
		return nil, fmt.Errorf("an aggregate needs Series")
	}
	if b.r.Window == 0 {
		b.r.Window = rd.scaled(detect.DefaultAggregateRule().Window)
	}
	return detect.NewAggregateRule(spec, b.series, b.r)
}
