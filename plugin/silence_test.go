package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/bridge"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/silence"
)

func writeSilences(t *testing.T, path string, list ...silence.Silence) {
	t.Helper()
	require.NoError(t, silence.Update(path, func([]silence.Silence) ([]silence.Silence, error) { return list, nil }))
}

func (d *fakeDaemon) warningLines() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.warnings...)
}

func alertOf(host string, l detect.Level, at time.Time) detect.Alert {
	return detect.Alert{Rule: "web-failed-requests", Host: host, Group: "page", Severity: l, Time: at}
}

// The silencer on its own, on a clock the test sets: what is held, what is
// released when the silence ends, and the log lines.
func TestSilencerHoldsAndReleases(t *testing.T) {
	d := newFakeDaemon()
	path := filepath.Join(t.TempDir(), "silences")
	now := t0
	writeSilences(t, path, silence.Silence{ID: "s1", Host: "shop-1", Starts: now.Add(time.Minute), Ends: now.Add(time.Hour), Reason: "deploy"})
	s := newSilencer(path, d)
	assert.Empty(t, s.check(now))
	assert.Empty(t, d.infosContaining("silence"), "not started yet")

	// shop-2's FAILURE is sent before the silence; shop-3's too.
	a := alertOf("shop-1", detect.Failure, now)
	assert.False(t, s.hold(&a, now), "before the silence starts")
	for _, h := range []string{"shop-2", "shop-3"} {
		a := alertOf(h, detect.Failure, now)
		require.False(t, s.hold(&a, now))
	}

	now = now.Add(2 * time.Minute)
	assert.Empty(t, s.check(now))
	assert.Equal(t, []string{"anomaly plugin: silence started: s1 (host shop-1, rule *, group *) until 2026-11-27T13:00:00Z: deploy"}, d.infosContaining("silence"))

	// shop-1's OKAY (of the FAILURE sent before), then a new FAILURE, then a
	// WARNING: held, the latest kept.
	for i, l := range []detect.Level{detect.OK, detect.Failure, detect.Warning} {
		a := alertOf("shop-1", l, now.Add(time.Duration(i)*time.Second))
		require.True(t, s.hold(&a, now), l.String())
		assert.Equal(t, "s1", a.Silenced, "the alert names the silence, for InfluxDB")
	}
	// Other hosts go through.
	b := alertOf("shop-2", detect.OK, now)
	assert.False(t, s.hold(&b, now))
	assert.Empty(t, b.Silenced)
	assert.Equal(t, 1, s.waiting())
	assert.Empty(t, s.check(now.Add(30*time.Minute)), "nothing released while the silence lasts")

	// The end: shop-1's WARNING is still raised and goes out now.
	now = now.Add(time.Hour)
	out := s.check(now)
	require.Len(t, out, 1)
	assert.Equal(t, "shop-1", out[0].Host)
	assert.Equal(t, detect.Warning, out[0].Severity)
	assert.Equal(t, t0.Add(2*time.Minute+2*time.Second), out[0].Time, "the time of the value that decided it")
	assert.Equal(t, "s1", out[0].Silenced)
	assert.Contains(t, d.infosContaining("silence"), "anomaly plugin: silence ended: s1 (host shop-1, rule *, group *) until 2026-11-27T13:00:00Z: deploy")
	assert.Empty(t, s.check(now), "released once")
	assert.Equal(t, 0, s.waiting())

	// Its OKAY, later, goes out as usual.
	a = alertOf("shop-1", detect.OK, now)
	assert.False(t, s.hold(&a, now))
	assert.Empty(t, d.errorLines())
	assert.Empty(t, d.warningLines())
}

// A FAILURE raised and resolved within a silence is never told; an OKAY
// held after a FAILURE that was sent is.
func TestSilencerSendsOnlyTheOkaysOfSentAlerts(t *testing.T) {
	d := newFakeDaemon()
	path := filepath.Join(t.TempDir(), "silences")
	now := t0
	writeSilences(t, path, silence.Silence{ID: "s1", Rule: "web-*", Starts: now, Ends: now.Add(time.Hour)})
	s := newSilencer(path, d)
	s.check(now)

	sent := alertOf("shop-1", detect.Failure, now.Add(-time.Hour))
	require.False(t, s.hold(&sent, now.Add(-time.Hour)), "sent before the silence")
	for _, a := range []detect.Alert{
		alertOf("shop-1", detect.OK, now.Add(time.Minute)),
		alertOf("shop-2", detect.Failure, now.Add(time.Minute)),
		alertOf("shop-2", detect.OK, now.Add(2*time.Minute)),
	} {
		require.True(t, s.hold(&a, now.Add(time.Minute)))
	}
	out := s.check(now.Add(time.Hour))
	require.Len(t, out, 1)
	assert.Equal(t, "shop-1", out[0].Host)
	assert.Equal(t, detect.OK, out[0].Severity)
}

