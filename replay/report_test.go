package replay_test

import (
	"encoding/xml"
	"errors"
	"html"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/replay"
)

// reportStart is where the reports of these tests begin; a bucket is a minute.
var reportStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// countRule is a count rule with the given thresholds (NaN: unset).
func countRule(t *testing.T, name string, warnMax, failMax float64) detect.Rule {
	t.Helper()
	th := detect.Unbounded()
	th.WarningMax, th.FailureMax = warnMax, failMax
	r, err := detect.NewCountRule(detect.RuleSpec{Name: name, Lifecycle: detect.Lifecycle{Hits: 1}}, []detect.Selector{detect.MustSelector("web/gauge-errors")}, detect.CountParams{Window: time.Minute, Thresholds: th, Unit: "errors"})
	require.NoError(t, err)
	return r
}

// traceOf is a trace of one value per minute, and the alerts a rule with
// the given bounds raises on them (a level holds until the next alert).
func traceOf(rule detect.Rule, values []float64, warnMax, failMax float64) *replay.Trace {
	tr := &replay.Trace{Rule: rule, Host: "shop"}
	level := detect.OK
	for i, v := range values {
		tr.Buckets = append(tr.Buckets, replay.Bucket{N: 1, ObsMin: v, ObsMax: v, ObsSum: v})
		now := detect.OK
		switch {
		case v > failMax:
			now = detect.Failure
		case v > warnMax:
			now = detect.Warning
		}
		if now != level {
			tr.Alerts = append(tr.Alerts, detect.Alert{Time: reportStart.Add(time.Duration(i) * time.Minute),
				Severity: now, Previous: level, Rule: rule.Spec().Name, Kind: rule.Kind(), Host: "shop"})
			level = now
		}
	}
	return tr
}

// writeReport writes a report of the traces, one per rule, over their
// minutes, and returns its directory.
func writeReport(t *testing.T, incidents []replay.Span, traces ...*replay.Trace) string {
	t.Helper()
	return writeReportOf(t, &replay.Report{Incidents: incidents}, traces...)
}

// writeReportOf fills r with the traces and writes it.
func writeReportOf(t *testing.T, r *replay.Report, traces ...*replay.Trace) string {
	t.Helper()
	r.Title, r.From = "test", reportStart
	r.To = reportStart.Add(time.Duration(len(traces[0].Buckets)) * time.Minute)
	for _, tr := range traces {
		r.Rules = append(r.Rules, tr.Rule)
		r.Traces = append(r.Traces, tr)
		r.Alerts = append(r.Alerts, tr.Alerts...)
	}
	dir := filepath.Join(t.TempDir(), "report")
	require.NoError(t, r.Write(dir))
	return dir
}

// svgTexts returns the text of every <text> of an SVG file, in order.
func svgTexts(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var texts []string
	d := xml.NewDecoder(f)
	for in := false; ; {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return texts
		}
		require.NoError(t, err, path)
		switch tok := tok.(type) {
		case xml.StartElement:
			in = tok.Name.Local == "text"
		case xml.CharData:
			if in {
				texts = append(texts, strings.TrimSpace(string(tok)))
			}
		case xml.EndElement:
			in = false
		}
	}
}

// ramp is a quarter hour of values below warnMax, one between the bounds,
// one above failMax, and one below warnMax again.
func ramp(warnMax, failMax float64) []float64 {
	var v []float64
	for _, x := range []float64{warnMax / 2, (warnMax + failMax) / 2, failMax * 1.2, warnMax / 2} {
		for range 15 {
			v = append(v, x)
		}
	}
	return v
}

