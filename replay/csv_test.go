package replay_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
	"github.com/collectd-anomaly/collectd-anomaly/replay"
)

func TestReadCSVThreeColumns(t *testing.T) {
	// A header naming the columns in another order; rows out of order;
	// times in three notations; a NaN; a counter series; a host-less name.
	in := `value,time,identifier
3,1767571210,shop/web/gauge-hits
1,1767571200,shop/web/gauge-hits
5,2026-01-05T00:00:20Z,shop/web/gauge-hits
,2026-01-05 00:00:30,shop/web/gauge-hits
100,1767571200.5,web/counter-requests
160,1767571230.5,web/counter-requests
`
	rec, err := replay.ReadCSV(strings.NewReader(in), "in.csv", replay.CSVOptions{})
	require.NoError(t, err)
	require.Len(t, rec.Series, 2)
	assert.Equal(t, metric.Identifier{Host: "shop", Plugin: "web", Type: "gauge", TypeInstance: "hits"}, rec.Series[0].ID)
	assert.Equal(t, metric.Gauge, rec.Series[0].Kind)
	assert.Equal(t, 10*time.Second, rec.Series[0].Interval, "the median step")
	assert.Equal(t, metric.Identifier{Host: replay.DefaultHost, Plugin: "web", Type: "counter", TypeInstance: "requests"}, rec.Series[1].ID)
	assert.Equal(t, metric.Counter, rec.Series[1].Kind)
	assert.Equal(t, 30*time.Second, rec.Series[1].Interval)
	assert.Equal(t, 6, rec.Len())
	assert.Equal(t, time.Unix(1767571200, 0).UTC(), rec.Start())
	assert.Equal(t, time.Unix(1767571230, 5e8).UTC(), rec.End())
	ts, vs := rec.Values(0)
	require.Len(t, vs, 4)
	assert.Equal(t, []float64{1, 3, 5}, vs[:3], "sorted by time")
	assert.True(t, math.IsNaN(vs[3]))
	assert.Equal(t, time.Date(2026, 1, 5, 0, 0, 30, 0, time.UTC), ts[3])
	assert.Equal(t, "1767571210", rec.FormatTime(ts[1]), "written as the first row was")
}

func TestReadCSVOneSeries(t *testing.T) {
	in := "timestamp,value\n2026-01-05 00:00:00,1.5\n2026-01-05 00:05:00,2\n"
	rec, err := replay.ReadCSV(strings.NewReader(in), "nab.csv", replay.CSVOptions{Series: "app/gauge-latency", Host: "h"})
	require.NoError(t, err)
	require.Len(t, rec.Series, 1)
	assert.Equal(t, "h/app/gauge-latency", rec.Series[0].ID.String())
	assert.Equal(t, 5*time.Minute, rec.Series[0].Interval)
	ts, _ := rec.Values(0)
	assert.Equal(t, "2026-01-05 00:05:00", rec.FormatTime(ts[1]))

	// Without a header, and with an interval given.
	rec, err = replay.ReadCSV(strings.NewReader("1767571200000,4\n1767571260000,5\n"), "ms.csv",
		replay.CSVOptions{Series: "a/b", Interval: time.Minute})
	require.NoError(t, err)
	assert.Equal(t, time.Unix(1767571200, 0).UTC(), rec.Start(), "milliseconds")
	assert.Equal(t, time.Minute, rec.Series[0].Interval)
}

func TestReadCSVErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct {
		in     string
		series string
		want   string
	}{
		{"time,identifier,value\n1,a/b,1\n2,a/b\n", "", "x.csv:3: want 3 columns, time,identifier,value (or timestamp,value with --series), not 2"},
		{"time,identifier,value\nsoon,a/b,1\n", "", `x.csv:2: time "soon": want Unix seconds, RFC 3339 or "2006-01-02 15:04:05"`},
		{"time,identifier,value\n1,nohost,1\n", "", `x.csv:2: identifier "nohost": want [host/]plugin[-instance]/type[-instance]`},
		{"time,identifier,value\n1,a/b,many\n", "", `x.csv:2: value "many" is not a number`},
		{"when,what,how\n1,a/b,1\n", "", `x.csv:1: header "when,what,how": want the columns time, identifier and value`},
		{"1,2,3\n", "a/b", "x.csv:1: want 2 columns, timestamp,value (with --series), not 3"},
		{"1,1\n", "nope", `--series: identifier "nope": want [host/]plugin[-instance]/type[-instance]`},
	} {
		_, err := replay.ReadCSV(strings.NewReader(tc.in), "x.csv", replay.CSVOptions{Series: tc.series})
		assert.EqualError(t, err, tc.want, tc.in)
	}
}

// recordingSink keeps the alerts of a replay.
type recordingSink struct{ alerts []detect.Alert }

func (s *recordingSink) Alert(a detect.Alert)      { s.alerts = append(s.alerts, a) }
func (s *recordingSink) Value(detect.DerivedValue) {}

// A gap of a century in the data costs what a gap of a day does: the silence
// is reported, the values after it are judged, and it takes milliseconds
// (ticking every second of it took minutes and ignored SIGTERM).
func TestPlayCrossesHugeGapsQuickly(t *testing.T) {
	in := "1,h/p/gauge-x,1\n2,h/p/gauge-x,2\n4102444799,h/p/gauge-x,2\n4102444800,h/p/gauge-x,2\n"
	rec, err := replay.ReadCSV(strings.NewReader(in), "gap.csv", replay.CSVOptions{})
	require.NoError(t, err)
	missing, err := detect.NewMissingRule(detect.RuleSpec{Name: "m", Lifecycle: detect.Lifecycle{Hits: 1}},
		[]detect.Selector{detect.MustSelector("p/*")}, 0)
	require.NoError(t, err)
	sink := &recordingSink{}
	e, err := detect.NewEngine([]detect.Rule{missing}, detect.Options{Sink: sink})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := rec.Play(ctx, e, replay.PlayOptions{})
	require.NoError(t, err, "the gap must not take seconds")
	assert.Equal(t, 4, n)
	var levels []string
	for _, a := range sink.alerts {
		levels = append(levels, a.Severity.String())
	}
	assert.Equal(t, []string{"FAILURE", "OKAY"}, levels, "silent in the gap, back after it")
}

// A file with more series than MaxSeries is refused, naming the flag.
func TestReadCSVBoundsSeries(t *testing.T) {
	var b strings.Builder
	for i := range 5 {
		b.WriteString("1764000000,h/p/gauge-" + string(rune('a'+i)) + ",1\n")
	}
	_, err := replay.ReadCSV(strings.NewReader(b.String()), "many.csv", replay.CSVOptions{MaxSeries: 4})
	require.EqualError(t, err, "many.csv:5: more than 4 series (--max-series)")
}

// A stray quote is an error with its line, not a panic.
func TestReadCSVStrayQuote(t *testing.T) {
	_, err := replay.ReadCSV(strings.NewReader("1764000000,\"shop/a/b,5\n"), "q.csv", replay.CSVOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "q.csv: ")
}
