package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/bridge"
)

// A restart during an incident, through the plugin: the state is written
// at shutdown and read at init; the FAILURE sent before is not sent again,
// its OKAY comes when the incident ends; the log says what happened.
func TestStateFileCarriesAnAlertAcrossARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "anomaly.state")
	d := newFakeDaemon()
	p := configured(t, d, failedRequests(), opt("StateFile", path))
	assert.Len(t, d.infosContaining("no state file "+path+" yet"), 1)
	step := 0
	for ; step < 12; step++ {
		feedPages(t, p, "shop-1", step, 100, 1)
	}
	for ; step < 20; step++ {
		feedPages(t, p, "shop-1", step, 100, 30)
	}
	notes := drain(t, p, d.rec)
	require.Len(t, notes, 1)
	assert.Equal(t, bridge.Failure, notes[0].Severity)
	assert.Len(t, d.infosContaining("the state of 1 groups written to "+path), 1)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the state names hosts: not for everyone")

	d2 := newFakeDaemon()
	p2 := configured(t, d2, failedRequests(), opt("StateFile", path))
	restored := d2.infosContaining("state of 1 rules (1 groups) restored from " + path)
	require.Len(t, restored, 1, "%q", d2.infoLines())
	for end := step + 6; step < end; step++ {
		feedPages(t, p2, "shop-1", step, 100, 30)
	}
	for end := step + 20; step < end; step++ {
		feedPages(t, p2, "shop-1", step, 100, 1)
	}
	notes = drain(t, p2, d2.rec)
	require.Len(t, notes, 1, "the FAILURE is not sent again")
	assert.Equal(t, bridge.Okay, notes[0].Severity)
	assert.Empty(t, d2.errorLines())
	assert.Empty(t, d2.warningLines())
}

// A corrupt file costs a warning and a fresh start, never a refused one.
func TestCorruptStateFileStartsFresh(t *testing.T) {
	path := filepath.Join(t.TempDir(), "anomaly.state")
	require.NoError(t, os.WriteFile(path, []byte("collectd-anomaly state\n\x01garbage"), 0o600))
	d := newFakeDaemon()
	p := configured(t, d, failedRequests(), opt("StateFile", path))
	w := d.warningLines()
	require.Len(t, w, 1)
	assert.Contains(t, w[0], "StateFile "+path+": its checksum does not match: truncated or corrupt; the rules start fresh")
	for step := 0; step < 20; step++ {
		feedPages(t, p, "shop-1", step, 100, 30)
	}
	require.NoError(t, p.Shutdown(context.Background()))
	require.Len(t, d.rec.Notifications(), 1, "judged from scratch")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, len(data) > 30 && string(data[:23]) == "collectd-anomaly state\n", "rewritten whole")
}

// The state is written every StateInterval, not only at shutdown: a crash
// loses at most that much.
func TestStateFileIsWrittenEveryInterval(t *testing.T) {
	path := filepath.Join(t.TempDir(), "anomaly.state")
	d := newFakeDaemon()
	p := configured(t, d, failedRequests(), opt("StateFile", path), opt("StateInterval", 0.1))
	feedPages(t, p, "shop-1", 0, 100, 1)
	require.Eventually(t, func() bool {
		fi, err := os.Stat(path)
		return err == nil && fi.Size() > 30
	}, 2*time.Second, 10*time.Millisecond)
	assert.Empty(t, d.errorLines())
}
