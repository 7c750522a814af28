package conf

import (
	"fmt"
	"time"

	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// spikeBuilder reads a <Spike> block (detect.SpikeRule documents the options
// and their defaults):
//
//	<Spike "payment-drop">
//	  Series "ecommerce/gauge-payment-provider-*"   # repeatable, summed per slot
//	  Window "30m"                # default 1m
//	  Baseline "6h"               # default 1h
//	  Direction "down"            # up (default), down, both
//	  Model "poisson"             # poisson (default) or normal
//	  Probability 1e-6            # FAILURE below this tail probability
//	  WarningProbability 1e-4     # WARNING below this one (unset by default)
//	  MinFactor 1.5               # default 1.5 (poisson), 1 (normal)
//	  MinExpected 5               # poisson rises: least expected count
//	  RecoveryFactor 1000         # recover above the bound times this
//	</Spike>
type spikeBuilder struct {
	series       []detect.Selector
	p            detect.SpikeParams
	window, base bool // set by the user
	minFactor    bool
}

func newSpikeBuilder() ruleBuilder { return &spikeBuilder{p: detect.DefaultSpikeParams()} }

func (b *spikeBuilder) option(c config.Block, rd reader) (bool, error) {
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
	case is(c, "Direction"):
		b.p.Direction, err = changeDirectionOption(c)
	case is(c, "Model"):
		var s string
		if s, err = oneString(c); err == nil {
			if b.p.Model, err = detect.ParseSpikeModel(s); err != nil {
				err = optionError(c, "%v", err)
			}
		}
	case is(c, "Probability"):
		b.p.Probability, err = spikeProbabilityOption(c)
	case is(c, "WarningProbability"):
		b.p.WarningProbability, err = spikeProbabilityOption(c)
	case is(c, "MinFactor"):
		b.p.MinFactor, err = spikeFactorOption(c)
		b.minFactor = true
	case is(c, "MinExpected"):
		b.p.MinExpected, err = nonNegative(c)
	case is(c, "RecoveryFactor"):
		b.p.RecoveryFactor, err = spikeFactorOption(c)
	default:
		return false, nil
	}
	return true, err
}

func (b *spikeBuilder) build(spec detect.RuleSpec, rd reader) (detect.Rule, error) {
	if len(b.series) == 0 {
		return nil, fmt.Errorf("a spike needs Series")
	}
	if !b.window {
		b.p.Window = rd.scaled(time.Minute)
	}
	if !b.base {
		b.p.Baseline = rd.scaled(time.Hour)
	}
	if !b.minFactor {
		b.p.MinFactor = b.p.Model.DefaultMinFactor()
	}
	return detect.NewSpikeRule(spec, b.series, b.p)
}

// changeDirectionOption reads Direction "up", "down" or "both".
func changeDirectionOption(c config.Block) (detect.Direction, error) {
	s, err := oneString(c)
	if err != nil {
		return 0, err
	}
	d, err := detect.ParseDirection(s)
	if err != nil {
		return 0, optionError(c, "%v", err)
	}
	return d, nil
}

// spikeProbabilityOption reads a number strictly between 0 and 1.
func spikeProbabilityOption(c config.Block) (float64, error) {
	f, err := oneNumber(c)
	if err == nil && !(f > 0 && f < 1) {
		err = optionError(c, "must be between 0 and 1")
	}
	return f, err
}

// spikeFactorOption reads a factor of 1 or more.
func spikeFactorOption(c config.Block) (float64, error) {
	f, err := oneNumber(c)
	if err == nil && f < 1 {
		err = optionError(c, "must be at least 1")
	}
	return f, err
}
