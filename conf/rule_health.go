package conf

import (
	"fmt"
	"time"

	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// healthBuilder reads <Health>: the exercise's health function (web task 6).
// Defaults: a 5-minute period (the exercise's), latency warn/error at 300/500
// ms (two and three times the model's 150 ms mean; a 5-minute mean of 30
// draws with a 50 ms spread moves by about 9 ms), error share warn/error at
// 2%/5% (the model's normal share is under 1%).
type healthBuilder struct {
	latency, errors, requests []detect.Selector
	period                    time.Duration
	latWarn, latFail          float64
	errWarn, errFail          float64
	minRequests               float64
	output                    string
}

func newHealthBuilder() ruleBuilder {
	return &healthBuilder{latWarn: 300, latFail: 500, errWarn: 0.02, errFail: 0.05, minRequests: 100}
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
		hb.period, err = rd.positiveDuration(c)
	case is(c, "LatencyWarning"):
		hb.latWarn, err = nonNegative(c)
	case is(c, "LatencyFailure"):
		hb.latFail, err = nonNegative(c)
	case is(c, "ErrorWarning"):
		hb.errWarn, err = nonNegative(c)
	case is(c, "ErrorFailure"):
		hb.errFail, err = nonNegative(c)
	case is(c, "MinRequests"):
		hb.minRequests, err = nonNegative(c)
	case is(c, "Output"):
		hb.output, err = oneString(c)
	default:
		return false, nil
	}
	return true, err
}

func (hb *healthBuilder) build(spec detect.RuleSpec, rd reader) (detect.Rule, error) {
	if len(hb.latency) == 0 || len(hb.errors) == 0 || len(hb.requests) == 0 {
		return nil, fmt.Errorf("a health rule needs Latency, Errors and Requests series")
	}
	if hb.period == 0 {
		hb.period = rd.scaled(5 * time.Minute)
	}
	return detect.NewHealthRule(spec, hb.latency, hb.errors, hb.requests, hb.period,
		hb.latWarn, hb.latFail, hb.errWarn, hb.errFail, hb.minRequests, hb.output)
}
