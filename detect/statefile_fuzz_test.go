package detect

import (
	"bytes"
	"testing"
	"time"
)

// FuzzRestoreState: whatever the file holds, reading it and then running
// the engine on it never panics; a file that restores is one the engine
// can write again.
func FuzzRestoreState(f *testing.F) {
	rule := func() *RatioRule {
		th := Unbounded()
		th.FailureMax = 0.10
		r, err := NewRatioRule(RuleSpec{Name: "failed", Lifecycle: Lifecycle{Hits: 1}}, []Selector{MustSelector("web/gauge-errors")}, []Selector{MustSelector("web/gauge-requests")}, RatioParams{Window: time.Minute, Thresholds: th, MinDenominator: 10})
		if err != nil {
			f.Fatal(err)
		}
		return r
	}
	e, _ := NewEngine([]Rule{rule()}, Options{})
	for step := range 40 {
		failed := 1.0
		if step >= 30 {
			failed = 30
		}
		feed(e, "h1", step, 100, failed)
	}
	var buf bytes.Buffer
	if _, err := e.SaveState(&buf, t0.Add(400*time.Second)); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(stateMagic))
	f.Add(appendChecksum([]byte(stateMagic + "\x01\x00\x01\x06failed\x00\x01\x02h1\x00\x05\x01\x02\x03\x04\x05")))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The checksum would refuse almost every mutation: fix it up, so that
		// the decoder behind it is what is fuzzed.
		if len(data) >= len(stateMagic)+4 && bytes.HasPrefix(data, []byte(stateMagic)) {
			data = appendChecksum(bytes.Clone(data[:len(data)-4]))
		}
		e, _ := NewEngine([]Rule{rule()}, Options{})
		if _, err := e.RestoreState(data, t0.Add(400*time.Second)); err != nil {
			return
		}
		for step := 40; step < 60; step++ {
			feed(e, "h1", step, 100, 1)
		}
		e.Tick(t0.Add(time.Hour))
		if _, err := e.SaveState(&bytes.Buffer{}, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	})
}
