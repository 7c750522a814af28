package conf

import (
	"fmt"

	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// errorShareBuilder reads <ErrorShare "name">: Errors and Total (repeatable
// series), Window (default 6 hours), ExpectedShare (0.001), Probability
// (1e-6), WarningProbability (unset), MinErrors (3) and RecoveryFactor
// (1000); see detect.ErrorShareRule for what they mean and why.
type errorShareBuilder struct {
	errs, total []detect.Selector
	p           detect.ErrorShareParams
}

func newErrorShareBuilder() ruleBuilder {
	b := &errorShareBuilder{p: detect.DefaultErrorShareParams()}
	b.p.Window = 0 // the default is scaled in build
	return b
}

func (b *errorShareBuilder) option(c config.Block, rd reader) (bool, error) {
	if ok, err := tailBoundsOption(&b.p.TailBounds, c); ok {
		return true, err
	}
	var err error
	switch {
	case is(c, "Errors"):
		err = selectors(c, &b.errs)
	case is(c, "Total"):
		err = selectors(c, &b.total)
	case is(c, "Window"):
		b.p.Window, err = rd.positiveDuration(c)
	case is(c, "ExpectedShare"):
		b.p.ExpectedShare, err = probabilityOption(c)
	case is(c, "MinErrors"):
		b.p.MinErrors, err = oneInt(c, 0)
	default:
		return false, nil
	}
	return true, err
}

func (b *errorShareBuilder) build(spec detect.RuleSpec, rd reader) (detect.Rule, error) {
	if len(b.errs) == 0 || len(b.total) == 0 {
		return nil, fmt.Errorf("an error share needs Errors and Total series")
	}
	if b.p.Window == 0 {
		b.p.Window = rd.scaled(detect.DefaultErrorShareParams().Window)
	}
	return detect.NewErrorShareRule(spec, b.errs, b.total, b.p)
}
