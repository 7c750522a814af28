package replay_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
	"github.com/collectd-anomaly/collectd-anomaly/simulate"
)

// The state the shipped rule pack keeps per host bounds what a central
// collectd needs for many hosts. Measured at 78 KB (60 buckets per long
// window), 100 KB since each group keeps its open slots for late values
// (event time), 132 KB since payment-fraud judges each provider's share (four
// groups of two windows where one count was), 149 KB with later rules, 105
// KB since ratio and error-share windows keep two sums per bucket instead of
// two Summary rings; the bound catches a rule that keeps, say, a slot per
// interval for 6 hours (that was 930 KB).
func TestRulePackMemoryPerHost(t *testing.T) {
	perSeries, series, groups := memoryPerSeries(t, rulePack(t), nil)
	perHost := perSeries * float64(series)
	t.Logf("rule pack state: %.0f KB per host, %d groups", perHost/1024, groups)
	assert.Less(t, perHost, 128.0*1024)
}

// The state both shipped packs keep per series, on average, for hosts that
// send what the packs judge: the shop's 27 series and the 37 of collectd's
// standard read plugins (cpu and memory as percentages, load, a file
// system, a disk, an interface, processes; hostSeries). Issue 14's target
// is 1 KB per series; measured at 2.3 KB (143 KB per host of 64 series)
// when this test was written. The bound catches a change that adds a KB per
// series.
func TestBothPacksMemoryPerSeries(t *testing.T) {
	perSeries, perHost, groups := memoryPerSeries(t, bothPacks(t), hostSeries())
	t.Logf("both packs' state: %.0f bytes per series on average (%d series per host, %.0f KB per host), %d groups",
		perSeries, perHost, perSeries*float64(perHost)/1024, groups)
	assert.Less(t, perSeries, 3.0*1024)
}

// An <Anomaly> over every series, beside both packs, as the load benchmark
// runs it: a group and a detector per series. Measured at 1.8 KB per
// series more than the packs alone when this test was written (the group
// ~350 B, its ring of pending slots ~320, the detector ~380, the route's
// target, the group's map entry); the bound catches a detector that grows
// by most of a KB.
func TestEverySeriesAnomalyMemoryPerSeries(t *testing.T) {
	packs := bothPacks(t)
	every, err := detect.NewAnomalyRule(detect.RuleSpec{Name: "every-series-unusual"},
		[]detect.Selector{detect.MustSelector("*/*")}, detect.DefaultAnomalyParams())
	require.NoError(t, err)
	base, _, _ := memoryPerSeries(t, packs, hostSeries())
	perSeries, perHost, groups := memoryPerSeries(t, append(packs, every), hostSeries())
	t.Logf("both packs and an Anomaly on every series: %.0f bytes per series on average (%.0f more than the packs alone; %.0f KB per host), %d groups",
		perSeries, perSeries-base, perSeries*float64(perHost)/1024, groups)
	assert.Less(t, perSeries-base, 2.5*1024)
}

// memoryPerSeries is the heap the engine keeps per series, on average,
// with rules, for 300 hosts that send the shop's series and own; perHost
// is how many series each sends.
func memoryPerSeries(t *testing.T, rules []detect.Rule, own []ownSeries) (perSeries float64, perHost, groups int) {
	t.Helper()
	const hosts = 300
	e, err := detect.NewEngine(rules, detect.Options{})
	require.NoError(t, err)
	sim, err := simulate.New(simulate.Config{Params: simulate.DefaultParams(), Seed: 1}, interval)
	require.NoError(t, err)
	names := make([]string, hosts)
	for h := range names {
		names[h] = fmt.Sprintf("shop-%05d", h)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	vl := metric.ValueList{Values: make([]metric.Value, 1), Interval: interval}
	for step := int64(0); step < 3; step++ { // every group and its windows exist after the first
		vl.Time = start.Add(time.Duration(step) * interval)
		shop := sim.Step(step)
		perHost = len(shop) + len(own)
		for _, host := range names {
			vl.Host = host
			vl.Plugin, vl.PluginInstance = "ecommerce", ""
			vl.Values = vl.Values[:1]
			for _, v := range shop {
				vl.Type, vl.TypeInstance = v.Type, v.TypeInstance
				vl.Values[0] = metric.GaugeValue(v.Value)
				e.Observe(&vl)
			}
			for _, s := range own {
				vl.Identifier = metric.Identifier{Host: host, Plugin: s.plugin, PluginInstance: s.instance, Type: s.typ, TypeInstance: s.typeInstance}
				vl.Values = vl.Values[:0]
				for i := 0; i < s.sources; i++ {
					if s.derive {
						vl.Values = append(vl.Values, metric.DeriveValue(1000*(step+1)))
					} else {
						vl.Values = append(vl.Values, metric.GaugeValue(50+float64(step)))
					}
				}
				e.Observe(&vl)
			}
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(e)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(hosts*perHost), perHost, e.Stats().Groups
}

// ownSeries is one series a host's read plugins send.
type ownSeries struct {
	plugin, instance, typ, typeInstance string
	sources                             int
	derive                              bool
}

// hostSeries are the series collectd's standard read plugins send with the
// settings the host pack expects (collectd.conf.d/host.conf's header).
func hostSeries() []ownSeries {
	var out []ownSeries
	for _, s := range []string{"user", "system", "wait", "idle", "nice", "interrupt", "softirq", "steal"} {
		out = append(out, ownSeries{"cpu", "", "percent", s, 1, false})
	}
	for _, s := range []string{"used", "free", "buffered", "cached", "slab_recl", "slab_unrecl"} {
		out = append(out, ownSeries{"memory", "", "percent", s, 1, false})
	}
	out = append(out, ownSeries{"load", "", "load", "", 3, false})
	for _, s := range []string{"used", "free", "reserved"} {
		out = append(out, ownSeries{"df", "root", "percent_bytes", s, 1, false}, ownSeries{"df", "root", "df_complex", s, 1, false})
	}
	for _, typ := range []string{"disk_octets", "disk_ops", "disk_time", "disk_io_time", "disk_merged"} {
		out = append(out, ownSeries{"disk", "sda", typ, "", 2, true})
	}
	for _, typ := range []string{"if_octets", "if_packets", "if_errors", "if_dropped"} {
		out = append(out, ownSeries{"interface", "eth0", typ, "", 2, true})
	}
	for _, s := range []string{"running", "sleeping", "zombies", "stopped", "paging", "blocked"} {
		out = append(out, ownSeries{"processes", "", "ps_state", s, 1, false})
	}
	return append(out, ownSeries{"processes", "", "fork_rate", "", 1, true})
}
