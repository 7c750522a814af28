package detect

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMovingWindowSlides(t *testing.T) {
	w := NewMovingWindow(3)
	assert.False(t, w.Full())
	w.Add(10, 1)
	w.Add(11, 2)
	assert.False(t, w.Full(), "two of three slots")
	w.Add(12, 3)
	assert.True(t, w.Full())
	assert.Equal(t, 6.0, w.Total().Sum)
	w.Add(13, 4) // slot 10 leaves
	assert.Equal(t, 9.0, w.Total().Sum)
	assert.Equal(t, 3.0, w.Total().N)
	assert.False(t, w.Add(10, 100), "a slot that left the window is refused")
	assert.True(t, w.Add(11, 5), "a late value inside the window is kept")
	assert.Equal(t, 14.0, w.Total().Sum)
}

func TestMovingWindowGapEmptiesIt(t *testing.T) {
	w := NewMovingWindow(4)
	for s := int64(0); s < 4; s++ {
		w.Add(s, 1)
	}
	w.Advance(6)
	assert.Equal(t, 1.0, w.Total().Sum, "only slot 3 is within 3..6")
	w.Advance(100)
	assert.Equal(t, 0.0, w.Total().Sum)
	assert.Equal(t, 0.0, w.Total().N)
	assert.True(t, w.Full())
}

// A jump across most of int64's range (a hostile or corrupt time: slots
// come from value times) overflows the distance between buckets; it must
// empty the window, not index the ring with a negative step.
func TestMovingWindowSurvivesAJumpAcrossInt64(t *testing.T) {
	for _, slots := range []int{4, 3 * maxBuckets} { // one slot a bucket, and several
		w := NewMovingWindow(slots)
		w.Add(math.MinInt64+1000, 1)
		require.NotPanics(t, func() { w.Add(math.MaxInt64, 2) }, "%d slots", slots)
		assert.Equal(t, 2.0, w.Total().Sum, "%d slots: only the new value is within", slots)
		assert.True(t, w.Add(math.MaxInt64-1, 3), "%d slots: a slot just before the newest is inside", slots)
	}
}

func TestMovingWindowFeedsItsBaseline(t *testing.T) {
	base := NewMovingWindow(5)
	w := NewMovingWindow(2)
	w.OnExpire(func(slot int64, s *Summary) { base.Merge(slot, s) })
	for s := int64(0); s < 10; s++ {
		w.Add(s, float64(s))
	}
	// w holds slots 8, 9; base the five before: 3..7
	assert.Equal(t, 17.0, w.Total().Sum)
	assert.Equal(t, 3.0+4+5+6+7, base.Total().Sum)
	assert.Equal(t, int64(7), base.Newest())
}

// Rebuilding the total when the ring turns must agree with the running total;
// a long run with awkward values checks that the drift stays negligible.
func TestMovingWindowTotalDoesNotDrift(t *testing.T) {
	w := NewMovingWindow(7)
	for s := int64(0); s < 100_000; s++ {
		w.Add(s, 0.1+float64(s%13)*1e7)
	}
	var exact Summary
	for s := int64(100_000 - 7); s < 100_000; s++ {
		exact.Add(0.1 + float64(s%13)*1e7)
	}
	require.Equal(t, exact.N, w.Total().N)
	assert.InEpsilon(t, exact.Sum, w.Total().Sum, 1e-12)
	assert.InEpsilon(t, exact.StdDev(), w.Total().StdDev(), 1e-9)
}

// A long window keeps its slots in at most maxBuckets buckets: an hour of
// 10 s slots in 60 of a minute. The sums stay exact; the far edge moves by
// whole buckets, so the window covers between 355 and 360 slots.
func TestMovingWindowBucketsLongWindows(t *testing.T) {
	w := NewMovingWindow(360)
	require.Len(t, w.buckets, 60)
	assert.Equal(t, int64(6), w.SlotsPerBucket())
	assert.Equal(t, 360, w.Len())
	for s := int64(0); s < 1000; s++ {
		w.Add(s, 1)
		if s >= 359 {
			n := w.Total().N
			assert.True(t, n >= 355 && n <= 360, "slot %d: %v values in the window", s, n)
		}
	}
	var leaving []int64
	w.OnExpire(func(slot int64, s *Summary) {
		leaving = append(leaving, slot)
		assert.Equal(t, 6.0, s.N, "a whole bucket leaves")
	})
	w.Add(1002, 1) // slot 1002 opens bucket 167: bucket 107 (slots 642..647) leaves
	assert.Equal(t, []int64{647}, leaving)
	assert.True(t, w.Full())
}

// The sum pair's totals are the sums of its last Len slots, exactly enough
// whatever enters: gaps, slots older than the window, and hostile values
// (1e300 among counts) that would take the other sums' digits with them.
func TestSumPairTotalsAreTheWindowsSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 0))
	for _, slots := range []int{1, 7, 60, 360} {
		p := newSumPair(time.Duration(slots)*10*time.Second, SlotClock{Step: 10 * time.Second})
		type add struct {
			slot  int64
			input int
			v     float64
		}
		var adds []add
		slot := int64(0)
		for range 5000 {
			slot += int64(rng.IntN(3)) // some slots get several values, some none
			if rng.IntN(50) == 0 {
				slot += int64(rng.IntN(2 * slots)) // a gap
			}
			s := slot - int64(rng.IntN(3)) // now and then an older slot
			v := float64(rng.IntN(100))
			if rng.IntN(500) == 0 {
				v = 1e300
			}
			in := rng.IntN(2)
			p.Add(in, s, v)
			adds = append(adds, add{s, in, v})
			part, whole, _ := p.sumsAt(slot)
			// What the window holds: the slots of the buckets not older
			// than Len slots before the newest (whole buckets).
			var wantPart, wantWhole float64
			for _, a := range adds {
				if p.holds(a.slot) && a.slot <= p.newest {
					if a.input == 0 {
						wantPart += a.v
					} else {
						wantWhole += a.v
					}
				}
			}
			require.InDelta(t, wantPart, part, 1e-6*max(1, wantPart), "slots %d", slots)
			require.InDelta(t, wantWhole, whole, 1e-6*max(1, wantWhole), "slots %d", slots)
		}
	}
}
