package main

import (
	"errors"
	"io/fs"
	"os"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/silence"
)

// silencer holds back the notifications of alerts that a silence of the
// SilenceFile matches. The rules go on judging and InfluxDB gets every alert
// (marked with the silence); only collectd's notification chain - the pager
// - waits. When no silence matches an alert any more, what it missed is
// caught up in one notification: a FAILURE still raised is sent then, an
// OKAY is sent only if the FAILURE or WARNING it ends had been sent.
//
// Silences go by the wall clock, unlike the rules: they are about the people
// on call ("mute web1 for the next hour"), not about when values were
// measured.
type silencer struct {
	path string
	log  daemon

	mu      sync.Mutex
	stamp   fileStamp                  // of the file last read
	set     []silence.Silence          // as last read without error
	active  map[string]silence.Silence // by id, at the last check: for the start and end lines
	held    map[alertKey]detect.Alert  // the latest alert of each key while silenced
	raised  map[alertKey]bool          // keys whose last notification sent was WARNING or FAILURE
	statErr string                     // the last error reading the file's stamp, logged once
}

type alertKey struct{ rule, host, group string }

func keyOf(a *detect.Alert) alertKey { return alertKey{a.Rule, a.Host, a.Group} }

// fileStamp tells whether the file changed since it was read; a rename
// over it (as `anomaly silence` does) changes the inode.
type fileStamp struct {
	exists bool
	mod    time.Time
	size   int64
	inode  uint64
}

func newSilencer(path string, log daemon) *silencer {
	return &silencer{path: path, log: log, active: map[string]silence.Silence{},
		held: map[alertKey]detect.Alert{}, raised: map[alertKey]bool{}}
}

// hold reports whether a's notification is to be held back at now, and if
// so marks a with the silence's id. It keeps the latest held alert of each
// rule, host and group, and remembers what was let through.
func (s *silencer) hold(a *detect.Alert, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := keyOf(a)
	if id := s.matching(k, now); id != "" {
		a.Silenced = id
		s.held[k] = *a
		return true
	}
	if h, ok := s.held[k]; ok {
		// The silence has ended, and check has not released what it held
		// yet: a has the last word, as check would have given it.
		delete(s.held, k)
		if a.Severity == detect.OK && !s.raised[k] {
			a.Silenced = h.Silenced // raised and resolved within the silence
			return true
		}
	}
	s.sent(k, a.Severity)
	return false
}

func (s *silencer) sent(k alertKey, l detect.Level) {
	if l == detect.OK {
		delete(s.raised, k)
	} else {
		s.raised[k] = true
	}
}

// matching is the id of a silence active at now that matches k, or "".
func (s *silencer) matching(k alertKey, now time.Time) string {
	for i := range s.set {
		if s.set[i].ActiveAt(now) && s.set[i].Matches(k.rule, k.host, k.group) {
			return s.set[i].ID
		}
	}
	return ""
}

// check rereads the file if it changed, logs the silences that started and
// ended, and returns the held alerts that no silence matches any more and
// that are to be sent now. The plugin calls it once a second.
func (s *silencer) check(now time.Time) []detect.Alert {
	s.reload()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logChanges(now)
	var out []detect.Alert
	for k, a := range s.held {
		if s.matching(k, now) != "" {
			continue
		}
		delete(s.held, k)
		if a.Severity == detect.OK && !s.raised[k] {
			continue // raised and resolved within the silence: nothing to tell
		}
		s.sent(k, a.Severity)
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// reload reads the file when its stamp changed. A file that cannot be read
// costs one warning per change and keeps the silences read before: a typo
// while editing must not page everyone.
func (s *silencer) reload() {
	stamp, err := stampOf(s.path)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if err.Error() != s.statErr {
			s.statErr = err.Error()
			s.log.warningf("anomaly plugin: SilenceFile: %v; keeping the %d silences read before", err, len(s.set))
		}
		return
	}
	s.statErr = ""
	if stamp == s.stamp {
		return
	}
	s.stamp = stamp
	list, err := silence.Load(s.path)
	if err != nil {
		s.log.warningf("anomaly plugin: SilenceFile %v; keeping the %d silences read before", err, len(s.set))
		return
	}
	s.set = list
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileStamp{}, nil
	}
	if err != nil {
		return fileStamp{}, err
	}
	st := fileStamp{exists: true, mod: fi.ModTime(), size: fi.Size()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.inode = sys.Ino
	}
	return st, nil
}

// logChanges writes one line per silence that started or ended (or was
// removed from the file) since the last check.
func (s *silencer) logChanges(now time.Time) {
	current, inFile := map[string]silence.Silence{}, map[string]silence.Silence{}
	for _, sl := range s.set {
		inFile[sl.ID] = sl
		if sl.ActiveAt(now) {
			current[sl.ID] = sl
		}
	}
	for _, id := range sortedIDs(s.active) {
		if _, ok := current[id]; !ok {
			sl, ok := inFile[id] // as expired, if it was
			if !ok {
				sl = s.active[id]
			}
			s.log.infof("anomaly plugin: silence ended: %s", sl.Describe())
		}
	}
	for _, id := range sortedIDs(current) {
		if _, ok := s.active[id]; !ok {
			sl := current[id]
			s.log.infof("anomaly plugin: silence started: %s", sl.Describe())
		}
	}
	s.active = current
}

func sortedIDs(m map[string]silence.Silence) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// waiting is how many held alerts would be sent if their silences ended
// now: those still raised, and the OKAYs of alerts that were sent.
func (s *silencer) waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, a := range s.held {
		if a.Severity != detect.OK || s.raised[k] {
			n++
		}
	}
	return n
}
