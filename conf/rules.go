package conf

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// ruleBuilder collects one rule kind's own options and builds the rule.
type ruleBuilder interface {
	// option reads c if it is one of the kind's options; durations are read
	// with rd, which applies TimeScale.
	option(c config.Block, rd reader) (handled bool, err error)
	build(spec detect.RuleSpec, rd reader) (detect.Rule, error)
}

// ruleKindTable is every rule kind: its block name, as the documentation
// spells it, and its builder. A new kind is a line here and a file of its
// own (rule_<kind>.go).
var ruleKindTable = []struct {
	block   string
	builder func() ruleBuilder
}{
	{"Aggregate", newAggregateBuilder},
	{"Anomaly", newAnomalyBuilder},
	{"Count", newCountBuilder},
	{"ErrorShare", newErrorShareBuilder},
	{"Fleet", newFleetBuilder},
	{"Health", newHealthBuilder},
	{"Missing", newMissingBuilder},
	{"PeriodRatio", newPeriodRatioBuilder},
	{"Ratio", newRatioBuilder},
	{"Spike", newSpikeBuilder},
	{"StdDevChange", newStdDevChangeBuilder},
}

// ruleKinds maps block names, in lower case, to their builders.
var ruleKinds = func() map[string]func() ruleBuilder {
	m := make(map[string]func() ruleBuilder, len(ruleKindTable))
	for _, k := range ruleKindTable {
		m[strings.ToLower(k.block)] = k.builder
	}
	return m
}()

// RuleKinds lists the rule blocks as the documentation spells them
// ("Spike", "Ratio", ...).
func RuleKinds() []string {
	names := make([]string, len(ruleKindTable))
	for i, k := range ruleKindTable {
		names[i] = k.block
	}
	return names
}

func ruleKindList() string {
	names := RuleKinds()
	for i, n := range names {
		names[i] = "<" + n + ">"
	}
	return strings.Join(names, ", ")
}

// reader reads the durations of rules, divided by the plugin's TimeScale.
type reader struct{ timeScale float64 }

func (rd reader) duration(c config.Block) (time.Duration, error) {
	d, err := duration(c)
	return time.Duration(float64(d) / rd.timeScale), err
}

func (rd reader) positiveDuration(c config.Block) (time.Duration, error) {
	d, err := positiveDuration(c)
	if err == nil && float64(d)/rd.timeScale < 1 {
		return 0, optionError(c, "is less than a nanosecond after TimeScale")
	}
	return time.Duration(float64(d) / rd.timeScale), err
}

// scaled applies TimeScale to a default duration.
func (rd reader) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) / rd.timeScale)
}

func parseRule(b config.Block, newBuilder func() ruleBuilder, rd reader) (detect.Rule, error) {
	name, err := blockName(b)
	if err != nil {
		return nil, err
	}
	spec := detect.RuleSpec{Name: name, Lifecycle: detect.Lifecycle{Hits: 1}}
	rb := newBuilder()
	for i, c := range b.Children {
		handled, err := commonOption(&spec, c, rd)
		if !handled && err == nil {
			handled, err = rb.option(c, rd)
		}
		if err != nil {
			return nil, inChild(b, i, err)
		}
		if !handled {
			return nil, inChild(b, i, fmt.Errorf("unknown option %q", c.Key))
		}
	}
	spec.Fingerprint = fingerprint(b, rd.timeScale)
	r, err := rb.build(spec, rd)
	if err != nil {
		return nil, inBlock(b, err)
	}
	return r, nil
}

// wordingOnly are the options that change what a rule says, not what it
// judges: a state file outlives a new Message.
var wordingOnly = map[string]bool{"message": true, "runbook": true}

// fingerprint identifies what a rule judges for the state file: its kind,
// name and options as collectd read them (not their layout or comments),
// and the TimeScale that divides its durations.
func fingerprint(b config.Block, timeScale float64) string {
	var text strings.Builder
	fmt.Fprintf(&text, "TimeScale %g\n", timeScale)
	var write func(b config.Block, depth int)
	write = func(b config.Block, depth int) {
		fmt.Fprintf(&text, "%d %s %s\n", depth, strings.ToLower(b.Key), valuesText(b.Values))
		for _, c := range b.Children {
			if depth > 0 || !wordingOnly[strings.ToLower(c.Key)] {
				write(c, depth+1)
			}
		}
	}
	write(b, 0)
	sum := sha256.Sum256([]byte(text.String()))
	return hex.EncodeToString(sum[:8])
}