// Editing the file: a broken file costs one warning and keeps the silences
// read before; a fixed one is read again; a removed silence ends.
func TestSilencerReloadsTheFile(t *testing.T) {
	d := newFakeDaemon()
	path := filepath.Join(t.TempDir(), "silences")
	now := t0
	s := newSilencer(path, d)
	assert.Empty(t, s.check(now), "no file: no silences, no complaint")
	assert.Empty(t, d.warningLines())

	writeSilences(t, path, silence.Silence{ID: "s1", Starts: now, Ends: now.Add(time.Hour)})
	s.check(now)
	a := alertOf("shop-1", detect.Failure, now)
	require.True(t, s.hold(&a, now))

	good, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, append(good, []byte("{\"id\": \n")...), 0o644))
	for i := 0; i < 3; i++ {
		assert.Empty(t, s.check(now.Add(time.Duration(i)*time.Second)))
	}
	w := d.warningLines()
	require.Len(t, w, 1, "one warning per change of the file")
	assert.Contains(t, w[0], path)
	assert.Contains(t, w[0], "line 3")
	assert.Contains(t, w[0], "keeping the 1 silences read before")
	b := alertOf("shop-2", detect.Failure, now)
	assert.True(t, s.hold(&b, now), "the silence read before still holds")

	// The silence is removed: it ends, and both FAILUREs go out.
	require.NoError(t, os.WriteFile(path, []byte("# nothing\n"), 0o644))
	out := s.check(now.Add(5 * time.Second))
	assert.Len(t, out, 2)
	assert.Contains(t, strings.Join(d.infosContaining("silence"), "\n"), "silence ended: s1")
}

// Through the plugin: a silenced host's FAILURE reaches neither collectd's
// notification chain nor is it lost; it is sent when the silence is expired,
// marked with the silence.
func TestPluginHoldsSilencedNotifications(t *testing.T) {
	d := newFakeDaemon()
	path := filepath.Join(t.TempDir(), "silences")
	wall := time.Now()
	writeSilences(t, path, silence.Silence{ID: "s1", Host: "shop-1", Starts: wall.Add(-time.Minute), Ends: wall.Add(time.Hour), Reason: "maintenance"})
	p := configured(t, d, failedRequests(), opt("SilenceFile", path))
	step := 0
	for ; step < 12; step++ {
		feedPages(t, p, "shop-1", step, 100, 1)
		feedPages(t, p, "shop-2", step, 100, 1)
	}
	for ; step < 24; step++ {
		feedPages(t, p, "shop-1", step, 100, 30)
		feedPages(t, p, "shop-2", step, 100, 30)
	}
	require.Eventually(t, func() bool { return len(d.rec.Notifications()) == 1 }, 2*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return p.silences.waiting() == 1 }, 2*time.Second, time.Millisecond)
	assert.Equal(t, "shop-2", d.rec.Notifications()[0].Host)

	// Expire the silence, as `anomaly silence expire s1` does.
	require.NoError(t, silence.Update(path, func(list []silence.Silence) ([]silence.Silence, error) {
		list[0].Ends = time.Now()
		return list, nil
	}))
	require.Eventually(t, func() bool { return len(d.rec.Notifications()) == 2 }, 3*time.Second, 10*time.Millisecond)
	n := d.rec.Notifications()[1]
	assert.Equal(t, "shop-1", n.Host)
	assert.Equal(t, bridge.Failure, n.Severity)
	assert.Equal(t, t0.Add(130*time.Second), n.Time)
	assert.Equal(t, "s1", metaMap(t, n.Meta)["silenced"])
	assert.Len(t, d.infosContaining("silence started: s1"), 1)
	assert.Len(t, d.infosContaining("silence ended: s1"), 1)
	assert.Empty(t, d.errorLines())
}

// A FAILURE held by a silence, whose OKAY comes after the silence has
// ended but before the once-a-second check released the FAILURE: the
// OKAY ends an alert nobody was told of, and is held back too (InfluxDB
// still gets it, marked with the silence). A FAILURE that comes then is
// sent: it has the last word.
func TestTheOkayOfAHeldFailureRightAfterTheSilenceIsHeld(t *testing.T) {
	d := newFakeDaemon()
	path := filepath.Join(t.TempDir(), "silences")
	writeSilences(t, path, silence.Silence{ID: "s1", Host: "shop-1", Starts: t0, Ends: t0.Add(time.Hour), Reason: "deploy"})
	s := newSilencer(path, d)
	s.check(t0)
	f := alertOf("shop-1", detect.Failure, t0.Add(time.Minute))
	require.True(t, s.hold(&f, t0.Add(time.Minute)))
	end := t0.Add(time.Hour + 300*time.Millisecond) // after the end, before the next check
	ok := alertOf("shop-1", detect.OK, end)
	assert.True(t, s.hold(&ok, end), "the OKAY of a FAILURE never sent")
	assert.Equal(t, "s1", ok.Silenced)
	assert.Empty(t, s.check(end.Add(time.Second)), "nothing left to release")

	f2 := alertOf("shop-1", detect.Failure, end.Add(time.Minute))
	assert.False(t, s.hold(&f2, end.Add(time.Minute)), "a new FAILURE after the silence is sent")
}
