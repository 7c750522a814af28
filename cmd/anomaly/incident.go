package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/simulate"
)

const incidentHelp = `an incident of the simulated shop (repeatable): comma-separated key=value
pairs: name=NAME, start=D (replay only: from the start of the run),
duration=D, silence (no values at all: the shop is down), expect=RULE or
expect=RULE[GROUP] (eval only, repeatable: the rules meant to catch it), and
the model's parameters to change, e.g. PageError500=0.03,
PageLatencyMean=400, TrafficMultiplier=3, PaymentRate=0, or a provider's
as a.ProviderError=0.05 (Weight, UserError, ProviderError, Fraud).
Durations: 90s, 30m, 6h, 2d.`

// incidentSpec is an incident given on the command line.
type incidentSpec struct {
	name            string
	start, duration time.Duration
	hasStart        bool
	silence         bool
	changes         []simulate.Change
	expect          []string
}

// parseIncident reads "name=x,start=12h,duration=30m,PageError500=0.03".
func parseIncident(s string) (incidentSpec, error) {
	var in incidentSpec
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		key, value, hasValue := strings.Cut(part, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		var err error
		switch strings.ToLower(key) {
		case "name":
			in.name = value
		case "start":
			in.start, err = parseDuration(value)
			in.hasStart = true
		case "duration", "for":
			in.duration, err = parseDuration(value)
		case "silence":
			in.silence = !hasValue || value == "true" || value == "1"
		case "expect":
			in.expect = append(in.expect, value)
		default:
			if !hasValue {
				return in, fmt.Errorf("incident %q: %q wants a value, as %s=...", s, key, key)
			}
			f, perr := strconv.ParseFloat(value, 64)
			if perr != nil {
				return in, fmt.Errorf("incident %q: %s=%s: not a number", s, key, value)
			}
			c := simulate.Change{Param: key, Value: f}
			if provider, param, ok := strings.Cut(key, "."); ok {
				c = simulate.Change{Provider: provider, Param: param, Value: f}
			}
			err = c.Check()
			in.changes = append(in.changes, c)
		}
		if err != nil {
			return in, fmt.Errorf("incident %q: %v", s, err)
		}
	}
	switch {
	case in.duration <= 0:
		return in, fmt.Errorf("incident %q: want duration=D (30m, 2h...)", s)
	case !in.silence && len(in.changes) == 0:
		return in, fmt.Errorf("incident %q: change at least one parameter (PageError500=0.03...), or say silence", s)
	}
	if in.name == "" {
		in.name = defaultIncidentName(in)
	}
	return in, nil
}

func defaultIncidentName(in incidentSpec) string {
	if in.silence {
		return "silence"
	}
	c := in.changes[0]
	name := c.Param + "=" + strconv.FormatFloat(c.Value, 'g', -1, 64)
	if c.Provider != "" {
		name = c.Provider + "." + name
	}
	return name
}

// parseDuration reads a duration as the configuration does (conf.ParseDuration).
func parseDuration(s string) (time.Duration, error) { return conf.ParseDuration(s) }

// durationFlag is a flag.Value for parseDuration.
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil || *f.d == 0 {
		return ""
	}
	return f.d.String()
}

func (f durationFlag) Set(s string) error {
	d, err := parseDuration(s)
	if err == nil && d < 0 {
		err = fmt.Errorf("duration %q must not be negative", s)
	}
	if err == nil {
		*f.d = d
	}
	return err
}

// parseTime reads RFC 3339 or a date in UTC.
func parseTime(s string) (time.Time, error) {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 (2026-01-05T00:00:00Z) or a date (2026-01-05)", s)
}
