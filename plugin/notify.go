package main

import (
	"sync"
	"time"

	"github.com/collectd-anomaly/collectd-anomaly/bridge"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// alertQueue is how many notifications may wait for dispatch. Alerts are
// changes of state, a handful an hour, and bursts are shaped into summaries
// before the queue (burst.go); the bound only matters if collectd's
// notification chain hangs, and then dropping (counted and logged) is better
// than blocking the rules.
const alertQueue = 4096

// derivedBatch is how long derived values gather before they are
// dispatched (see run).
const derivedBatch = 50 * time.Millisecond

// shutdownWait is how long close waits for queued notifications.
const shutdownWait = 5 * time.Second

// notifications is the output to collectd's notification chain: alerts
// are shaped (bursts become summaries, burst.go), queued and dispatched by
// one goroutine that has collectd's plugin context - which also dispatches
// the rules' derived values back into collectd, from a queue of their own
// (derivedQueue): a fleet's states must not crowd out its alerts.
type notifications struct {
	p       *anomalyPlugin
	shaper  *burstShaper
	alerts  chan detect.Alert
	values  *derivedQueue
	stop    chan struct{}
	stopped chan struct{}
	stopMu  sync.Once
}

func newNotifications(p *anomalyPlugin) *notifications {
	return &notifications{
		p:       p,
		shaper:  newBurstShaper(p.settings.BurstLimit, p.settings.BurstWindow),
		alerts:  make(chan detect.Alert, alertQueue),
		values:  newDerivedQueue(),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
}

// writeValues implements output: collectd has the values already.
func (o *notifications) writeValues(*metric.ValueList) {}

// writeAlert implements output: an alert a silence holds is not sent (the
// silencer sends it when the silence ends), one of a burst may become part
// of a summary; the rest is queued.
func (o *notifications) writeAlert(a *detect.Alert) {
	if a.Silenced != "" || !o.shaper.admit(a, time.Now()) {
		return
	}
	select {
	case o.alerts <- *a:
	default:
		o.p.dropped.Add(1)
	}
}

// queueValue queues a derived value for dispatch (derivedQueue).
func (o *notifications) queueValue(v detect.DerivedValue) {
	if !o.values.put(v) {
		o.p.derivedDropped.Add(1)
	}
}

// dispatchValues sends the derived values that wait; buf is reused.
func (o *notifications) dispatchValues(buf []detect.DerivedValue) []detect.DerivedValue {
	vs := o.values.take(buf)
	for i := range vs {
		o.p.dispatchDerived(&vs[i])
	}
	return vs
}

// close implements output: what is queued is dispatched, for up to
// shutdownWait.
func (o *notifications) close() {
	p := o.p
	o.stopMu.Do(func() { close(o.stop) })
	select {
	case <-o.stopped:
	case <-time.After(shutdownWait):
		// The goroutine is stuck in a notification plugin: what it has not
		// handed on is lost, and said so.
		lost := len(o.alerts) + o.values.len() + o.shaper.pending()
		p.host.errorf("anomaly plugin: %d notifications and derived values lost at shutdown: collectd's notification chain took none for %s", lost, shutdownWait)
	}
	if p.silences != nil {
		if n := p.silences.waiting(); n > 0 {
			p.host.infof("anomaly plugin: %d notifications held by silences not sent: collectd is stopping", n)
		}
	}
}

// run dispatches queued alerts as collectd notifications, derived values
// as collectd values, and the summaries of bursts once a second, until
// close.
func (o *notifications) run(n bridge.Notifier) {
	defer close(o.stopped)
	summaries := time.NewTicker(time.Second)
	defer summaries.Stop()
	var buf []detect.DerivedValue
	var flush <-chan time.Time
	for {
		select {
		case a := <-o.alerts:
			o.send(n, &a)
		case <-o.values.wake:
			// Values wait derivedBatch after the first: two of one series
			// judged a few milliseconds apart (a catch-up, a tick after a
			// value) become its newer one, instead of two dispatches back
			// to back that collectd's write threads may hand on reordered
			// ("value too old").
			if flush == nil {
				flush = time.After(derivedBatch)
			}
		case <-flush:
			flush = nil
			buf = o.dispatchValues(buf)
		case now := <-summaries.C:
			o.releaseSilenced(n, now)
			o.sendSummaries(n, now)
		case <-o.stop:
			for {
				select {
				case a := <-o.alerts:
					o.send(n, &a)
				default:
					o.dispatchValues(buf)
					o.sendSummaries(n, time.Now())
					return
				}
			}
		}
	}
}

// releaseSilenced sends what silences that ended held back, through the
// burst shaper like any alert: a silence over a fleet may release hundreds.
func (o *notifications) releaseSilenced(n bridge.Notifier, now time.Time) {
	if o.p.silences == nil {
		return
	}
	for _, a := range o.p.silences.check(now) {
		if o.shaper.admit(&a, now) {
			o.send(n, &a)
		}
	}
}

func (o *notifications) sendSummaries(n bridge.Notifier, now time.Time) {
	for _, b := range o.shaper.summaries(now) {
		o.p.summarised.Add(uint64(b.count()))
		o.deliver(n, b.notification(o.p.collectorHost()), b.alert.Rule+" (summary)")
	}
}

func (o *notifications) send(n bridge.Notifier, a *detect.Alert) {
	o.deliver(n, o.p.notification(a), a.Subject())
}

func (o *notifications) deliver(n bridge.Notifier, note *bridge.Notification, what string) {
	p := o.p
	defer func() {
		// A panic here would end the goroutine, and with it collectd.
		if r := recover(); r != nil {
			p.host.errorf("anomaly plugin: dispatching notification for %s panicked: %v", what, r)
		}
	}()
	if err := n.Notify(note); err != nil {
		p.host.errorf("anomaly plugin: dispatching notification for %s: %v", what, err)
		return
	}
	p.notified.Add(1)
}
