package conf

import (
	"fmt"

	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// healthBuilder reads <Health>: the exercise's health function (web task
// 6); detect.DefaultHealthParams has the defaults and their reasons.
type healthBuilder struct {
	latency, errors, requests []detect.Selector
	p                         detect.HealthParams
}

func newHealthBuilder() ruleBuilder {
	p := detect.DefaultHealthParams()
	p.Period = 0 // the default is scaled by TimeScale in build
	return &healthBuilder{p: p}
}

func (hb *healthBuilder) option(c config.Block, rd reader) (bool, error) {
	var err error
	switch {
	case is(c, "Latency"):
		err = selectors(c, &hb.latency)
	case is(c, "Errors"):
		err = selectors(c, &hb.errors)
	case is(c, "Requests"):
		err = selectors(c, &hb.requests)
	case is(c, "Period"):
		hb.p.Period, err = rd.positiveDuration(c)
	case is(c, "LatencyWarning"):
		hb.p.LatencyWarning, err = nonNegative(c)
	case is(c, "LatencyFailure"):
		hb.p.LatencyFailure, err = nonNegative(c)
	case is(c, "ErrorWarning"):
		hb.p.ErrorWarning, err = nonNegative(c)
	case is(c, "ErrorFailure"):
		hb.p.ErrorFailure, err = nonNegative(c)
	case is(c, "MinRequests"):
		hb.p.MinRequests, err = nonNegative(c)
	case is(c, "Output"):
		hb.p.Output, err = oneString(c)
	case is(c, "LatencyUnit"):
		if hb.p.LatencyUnit, err = oneString(c); err == nil && hb.p.LatencyUnit == "" {
			err = optionError(c, "must not be empty")
		}
	default:
		return false, nil
	}
	return true, err
}

func (hb *healthBuilder) build(spec detect.RuleSpec, rd reader) (detect.Rule, error) {
	if len(hb.latency) == 0 || len(hb.errors) == 0 || len(hb.requests) == 0 {
		return nil, fmt.Errorf("a health rule needs Latency, Errors and Requests series")
	}
	if hb.p.Period == 0 {
		hb.p.Period = rd.scaled(detect.DefaultHealthParams().Period)
	}
	return detect.NewHealthRule(spec, hb.latency, hb.errors, hb.requests, hb.p)
}
