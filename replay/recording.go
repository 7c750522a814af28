package replay

import (
	"context"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// Series is one recorded series: its identifier, the data source type of its
// values and the interval between them.
type Series struct {
	ID metric.Identifier
	// DS names the data source (collectd's "value" for single-valued types);
	// rules with a DataSource option select by it.
	DS   string
	Kind metric.Kind
	// Interval between the series' values: set by the source, or the median
	// step between them (see Recording.Finish). The engine sizes the window
	// slots of rules without a Resolution with it.
	Interval time.Duration

	vl int32 // the value list it is a data source of: series of one identifier share it
}

// point is one recorded value: 24 bytes, so that a month of a shop's 30
// series at 10 s (7.8 million values) takes under 200 MB.
type point struct {
	t   int64 // Unix nanoseconds
	s   int32 // index into Recording.Series
	seq int32 // the order it was added in, which Finish's sort loses (0 past 2^31)
	v   float64
}

// Recording is recorded data held in memory: values of many series, replayed
// through an engine in time order by Play. Sources (CSV, InfluxDB) build one
// with AddSeries and Add, then call Finish.
type Recording struct {
	Series []Series
	// TimeLayout is how the source wrote times: "" for Unix seconds, else a
	// time.Parse layout; Scores writes times back the same way.
	TimeLayout string

	points []point
	index  map[seriesKey]int32
	ids    map[metric.Identifier]int32
}

type seriesKey struct {
	id metric.Identifier
	ds string
}

// AddSeries returns the index of a series, adding it if new; kind and
// interval are those of a new series (interval 0: inferred by Finish).
func (r *Recording) AddSeries(id metric.Identifier, ds string, kind metric.Kind, interval time.Duration) int {
	if r.index == nil {
		r.index, r.ids = map[seriesKey]int32{}, map[metric.Identifier]int32{}
	}
	k := seriesKey{id, ds}
	if i, ok := r.index[k]; ok {
		return int(i)
	}
	vl, ok := r.ids[id]
	if !ok {
		vl = int32(len(r.ids))
		r.ids[id] = vl
	}
	r.Series = append(r.Series, Series{ID: id, DS: ds, Kind: kind, Interval: interval, vl: vl})
	i := int32(len(r.Series) - 1)
	r.index[k] = i
	return int(i)
}

// Add records value v of series s at t.
func (r *Recording) Add(s int, t time.Time, v float64) {
	seq := int32(min(len(r.points), math.MaxInt32))
	r.points = append(r.points, point{t: t.UnixNano(), s: int32(s), seq: seq, v: v})
}

// Len is the number of values recorded.
func (r *Recording) Len() int { return len(r.points) }

// Start and End are the times of the first and the last value (zero if none).
func (r *Recording) Start() time.Time {
	if len(r.points) == 0 {
		return time.Time{}
	}
	return time.Unix(0, r.points[0].t).UTC()
}

// End is the time of the last value.
func (r *Recording) End() time.Time {
	if len(r.points) == 0 {
		return time.Time{}
	}
	return time.Unix(0, r.points[len(r.points)-1].t).UTC()
}

// Values returns the times and values of series s, in time order (after Finish).
func (r *Recording) Values(s int) ([]time.Time, []float64) {
	var ts []time.Time
	var vs []float64
	for _, p := range r.points {
		if int(p.s) == s {
			ts = append(ts, time.Unix(0, p.t).UTC())
			vs = append(vs, p.v)
		}
	}
	return ts, vs
}

// InputOrder returns the values of series s as Values does, but in the
// order they were added (a file's rows), for outputs that follow the input.
func (r *Recording) InputOrder(s int) ([]time.Time, []float64) {
	var ps []point
	for _, p := range r.points {
		if int(p.s) == s {
			ps = append(ps, p)
		}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].seq < ps[j].seq })
	ts, vs := make([]time.Time, len(ps)), make([]float64, len(ps))
	for i, p := range ps {
		ts[i], vs[i] = time.Unix(0, p.t).UTC(), p.v
	}
	return ts, vs
}

// Finish sorts the values by time (stably: values of one time keep the
// order they were added in) and sets the Interval of every series that has
// none to the median step between its values (10 s for a single value).
func (r *Recording) Finish() {
	sort.SliceStable(r.points, func(i, j int) bool { return r.points[i].t < r.points[j].t })
	const sample = 1001
	last := make([]int64, len(r.Series))
	steps := make([][]int64, len(r.Series))
	for i := range last {
		last[i] = math.MinInt64
	}
	for _, p := range r.points {
		s := p.s
		if r.Series[s].Interval > 0 || len(steps[s]) >= sample {
			continue
		}
		if last[s] != math.MinInt64 && p.t > last[s] {
			steps[s] = append(steps[s], p.t-last[s])
		}
		last[s] = p.t
	}
	for i := range r.Series {
		if r.Series[i].Interval > 0 {
			continue
		}
		r.Series[i].Interval = 10 * time.Second
		if st := steps[i]; len(st) > 0 {
			slices.Sort(st)
			r.Series[i].Interval = time.Duration(st[len(st)/2])
		}
	}
}

