package conf

import (
	"fmt"
	"strings"

	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// fleetBuilder reads <Fleet "name">: Rule (the edges' rule whose states it
// counts, required), WarningHosts/FailureHosts (at least N hosts),
// WarningShare/FailureShare (at least this share of the hosts reporting),
// MinHosts (hosts that must report for a share to be judged, default 1),
// MinSeverity ("warning", the default, or "failure") and Expire (how long a
// host's last state counts, default 3 intervals).
type fleetBuilder struct {
	rule string
	f    detect.FleetRule
}

func newFleetBuilder() ruleBuilder { return &fleetBuilder{} }

func (fb *fleetBuilder) option(c config.Block, rd reader) (bool, error) {
	var err error
	switch {
	case is(c, "Rule"):
		if fb.rule, err = oneString(c); err == nil && fb.rule == "" {
			err = optionError(c, "must not be empty")
		}
	case is(c, "WarningHosts"):
		fb.f.WarningHosts, err = oneInt(c, 1)
	case is(c, "FailureHosts"):
		fb.f.FailureHosts, err = oneInt(c, 1)
	case is(c, "WarningShare"):
		fb.f.WarningShare, err = shareOption(c)
	case is(c, "FailureShare"):
		fb.f.FailureShare, err = shareOption(c)
	case is(c, "MinHosts"):
		fb.f.MinHosts, err = oneInt(c, 1)
	case is(c, "MinSeverity"):
		var s string
		if s, err = oneString(c); err == nil {
			switch strings.ToLower(s) {
			case "warning":
				fb.f.MinSeverity = detect.Warning
			case "failure":
				fb.f.MinSeverity = detect.Failure
			default:
				err = optionError(c, `want "warning" or "failure"`)
			}
		}
	case is(c, "Expire"):
		fb.f.Expire, err = rd.positiveDuration(c)
	default:
		return false, nil
	}
	return true, err
}

// shareOption reads a share above 0 and at most 1.
func shareOption(c config.Block) (float64, error) {
	f, err := oneNumber(c)
	if err == nil && !(f > 0 && f <= 1) {
		err = optionError(c, "must be above 0 and at most 1 (a share: 0.5 is half the hosts)")
	}
	return f, err
}

func (fb *fleetBuilder) build(spec detect.RuleSpec, _ reader) (detect.Rule, error) {
	if fb.rule == "" {
		return nil, fmt.Errorf("a fleet rule needs Rule: the name of the rule whose states it counts")
	}
	if spec.PerSeries {
		return nil, fmt.Errorf("a fleet rule counts hosts: PerSeries does not apply")
	}
	return detect.NewFleetRule(spec, fb.rule, fb.f)
}
