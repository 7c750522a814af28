// Package replay runs rules over data in simulated time: the simulator's
// model (with incidents as ground truth) or recorded series. The engine runs
// on the data's own timestamps, so a week of traffic replays in a second, and
// the alerts are the ones the plugin would have sent.
package replay

import (
	"context"
	"sync"
	"time"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/simulate"
)

// Recorder is a detect.Sink that keeps everything.
type Recorder struct {
	mu     sync.Mutex
	alerts []detect.Alert
	values []detect.DerivedValue
}

// Alert implements detect.Sink.
func (r *Recorder) Alert(a detect.Alert) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts = append(r.alerts, a)
}

// Value implements detect.Sink.
func (r *Recorder) Value(v detect.DerivedValue) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.values = append(r.values, v)
}

// Alerts returns the alerts so far.
func (r *Recorder) Alerts() []detect.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]detect.Alert(nil), r.alerts...)
}

// Values returns the derived values so far.
func (r *Recorder) Values() []detect.DerivedValue {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]detect.DerivedValue(nil), r.values...)
}

// Simulation feeds an engine with a simulator's values, one read per
// interval from Start, as the plugin's read callback would.
type Simulation struct {
	Engine    *detect.Engine
	Simulator *simulate.Simulator
	Host      string
	Start     time.Time
	Interval  time.Duration
}

// Run replays steps [from, to): each step's values as value lists stamped
// with the step's time, then a Tick, as the plugin does every interval.
func (s *Simulation) Run(from, to int64) {
	_, _ = s.RunContext(context.Background(), from, to, RunOptions{}) // a background context is never done
}

// Time is when step is read.
func (s *Simulation) Time(step int64) time.Time {
	return s.Start.Add(time.Duration(step) * s.Interval)
}