// minInterval is the shortest series interval (10 s if none).
func (r *Recording) minInterval() time.Duration {
	m := time.Duration(0)
	for _, s := range r.Series {
		if s.Interval > 0 && (m == 0 || s.Interval < m) {
			m = s.Interval
		}
	}
	if m == 0 {
		m = 10 * time.Second
	}
	return m
}

// PlayOptions tune Play.
type PlayOptions struct {
	// Tracer, if set, is told each value list before the engine sees it
	// (the rules must have been wrapped by it).
	Tracer *Tracer
	// Progress, if set, is called now and then with the number of values
	// played so far.
	Progress func(done int)
}

// maxGapTicks is how many ticks Play gives a gap in the data before it
// jumps to its end (a day of 10 s intervals).
const maxGapTicks = 8640

// Play feeds the recording to the engine in time order, as value lists
// stamped with the recorded times - one value each, or one per data source
// where values of several data sources of one identifier were recorded at
// one time (a row of InfluxDB fields) - and ticks the engine as the plugin's
// read callback would: every shortest series interval from the first value
// (through gaps in the data too) until the allowed lateness and two
// intervals after the last value, so that the last values are judged too. It stops early, with ctx's error,
// when ctx is done; what was played until then is in the engine's sink. It
// returns the number of values played.
func (r *Recording) Play(ctx context.Context, e *detect.Engine, opt PlayOptions) (int, error) {
	tickEvery := int64(r.minInterval())
	vl := metric.ValueList{}
	var lastTick int64 = math.MinInt64
	n := len(r.points)
	for i, next, count := 0, 0, 0; i < n; i, count = next, count+1 {
		if count&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return i, err
			}
			if opt.Progress != nil {
				opt.Progress(i)
			}
		}
		p := r.points[i]
		if lastTick == math.MinInt64 {
			lastTick = p.t
		}
		// The plugin's read callback ticks the engine every interval, data
		// or not: through a gap too, or a catch-up after it would skip the
		// windows in between. Everything before p.t has been observed.
		// A gap longer than maxGapTicks is crossed in one step: by then
		// every window has emptied and every silence has been reported, and
		// the engine judges at most a window's slots at once, so a gap of
		// a century costs what one of a day does.
		for ticks := 0; lastTick+tickEvery < p.t; ticks++ {
			lastTick += tickEvery
			if ticks == maxGapTicks {
				lastTick = max(lastTick, p.t-tickEvery)
			}
			if ticks&4095 == 4095 && ctx.Err() != nil {
				return i, ctx.Err()
			}
			e.Tick(time.Unix(0, lastTick))
		}
		s := &r.Series[p.s]
		vl.Identifier = s.ID
		vl.Time = time.Unix(0, p.t)
		vl.Interval = s.Interval
		vl.Values = append(vl.Values[:0], valueOf(s.Kind, p.v))
		vl.DSNames = append(vl.DSNames[:0], s.DS)
		// Other data sources of the same value list follow right after.
		for next = i + 1; next < n; next++ {
			q := r.points[next]
			o := &r.Series[q.s]
			if q.t != p.t || o.vl != s.vl || q.s == r.points[next-1].s {
				break
			}
			vl.Values = append(vl.Values, valueOf(o.Kind, q.v))
			vl.DSNames = append(vl.DSNames, o.DS)
		}
		if opt.Tracer != nil {
			opt.Tracer.Observe(&vl)
		}
		e.Observe(&vl)
	}
	if n > 0 {
		// Past the last value, until its slot is judged: its host silent
		// for longer than the lateness, and a tick more.
		lateness := max(int64(e.Lateness()), 2*tickEvery)
		for end := r.points[n-1].t + lateness + 2*tickEvery; lastTick < end; {
			lastTick = min(lastTick+tickEvery, end)
			e.Tick(time.Unix(0, lastTick))
		}
	}
	if opt.Progress != nil {
		opt.Progress(n)
	}
	return n, nil
}

// valueOf makes a recorded number a value of the series' type.
func valueOf(k metric.Kind, v float64) metric.Value {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		// No counter reads NaN: a gauge NaN is skipped and counted, and the
		// counter's next value is taken against its last good one.
		return metric.GaugeValue(v)
	}
	switch k {
	case metric.Counter:
		return metric.CounterValue(uint64(max(v, 0)))
	case metric.Derive:
		return metric.DeriveValue(int64(v))
	case metric.Absolute:
		return metric.AbsoluteValue(uint64(max(v, 0)))
	}
	return metric.GaugeValue(v)
}

// KindOfType guesses the data source type of a collectd type by its name:
// "counter", "derive" and "absolute" are cumulative or absolute (as the
// simulator's counter mode writes them), every other type a gauge.
func KindOfType(typ string) metric.Kind {
	switch typ {
	case "counter":
		return metric.Counter
	case "derive":
		return metric.Derive
	case "absolute":
		return metric.Absolute
	}
	return metric.Gauge
}