// commonOption reads the options every rule has.
func commonOption(spec *detect.RuleSpec, c config.Block, rd reader) (bool, error) {
	var err error
	switch {
	case is(c, "Host"):
		var s string
		if s, err = oneString(c); err == nil {
			if spec.Hosts, err = detect.ParseHostMatcher(s); err != nil {
				err = optionError(c, "%v", err)
			}
		}
	case is(c, "AggregateHosts"):
		spec.AggregateHosts, err = oneBool(c)
	case is(c, "PerSeries"):
		spec.PerSeries, err = oneBool(c)
	case is(c, "DataSource"):
		spec.DataSource, err = oneString(c)
	case is(c, "Resolution"):
		spec.Resolution, err = rd.positiveDuration(c)
	case is(c, "Hits"):
		spec.Lifecycle.Hits, err = oneInt(c, 1)
	case is(c, "MinDuration"):
		spec.Lifecycle.MinDuration, err = rd.duration(c)
	case is(c, "Repeat"):
		spec.Lifecycle.Repeat, err = rd.duration(c)
	case is(c, "Message"):
		var s string
		if s, err = oneString(c); err == nil {
			if spec.Message, err = detect.ParseMessageTemplate(s); err != nil {
				err = optionError(c, "%v", err)
			}
		}
	case is(c, "Runbook"):
		spec.Runbook, err = oneString(c)
	default:
		return false, nil
	}
	return true, err
}

// selectors reads a repeatable series option (each value one selector).
func selectors(c config.Block, into *[]detect.Selector) error {
	if err := noChildren(c); err != nil {
		return err
	}
	if len(c.Values) == 0 {
		return optionError(c, "want one or more series in quotes")
	}
	for _, v := range c.Values {
		if !v.IsString() {
			return optionError(c, "want series in quotes")
		}
		sel, err := detect.ParseSelector(v.String())
		if err != nil {
			return optionError(c, "%v", err)
		}
		*into = append(*into, sel)
	}
	return nil
}

// thresholdOption reads collectd's threshold options into th.
func thresholdOption(th *detect.Thresholds, c config.Block) (bool, error) {
	var target *float64
	switch {
	case is(c, "WarningMin"):
		target = &th.WarningMin
	case is(c, "WarningMax"):
		target = &th.WarningMax
	case is(c, "FailureMin"):
		target = &th.FailureMin
	case is(c, "FailureMax"):
		target = &th.FailureMax
	case is(c, "Hysteresis"):
		target = &th.Hysteresis
	default:
		return false, nil
	}
	f, err := oneNumber(c)
	if err == nil {
		*target = f
		if is(c, "Hysteresis") && f < 0 {
			err = optionError(c, "must not be negative")
		}
	}
	return true, err
}

// tailBoundsOption reads the options of rules judged by a tail probability
// (detect.TailBounds): Probability, WarningProbability, RecoveryFactor.
func tailBoundsOption(tb *detect.TailBounds, c config.Block) (bool, error) {
	var err error
	switch {
	case is(c, "Probability"):
		tb.Probability, err = probabilityOption(c)
	case is(c, "WarningProbability"):
		tb.WarningProbability, err = probabilityOption(c)
	case is(c, "RecoveryFactor"):
		tb.RecoveryFactor, err = factorOption(c)
	default:
		return false, nil
	}
	return true, err
}

// probabilityOption reads a number strictly between 0 and 1.
func probabilityOption(c config.Block) (float64, error) {
	f, err := oneNumber(c)
	if err == nil && !(f > 0 && f < 1) {
		err = optionError(c, "must be between 0 and 1")
	}
	return f, err
}

// factorOption reads a factor of 1 or more.
func factorOption(c config.Block) (float64, error) {
	f, err := oneNumber(c)
	if err == nil && f < 1 {
		err = optionError(c, "must be at least 1")
	}
	return f, err
}

// factorAboveOneOption reads a factor that must exceed 1 (a bound relative
// to something usual: StdDevChange's, Count's).
func factorAboveOneOption(c config.Block) (float64, error) {
	f, err := oneNumber(c)
	if err == nil && f <= 1 {
		err = optionError(c, "must be more than 1")
	}
	return f, err
}

// baselineOptions are the options of the rules that judge a recent window
// against the baseline before it (<Spike>, <StdDevChange>): Series, Window,
// Baseline and Direction. Zero durations take the rule's defaults, scaled.
type baselineOptions struct {
	series           []detect.Selector
	window, baseline time.Duration
	direction        detect.Direction
	season           time.Duration
}

func (o *baselineOptions) option(c config.Block, rd reader) (bool, error) {
	var err error
	switch {
	case is(c, "Series"):
		err = selectors(c, &o.series)
	case is(c, "Window"):
		o.window, err = rd.positiveDuration(c)
	case is(c, "Baseline"):
		o.baseline, err = rd.positiveDuration(c)
	case is(c, "Direction"):
		o.direction, err = directionOption(c)
	case is(c, "Season"):
		o.season, err = rd.duration(c)
	default:
		return false, nil
	}
	return true, err
}

// directionOption reads Direction: "up", "down" or "both".
func directionOption(c config.Block) (detect.Direction, error) {
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

// resolve checks the series and fills in the default durations.
func (o *baselineOptions) resolve(rd reader, kind string, window, baseline time.Duration) error {
	if len(o.series) == 0 {
		return fmt.Errorf("a %s needs Series", kind)
	}
	if o.window == 0 {
		o.window = rd.scaled(window)
	}
	if o.baseline == 0 {
		o.baseline = rd.scaled(baseline)
	}
	return nil
}
