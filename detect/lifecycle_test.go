package detect

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// run feeds verdict levels, one per second, and returns the notified levels
// (with a '+' for repeats).
func runLifecycle(lc Lifecycle, targets ...Level) []string {
	var a alertState
	var out []string
	t0 := time.Unix(0, 0)
	for i, l := range targets {
		switch a.step(l, t0.Add(time.Duration(i)*time.Second), &lc) {
		case change:
			out = append(out, a.level.String())
		case repeat:
			out = append(out, "+"+a.level.String())
		}
	}
	return out
}

func TestLifecycleNoOkayAtStart(t *testing.T) {
	assert.Empty(t, runLifecycle(Lifecycle{Hits: 1}, OK, OK, OK))
}

func TestLifecycleOneNotificationPerChange(t *testing.T) {
	got := runLifecycle(Lifecycle{Hits: 1}, OK, Failure, Failure, Failure, OK, OK)
	assert.Equal(t, []string{"FAILURE", "OKAY"}, got)
}

func TestLifecycleHitsDelayBothWays(t *testing.T) {
	got := runLifecycle(Lifecycle{Hits: 3}, Failure, Failure, OK, Failure, Failure, Failure, OK, OK, OK)
	assert.Equal(t, []string{"FAILURE", "OKAY"}, got)
	// a streak broken before it reaches Hits changes nothing
	assert.Empty(t, runLifecycle(Lifecycle{Hits: 3}, Failure, Failure, OK, Failure, Failure, OK))
}

// The threshold plugin's users complain of wrong WARNING/FAILURE transitions;
// these are the ones we promise.
func TestLifecycleWarningFailureTransitions(t *testing.T) {
	assert.Equal(t, []string{"WARNING", "FAILURE", "WARNING", "OKAY"},
		runLifecycle(Lifecycle{Hits: 1}, Warning, Failure, Warning, OK))
	assert.Equal(t, []string{"FAILURE", "OKAY"},
		runLifecycle(Lifecycle{Hits: 1}, Failure, OK), "failure recovers straight to OKAY")
	// A rising streak mixing WARNING and FAILURE only goes as far as all agree.
	assert.Equal(t, []string{"WARNING", "FAILURE"},
		runLifecycle(Lifecycle{Hits: 2}, Failure, Warning, Failure, Failure))
	// A falling streak mixing WARNING and OK stops at WARNING.
	assert.Equal(t, []string{"FAILURE", "WARNING"},
		runLifecycle(Lifecycle{Hits: 2}, Failure, Failure, OK, Warning))
}

func TestLifecycleMinDuration(t *testing.T) {
	got := runLifecycle(Lifecycle{Hits: 1, MinDuration: 3 * time.Second}, Failure, Failure, Failure, Failure)
	assert.Equal(t, []string{"FAILURE"}, got)
	assert.Empty(t, runLifecycle(Lifecycle{Hits: 1, MinDuration: 3 * time.Second}, Failure, Failure, Failure))
}

func TestLifecycleRepeat(t *testing.T) {
	got := runLifecycle(Lifecycle{Hits: 1, Repeat: 2 * time.Second}, Failure, Failure, Failure, Failure, Failure, OK, OK, OK)
	assert.Equal(t, []string{"FAILURE", "+FAILURE", "+FAILURE", "OKAY"}, got)
}
