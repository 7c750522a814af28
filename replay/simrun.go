package replay

import (
	"context"

	"github.com/collectd-anomaly/collectd-anomaly/metric"
	"github.com/collectd-anomaly/collectd-anomaly/simulate"
)

// RunOptions tune Simulation.RunContext.
type RunOptions struct {
	// Tracer, if set, is told each value list before the engine sees it.
	Tracer *Tracer
	// Progress, if set, is called every simulated hour or so with the next step.
	Progress func(step int64)
	// Silent, if set, tells the steps whose values are not dispatched at all
	// (the source is down); the engine is still ticked, as the plugin's
	// read callback ticks it whether or not values arrive.
	Silent func(step int64) bool
}

// checkEvery is how many steps RunContext runs between looks at ctx.
const checkEvery = 256

// RunContext is Run with a way to stop: it replays steps [from, to) and
// returns early, with the step it reached and ctx's error, once ctx is
// done. Everything up to that step has been observed and ticked.
func (s *Simulation) RunContext(ctx context.Context, from, to int64, opt RunOptions) (int64, error) {
	vl := metric.ValueList{Values: make([]metric.Value, 1)}
	vl.Host, vl.Plugin, vl.Interval = s.Host, simulate.Plugin, s.Interval
	for step := from; step < to; step++ {
		if (step-from)%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return step, err
			}
			if opt.Progress != nil {
				opt.Progress(step)
			}
		}
		vl.Time = s.Time(step)
		if opt.Silent == nil || !opt.Silent(step) {
			for _, v := range s.Simulator.Step(step) {
				vl.Type, vl.TypeInstance = v.Type, v.TypeInstance
				vl.Values[0] = v.Metric()
				if opt.Tracer != nil {
					opt.Tracer.Observe(&vl)
				}
				s.Engine.Observe(&vl)
			}
		}
		s.Engine.Tick(vl.Time)
	}
	if opt.Progress != nil {
		opt.Progress(to)
	}
	return to, nil
}
