// Package silence holds alerts' notifications back while an operator says
// so - during a deploy or maintenance - as Alertmanager's silences and
// Netdata's or Datadog's downtimes do, for collectd notifications.
//
// A silence matches alerts by host, rule and group globs and lasts from its
// start to its end (wall-clock time: a silence is about the pager, not about
// judging values). Silences live in a file of JSON lines that `anomaly
// silence` edits and the plugin watches. The rules go on judging; only the
// notifications of matching alerts are held (Holder), OKAYs included, and
// what is still raised when a silence ends is sent then.
package silence

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/collectd-anomaly/collectd-anomaly/atomicfile"
)

// Silence is one entry of the file.
type Silence struct {
	ID string `json:"id"`
	// Host, Rule and Group are globs (path.Match: * ? [a-z]); empty matches
	// everything. An alert of a rule that aggregates hosts has host "".
	Host   string    `json:"host,omitempty"`
	Rule   string    `json:"rule,omitempty"`
	Group  string    `json:"group,omitempty"`
	Starts time.Time `json:"starts"`
	Ends   time.Time `json:"ends"`
	Reason string    `json:"reason,omitempty"`
	By     string    `json:"by,omitempty"`
}

// Validate checks what a silence needs: an ID, an end after its start, and
// globs that path.Match reads.
func (s *Silence) Validate() error {
	switch {
	case s.ID == "":
		return errors.New("a silence without an id")
	case !s.Ends.After(s.Starts):
		return fmt.Errorf("silence %s: ends (%s) not after it starts (%s)", s.ID, s.Ends.Format(time.RFC3339), s.Starts.Format(time.RFC3339))
	}
	for _, g := range []struct{ name, glob string }{{"host", s.Host}, {"rule", s.Rule}, {"group", s.Group}} {
		if _, err := path.Match(g.glob, ""); err != nil {
			return fmt.Errorf("silence %s: %s %q: %v", s.ID, g.name, g.glob, err)
		}
	}
	return nil
}

// ActiveAt reports whether the silence holds notifications at t.
func (s *Silence) ActiveAt(t time.Time) bool { return !t.Before(s.Starts) && t.Before(s.Ends) }

// Matches reports whether the silence is about the alert of rule for host
// and group.
func (s *Silence) Matches(rule, host, group string) bool {
	return globMatch(s.Rule, rule) && globMatch(s.Host, host) && globMatch(s.Group, group)
}

func globMatch(glob, s string) bool {
	if glob == "" || glob == "*" {
		return true
	}
	ok, _ := path.Match(glob, s)
	return ok
}

// Describe is the silence in a line, for logs and listings.
func (s *Silence) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (host %s, rule %s, group %s) until %s", s.ID, Shown(s.Host), Shown(s.Rule), Shown(s.Group), s.Ends.UTC().Format(time.RFC3339))
	if s.Reason != "" {
		fmt.Fprintf(&b, ": %s", s.Reason)
	}
	if s.By != "" {
		fmt.Fprintf(&b, " (by %s)", s.By)
	}
	return b.String()
}

// Shown is a glob as listings show it: "*" for an empty one.
func Shown(glob string) string {
	if glob == "" {
		return "*"
	}
	return glob
}

// Read parses a silence file: one JSON object per line; blank lines and
// lines starting with # are skipped. An error names the line.
func Read(data []byte) ([]Silence, error) {
	var out []Silence
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var s Silence
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Load reads the file at p; a file that does not exist holds no silences.
func Load(p string) ([]Silence, error) {
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	list, err := Read(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return list, nil
}

const fileHeader = "# Silences of the collectd anomaly plugin, one JSON object a line; edit with `anomaly silence`.\n"

// Update changes the file at p under an exclusive lock (p + ".lock"), so
// that two `anomaly silence` commands do not lose each other's changes,
// and replaces it atomically (a temporary file, fsync, rename): the plugin
// reads either the old file or the new one.
func Update(p string, change func([]Silence) ([]Silence, error)) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(p+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	list, err := Load(p)
	if err != nil {
		return err
	}
	if list, err = change(list); err != nil {
		return err
	}
	for i := range list {
		if err := list[i].Validate(); err != nil {
			return err
		}
	}
	return atomicfile.Write(p, 0o644, func(w io.Writer) error {
		if _, err := io.WriteString(w, fileHeader); err != nil {
			return err
		}
		for i := range list {
			line, err := json.Marshal(&list[i])
			if err != nil {
				return err
			}
			if _, err := w.Write(append(line, '\n')); err != nil {
				return err
			}
		}
		return nil
	})
}

// NewID is the next id after the highest in list: s1, s2, ... Ids are not
// reused while the silences that had them are in the file, so an alert
// record's "silenced" field keeps naming one silence.
func NewID(list []Silence) string {
	highest := 0
	for _, s := range list {
		var n int
		if _, err := fmt.Sscanf(s.ID, "s%d", &n); err == nil && n > highest {
			highest = n
		}
	}
	return fmt.Sprintf("s%d", highest+1)
}

// Prune drops silences that ended more than keep before now.
func Prune(list []Silence, now time.Time, keep time.Duration) []Silence {
	out := list[:0]
	for _, s := range list {
		if s.Ends.Add(keep).After(now) {
			out = append(out, s)
		}
	}
	return out
}
