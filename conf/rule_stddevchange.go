package conf

import (
	"time"

	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// stdDevChangeBuilder reads a <StdDevChange> block (detect.StdDevChangeRule
// documents the options and their defaults):
//
//	<StdDevChange "web-latency-spread">
//	  Series "ecommerce/gauge-page-latency-mean"   # repeatable, averaged per slot
//	  Window "5m"                 # default 5m
//	  Baseline "1h"               # default 1h
//	  FailureFactor 2             # default 2
//	  WarningFactor 1.5           # unset by default
//	  Direction "up"              # up (default), down, both
//	  MinCount 10                 # values the window needs, default 10
//	  Hysteresis 0.25             # default 0.25
//	  Season "1d"                 # a seasonal baseline: 1d or 1w (none by default)
//	</StdDevChange>
type stdDevChangeBuilder struct {
	baselineOptions
	p detect.StdDevChangeParams
}

func newStdDevChangeBuilder() ruleBuilder {
	p := detect.DefaultStdDevChangeParams()
	return &stdDevChangeBuilder{p: p, baselineOptions: baselineOptions{direction: p.Direction}}
}

func (b *stdDevChangeBuilder) option(c config.Block, rd reader) (bool, error) {
	if ok, err := b.baselineOptions.option(c, rd); ok {
		return true, err
	}
	var err error
	switch {
	case is(c, "FailureFactor"):
		b.p.FailureFactor, err = factorAboveOneOption(c)
	case is(c, "WarningFactor"):
		b.p.WarningFactor, err = factorAboveOneOption(c)
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
	if err := b.resolve(rd, "stddev change", 5*time.Minute, time.Hour); err != nil {
		return nil, err
	}
	b.p.Window, b.p.Baseline, b.p.Direction, b.p.Season = b.window, b.baseline, b.direction, b.season
	return detect.NewStdDevChangeRule(spec, b.series, b.p)
}
