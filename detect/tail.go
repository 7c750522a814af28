package detect

import (
	"math"
)

// TailBounds are the bounds of the rules that judge by a tail probability -
// how likely the window is under the normal model (spike, errorshare).
type TailBounds struct {
	// Probability: a tail below it is a FAILURE.
	Probability float64
	// WarningProbability: a tail below it is a WARNING; 0 or NaN leaves it unset.
	WarningProbability float64
	// RecoveryFactor: a raised alert recovers when the tail is back above its
	// bound times RecoveryFactor (at most 0.5), so that a tail hovering at
	// the bound cannot make the alert flap.
	RecoveryFactor float64
}

func (b *TailBounds) warningSet() bool {
	return !math.IsNaN(b.WarningProbability) && b.WarningProbability != 0
}

// loosest is the largest probability that can raise an alert.
func (b *TailBounds) loosest() float64 {
	if b.warningSet() {
		return b.WarningProbability
	}
	return b.Probability
}

// recovery is the bound a raised alert must come back above.
func (b *TailBounds) recovery(bound float64) float64 {
	return max(bound, min(bound*b.RecoveryFactor, 0.5))
}

func (b *TailBounds) validate(rule string) error {
	between := func(x float64) bool { return x > 0 && x < 1 } // false for NaN
	switch {
	case !between(b.Probability):
		return settingError(rule, "Probability", "must be between 0 and 1")
	case b.warningSet() && (!between(b.WarningProbability) || b.WarningProbability <= b.Probability):
		return settingError(rule, "WarningProbability", "must be between Probability and 1")
	case math.IsNaN(b.RecoveryFactor) || b.RecoveryFactor < 1:
		return settingError(rule, "RecoveryFactor", "must be at least 1")
	}
	return nil
}

// bounds are the FAILURE and WARNING bounds (NaN when no warning is set)
// for an alert at current: once a level is reached, its bound is relaxed by
// RecoveryFactor.
func (b *TailBounds) bounds(current Level) (fail, warn float64) {
	fail, warn = b.Probability, math.NaN()
	if b.warningSet() {
		warn = b.WarningProbability
	}
	if current == Failure {
		fail = b.recovery(fail)
	}
	if current >= Warning {
		warn = b.recovery(warn) // NaN stays NaN
	}
	return fail, warn
}

// judge is the level of a tail p for an alert at current (the bounds
// relaxed by RecoveryFactor once raised), and the bound a message names:
// the one crossed, else the one p is back above.
func (b *TailBounds) judge(p float64, current Level) (Level, float64) {
	fail, warn := b.bounds(current)
	switch {
	case p < fail:
		return Failure, fail
	case p < warn: // false when unset
		return Warning, warn
	case !math.IsNaN(warn):
		return OK, warn
	}
	return OK, fail
}
