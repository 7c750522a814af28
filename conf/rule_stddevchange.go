package conf

import (
	"fmt"
	"time"

	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// stdDevChangeBuilder reads a <StdDevChange> block (detect.StdDevChangeRule
// documents the options and their defaults):
//
//	<StdDevChange "web-latency-spread">
//	  Series "ecommerce/gauge-page-latency-mean"   # repeatable, summed per slot
//	  Window "5m"                 # default 5m
//	  Baseline "1h"               # default 1h
//	  FailureFactor 2             # default 2
//	  WarningFactor 1.5           # unset by default
//	  Direction "up"              # up (default), down, both
//	  MinCount 10                 # values the window needs, default 10
//	  Hysteresis 0.25             # default 0.25
//	</StdDevChange>
type stdDevChangeBuilder struct {
	series       []detect.Selector
	p            detect.StdDevChangeParams
	window, base bool // set by the user
}

func newStdDevChangeBuilder() ruleBuilder {
	return &stdDevChangeBuilder{p: detect.DefaultStdDevChangeParams()}
}

func (b *stdDevChangeBuilder) option(c config.Block, rd reader) (bool, error) {
	var err error
	switch {
	case is(c, "Series"):
		err = selectors(c, &b.series)
	case is(c, "Window"):
		b.p.Window, err = rd.positiveDuration(c)
		b.window = true
	case is(c, "Baseline"):
		b.p.Baseline, err = rd.positiveDuration(c)
		b.base = true
	case is(c, "FailureFactor"):
		b.p.FailureFactor, err = stdDevFactorOption(c)
	case is(c, "WarningFactor"):
		b.p.WarningFactor, err = stdDevFactorOption(c)
	case is(c, "Direction"):
		b.p.Direction, err = changeDirectionOption(c)
	case is(c, "MinCount"):
		b.p.MinCount, err = oneInt(c, 2)
	case is(c, "Hysteresis"):
		b.p.Hysteresis, err = nonNegative(c)
	default:
		return false, nil
	}
	return true, err
}

func (b *stdDevChangeBuilder) build(spec detect.RuleSpec, rd reader) (detect.Rule, error) {
	if len(b.series) == 0 {
		return nil, fmt.Errorf("a stddev change needs Series")
	}
	if !b.window {
		b.p.Window = rd.scaled(5 * time.Minute)
	}
	if !b.base {
		b.p.Baseline = rd.scaled(time.Hour)
	}
	return detect.NewStdDevChangeRule(spec, b.series, b.p)
}

// stdDevFactorOption reads a factor above 1.
func stdDevFactorOption(c config.Block) (float64, error) {
	f, err := oneNumber(c)
	if err == nil && f <= 1 {
		err = optionError(c, "must be more than 1")
	}
	return f, err
}
