package conf

import (
	"fmt"

	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// anomalyBuilder reads an <Anomaly> block (detect.AnomalyRule documents the
// model, the options and their defaults):
//
//	<Anomaly "cpu">
//	  Series "cpu-*/cpu-user"     # repeatable; one state per series
//	  Direction "both"            # both (default), up, down
//	  Probability 1.0e-05         # FAILURE below this tail probability
//	  WarningProbability 0.0001   # WARNING below this one (unset by default)
//	  RecoveryFactor 100          # recover above the bound times this
//	  RecoverAfter 3              # values in a row that end an alert
//	  Memory 20                   # values the level remembers
//	  Season "1d"                 # period of the seasonal profile, 0 for none, up to 1w
//	  WarmUp 50                   # values learnt before any is judged
//	  NewNormalAfter 24           # anomalous values that make a change the new normal
//	  FlatAfter 10                # shortest flat line judged, 0 for off
//	  Scores true                 # dispatch each value's score as a derived series
//	</Anomaly>
type anomalyBuilder struct {
	series []detect.Selector
	p      detect.AnomalyParams
}

func newAnomalyBuilder() ruleBuilder {
	return &anomalyBuilder{p: detect.DefaultAnomalyParams()}
}

func (b *anomalyBuilder) option(c config.Block, rd reader) (bool, error) {
	if ok, err := tailBoundsOption(&b.p.TailBounds, c); ok {
		return true, err
	}
	var err error
	switch {
	case is(c, "Series"):
		err = selectors(c, &b.series)
	case is(c, "Direction"):
		b.p.Direction, err = directionOption(c)
	case is(c, "Memory"):
		b.p.Memory, err = oneInt(c, 2)
	case is(c, "Season"):
		b.p.Season, err = rd.duration(c)
	case is(c, "WarmUp"):
		b.p.WarmUp, err = oneInt(c, 2)
	case is(c, "NewNormalAfter"):
		b.p.NewNormalAfter, err = oneInt(c, 1)
	case is(c, "FlatAfter"):
		b.p.FlatAfter, err = oneInt(c, 0)
		if err == nil && b.p.FlatAfter == 1 {
			err = optionError(c, "must be 0 (off) or at least 2")
		}
	case is(c, "RecoverAfter"):
		b.p.RecoverAfter, err = oneInt(c, 1)
	case is(c, "Scores"):
		b.p.Scores, err = oneBool(c)
	default:
		return false, nil
	}
	return true, err
}

func (b *anomalyBuilder) build(spec detect.RuleSpec, _ reader) (detect.Rule, error) {
	if len(b.series) == 0 {
		return nil, fmt.Errorf("an anomaly rule needs Series")
	}
	return detect.NewAnomalyRule(spec, b.series, b.p)
}
