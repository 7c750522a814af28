package replay_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
	"github.com/collectd-anomaly/collectd-anomaly/replay"
)

// influxServer answers /query with the recorded answers of a real InfluxDB
// 1.8 in testdata/influxdb: data (plugin.json or chunked.json) for the
// query over 2026-01-05 00:00..06:00, nothing for other ranges.
func influxServer(t *testing.T, data string, seen *[]*http.Request) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*seen = append(*seen, r)
		q := r.URL.Query()
		file, status := "empty.json", http.StatusOK
		switch {
		case q.Get("db") != "collectd":
			file = "dberror.json"
		case strings.Contains(q.Get("q"), "broken"):
			file, status = "parseerror.json", http.StatusBadRequest
		case strings.Contains(q.Get("q"), "time >= '2026-01-05T00:00:00Z'"):
			file = data
		}
		body, err := os.ReadFile(filepath.Join("testdata", "influxdb", file))
		if err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The answer to a query over several measurements of the plugin's writer:
// the union of their fields (null where a point has none) and tags ("" where
// none), in chunks of 4 values; alerts and text fields skipped; the fields
// of one point are one value list again.
func TestInfluxDBRead(t *testing.T) {
	var seen []*http.Request
	srv := influxServer(t, "plugin.json", &seen)
	from := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	src := &replay.InfluxDB{URL: srv.URL, Database: "collectd", User: "u", Password: "p", Start: from, End: from.Add(12 * time.Hour)}
	var progress []time.Duration
	rec, err := src.Read(context.Background(), func(done, total time.Duration) {
		assert.Equal(t, 12*time.Hour, total)
		progress = append(progress, done)
	})
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{6 * time.Hour, 12 * time.Hour}, progress)
	require.Len(t, seen, 2)
	q := seen[0].URL.Query()
	assert.Equal(t, "ns", q.Get("epoch"))
	assert.Equal(t, "true", q.Get("chunked"))
	assert.Equal(t, "SELECT * FROM /.*/ WHERE time >= '2026-01-05T00:00:00Z' AND time < '2026-01-05T06:00:00Z' GROUP BY *", q.Get("q"))
	user, pass, ok := seen[0].BasicAuth()
	assert.True(t, ok)
	assert.Equal(t, "u", user)
	assert.Equal(t, "p", pass)

	var names []string
	for _, s := range rec.Series {
		names = append(names, s.ID.String()+":"+s.DS)
	}
	assert.ElementsMatch(t, []string{"shop/anomaly/gauge-web-health:value", "shop/ecommerce/gauge-page-hits-total:value",
		"shop/ecommerce/gauge-page-latency-mean:value", "db/interface-eth0/if_octets:rx", "db/interface-eth0/if_octets:tx"}, names)
	assert.Equal(t, 21, rec.Len())
	for i, s := range rec.Series {
		if s.ID.TypeInstance == "page-hits-total" {
			_, vs := rec.Values(i)
			assert.Equal(t, []float64{113, 120, 98, 105, 117, 110, 1200}, vs)
			assert.Equal(t, 10*time.Second, s.Interval)
		}
	}
	assert.Equal(t, from, rec.Start())
	assert.Equal(t, from.Add(5*time.Minute), rec.End())

	// rx and tx of a point make one value list: rules pick theirs by DataSource.
	th := detect.Unbounded()
	th.FailureMax = 15000
	spec := detect.RuleSpec{Name: "tx", DataSource: "tx", Lifecycle: detect.Lifecycle{Hits: 1}}
	tx, err := detect.NewCountRule(spec, []detect.Selector{detect.MustSelector("interface-eth0/if_octets")}, detect.CountParams{Window: 30 * time.Second, Thresholds: th, Unit: "bytes"})
	require.NoError(t, err)
	spec.Name, spec.DataSource = "rx", "rx"
	rx, err := detect.NewCountRule(spec, []detect.Selector{detect.MustSelector("interface-eth0/if_octets")}, detect.CountParams{Window: 30 * time.Second, Thresholds: th, Unit: "bytes"})
	require.NoError(t, err)
	sink := &replay.Recorder{}
	e, err := detect.NewEngine([]detect.Rule{tx, rx}, detect.Options{Sink: sink})
	require.NoError(t, err)
	_, err = rec.Play(context.Background(), e, replay.PlayOptions{})
	require.NoError(t, err)
	// FAILURE with the third value, which completes the window. Then host
	// db sends nothing more: once its silence passes the lateness, its clock
	// is carried forward and the window slides past the values (empty slots
	// count as none); the OKAY is stamped when its slot became certain.
	alerts := sink.Alerts()
	require.Len(t, alerts, 2)
	assert.Equal(t, "FAILURE: tx of db: 1.59e+04 bytes in 30s, more than 1.5e+04", alerts[0].Message)
	assert.Equal(t, from.Add(20*time.Second), alerts[0].Time.UTC(), "judged with the value that decided it")
	assert.Equal(t, detect.OK, alerts[1].Severity)
	st := e.Stats()
	assert.Zero(t, st.Stale+st.Malformed, "%+v", st)
}

