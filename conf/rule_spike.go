package conf

import (
	"time"

	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// spikeBuilder reads a <Spike> block (detect.SpikeRule documents the options
// and their defaults):
//
//	<Spike "payment-drop">
//	  Series "ecommerce/gauge-payment-provider-*"   # repeatable, summed per slot (averaged: Model normal)
//	  Window "30m"                # default 1m
//	  Baseline "6h"               # default 1h
//	  Direction "down"            # up (default), down, both
//	  Model "poisson"             # poisson (default) or normal
//	  Probability 1e-6            # FAILURE below this tail probability
//	  WarningProbability 1e-4     # WARNING below this one (unset by default)
//	  MinFactor 1.5               # default 1.5 (poisson), 1 (normal)
//	  MinExpected 5               # poisson rises: least expected count
//	  Reference "ecommerce/gauge-new-sessions"  # poisson: counts that follow these
//	  OverDispersion true         # poisson: judge with the baseline's measured dispersion (default)
//	  RecoveryFactor 1000         # recover above the bound times this
//	  Season "1d"                 # a seasonal baseline: 1d or 1w (none by default)
//	</Spike>
type spikeBuilder struct {
	baselineOptions
	p         detect.SpikeParams
	minFactor bool // set by the user: else the model's default
}

func newSpikeBuilder() ruleBuilder {
	p := detect.DefaultSpikeParams()
	return &spikeBuilder{p: p, baselineOptions: baselineOptions{direction: p.Direction}}
}

func (b *spikeBuilder) option(c config.Block, rd reader) (bool, error) {
	if ok, err := b.baselineOptions.option(c, rd); ok {
		return true, err
	}
	if ok, err := tailBoundsOption(&b.p.TailBounds, c); ok {
		return true, err
	}
	var err error
	switch {
	case is(c, "Model"):
		var s string
		if s, err = oneString(c); err == nil {
			if b.p.Model, err = detect.ParseSpikeModel(s); err != nil {
				err = optionError(c, "%v", err)
			}
		}
	case is(c, "MinFactor"):
		b.p.MinFactor, err = factorOption(c)
		b.minFactor = true
	case is(c, "MinExpected"):
		b.p.MinExpected, err = nonNegative(c)
	case is(c, "Reference"):
		err = selectors(c, &b.p.Reference)
	case is(c, "OverDispersion"):
		b.p.OverDispersion, err = oneBool(c)
	default:
		return false, nil
	}
	return true, err
}

func (b *spikeBuilder) build(spec detect.RuleSpec, rd reader) (detect.Rule, error) {
	if err := b.resolve(rd, "spike", time.Minute, time.Hour); err != nil {
		return nil, err
	}
	b.p.Window, b.p.Baseline, b.p.Direction, b.p.Season = b.window, b.baseline, b.direction, b.season
	if !b.minFactor {
		b.p.MinFactor = b.p.Model.DefaultMinFactor()
	}
	return detect.NewSpikeRule(spec, b.series, b.p)
}
