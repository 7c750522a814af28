package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// InfluxDB reads recorded series from an InfluxDB 1.x server through its
// HTTP query API (GET /query, InfluxQL, JSON; 1.8 and the 2.x compatibility
// endpoint answer alike). It asks for every field of the selected
// measurements over [Start, End), a Chunk of time per query, with the
// server streaming each answer in chunks, and maps each InfluxDB series
// (measurement and tags) and field back to the collectd value list it was
// written from with Mapping: by default the mapping of this project's
// writer (package influx, see PluginMapping). The fields of one point
// become the values of one value list again (rx and tx of if_octets).
type InfluxDB struct {
	// URL of the server, e.g. "http://127.0.0.1:8086".
	URL string
	// Database and RetentionPolicy ("" for the database's default).
	Database, RetentionPolicy string
	// User and Password, if the server wants them (HTTP basic auth).
	User, Password string
	// Measurements is an InfluxQL regular expression (without the slashes)
	// picking the measurements to read; "" reads all of them.
	Measurements string
	// Where is an extra InfluxQL condition, e.g. "host = 'shop'".
	Where string
	// Start and End of the time range read.
	Start, End time.Time
	// Chunk is the time span of one query (default 6 h).
	Chunk time.Duration
	// Interval between the values of each series; zero infers it.
	Interval time.Duration
	// Mapping turns InfluxDB series into collectd identifiers; nil uses
	// PluginMapping.
	Mapping Mapping
	// Types, if set, gives the data sources' types instead of the mapping's
	// guess from the type's name.
	Types TypesDB
	// Client for the requests (default http.DefaultClient).
	Client *http.Client
}

// Mapping turns a field of an InfluxDB series - its measurement, tags and
// field name - into the collectd value list it was written from: the
// identifier, the data source's name and type. ok false skips the field.
type Mapping func(measurement string, tags map[string]string, field string) (id metric.Identifier, ds string, kind metric.Kind, ok bool)

// PluginMapping is the mapping of this project's InfluxDB writer (package
// influx): the measurement is the plugin, the tags are host,
// plugin_instance, type and type_instance (absent when empty), and each
// data source is a field of its name ("value" for single-valued types).
// The plugin's alerts (measurement anomaly_alerts) are not value lists and
// are skipped; text fields (the health's state) carry no number and are
// skipped too. The data source type follows the type's name (see
// KindOfType): the writer stores every value as a float, counters as their
// running totals.
func PluginMapping(measurement string, tags map[string]string, field string) (metric.Identifier, string, metric.Kind, bool) {
	if measurement == "anomaly_alerts" || tags["type"] == "" {
		return metric.Identifier{}, "", 0, false
	}
	id := metric.Identifier{
		Host:           tags["host"],
		Plugin:         measurement,
		PluginInstance: tags["plugin_instance"],
		Type:           tags["type"],
		TypeInstance:   tags["type_instance"],
	}
	if id.Host == "" {
		id.Host = DefaultHost
	}
	return id, field, KindOfType(id.Type), true
}

// CollectdMapping is the naming of InfluxDB's own collectd input (and of
// Telegraf's collectd parser): the measurement is "<plugin>_<data source>"
// (split at the last '_'), the tags are host, instance (the plugin
// instance), type and type_instance, and the field is "value". A
// measurement without '_' is taken as the plugin with data source "value".
// The data source type follows the type's name (see KindOfType).
func CollectdMapping(measurement string, tags map[string]string, field string) (metric.Identifier, string, metric.Kind, bool) {
	if field != "value" {
		return metric.Identifier{}, "", 0, false
	}
	plugin, ds := measurement, "value"
	if i := strings.LastIndexByte(measurement, '_'); i > 0 && i < len(measurement)-1 {
		plugin, ds = measurement[:i], measurement[i+1:]
	}
	id := metric.Identifier{
		Host:           tags["host"],
		Plugin:         plugin,
		PluginInstance: tags["instance"],
		Type:           tags["type"],
		TypeInstance:   tags["type_instance"],
	}
	if id.Host == "" {
		id.Host = DefaultHost
	}
	if id.Type == "" {
		return metric.Identifier{}, "", 0, false
	}
	return id, ds, KindOfType(id.Type), true
}

