package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/collectd-anomaly/collectd-anomaly/atomicfile"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// stateKeeper writes the rules' state to the StateFile every StateInterval
// and at shutdown, and reads it at init (detect's state file): after a
// restart the rules are not blind while their baselines refill, a FAILURE
// raised before is not sent again, and its OKAY comes when it ends. A
// file that cannot be read costs one log line and a fresh start, never a
// refused start.
type stateKeeper struct {
	p       *anomalyPlugin
	path    string
	every   time.Duration
	mu      sync.Mutex // one write at a time: the ticker's and shutdown's
	failing bool       // the last write failed: logged once until one works
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once // shutdown, which collectd may call twice
	started atomic.Bool
}

func newStateKeeper(p *anomalyPlugin) *stateKeeper {
	return &stateKeeper{p: p, path: p.settings.StateFile, every: p.settings.StateInterval,
		stop: make(chan struct{}), done: make(chan struct{})}
}

// restore reads the file into the engine, before any value reaches it.
func (k *stateKeeper) restore(now time.Time) {
	log := k.p.host
	data, err := os.ReadFile(k.path)
	if errors.Is(err, fs.ErrNotExist) {
		log.infof("anomaly plugin: no state file %s yet: the rules start fresh", k.path)
		return
	}
	if err == nil {
		var rep stateReport
		rep.StateReport, err = k.p.engine.Load().RestoreState(data, now)
		if err == nil {
			log.infof("anomaly plugin: %s", rep.describe(k.path, len(data), now))
			return
		}
	}
	log.warningf("anomaly plugin: StateFile %s: %v; the rules start fresh", k.path, err)
}

// run writes the state every interval until stop.
func (k *stateKeeper) run() {
	defer close(k.done)
	t := time.NewTicker(k.every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			k.save(false)
		case <-k.stop:
			return
		}
	}
}

// save writes the file; at shutdown it says so in the log.
func (k *stateKeeper) save(final bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			k.p.host.errorf("anomaly plugin: writing the state panicked: %v", r)
		}
	}()
	began := time.Now()
	var groups int
	var size int64
	err := atomicfile.Write(k.path, 0o600, func(w io.Writer) error {
		cw := &countingWriter{w: w}
		n, err := k.p.engine.Load().SaveState(cw, began)
		groups, size = n, cw.n
		return err
	})
	switch {
	case err != nil && !k.failing:
		k.failing = true
		k.p.host.errorf("anomaly plugin: writing the state to %s failed: %v (tried again every %s)", k.path, err, k.every)
	case err == nil && k.failing:
		k.failing = false
		k.p.host.infof("anomaly plugin: the state is written to %s again", k.path)
	}
	if err == nil && final {
		k.p.host.infof("anomaly plugin: the state of %d groups written to %s (%s in %s)", groups, k.path,
			byteSize(size), time.Since(began).Round(time.Millisecond))
	}
}

// start begins the periodic saves.
func (k *stateKeeper) start() {
	k.started.Store(true)
	go k.run()
}

// shutdown stops the ticker and writes the state a last time; a keeper
// that never started (init failed after it was made) writes nothing.
func (k *stateKeeper) shutdown() {
	k.once.Do(func() {
		if !k.started.Load() {
			return
		}
		close(k.stop)
		<-k.done
		k.save(true)
	})
}

type stateReport struct{ detect.StateReport }

func (r *stateReport) describe(path string, size int, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "state of %d rules (%d groups) restored from %s (%s), saved %s ago", r.Rules, r.Groups, path,
		byteSize(int64(size)), now.Sub(r.SavedAt).Round(time.Second))
	if len(r.Changed) > 0 {
		fmt.Fprintf(&b, "; changed since, starting fresh: %s", strings.Join(r.Changed, ", "))
	}
	if len(r.Gone) > 0 {
		fmt.Fprintf(&b, "; no longer configured: %s", strings.Join(r.Gone, ", "))
	}
	return b.String()
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
