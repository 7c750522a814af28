package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
)

func ruleNames(p *anomalyPlugin) []string {
	var out []string
	for _, r := range p.engine.Load().Rules() {
		out = append(out, r.Spec().Name)
	}
	return out
}

// collectd calls the config callback once per <Plugin anomaly> block; the
// blocks add up and the callbacks are registered once.
func TestConfigureTwoBlocksRegistersOnce(t *testing.T) {
	d := newFakeDaemon()
	p := newPlugin(d)
	require.NoError(t, p.configure(pluginBlock(simpleRatio("first"))))
	assert.Equal(t, []string{"first"}, ruleNames(p))
	require.NoError(t, p.configure(pluginBlock(simpleRatio("second"), opt("Hostname", "central"))))
	assert.Zero(t, d.registrations(), "callbacks wait for init")
	require.NoError(t, p.init())
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	assert.Equal(t, 1, d.registrations(), "registered once")
	require.NoError(t, p.init())
	assert.Equal(t, 1, d.registrations(), "init twice registers once")
	assert.Equal(t, 10*time.Second, p.interval, "collectd's Interval")
	assert.Equal(t, []string{"first", "second"}, ruleNames(p))
	assert.Equal(t, "central", p.settings.Hostname)
	assert.Len(t, p.blocks, 2)
	assert.Equal(t, []string{"anomaly plugin: 2 rules (ratio first, ratio second); no simulation"}, d.infoLines())
}

// A bad block is refused with the option named, and what was configured
// before stays in force.
func TestConfigureRejectsBadBlockAndKeepsPrevious(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d, simpleRatio("first"))
	settings, engine := p.settings, p.engine.Load()

	err := p.configure(pluginBlock(simpleRatio("second"), opt("Bogus", 1)))
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), `<Plugin anomaly>: unknown option "Bogus" (rules are <`), err.Error())
	err = p.configure(pluginBlock(simpleRatio("first")))
	require.Error(t, err)
	assert.Equal(t, `<Plugin anomaly>: <Ratio "first">: another rule has the name "first"`, err.Error())

	assert.Same(t, settings, p.settings)
	assert.Same(t, engine, p.engine.Load())
	assert.Len(t, p.blocks, 1)
	assert.Equal(t, 1, d.registrations())
	assert.Len(t, d.infoLines(), 1, "nothing logged for a refused block")

	// The refused blocks are forgotten: a later good block adds to the first only.
	require.NoError(t, p.configure(pluginBlock(simpleRatio("third"))))
	assert.Equal(t, []string{"first", "third"}, ruleNames(p))
}

func TestConfigureFirstBlockBadRegistersNothing(t *testing.T) {
	d := newFakeDaemon()
	p := newPlugin(d)
	err := p.configure(pluginBlock(named("Ratio", "r", opt("Numerator", "a/b"))))
	require.Error(t, err)
	assert.Equal(t, `<Plugin anomaly>: <Ratio "r">: a ratio needs Numerator and Denominator series`, err.Error())
	assert.Zero(t, d.registrations())
	assert.Nil(t, p.engine.Load())
	assert.Nil(t, p.settings)
	assert.False(t, p.registered)
	assert.Empty(t, d.infoLines())
}

func TestConfigureRegistrationFailureIsAnError(t *testing.T) {
	d := newFakeDaemon()
	d.registerErr = errors.New("plugin_register_write failed with status -1")
	p := newPlugin(d)
	require.NoError(t, p.configure(pluginBlock(simpleRatio("r"))))
	err := p.init()
	assert.EqualError(t, err, "plugin_register_write failed with status -1")
	assert.False(t, p.registered)
}

// The simulation's Interval is the read callback's, when the first block sets it.
func TestConfigureSimulationInterval(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d, bare("Simulation", opt("Seed", 1), opt("Interval", 2)))
	assert.Equal(t, 2*time.Second, p.interval)

	d = newFakeDaemon()
	p = configured(t, d, bare("Simulation", opt("Seed", 1)))
	assert.Equal(t, 10*time.Second, p.interval, "collectd's Interval when the simulation has none")
}

// The read callback is registered at init, when every block is read: a
// <Simulation> in a later block (simulation.conf after anomaly.conf) sets its
// interval.
func TestConfigureSimulationIntervalInLaterBlock(t *testing.T) {
	d := newFakeDaemon()
	p := newPlugin(d)
	require.NoError(t, p.configure(pluginBlock(simpleRatio("r"))))
	require.NoError(t, p.configure(pluginBlock(bare("Simulation", opt("Interval", 1)))))
	require.NoError(t, p.init())
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	assert.Equal(t, time.Second, p.interval)
}

// Without a Seed the plugin picks one and logs it; that seed must be one
// the configuration accepts, so that the run can be repeated.
func TestConfigurePicksARepeatableSeed(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d, bare("Simulation", named("Incident", "i", opt("Duration", 60), opt("PageRate", 0))))
	sim := p.settings.Simulation
	require.NotNil(t, sim)
	assert.False(t, sim.SeedSet)
	seed := sim.Config.Seed
	assert.LessOrEqual(t, seed, uint64(math.MaxInt32))
	assert.Equal(t, []string{fmt.Sprintf("anomaly plugin: 0 rules (); simulating e-commerce traffic (seed %d, gauge mode, 1 incidents)", seed)}, d.infoLines())

	again, err := conf.Parse(pluginBlock(bare("Simulation", opt("Seed", float64(seed)))))
	require.NoError(t, err, "the logged seed can be configured")
	assert.Equal(t, seed, again.Simulation.Config.Seed)

	// A configured seed is kept.
	d = newFakeDaemon()
	p = configured(t, d, bare("Simulation", opt("Seed", 12345), opt("Mode", "counter")))
	assert.Equal(t, uint64(12345), p.settings.Simulation.Config.Seed)
	assert.Equal(t, []string{"anomaly plugin: 0 rules (); simulating e-commerce traffic (seed 12345, counter mode, 0 incidents)"}, d.infoLines())
}

func TestShutdownTwiceIsFine(t *testing.T) {
	d := newFakeDaemon()
	p := configured(t, d, simpleRatio("r"))
	require.NoError(t, p.Shutdown(context.Background()))
	require.NoError(t, p.Shutdown(context.Background()))
}
