package corpus

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGenerateIsSeededAndLabelled(t *testing.T) {
	a, b := Generate(Options{Seed: 1}), Generate(Options{Seed: 1})
	require.Len(t, a, len(Kinds)*len(Shapes)*7)
	assert.Equal(t, a, b, "one seed, one corpus")
	c := Generate(Options{Seed: 2})
	assert.NotEqual(t, a[0].Values, c[0].Values)

	kinds, shapes := map[string]int{}, map[string]int{}
	for _, s := range a {
		kinds[s.Kind()]++
		shapes[s.Shape]++
		require.Equal(t, len(s.Times), len(s.Values), s.Name)
		require.NotEmpty(t, s.Times, s.Name)
		for i := 1; i < len(s.Times); i++ {
			require.True(t, s.Times[i].After(s.Times[i-1]), "%s: times in order", s.Name)
		}
		for _, x := range s.Values {
			require.False(t, math.IsNaN(x) || math.IsInf(x, 0), s.Name)
		}
		if s.Kind() == "none" {
			assert.Empty(t, s.Labels)
			continue
		}
		require.Len(t, s.Labels, 1)
		l := s.Labels[0]
		assert.True(t, l.Start.After(s.Times[0]) && l.Start.Before(s.Times[len(s.Times)-1]), "%s: the anomaly is inside the series", s.Name)
		assert.False(t, l.End.Before(l.Start), s.Name)
	}
	for _, k := range Kinds {
		assert.Equal(t, len(Shapes)*7, kinds[k], k)
	}
	for _, sh := range Shapes {
		assert.Equal(t, len(Kinds)*7, shapes[sh], sh)
	}
}
