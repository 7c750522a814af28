package replay_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
	"github.com/collectd-anomaly/collectd-anomaly/replay"
	"github.com/collectd-anomaly/collectd-anomaly/simulate"
)

// Both shipped packs, every kind of rule among them.
func bothPacks(t testing.TB) []detect.Rule {
	t.Helper()
	return append(packRules(t, "../collectd.conf.d/anomaly.conf"), packRules(t, "../collectd.conf.d/host.conf")...)
}

func alertLines(alerts []detect.Alert, from time.Time) []string {
	var out []string
	for _, a := range alerts {
		if !a.Time.Before(from) {
			out = append(out, fmt.Sprintf("%s %s %s %s", a.Time.Format(time.RFC3339Nano), a.Severity, a.Subject(), a.Message))
		}
	}
	return out
}

// A restart that loses no values - the plugin saves at shutdown, and the
// values come back where they stopped - changes nothing: the alerts after it
// are those of a run without it, one for one, message for message. The
// restarts fall before, during and after incidents of every task, so the
// windows, baselines, periods and raised alerts all cross one. The state is
// saved and read through the file's bytes, with a new engine and new rules
// each time.
func TestStateFileRestartChangesNothing(t *testing.T) {
	incidents := []simulate.Incident{
		{Name: "pages-4xx", Start: warmUp + time.Hour, Duration: 30 * time.Minute, Changes: []simulate.Change{change("PageError400", 0.15)}},
		{Name: "slow", Start: warmUp + 2*time.Hour, Duration: 30 * time.Minute, Changes: []simulate.Change{change("PageLatencyMean", 400)}},
		{Name: "checkout-broken", Start: warmUp + 3*time.Hour, Duration: 2 * time.Hour, Changes: []simulate.Change{change("PaymentRate", 0)}},
		{Name: "fraud", Start: warmUp + 6*time.Hour, Duration: time.Hour, Changes: []simulate.Change{providerChange("a", "Fraud", 0.3)}},
		{Name: "spike", Start: warmUp + 8*time.Hour, Duration: 15 * time.Minute, Changes: []simulate.Change{change("TrafficMultiplier", 3)}},
	}
	steps := int64((warmUp + 10*time.Hour) / interval)
	newSim := func() *simulate.Simulator {
		sim, err := simulate.New(simulate.Config{Params: simulate.DefaultParams(), Seed: 21, Incidents: incidents}, interval)
		require.NoError(t, err)
		return sim
	}

	whole := &replay.Recorder{}
	e, err := detect.NewEngine(bothPacks(t), detect.Options{Sink: whole})
	require.NoError(t, err)
	(&replay.Simulation{Engine: e, Simulator: newSim(), Host: "shop", Start: start, Interval: interval}).Run(0, steps)

	// Restarts in the warm-up, inside pages-4xx (raised), between, inside
	// checkout-broken (raised, hours of baseline), inside the fraud wave.
	restarts := []time.Duration{6 * time.Hour, warmUp + time.Hour + 10*time.Minute, warmUp + 150*time.Minute,
		warmUp + 4*time.Hour, warmUp + 6*time.Hour + 30*time.Minute}
	sim := newSim()
	var got []detect.Alert
	from := int64(0)
	var state []byte
	for i := 0; i <= len(restarts); i++ {
		rec := &replay.Recorder{}
		e, err := detect.NewEngine(bothPacks(t), detect.Options{Sink: rec})
		require.NoError(t, err)
		if state != nil {
			rep, err := e.RestoreState(state, start.Add(time.Duration(from)*interval))
			require.NoError(t, err)
			assert.Empty(t, rep.Changed)
			assert.Positive(t, rep.Groups)
		}
		to := steps
		if i < len(restarts) {
			to = int64(restarts[i] / interval)
		}
		(&replay.Simulation{Engine: e, Simulator: sim, Host: "shop", Start: start, Interval: interval}).Run(from, to)
		got = append(got, rec.Alerts()...)
		var buf bytes.Buffer
		n, err := e.SaveState(&buf, start.Add(time.Duration(to)*interval))
		require.NoError(t, err)
		require.Positive(t, n)
		state, from = buf.Bytes(), to
	}
	want := alertLines(whole.Alerts(), start)
	require.NotEmpty(t, want)
	assert.Equal(t, want, alertLines(got, start))
	t.Logf("%d alerts across %d restarts; state of both packs for one host: %d bytes", len(want), len(restarts), len(state))
}

// BenchmarkStateFile measures writing and reading the state of the
// e-commerce pack for 1,000 series (37 shops of 27 series), after two hours
// of traffic: every window and baseline full.
func BenchmarkStateFile(b *testing.B) {
	const shops = 37
	e, err := detect.NewEngine(rulePack(b), detect.Options{})
	require.NoError(b, err)
	sim, err := simulate.New(simulate.Config{Params: simulate.DefaultParams(), Seed: 3}, interval)
	require.NoError(b, err)
	vl := metric.ValueList{Values: make([]metric.Value, 1), Interval: interval}
	vl.Plugin = "ecommerce"
	series := 0
	for step := int64(0); step < int64(2*time.Hour/interval); step++ {
		vl.Time = start.Add(time.Duration(step) * interval)
		values := sim.Step(step)
		series = len(values) * shops
		for h := range shops {
			vl.Host = fmt.Sprintf("shop-%02d", h)
			for _, v := range values {
				vl.Type, vl.TypeInstance = v.Type, v.TypeInstance
				vl.Values[0] = metric.GaugeValue(v.Value)
				e.Observe(&vl)
			}
		}
		e.Tick(vl.Time)
	}
	var buf bytes.Buffer
	_, err = e.SaveState(&buf, vl.Time)
	require.NoError(b, err)
	state := bytes.Clone(buf.Bytes())
	b.Run("save", func(b *testing.B) {
		for b.Loop() {
			buf.Reset()
			if _, err := e.SaveState(&buf, vl.Time); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(state))*1000/float64(series), "bytes/1000series")
	})
	b.Run("restore", func(b *testing.B) {
		for b.Loop() {
			e2, _ := detect.NewEngine(rulePack(b), detect.Options{})
			if _, err := e2.RestoreState(state, vl.Time); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Logf("%d series, state %d bytes", series, len(state))
}
