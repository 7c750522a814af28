package silence

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC)

func TestMatchesByGlobs(t *testing.T) {
	s := Silence{ID: "s1", Host: "web*", Rule: "payment-*", Starts: t0, Ends: t0.Add(time.Hour)}
	assert.True(t, s.Matches("payment-drop", "web1", "visa"))
	assert.True(t, s.Matches("payment-fraud", "web22", ""), "an empty group glob matches every group")
	assert.False(t, s.Matches("payment-drop", "db1", "visa"), "host")
	assert.False(t, s.Matches("web-failed-requests", "web1", ""), "rule")
	s.Group = "[a-m]*"
	assert.True(t, s.Matches("payment-drop", "web1", "amex"))
	assert.False(t, s.Matches("payment-drop", "web1", "visa"))
	all := Silence{ID: "s2", Starts: t0, Ends: t0.Add(time.Hour)}
	assert.True(t, all.Matches("anything", "", ""), "no globs: every alert, aggregated ones (host \"\") too")
}

func TestActiveFromStartToEnd(t *testing.T) {
	s := Silence{ID: "s1", Starts: t0, Ends: t0.Add(time.Hour)}
	assert.False(t, s.ActiveAt(t0.Add(-time.Nanosecond)))
	assert.True(t, s.ActiveAt(t0))
	assert.True(t, s.ActiveAt(t0.Add(time.Hour-time.Nanosecond)))
	assert.False(t, s.ActiveAt(t0.Add(time.Hour)), "the end is exclusive")
}

func TestReadNamesTheBadLine(t *testing.T) {
	good := `{"id":"s1","host":"web1","starts":"2026-12-02T14:00:00Z","ends":"2026-12-02T15:00:00Z","reason":"deploy"}`
	list, err := Read([]byte("# comment\n\n" + good + "\n"))
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "web1", list[0].Host)
	assert.Equal(t, "deploy", list[0].Reason)

	for name, tc := range map[string]struct{ line, want string }{
		"not json":      {`{"id":`, "line 2:"},
		"unknown field": {`{"id":"s2","hots":"web1","starts":"2026-12-02T14:00:00Z","ends":"2026-12-02T15:00:00Z"}`, `line 2: json: unknown field "hots"`},
		"ends first":    {`{"id":"s2","starts":"2026-12-02T14:00:00Z","ends":"2026-12-02T13:00:00Z"}`, "line 2: silence s2: ends"},
		"bad glob":      {`{"id":"s2","rule":"[a-","starts":"2026-12-02T14:00:00Z","ends":"2026-12-02T15:00:00Z"}`, `line 2: silence s2: rule "[a-"`},
		"no id":         {`{"starts":"2026-12-02T14:00:00Z","ends":"2026-12-02T15:00:00Z"}`, "line 2: a silence without an id"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Read([]byte(good + "\n" + tc.line + "\n"))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestLoadOfAMissingFileIsNoSilences(t *testing.T) {
	list, err := Load(filepath.Join(t.TempDir(), "none"))
	require.NoError(t, err)
	assert.Empty(t, list)
}

func TestUpdateRoundTripsAndIsAtomic(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "silences")
	add := Silence{Host: "web1", Rule: "web-*", Starts: t0, Ends: t0.Add(time.Hour), Reason: "deploy 42", By: "ops"}
	require.NoError(t, Update(p, func(list []Silence) ([]Silence, error) {
		add.ID = NewID(list)
		return append(list, add), nil
	}))
	list, err := Load(p)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, add, list[0])

	// A failed change leaves the file as it was, and no temporary file.
	err = Update(p, func(list []Silence) ([]Silence, error) {
		return append(list, Silence{ID: "bad", Starts: t0, Ends: t0}), nil
	})
	require.Error(t, err)
	again, err := Load(p)
	require.NoError(t, err)
	assert.Equal(t, list, again)
	entries, err := os.ReadDir(filepath.Dir(p))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"silences", "silences.lock"}, names)
}

func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "silences")
	const n = 20
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, Update(p, func(list []Silence) ([]Silence, error) {
				return append(list, Silence{ID: NewID(list), Starts: t0, Ends: t0.Add(time.Hour)}), nil
			}))
		}()
	}
	wg.Wait()
	list, err := Load(p)
	require.NoError(t, err)
	ids := map[string]bool{}
	for _, s := range list {
		ids[s.ID] = true
	}
	assert.Len(t, ids, n, "every update kept, every id distinct")
}

func TestNewIDIsNeverOneInTheFile(t *testing.T) {
	assert.Equal(t, "s1", NewID(nil))
	assert.Equal(t, "s8", NewID([]Silence{{ID: "s2"}, {ID: "s7"}, {ID: "custom"}}))
}

func TestPruneKeepsRecentlyEnded(t *testing.T) {
	list := []Silence{
		{ID: "s1", Starts: t0.Add(-3 * time.Hour), Ends: t0.Add(-2 * time.Hour)},
		{ID: "s2", Starts: t0.Add(-time.Hour), Ends: t0.Add(-time.Minute)},
		{ID: "s3", Starts: t0, Ends: t0.Add(time.Hour)},
	}
	got := Prune(list, t0, time.Hour)
	require.Len(t, got, 2)
	assert.Equal(t, "s2", got[0].ID)
	assert.Equal(t, "s3", got[1].ID)
}

func TestDescribe(t *testing.T) {
	s := Silence{ID: "s4", Rule: "payment-drop", Ends: t0, Reason: "PSP maintenance", By: "anna"}
	assert.Equal(t, "s4 (host *, rule payment-drop, group *) until 2026-12-02T14:00:00Z: PSP maintenance (by anna)", s.Describe())
}
