package main

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/collectd-anomaly/collectd-anomaly/bridge"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// maxSummarised bounds the subjects one summary names (and the memory a
// burst holds); beyond it a summary only counts them.
const maxSummarised = 10_000

// burstShaper keeps a burst of alerts from drowning the notification chain:
// when a fleet goes silent, or one rule fires for hundreds of groups at once,
// the first limit alerts of a rule and severity within window go out one by
// one and the rest are gathered into one summary notification a second that
// names every host (and group) - an operator gets one page, not a thousand,
// and nothing is left out. InfluxDB receives every alert individually.
type burstShaper struct {
	limit  int
	window time.Duration

	mu     sync.Mutex
	bursts map[burstKey]*burst
}

type burstKey struct {
	rule     string
	severity detect.Level
}

type burst struct {
	start time.Time // of the window counting toward limit
	sent  int       // alerts sent one by one in the window

	// Gathered since the last summary.
	first    detect.Alert // the first of them, for the rule's kind
	latest   time.Time    // the newest value time among them
	subjects []string
	more     int // beyond maxSummarised
}

func newBurstShaper(limit int, window time.Duration) *burstShaper {
	return &burstShaper{limit: limit, window: window, bursts: map[burstKey]*burst{}}
}

// admit reports whether a goes out on its own; if not, the shaper keeps it
// for the next summary. now is the wall clock: shaping is about the people
// reading notifications, not about the values' time.
func (s *burstShaper) admit(a *detect.Alert, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := burstKey{a.Rule, a.Severity}
	b := s.bursts[k]
	if b == nil {
		b = &burst{start: now}
		s.bursts[k] = b
	}
	if now.Sub(b.start) >= s.window {
		b.start, b.sent = now, 0
	}
	if b.sent < s.limit {
		b.sent++
		return true
	}
	if len(b.subjects) == 0 && b.more == 0 {
		b.first = *a
	}
	if a.Time.After(b.latest) {
		b.latest = a.Time
	}
	if len(b.subjects) < maxSummarised {
		b.subjects = append(b.subjects, subject(a))
	} else {
		b.more++
	}
	return false
}

// summaries returns one summary per rule and severity with alerts gathered
// since the last call, and forgets the windows that ended.
func (s *burstShaper) summaries(now time.Time) []burstSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []burstSummary
	for k, b := range s.bursts {
		if n := len(b.subjects) + b.more; n > 0 {
			out = append(out, burstSummary{alert: b.first, latest: b.latest, subjects: b.subjects, more: b.more,
				limit: s.limit, window: s.window})
			b.subjects, b.more = nil, 0
		}
		if now.Sub(b.start) >= s.window {
			delete(s.bursts, k)
		}
	}
	return out
}

// pending is how many alerts wait for a summary.
func (s *burstShaper) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, b := range s.bursts {
		n += len(b.subjects) + b.more
	}
	return n
}

// subject names what an alert is about: its host, and its group if any.
func subject(a *detect.Alert) string {
	h := a.Host
	if h == "" {
		h = "all-hosts"
	}
	if a.Group != "" {
		return h + "/" + a.Group
	}
	return h
}

// burstSummary is the alerts of one rule and severity beyond the limit.
type burstSummary struct {
	alert    detect.Alert
	latest   time.Time
	subjects []string
	more     int
	limit    int
	window   time.Duration
}

func (b *burstSummary) count() int { return len(b.subjects) + b.more }

// notification is the summary as a collectd notification from the
// collector itself: its message names as many subjects as collectd's 255
// bytes hold, and the meta data "subjects" names all of them.
func (b *burstSummary) notification(host string) *bridge.Notification {
	a := &b.alert
	all := strings.Join(b.subjects, " ")
	if b.more > 0 {
		all += fmt.Sprintf(" and %d more", b.more)
	}
	head := fmt.Sprintf("%s: %s: %d more alerts beyond %d in %s: ", a.Severity, a.Rule, b.count(), b.limit, b.window)
	msg := head + all
	if len(msg) > maxMessage {
		cut := strings.LastIndexByte(msg[:maxMessage-len(" ...")], ' ')
		msg = msg[:max(cut, len(head))] + " ..."
	}
	return &bridge.Notification{
		Severity:     severities[a.Severity],
		Time:         b.latest,
		Host:         host,
		Plugin:       "anomaly",
		Type:         a.Kind,
		TypeInstance: a.Rule,
		Message:      msg,
		Meta: []bridge.Meta{
			{Key: "rule", Value: a.Rule},
			{Key: "kind", Value: a.Kind},
			{Key: "summary", Value: "true"},
			{Key: "count", Value: int64(b.count())},
			{Key: "subjects", Value: all},
		},
	}
}

// maxMessage is what collectd's notification message holds.
const maxMessage = 255