// A chart's legend names what it draws: the values, both bounds, the
// alerts of both levels and the incidents; the axes name time and the
// rule's unit.
func TestReportChartLegendNamesWhatIsDrawn(t *testing.T) {
	const warnMax, failMax = 50, 100
	rule := countRule(t, "errors-per-minute", warnMax, failMax)
	tr := traceOf(rule, ramp(warnMax, failMax), warnMax, failMax)
	incident := replay.Span{Name: "errors", Start: reportStart.Add(15 * time.Minute), End: reportStart.Add(45 * time.Minute)}
	dir := writeReport(t, []replay.Span{incident}, tr)

	texts := svgTexts(t, filepath.Join(dir, "01-shop-errors-per-minute.svg"))
	for _, want := range []string{"observed", "WARNING bound (upper)", "FAILURE bound (upper)", "WARNING alert",
		"FAILURE alert", "incident (simulated, along the top)", "time (UTC)", replay.Unit(rule)} {
		assert.Contains(t, texts, want)
	}
	for _, absent := range []string{"baseline (expected)", "normal band", "observed (mean per point)",
		"observed range per point (lowest to highest)"} {
		assert.NotContains(t, texts, absent, "not drawn: one value per point, no baseline, no lower bound")
	}
}

// Entries are only for what a chart draws: no alert spans without alerts,
// no WARNING bound without WarningMax, no incidents when none are known;
// a point of several verdicts says it is their mean, and their range is drawn.
func TestReportChartLegendLeavesOutWhatIsNotDrawn(t *testing.T) {
	const failMax = 100
	rule := countRule(t, "quiet", math.NaN(), failMax)
	tr := traceOf(rule, ramp(failMax/5, failMax*0.8), math.NaN(), failMax)
	require.Empty(t, tr.Alerts, "the values stay below the bound")
	for i := range tr.Buckets {
		b := &tr.Buckets[i]
		b.N, b.ObsMin, b.ObsMax, b.ObsSum = 2, b.ObsMin-1, b.ObsMax+1, 2*b.ObsSum
	}
	dir := writeReport(t, nil, tr)

	texts := svgTexts(t, filepath.Join(dir, "01-shop-quiet.svg"))
	for _, want := range []string{"observed (mean per point)", "observed range per point (lowest to highest)", "FAILURE bound (upper)"} {
		assert.Contains(t, texts, want)
	}
	for _, absent := range []string{"observed", "WARNING bound (upper)", "WARNING alert", "FAILURE alert", "incident (simulated, along the top)"} {
		assert.NotContains(t, texts, absent)
	}
}

// Under its charts, each rule shows its block as written in the
// configuration, with the file and line; a rule without one shows none.
func TestReportShowsEachRulesBlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "web.conf")
	require.NoError(t, os.WriteFile(path, []byte(`LoadPlugin anomaly
<Plugin anomaly>
  # Why: a burst of errors is an outage for someone.
  <Count "errors-per-minute">
    Series "web/gauge-errors"
    Window 60
    WarningMax 50
    FailureMax 100
    Unit "errors"
  </Count>
  <Count "errors-per-hour">
    Series "web/gauge-errors"
    Window "1h"
    FailureMax 1000 # a slow leak
  </Count>
</Plugin>
`), 0o644))
	src, err := conf.ReadSource(path)
	require.NoError(t, err)
	settings, problems := src.Check()
	require.Empty(t, problems)
	blocks := src.RuleBlocks()
	require.Len(t, blocks, 2)
	var traces []*replay.Trace
	for _, r := range settings.Rules {
		traces = append(traces, traceOf(r, ramp(50, 100), 50, 100))
	}
	dir := writeReportOf(t, &replay.Report{RuleBlocks: blocks}, traces...)
	data, err := os.ReadFile(filepath.Join(dir, "index.html"))
	require.NoError(t, err)
	page := html.UnescapeString(string(data))

	// Each block lies between its rule's heading and the next one's.
	sections := strings.Split(page, "<h2 ")[1:]
	require.Len(t, sections, len(blocks))
	for i, b := range blocks {
		assert.True(t, strings.HasPrefix(sections[i], `id="`+b.Name+`"`), sections[i])
		assert.Contains(t, sections[i], b.Text)
		assert.Contains(t, sections[i], b.Pos.String())
	}

	// Without blocks (rules built in code), no configuration is shown.
	dir = writeReport(t, nil, traces...)
	data, err = os.ReadFile(filepath.Join(dir, "index.html"))
	require.NoError(t, err)
	assert.NotContains(t, string(data), "Configured in")
}
