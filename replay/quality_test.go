package replay

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/corpus"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// anyAnomaly is <Anomaly "any"> Series "*/*" with the documented defaults.
func anyAnomaly(t testing.TB) []detect.Rule {
	sel, err := detect.ParseSelector("*/*")
	require.NoError(t, err)
	r, err := detect.NewAnomalyRule(detect.RuleSpec{Name: "any", Lifecycle: detect.Lifecycle{Hits: 1}}, []detect.Selector{sel}, detect.DefaultAnomalyParams())
	require.NoError(t, err)
	return []detect.Rule{r}
}

// The Anomaly detector with its defaults on three seeded corpora of 294
// series each (the README's quality table is seed 1). The bounds are what it
// achieves less a margin for the seeds' spread (each kind has 42 anomalies a
// seed, so a kind's recall moves by a few points between seeds): the test
// fails when a change makes the detector find less or raise more for nothing.
func TestAnomalyQualityOnTheCorpus(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		qs, err := Quality(context.Background(), anyAnomaly(t), corpus.Generate(corpus.Options{Seed: seed}))
		require.NoError(t, err)
		var b strings.Builder
		require.NoError(t, WriteQuality(&b, qs))
		t.Logf("seed %d:\n%s", seed, b.String())
		byKind := map[string]KindQuality{}
		for _, q := range qs {
			byKind[q.Kind] = q
		}
		all := byKind["all"]
		assert.Equal(t, 294, all.Series)
		assert.GreaterOrEqual(t, all.Recall(), 0.58, "seed %d: recall", seed)
		assert.LessOrEqual(t, all.FalsePerWeek(), 0.1, "seed %d: false alerts per series-week", seed)
		assert.LessOrEqual(t, byKind["none"].FalsePerWeek(), 0.1, "seed %d: series without anomalies", seed)
		assert.GreaterOrEqual(t, byKind["flat"].Recall(), 0.9, "seed %d: flat lines", seed)
		assert.GreaterOrEqual(t, byKind["dip"].Recall(), 0.65, "seed %d: dips", seed)
		assert.GreaterOrEqual(t, byKind["spike"].Recall(), 0.65, "seed %d: spikes", seed)
		assert.GreaterOrEqual(t, byKind["level-shift"].Recall(), 0.55, "seed %d: level shifts", seed)
	}
}

// TestWriteCorpusQuality prints the table for the README (go test -run
// TestWriteCorpusQuality -v ./replay, or make quality).
func TestWriteCorpusQuality(t *testing.T) {
	if os.Getenv("ANOMALY_QUALITY") == "" {
		t.Skip("set ANOMALY_QUALITY=1 (make quality) to print the quality table")
	}
	qs, err := Quality(context.Background(), anyAnomaly(t), corpus.Generate(corpus.Options{Seed: 1}))
	require.NoError(t, err)
	require.NoError(t, WriteQuality(os.Stdout, qs))
}
