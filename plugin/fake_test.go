package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"collectd.org/api"
	"collectd.org/config"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/bridge"
	"github.com/collectd-anomaly/collectd-anomaly/bridge/fake"
	"github.com/collectd-anomaly/collectd-anomaly/conf/conftest"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// fakeDaemon stands in for collectd: it records registrations, dispatched
// value lists and log lines, and hands out a fake.Recorder as notifier.
type fakeDaemon struct {
	interval    time.Duration // collectd's Interval
	rec         *fake.Recorder
	notifierFor bridge.Notifier // replaces rec when set
	registerErr error
	dispatchErr error

	mu         sync.Mutex
	registered int
	dispatched []*api.ValueList
	warnings   []string
	stats      []*api.ValueList
	infos      []string
	errors     []string
}

func newFakeDaemon() *fakeDaemon {
	return &fakeDaemon{interval: 10 * time.Second, rec: &fake.Recorder{}}
}

// registerInit keeps f; tests call the plugin's init themselves, as collectd
// does once every block is read.
func (d *fakeDaemon) registerInit(f func() error) error { return nil }

func (d *fakeDaemon) registerCallbacks(p *anomalyPlugin) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.registerErr != nil {
		return d.registerErr
	}
	d.registered++
	return nil
}

func (d *fakeDaemon) dispatch(_ context.Context, vl *api.ValueList) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dispatchErr != nil {
		return d.dispatchErr
	}
	if vl.Plugin == "anomaly" && vl.PluginInstance == "stats" {
		// The plugin's statistics, every interval: kept apart so that
		// tests of the simulated and derived values need not skip them.
		d.stats = append(d.stats, vl.Clone())
		return nil
	}
	d.dispatched = append(d.dispatched, vl.Clone())
	return nil
}

// dispatchGauge records g as the value list collectd would receive.
func (d *fakeDaemon) dispatchGauge(g *bridge.Gauge) error {
	return d.dispatch(context.Background(), &api.ValueList{
		Identifier: api.Identifier{Host: g.Host, Plugin: g.Plugin, PluginInstance: g.PluginInstance, Type: g.Type, TypeInstance: g.TypeInstance},
		Time:       g.Time,
		Interval:   g.Interval,
		Values:     []api.Value{api.Gauge(g.Value)},
		DSNames:    []string{"value"},
	})
}

func (d *fakeDaemon) saveContext(time.Duration) error { return nil }

func (d *fakeDaemon) defaultInterval() time.Duration { return d.interval }

func (d *fakeDaemon) hostname() string { return "collectd-host" }

func (d *fakeDaemon) stopWriter() {}

func (d *fakeDaemon) ringStats() (uint64, int) { return 0, 0 }

func (d *fakeDaemon) notifier() bridge.Notifier {
	if d.notifierFor != nil {
		return d.notifierFor
	}
	return d.rec
}

func (d *fakeDaemon) errorf(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.errors = append(d.errors, fmt.Sprintf(format, args...))
}

func (d *fakeDaemon) warningf(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.warnings = append(d.warnings, fmt.Sprintf(format, args...))
}

func (d *fakeDaemon) infof(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.infos = append(d.infos, fmt.Sprintf(format, args...))
}

func (d *fakeDaemon) registrations() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.registered
}

// takeDispatched returns the value lists dispatched since the last call.
func (d *fakeDaemon) takeDispatched() []*api.ValueList {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.dispatched
	d.dispatched = nil
	return out
}

func (d *fakeDaemon) infoLines() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.infos...)
}

func (d *fakeDaemon) errorLines() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.errors...)
}

