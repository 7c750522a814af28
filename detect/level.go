package detect

import "math"

// Level is the state of an alert, ordered by severity.
type Level int8

// The alert levels, named as collectd names notification severities.
const (
	OK Level = iota
	Warning
	Failure
)

func (l Level) String() string {
	switch l {
	case OK:
		return "OKAY"
	case Warning:
		return "WARNING"
	case Failure:
		return "FAILURE"
	}
	return "UNKNOWN"
}

// Thresholds are the bounds of collectd's threshold plugin: a value above a
// Max or below a Min is a warning or a failure. NaN leaves a bound unset.
//
// Hysteresis keeps an alert from flapping around a bound: once a level is
// reached, its bounds move inwards by Hysteresis, so the value has to come
// back that much further before the level drops.
type Thresholds struct {
	WarningMin, WarningMax float64
	FailureMin, FailureMax float64
	Hysteresis             float64
}

// Unbounded returns Thresholds with every bound unset.
func Unbounded() Thresholds {
	nan := math.NaN()
	return Thresholds{WarningMin: nan, WarningMax: nan, FailureMin: nan, FailureMax: nan}
}

// Any reports whether at least one bound is set.
func (t Thresholds) Any() bool {
	return !math.IsNaN(t.WarningMin) || !math.IsNaN(t.WarningMax) ||
		!math.IsNaN(t.FailureMin) || !math.IsNaN(t.FailureMax)
}

// Level judges x given the level the alert is at now, and returns the bound
// that decided: for WARNING and FAILURE the configured bound x is beyond
// (a person reads "above 5%", not the 3% that hysteresis makes it while the
// alert lasts); for OK the bound x is back inside of, hysteresis included.
func (t Thresholds) Level(x float64, current Level) (Level, float64) {
	fmax, fmin, wmax, wmin := t.FailureMax, t.FailureMin, t.WarningMax, t.WarningMin
	if current == Failure {
		fmax, fmin = fmax-t.Hysteresis, fmin+t.Hysteresis
	}
	if current >= Warning {
		wmax, wmin = wmax-t.Hysteresis, wmin+t.Hysteresis
	}
	// Comparisons with an unset (NaN) bound are false, so unset bounds never fire.
	switch {
	case x > fmax:
		return Failure, t.FailureMax
	case x < fmin:
		return Failure, t.FailureMin
	case x > wmax:
		return Warning, t.WarningMax
	case x < wmin:
		return Warning, t.WarningMin
	}
	for _, b := range [...]float64{wmax, fmax, wmin, fmin} {
		if !math.IsNaN(b) {
			return OK, b
		}
	}
	return OK, math.NaN()
}

// validate checks that a raised alert can end: Hysteresis must not be
// negative, at most half the band between a level's minimum and maximum
// (else a raised WARNING stays for every value), and, for quantities that
// are never negative (shares, counts), not more than a maximum (else the
// value would have to fall below zero).
func (t Thresholds) validate(rule string, nonNegative bool) error {
	h := t.Hysteresis
	if !(h >= 0) {
		return settingError(rule, "Hysteresis", "must not be negative")
	}
	for _, b := range [...]struct {
		level    string
		min, max float64
	}{{"Warning", t.WarningMin, t.WarningMax}, {"Failure", t.FailureMin, t.FailureMax}} {
		if span := b.max - b.min; 2*h > span {
			return settingError(rule, "Hysteresis", "%s must be at most half of %sMax - %sMin (%s): a raised alert could not end",
				formatNumber(h), b.level, b.level, formatNumber(span))
		}
		if nonNegative && h > b.max {
			return settingError(rule, "Hysteresis", "%s must not exceed %sMax (%s): the value would have to fall below 0 to end an alert",
				formatNumber(h), b.level, formatNumber(b.max))
		}
	}
	return nil
}
