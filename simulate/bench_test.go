package simulate

import (
	"testing"
	"time"
)

func BenchmarkStep(b *testing.B) {
	withIncidents := Config{Params: DefaultParams(), Seed: 1}
	// An incident boundary every 10 steps: the worst case of rebuilding the model.
	for i := range 1000 {
		withIncidents.Incidents = append(withIncidents.Incidents, Incident{
			Name: "spike", Start: time.Duration(i) * 200 * time.Second, Duration: 100 * time.Second,
			Changes: []Change{{Param: "PageLatencyStdDev", Value: 500}},
		})
	}
	for _, bb := range []struct {
		name string
		c    Config
	}{
		{"gauge/defaults", Config{Params: DefaultParams(), Seed: 1}},
		{"counter/defaults", Config{Params: DefaultParams(), Seed: 1, Mode: Counter}},
		{"gauge/busy-payments", Config{Params: busyPayments(), Seed: 1}},
		{"gauge/1000-incidents", withIncidents},
	} {
		b.Run(bb.name, func(b *testing.B) {
			s, err := New(bb.c, 10*time.Second)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var step int64
			for b.Loop() {
				s.Step(step)
				step++
			}
		})
	}
}