// InfluxDB's own collectd input names things otherwise: CollectdMapping.
func TestInfluxDBCollectdNaming(t *testing.T) {
	var seen []*http.Request
	srv := influxServer(t, "chunked.json", &seen)
	from := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	src := &replay.InfluxDB{URL: srv.URL, Database: "collectd", Measurements: "_value$", Start: from, End: from.Add(6 * time.Hour),
		Mapping: replay.CollectdMapping}
	rec, err := src.Read(context.Background(), nil)
	require.NoError(t, err)
	var names []string
	for _, s := range rec.Series {
		names = append(names, s.ID.String())
	}
	assert.ElementsMatch(t, []string{"db/cpu-0/percent-idle", "shop/ecommerce/gauge-page-hits-total", "shop/ecommerce/gauge-page-latency-mean"}, names)
	assert.Equal(t, 15, rec.Len())
	assert.Equal(t, "SELECT * FROM /_value$/ WHERE time >= '2026-01-05T00:00:00Z' AND time < '2026-01-05T06:00:00Z' GROUP BY *", seen[0].URL.Query().Get("q"))
}

func TestInfluxDBQueryOptions(t *testing.T) {
	src := &replay.InfluxDB{Measurements: "ecommerce_.*/x", Where: "host = 'shop'"}
	from := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, `SELECT * FROM /ecommerce_.*\/x/ WHERE time >= '2026-01-05T00:00:00Z' AND time < '2026-01-05T01:00:00Z' AND (host = 'shop') GROUP BY *`,
		src.Query(from, from.Add(time.Hour)))
}

func TestInfluxDBErrors(t *testing.T) {
	var seen []*http.Request
	srv := influxServer(t, "plugin.json", &seen)
	from := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		src  replay.InfluxDB
		want string
	}{
		{replay.InfluxDB{URL: srv.URL, Database: "nope", Start: from, End: from.Add(time.Hour)}, "influxdb: database not found: nope"},
		{replay.InfluxDB{URL: srv.URL, Database: "collectd", Where: "broken", Start: from, End: from.Add(time.Hour)},
			"influxdb: 400 Bad Request: error parsing query: found EOF, expected identifier at line 1, char 15"},
		{replay.InfluxDB{URL: srv.URL, Database: "collectd", Start: from, End: from}, "influxdb: the range 2026-01-05T00:00:00Z .. 2026-01-05T00:00:00Z is empty"},
		{replay.InfluxDB{Database: "collectd", Start: from, End: from.Add(time.Hour)}, "influxdb: want a URL and a database"},
	} {
		_, err := tc.src.Read(context.Background(), nil)
		assert.EqualError(t, err, tc.want)
	}
}

func TestMappings(t *testing.T) {
	id, ds, kind, ok := replay.PluginMapping("interface", map[string]string{"host": "h", "plugin_instance": "eth0", "type": "if_octets"}, "rx")
	require.True(t, ok)
	assert.Equal(t, "h/interface-eth0/if_octets", id.String())
	assert.Equal(t, "rx", ds)
	assert.Equal(t, metric.Gauge, kind)
	_, _, _, ok = replay.PluginMapping("anomaly_alerts", map[string]string{"host": "h", "rule": "r"}, "observed")
	assert.False(t, ok, "alerts are no value lists")

	id, ds, kind, ok = replay.CollectdMapping("interface_rx", map[string]string{"host": "h", "instance": "eth0", "type": "if_octets"}, "value")
	require.True(t, ok)
	assert.Equal(t, "h/interface-eth0/if_octets", id.String())
	assert.Equal(t, "rx", ds)
	assert.Equal(t, metric.Gauge, kind)
	_, _, kind, ok = replay.CollectdMapping("ecommerce_value", map[string]string{"host": "h", "type": "counter", "type_instance": "x"}, "value")
	require.True(t, ok)
	assert.Equal(t, metric.Counter, kind)
	_, _, _, ok = replay.CollectdMapping("ecommerce_value", map[string]string{"host": "h", "type": "gauge"}, "other")
	assert.False(t, ok, "only the field value")
	_, _, _, ok = replay.CollectdMapping("ecommerce_value", map[string]string{"host": "h"}, "value")
	assert.False(t, ok, "no type, no collectd series")
}
