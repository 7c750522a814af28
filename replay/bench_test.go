package replay_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
	"github.com/collectd-anomaly/collectd-anomaly/simulate"
)

// BenchmarkRulePackObserve measures the write path's engine work: one value
// list of the simulated shop through every rule of the shipped pack, per op.
// State for every series exists already (the steady state of a running
// collectd); time advances one interval per round of all series. With
// clock=wall the engine also checks each value's time against its host's
// clock, as the plugin does (the wall clock follows the values here).
func BenchmarkRulePackObserve(b *testing.B) {
	for _, bc := range []struct {
		hosts int
		wall  bool
	}{{1, false}, {1, true}, {10_000, false}, {10_000, true}} {
		name := fmt.Sprintf("hosts=%d", bc.hosts)
		if bc.wall {
			name += "/clock=wall"
		}
		hosts := bc.hosts
		b.Run(name, func(b *testing.B) {
			var wall time.Time
			opt := detect.Options{}
			if bc.wall {
				opt.Now = func() time.Time { return wall }
			}
			e, err := detect.NewEngine(rulePack(b), opt)
			if err != nil {
				b.Fatal(err)
			}
			sim, err := simulate.New(simulate.Config{Params: simulate.DefaultParams(), Seed: 1}, interval)
			if err != nil {
				b.Fatal(err)
			}
			// A round: every series of every host at one time stamp.
			var round []metric.ValueList
			for h := 0; h < hosts; h++ {
				for _, v := range sim.Step(0) {
					round = append(round, metric.ValueList{
						Identifier: metric.Identifier{Host: fmt.Sprintf("shop-%05d", h), Plugin: "ecommerce", Type: v.Type, TypeInstance: v.TypeInstance},
						Interval:   interval,
						Values:     []metric.Value{metric.GaugeValue(v.Value)},
					})
				}
			}
			step := 0
			feed := func() {
				ts := start.Add(time.Duration(step) * interval)
				wall = ts
				for i := range round {
					round[i].Time = ts
					e.Observe(&round[i])
				}
				step++
			}
			// Warm up past every window and baseline, so the benchmark sees
			// the steady state, not the creation of state.
			for range warmRounds(hosts) {
				feed()
			}
			b.ReportAllocs()
			b.ResetTimer()
			n := 0
			for b.Loop() {
				ts := start.Add(time.Duration(step) * interval)
				wall = ts
				vl := &round[n]
				vl.Time = ts
				e.Observe(vl)
				if n++; n == len(round) {
					n = 0
					step++
				}
			}
		})
	}
}

// warmRounds fills every window and baseline of the pack for one host; for
// many hosts, enough rounds for their state to exist (the cost of a round
// does not depend on how full the windows are).
func warmRounds(hosts int) int {
	if hosts > 100 {
		return 40
	}
	return 400
}
