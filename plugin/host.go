package main

import (
	"context"
	"time"

	"collectd.org/api"
	"collectd.org/plugin"

	"github.com/collectd-anomaly/collectd-anomaly/bridge"
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
	dispatchGauge(g *bridge.Gauge) error
	saveContext(interval time.Duration) error
	defaultInterval() time.Duration
	hostname() string
	notifier() bridge.Notifier
	errorf(format string, args ...any)
	warningf(format string, args ...any)
	infof(format string, args ...any)
}

type collectdHost struct{}

func (collectdHost) registerInit(f func() error) error {
	return bridge.RegisterInit("anomaly", f)
}

// registerCallbacks registers the write callback last: collectd unloads
// only the read callback of a plugin whose init failed, and a write
// callback left behind would judge every value and send nothing.
func (collectdHost) registerCallbacks(p *anomalyPlugin) error {
	if err := plugin.RegisterRead("anomaly", p, plugin.WithInterval(p.interval)); err != nil {
		return err
	}
	if err := plugin.RegisterShutdown("anomaly", p); err != nil {
		return err
	}
	return bridge.RegisterWrite("anomaly", p.write)
}

func (collectdHost) stopWriter() { bridge.StopWriter() }

func (collectdHost) ringStats() (uint64, int) { return bridge.RingStats() }

func (collectdHost) dispatch(ctx context.Context, vl *api.ValueList) error {
	return plugin.Write(ctx, vl)
}

func (collectdHost) dispatchGauge(g *bridge.Gauge) error { return bridge.DispatchGauge(g) }

func (collectdHost) saveContext(interval time.Duration) error { return bridge.SaveContext(interval) }

func (collectdHost) defaultInterval() time.Duration {
	if d := bridge.DefaultInterval(); d > 0 {
		return d
	}
	return 10 * time.Second
}

func (collectdHost) hostname() string { return bridge.Hostname() }

func (collectdHost) notifier() bridge.Notifier { return bridge.Collectd{} }

func (collectdHost) errorf(format string, args ...any)   { bridge.Errorf(format, args...) }
func (collectdHost) warningf(format string, args ...any) { bridge.Warningf(format, args...) }
func (collectdHost) infof(format string, args ...any)    { bridge.Infof(format, args...) }
