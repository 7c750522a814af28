package detect

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSummaryMeanAndStdDev(t *testing.T) {
	var s Summary
	for _, x := range []float64{2, 4, 4, 4, 5, 5, 7, 9} {
		s.Add(x)
	}
	assert.Equal(t, 8.0, s.N)
	assert.InDelta(t, 5.0, s.Mean(), 1e-12)
	// sample variance of the classic example is 32/7
	assert.InDelta(t, math.Sqrt(32.0/7), s.StdDev(), 1e-12)
}

func TestSummaryEmptyAndSingle(t *testing.T) {
	var s Summary
	assert.True(t, math.IsNaN(s.Mean()))
	assert.True(t, math.IsNaN(s.StdDev()))
	s.Add(3)
	assert.Equal(t, 3.0, s.Mean())
	assert.True(t, math.IsNaN(s.StdDev()), "one value has no sample stddev")
}

// The naive sum-of-squares formula returns garbage (often a negative variance)
// for values around 1e9 that differ by a few units; the shifted sums must not.
func TestSummaryIsNumericallyStable(t *testing.T) {
	var s Summary
	var small []float64
	for i := 0; i < 1000; i++ {
		s.Add(1e9 + float64(i%3)) // values 1e9, 1e9+1, 1e9+2
		small = append(small, float64(i%3))
	}
	// Reference: two-pass moments of the offsets, which have no cancellation.
	mean := 0.0
	for _, x := range small {
		mean += x / 1000
	}
	ss := 0.0
	for _, x := range small {
		ss += (x - mean) * (x - mean)
	}
	assert.InDelta(t, 1e9+mean, s.Mean(), 1e-6)
	assert.InDelta(t, math.Sqrt(ss/999), s.StdDev(), 1e-9)
}

func TestSummaryMergeAndRemoveAreInverse(t *testing.T) {
	var a, b, all Summary
	for i := 0; i < 50; i++ {
		a.Add(float64(i))
		all.Add(float64(i))
	}
	for i := 0; i < 30; i++ {
		b.Add(1000 + float64(i*i))
		all.Add(1000 + float64(i*i))
	}
	m := a
	m.Merge(&b)
	assert.InDelta(t, all.Mean(), m.Mean(), 1e-9)
	assert.InDelta(t, all.StdDev(), m.StdDev(), 1e-9)
	m.Remove(&b)
	assert.InDelta(t, a.Mean(), m.Mean(), 1e-9)
	assert.InDelta(t, a.StdDev(), m.StdDev(), 1e-9)
	m.Remove(&a)
	assert.Equal(t, Summary{}, m)
}

func nan() float64 { return math.NaN() }
