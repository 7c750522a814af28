package main

import (
	"context"
	"time"

	"collectd.org/api"
	"collectd.org/plugin"

	"github.com/collectd-anomaly/collectd-anomaly/cgo"
)

// daemon is what the plugin needs of collectd. collectdHost is the real one;
// tests substitute a fake, since collectd's functions exist only inside it.
type daemon interface {
	registerInit(f func() error) error
	registerCallbacks(p *anomalyPlugin) error
	stopWriter()
	ringStats() (fullWaits uint64, highWater int)
	// dispatch hands collectd a value list from a read callback (collectd's
	// thread); dispatchGauge one from the plugin's own threads.
	dispatch(ctx context.Context, vl *api.ValueList) error
	dispatchGauge(g *cgo.Gauge) error
	saveContext(interval time.Duration) error
	defaultInterval() time.Duration
	hostname() string
	notifier() cgo.Notifier
	errorf(format string, args ...any)
	warningf(format string, args ...any)
	infof(format string, args ...any)
}

type collectdHost struct{}

func (collectdHost) registerInit(f func() error) error {
	return cgo.RegisterInit("anomaly", f)
}

func (collectdHost) registerCallbacks(p *anomalyPlugin) error {
	if err := cgo.RegisterWrite("anomaly", p.write); err != nil {
		return err
	}
	if err := plugin.RegisterRead("anomaly", p, plugin.WithInterval(p.interval)); err != nil {
		return err
	}
	return plugin.RegisterShutdown("anomaly", p)
}

func (collectdHost) stopWriter() { cgo.StopWriter() }

func (collectdHost) ringStats() (uint64, int) { return cgo.RingStats() }

func (collectdHost) dispatch(ctx context.Context, vl *api.ValueList) error {
	return plugin.Write(ctx, vl)
}

func (collectdHost) dispatchGauge(g *cgo.Gauge) error { return cgo.DispatchGauge(g) }

func (collectdHost) saveContext(interval time.Duration) error { return cgo.SaveContext(interval) }

func (collectdHost) defaultInterval() time.Duration {
	if d := cgo.DefaultInterval(); d > 0 {
		return d
	}
	return 10 * time.Second
}

func (collectdHost) hostname() string { return cgo.Hostname() }

func (collectdHost) notifier() cgo.Notifier { return cgo.Collectd{} }

func (collectdHost) errorf(format string, args ...any)   { cgo.Errorf(format, args...) }
func (collectdHost) warningf(format string, args ...any) { cgo.Warningf(format, args...) }
func (collectdHost) infof(format string, args ...any)    { cgo.Infof(format, args...) }
