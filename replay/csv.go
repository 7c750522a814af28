package replay

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// CSVOptions tell ReadCSV how to read a file.
type CSVOptions struct {
	// Series names the one series of a two-column file (timestamp,value):
	// a collectd identifier, "[host/]plugin[-instance]/type[-instance]".
	// Empty means the file has three columns: time,identifier,value.
	Series string
	// Host is the host of identifiers written without one ("replay" if empty).
	Host string
	// Interval between the values of each series; zero infers it (the
	// median step between a series' values).
	Interval time.Duration
	// MaxSeries bounds the series a file may hold (and so the memory of the
	// recording and of the rules' state); zero means DefaultMaxSeries.
	MaxSeries int
	// Types gives the data source type of each series' type; nil guesses it
	// from the type's name (KindOfType).
	Types TypesDB
}

// DefaultMaxSeries bounds the series of a recording when CSVOptions leave
// it zero: a recording costs about 0.2 KB per series plus 16 bytes per
// value, the rules some KB per series they select.
const DefaultMaxSeries = 100_000

// DefaultHost is the host of recorded series that name none.
const DefaultHost = "replay"

// ReadCSV reads recorded values from CSV, in one of two forms:
//
//	time,identifier,value            shop/ecommerce/gauge-page-hits-total
//	timestamp,value                  with CSVOptions.Series naming the series
//
// A first line that does not start with a time is a header; in the
// three-column form its names (time or timestamp, identifier or series,
// value) may put the columns in any order. Times are Unix seconds (a
// fraction allowed; numbers above 1e11 are taken as milliseconds), RFC 3339,
// or "2006-01-02 15:04:05" in UTC. Values are numbers; an empty value, "nan"
// or "NaN" is a NaN gauge (skipped and counted by the engine). The type
// names "counter", "derive" and "absolute" make a series cumulative (see
// KindOfType), or the type's first data source in CSVOptions.Types. Rows need not be in time order; Finish sorts them. name is
// the file's name for errors, which give its line.
func ReadCSV(r io.Reader, name string, opt CSVOptions) (*Recording, error) {
	host := opt.Host
	if host == "" {
		host = DefaultHost
	}
	maxSeries := opt.MaxSeries
	if maxSeries <= 0 {
		maxSeries = DefaultMaxSeries
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	cr.ReuseRecord = true

	rec := &Recording{}
	single := -1
	if opt.Series != "" {
		id, err := parseID(opt.Series, host)
		if err != nil {
			return nil, fmt.Errorf("--series: %v", err)
		}
		single = rec.AddSeries(id, "value", opt.Types.Kind(id.Type, ""), opt.Interval)
	}
	cols := [3]int{0, 1, 2} // time, identifier, value
	want := 3
	if single >= 0 {
		cols, want = [3]int{0, -1, 1}, 2
	}
	layout := "?"
	ids := map[string]int{}
	first := true
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err) // a csv.ParseError names the line
		}
		line, _ := cr.FieldPos(0)
		fail := func(format string, args ...any) error {
			return fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, args...))
		}
		if len(row) != want {
			if single >= 0 {
				return nil, fail("want 2 columns, timestamp,value (with --series), not %d", len(row))
			}
			return nil, fail("want 3 columns, time,identifier,value (or timestamp,value with --series), not %d", len(row))
		}
		if first {
			first = false
			if _, _, err := parseTime(row[cols[0]]); err != nil {
				if single < 0 {
					if cols, err = headerColumns(row); err != nil {
						return nil, fail("%v", err)
					}
				}
				continue
			}
		}
		t, l, err := parseTime(row[cols[0]])
		if err != nil {
			return nil, fail("%v", err)
		}
		if layout == "?" {
			layout = l
		}
		v, err := parseValue(row[cols[2]])
		if err != nil {
			return nil, fail("%v", err)
		}
		s := single
		if s < 0 {
			text := row[cols[1]]
			var ok bool
			if s, ok = ids[text]; !ok {
				id, err := parseID(text, host)
				if err != nil {
					return nil, fail("%v", err)
				}
				if len(ids) >= maxSeries {
					return nil, fail("more than %d series (--max-series)", maxSeries)
				}
				s = rec.AddSeries(id, "value", opt.Types.Kind(id.Type, ""), opt.Interval)
				ids[strings.Clone(text)] = s
			}
		}
		rec.Add(s, t, v)
	}
	if layout != "?" {
		rec.TimeLayout = layout
	}
	rec.Finish()
	return rec, nil
}

func parseID(s, host string) (metric.Identifier, error) {
	id, err := metric.ParseIdentifier(strings.TrimSpace(s))
	if err != nil {
		return id, err
	}
	if id.Host == "" {
		id.Host = host
	}
	return id, nil
}

// headerColumns maps a header's names to the columns' order.
func headerColumns(row []string) ([3]int, error) {
	cols := [3]int{-1, -1, -1}
	for i, h := range row {
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "time", "timestamp", "epoch":
			cols[0] = i
		case "identifier", "series", "id", "name":
			cols[1] = i
		case "value":
			cols[2] = i
		}
	}
	for _, c := range cols {
		if c < 0 {
			return cols, fmt.Errorf("header %q: want the columns time, identifier and value", strings.Join(row, ","))
		}
	}
	return cols, nil
}

// Time layouts ReadCSV accepts besides Unix seconds.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"}

// parseTime reads a time and says how it was written ("" for Unix seconds,
// "ms" for Unix milliseconds, else the layout).
func parseTime(s string) (time.Time, string, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		if math.Abs(f) > 1e11 {
			return time.UnixMilli(int64(f)).UTC(), "ms", nil
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), "", nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			// The layouts keep their optional fraction, so that times with
			// one are written back with it (and whole seconds without).
			return t.UTC(), l, nil
		}
	}
	return time.Time{}, "", fmt.Errorf("time %q: want Unix seconds, RFC 3339 or \"2006-01-02 15:04:05\"", s)
}

func parseValue(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "nan") {
		return math.NaN(), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if errors.Is(err, strconv.ErrRange) && math.IsInf(f, 0) {
		return 0, fmt.Errorf("value %q is out of the range of a float64 (about 1.8e308)", s)
	}
	if err != nil {
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	// "inf" and "-inf" are read: the engine skips and counts them, as it
	// does NaN.
	return f, nil
}

// FormatTime writes t as the recording's source wrote its times.
func (r *Recording) FormatTime(t time.Time) string {
	switch r.TimeLayout {
	case "":
		if t.Nanosecond() == 0 {
			return strconv.FormatInt(t.Unix(), 10)
		}
		return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', -1, 64)
	case "ms":
		return strconv.FormatInt(t.UnixMilli(), 10)
	}
	return t.UTC().Format(r.TimeLayout)
}