// infosContaining returns the info lines that contain s.
func (d *fakeDaemon) infosContaining(s string) []string {
	var out []string
	for _, l := range d.infoLines() {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// gate is a Notifier that blocks every call until it is opened, and says
// when the first call has arrived; behind it a Recorder keeps what passes.
type gate struct {
	rec     fake.Recorder
	entered chan struct{}
	open    chan struct{}
	once    sync.Once
}

func newGate() *gate { return &gate{entered: make(chan struct{}), open: make(chan struct{})} }

func (g *gate) Notify(n *bridge.Notification) error {
	g.once.Do(func() { close(g.entered) })
	<-g.open
	return g.rec.Notify(n)
}

// failingNotifier refuses every notification.
type failingNotifier struct{}

func (failingNotifier) Notify(*bridge.Notification) error { return fmt.Errorf("chain is down") }

// Configuration blocks, as collectd hands them over.
var (
	opt         = conftest.Opt
	named       = conftest.Named
	bare        = conftest.Bare
	pluginBlock = conftest.PluginBlock
)

const (
	failedRE = `/^ecommerce\/gauge-(?P<group>page|asset)-response-(?:400|500)$/`
	hitsRE   = `/^ecommerce\/gauge-(?P<group>page|asset)-hits-total$/`
)

// failedRequests is the rule pack's failed-requests rule with a one-minute window.
func failedRequests(extra ...config.Block) config.Block {
	return named("Ratio", "web-failed-requests", append([]config.Block{
		opt("Numerator", failedRE),
		opt("Denominator", hitsRE),
		opt("Window", 60),
		opt("FailureMax", 0.10),
		opt("Hysteresis", 0.02),
		opt("MinDenominator", 50),
	}, extra...)...)
}

// simpleRatio is a valid rule that nothing in these tests feeds.
func simpleRatio(name string) config.Block {
	return named("Ratio", name, opt("Numerator", "x/gauge-a"), opt("Denominator", "x/gauge-b"), opt("FailureMax", 0.5))
}

// configured returns a plugin configured with one <Plugin anomaly> block of
// children; it is shut down when the test ends.
func configured(t *testing.T, d *fakeDaemon, children ...config.Block) *anomalyPlugin {
	t.Helper()
	p := newPlugin(d)
	require.NoError(t, p.configure(pluginBlock(children...)))
	require.NoError(t, p.init())
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

// drain shuts p down, which dispatches every queued notification, and
// returns what reached the recorder.
func drain(t *testing.T, p *anomalyPlugin, rec *fake.Recorder) []bridge.Notification {
	t.Helper()
	require.NoError(t, p.Shutdown(context.Background()))
	return rec.Notifications()
}

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// gaugeList is one value list as collectd's write callback hands it over.
func gaugeList(host, plugin, typ, typeInstance string, t time.Time, v float64) *metric.ValueList {
	return &metric.ValueList{
		Identifier: metric.Identifier{Host: host, Plugin: plugin, Type: typ, TypeInstance: typeInstance},
		Time:       t,
		Interval:   10 * time.Second,
		Values:     []metric.Value{metric.GaugeValue(v)},
		DSNames:    []string{"value"},
	}
}

// toDetect converts a dispatched value list into what the write callback
// would receive, at time t.
func toDetect(t *testing.T, vl *api.ValueList, at time.Time) *metric.ValueList {
	t.Helper()
	out := &metric.ValueList{
		Identifier: metric.Identifier{Host: vl.Host, Plugin: vl.Plugin, PluginInstance: vl.PluginInstance, Type: vl.Type, TypeInstance: vl.TypeInstance},
		Time:       at,
		Interval:   vl.Interval,
		DSNames:    vl.DSNames,
	}
	for _, v := range vl.Values {
		switch x := v.(type) {
		case api.Gauge:
			out.Values = append(out.Values, metric.GaugeValue(float64(x)))
		case api.Counter:
			out.Values = append(out.Values, metric.CounterValue(uint64(x)))
		case api.Derive:
			out.Values = append(out.Values, metric.DeriveValue(int64(x)))
		default:
			t.Fatalf("%s: value of type %T", vl.Identifier, v)
		}
	}
	return out
}

// metaMap turns meta data into a map, failing on a repeated key.
func metaMap(t *testing.T, meta []bridge.Meta) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, m := range meta {
		_, dup := out[m.Key]
		require.False(t, dup, "meta key %q twice", m.Key)
		out[m.Key] = m.Value
	}
	return out
}
