package detect

import "time"

// Lifecycle settings shared by every rule: how many verdicts it takes to
// change an alert's level, and whether a firing alert is repeated.
type Lifecycle struct {
	// Hits is the number of consecutive verdicts that must point away from
	// the current level before it changes (collectd's Hits; at least 1).
	// It applies to recovery too, so a single good interval in a bad hour does
	// not send an OKAY followed by another FAILURE.
	Hits int
	// MinDuration is how long those verdicts must span, measured from the
	// first of them (Prometheus' "for"). Zero means Hits alone decide.
	MinDuration time.Duration
	// Repeat re-sends the notification of a WARNING or FAILURE this often
	// while it lasts; zero sends it once.
	Repeat time.Duration
}

// alertState is one group's position in the lifecycle. It starts at OK
// without saying so: an OKAY is only ever sent to end a WARNING or FAILURE
// that was sent, so starting collectd sends no storm of OKAYs.
//
// Changes happen between any two levels, in one step: a rising value moves
// OK -> WARNING -> FAILURE as the verdicts say, a failure that eases goes to
// WARNING (not to OK and back), and a streak of mixed verdicts moves only as
// far as all of them agree (a streak of WARNING and FAILURE verdicts from OK
// gives WARNING).
type alertState struct {
	level       Level
	streak      int
	rising      bool
	streakLevel Level // least severe of a rising streak, most severe of a falling one
	streakStart time.Time
	notifiedAt  time.Time
}

// transition says what the alert does after one verdict.
type transition uint8

const (
	stay transition = iota
	change
	repeat
)

func (a *alertState) step(target Level, t time.Time, lc *Lifecycle) transition {
	if target == a.level {
		a.streak = 0
		if a.level != OK && lc.Repeat > 0 && t.Sub(a.notifiedAt) >= lc.Repeat {
			a.notifiedAt = t
			return repeat
		}
		return stay
	}
	rising := target > a.level
	switch {
	case a.streak == 0 || rising != a.rising:
		a.streak, a.rising, a.streakLevel, a.streakStart = 1, rising, target, t
	case rising:
		a.streak++
		a.streakLevel = min(a.streakLevel, target)
	default:
		a.streak++
		a.streakLevel = max(a.streakLevel, target)
	}
	if a.streak < max(lc.Hits, 1) || t.Sub(a.streakStart) < lc.MinDuration {
		return stay
	}
	a.level, a.streak, a.notifiedAt = a.streakLevel, 0, t
	return change
}
