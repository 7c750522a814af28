package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/bridge"
	"github.com/collectd-anomaly/collectd-anomaly/bridge/fake"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

func silentHost(i int) detect.Alert {
	return detect.Alert{Rule: "silent", Kind: "missing", Severity: detect.Failure, Host: fmt.Sprintf("shop-%04d", i),
		Time: t0.Add(time.Duration(i) * time.Millisecond), Message: "FAILURE: silent"}
}

// A thousand hosts going silent at once reach the notification chain as the
// first BurstLimit alerts and one summary that names every other host; a
// rule that fires once meanwhile is not held back.
func TestBurstIsSummarisedNotDropped(t *testing.T) {
	d := newFakeDaemon()
	rec := &fake.Recorder{}
	d.notifierFor = rec
	p := configured(t, d)
	for i := range 1000 {
		p.Alert(silentHost(i))
	}
	p.Alert(numberedAlert(1))
	notes := drain(t, p, rec)

	var single, summaries []bridge.Notification
	for _, n := range notes {
		if n.TypeInstance != "silent" {
			continue
		}
		if strings.Contains(n.Message, "more alerts beyond") {
			summaries = append(summaries, n)
		} else {
			single = append(single, n)
		}
	}
	assert.Len(t, single, 20, "BurstLimit alerts one by one")
	require.Len(t, summaries, 1)
	s := summaries[0]
	assert.LessOrEqual(t, len(s.Message), 255)
	assert.True(t, strings.HasPrefix(s.Message, "FAILURE: silent: 980 more alerts beyond 20 in 10s: shop-0020 shop-0021 "), s.Message)
	assert.Equal(t, "collectd-host", s.Host)
	assert.Equal(t, bridge.Failure, s.Severity)
	assert.Equal(t, t0.Add(999*time.Millisecond), s.Time, "the time of the newest alert in it")
	meta := map[string]any{}
	for _, m := range s.Meta {
		meta[m.Key] = m.Value
	}
	assert.Equal(t, int64(980), meta["count"])
	subjects := strings.Fields(meta["subjects"].(string))
	require.Len(t, subjects, 980)
	assert.Equal(t, "shop-0020", subjects[0])
	assert.Equal(t, "shop-0999", subjects[979])
	assert.Len(t, filterRule(notes, "r1"), 1, "another rule's alert goes out on its own")
	assert.Equal(t, uint64(980), p.summarised.Load())
	assert.Zero(t, p.dropped.Load())
}

func filterRule(ns []bridge.Notification, rule string) []bridge.Notification {
	var out []bridge.Notification
	for _, n := range ns {
		if n.TypeInstance == rule {
			out = append(out, n)
		}
	}
	return out
}

// The window counts per rule and severity, and starts again after it ends.
func TestBurstShaperWindow(t *testing.T) {
	s := newBurstShaper(2, 10*time.Second)
	now := t0
	a := silentHost(1)
	assert.True(t, s.admit(&a, now))
	assert.True(t, s.admit(&a, now))
	assert.False(t, s.admit(&a, now.Add(time.Second)))
	ok := a
	ok.Severity = detect.OK
	assert.True(t, s.admit(&ok, now.Add(time.Second)), "another severity has its own count")
	require.Len(t, s.summaries(now.Add(2*time.Second)), 1)
	assert.Empty(t, s.summaries(now.Add(3*time.Second)), "a summary is sent once")
	assert.True(t, s.admit(&a, now.Add(10*time.Second)), "a new window")
}

// A notification plugin that blocks stalls neither the rules nor Shutdown:
// what it never took is counted as lost in the log.
func TestBlockedNotificationChainLosesCountedAtShutdown(t *testing.T) {
	d, g, p := stuckChain(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= 50; i++ {
			p.Alert(numberedAlert(i))
		}
	}()
	waitClosed(t, done, "the rules to go on while the chain blocks")
	start := time.Now()
	require.NoError(t, p.Shutdown(context.Background()))
	assert.Less(t, time.Since(start), shutdownWait+2*time.Second)
	assert.Contains(t, d.errorLines(), "anomaly plugin: 50 notifications and derived values lost at shutdown: collectd's notification chain took none for 5s")
	close(g.open)
}
