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
	const hosts = 300
	e, err := detect.NewEngine(rulePack(t), detect.Options{})
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
	vl.Plugin = "ecommerce"
	for step := int64(0); step < 3; step++ { // every group and its windows exist after the first
		vl.Time = start.Add(time.Duration(step) * interval)
		for _, host := range names {
			vl.Host = host
			for _, v := range sim.Step(step) {
				vl.Type, vl.TypeInstance = v.Type, v.TypeInstance
				vl.Values[0] = metric.GaugeValue(v.Value)
				e.Observe(&vl)
			}
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perHost := float64(after.HeapAlloc-before.HeapAlloc) / hosts
	t.Logf("rule pack state: %.0f KB per host, %d groups", perHost/1024, e.Stats().Groups)
	assert.Less(t, perHost, 128.0*1024)
	runtime.KeepAlive(e)
}