// Query returns the InfluxQL statement for [from, to).
func (s *InfluxDB) Query(from, to time.Time) string {
	re := s.Measurements
	if re == "" {
		re = ".*"
	}
	q := fmt.Sprintf("SELECT * FROM /%s/ WHERE time >= '%s' AND time < '%s'",
		strings.ReplaceAll(re, "/", `\/`), from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
	if s.Where != "" {
		q += " AND (" + s.Where + ")"
	}
	return q + " GROUP BY *"
}

// influxResponse is one JSON object of the /query answer (one of several
// when chunked).
type influxResponse struct {
	Results []struct {
		StatementID int            `json:"statement_id"`
		Series      []influxSeries `json:"series"`
		Error       string         `json:"error"`
	} `json:"results"`
	Error string `json:"error"`
}

type influxSeries struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// Read runs the queries and returns the recording. progress, if not nil, is
// called after each query with the time read so far and the whole range.
func (s *InfluxDB) Read(ctx context.Context, progress func(done, total time.Duration)) (*Recording, error) {
	if s.URL == "" || s.Database == "" {
		return nil, errors.New("influxdb: want a URL and a database")
	}
	if !s.End.After(s.Start) {
		return nil, fmt.Errorf("influxdb: the range %s .. %s is empty", s.Start.Format(time.RFC3339), s.End.Format(time.RFC3339))
	}
	chunk := s.Chunk
	if chunk <= 0 {
		chunk = 6 * time.Hour
	}
	mapping := s.Mapping
	if mapping == nil {
		mapping = PluginMapping
	}
	rec := &Recording{TimeLayout: time.RFC3339Nano}
	cols := map[string][]int{} // series key -> recording series per column (-1: skipped)
	for from := s.Start; from.Before(s.End); from = from.Add(chunk) {
		to := from.Add(chunk)
		if to.After(s.End) {
			to = s.End
		}
		if err := s.query(ctx, s.Query(from, to), func(sr *influxSeries) error {
			return s.add(rec, cols, mapping, sr)
		}); err != nil {
			return nil, err
		}
		if progress != nil {
			progress(to.Sub(s.Start), s.End.Sub(s.Start))
		}
	}
	rec.Finish()
	return rec, nil
}

// Column states of an InfluxDB series, besides a recording series index.
const (
	colUnmapped = -2 // not mapped yet: mapped at its first number
	colSkipped  = -1 // time, or a field the mapping skips
)

func (s *InfluxDB) add(rec *Recording, cols map[string][]int, mapping Mapping, sr *influxSeries) error {
	key := seriesKeyOf(sr)
	idx, ok := cols[key]
	if !ok {
		// A query over several measurements answers with the union of their
		// fields and tags (null and "" where a point has none): a column
		// becomes a series at its first number.
		idx = make([]int, len(sr.Columns))
		for i, c := range sr.Columns {
			idx[i] = colUnmapped
			if c == "time" {
				idx[i] = colSkipped
			}
		}
		cols[key] = idx
	}
	tcol := -1
	for i, c := range sr.Columns {
		if c == "time" {
			tcol = i
		}
	}
	if tcol < 0 {
		return fmt.Errorf("influxdb: series %s has no time column", sr.Name)
	}
	for _, row := range sr.Values {
		if len(row) != len(idx) {
			return fmt.Errorf("influxdb: series %s: a row of %d values for %d columns", sr.Name, len(row), len(idx))
		}
		ns, ok := row[tcol].(json.Number)
		if !ok {
			return fmt.Errorf("influxdb: series %s: time %v is not a number (epoch=ns)", sr.Name, row[tcol])
		}
		n, err := ns.Int64()
		if err != nil {
			return fmt.Errorf("influxdb: series %s: time %v: %v", sr.Name, ns, err)
		}
		t := time.Unix(0, n)
		for i, v := range row {
			if idx[i] == colSkipped {
				continue
			}
			num, ok := v.(json.Number) // null, strings and booleans are not values
			if !ok {
				continue
			}
			f, err := num.Float64()
			if err != nil {
				continue
			}
			if idx[i] == colUnmapped {
				idx[i] = colSkipped
				if id, ds, kind, ok := mapping(sr.Name, sr.Tags, sr.Columns[i]); ok {
					if s.Types != nil {
						kind = s.Types.Kind(id.Type, ds)
					}
					idx[i] = rec.AddSeries(id, ds, kind, s.Interval)
				}
				if idx[i] == colSkipped {
					continue
				}
			}
			rec.Add(idx[i], t, f)
		}
	}
	return nil
}

func seriesKeyOf(sr *influxSeries) string {
	keys := make([]string, 0, len(sr.Tags))
	for k := range sr.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(sr.Name)
	for _, k := range keys {
		b.WriteString("\x00" + k + "=" + sr.Tags[k])
	}
	b.WriteString("\x00\x00" + strings.Join(sr.Columns, "\x00"))
	return b.String()
}

// query runs one statement and hands every series of its answer to each.
func (s *InfluxDB) query(ctx context.Context, q string, each func(*influxSeries) error) error {
	u, err := url.Parse(strings.TrimSuffix(s.URL, "/") + "/query")
	if err != nil {
		return fmt.Errorf("influxdb: URL %q: %v", s.URL, err)
	}
	params := url.Values{"db": {s.Database}, "q": {q}, "epoch": {"ns"}, "chunked": {"true"}, "chunk_size": {"10000"}}
	if s.RetentionPolicy != "" {
		params.Set("rp", s.RetentionPolicy)
	}
	u.RawQuery = params.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	if s.User != "" {
		req.SetBasicAuth(s.User, s.Password)
	}
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("influxdb: %w", err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if resp.StatusCode != http.StatusOK {
		var r influxResponse
		if dec.Decode(&r) == nil && r.Error != "" {
			return fmt.Errorf("influxdb: %s: %s", resp.Status, r.Error)
		}
		return fmt.Errorf("influxdb: %s", resp.Status)
	}
	for {
		var r influxResponse
		if err := dec.Decode(&r); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("influxdb: reading the answer: %w", err)
		}
		if r.Error != "" {
			return fmt.Errorf("influxdb: %s", r.Error)
		}
		for _, res := range r.Results {
			if res.Error != "" {
				return fmt.Errorf("influxdb: %s", res.Error)
			}
			for i := range res.Series {
				if err := each(&res.Series[i]); err != nil {
					return err
				}
			}
		}
	}
}
