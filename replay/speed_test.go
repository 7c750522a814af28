package replay_test

import (
	"context"
	"testing"
	"time"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
	"github.com/collectd-anomaly/collectd-anomaly/replay"
	"github.com/collectd-anomaly/collectd-anomaly/simulate"
)

// BenchmarkReplay measures replay speed in values per second: the shipped
// rule pack over one simulated day of the shop at 10 s (27 series, 233,280
// value lists) per op, from a fresh engine, as `anomaly replay` runs it.
// A simulated year is 365 such days: divide 85 million values by values/s.
// "traced" adds the Tracer that --report and --scores use.
func BenchmarkReplay(b *testing.B) {
	for _, traced := range []bool{false, true} {
		name := "plain"
		if traced {
			name = "traced"
		}
		b.Run(name, func(b *testing.B) {
			rules := rulePack(b)
			var values int64
			for b.Loop() {
				var sink detect.Sink = &replay.Recorder{}
				var tracer *replay.Tracer
				rs := rules
				if traced {
					tracer = &replay.Tracer{Sink: sink, From: start, To: start.Add(24 * time.Hour), Buckets: 1000}
					rs, sink = tracer.Wrap(rules), tracer
				}
				e, err := detect.NewEngine(rs, detect.Options{Sink: sink})
				if err != nil {
					b.Fatal(err)
				}
				sim, err := simulate.New(simulate.Config{Params: simulate.DefaultParams(), Seed: 1}, interval)
				if err != nil {
					b.Fatal(err)
				}
				run := replay.Simulation{Engine: e, Simulator: sim, Host: "shop", Start: start, Interval: interval}
				steps := int64(24 * time.Hour / interval)
				if _, err := run.RunContext(context.Background(), 0, steps, replay.RunOptions{Tracer: tracer}); err != nil {
					b.Fatal(err)
				}
				values += steps * int64(len(sim.Names()))
			}
			b.ReportMetric(float64(values)/b.Elapsed().Seconds(), "values/s")
		})
	}
}

// BenchmarkPlayRecording measures the recorded-data path (CSV, InfluxDB):
// the pack over one simulated day held in a Recording, values per second.
func BenchmarkPlayRecording(b *testing.B) {
	rules := rulePack(b)
	sim, err := simulate.New(simulate.Config{Params: simulate.DefaultParams(), Seed: 1}, interval)
	if err != nil {
		b.Fatal(err)
	}
	rec := &replay.Recording{}
	for step := int64(0); step < int64(24*time.Hour/interval); step++ {
		t := start.Add(time.Duration(step) * interval)
		for _, v := range sim.Step(step) {
			s := rec.AddSeries(metric.Identifier{Host: "shop", Plugin: "ecommerce", Type: v.Type, TypeInstance: v.TypeInstance}, "value", metric.Gauge, interval)
			rec.Add(s, t, v.Value)
		}
	}
	rec.Finish()
	var values int64
	for b.Loop() {
		e, err := detect.NewEngine(rules, detect.Options{Sink: &replay.Recorder{}})
		if err != nil {
			b.Fatal(err)
		}
		n, err := rec.Play(context.Background(), e, replay.PlayOptions{})
		if err != nil {
			b.Fatal(err)
		}
		values += int64(n)
	}
	b.ReportMetric(float64(values)/b.Elapsed().Seconds(), "values/s")
}
