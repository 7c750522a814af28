package replay_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
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
	assert.Equal(t, detect.Identifier{Host: "shop", Plugin: "web", Type: "gauge", TypeInstance: "hits"}, rec.Series[0].ID)
	assert.Equal(t, detect.Gauge, rec.Series[0].Kind)
	assert.Equal(t, 10*time.Second, rec.Series[0].Interval, "the median step")
	assert.Equal(t, detect.Identifier{Host: replay.DefaultHost, Plugin: "web", Type: "counter", TypeInstance: "requests"}, rec.Series[1].ID)
	assert.Equal(t, detect.Counter, rec.Series[1].Kind)
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
