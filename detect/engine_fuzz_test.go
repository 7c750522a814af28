package detect_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// shippedRules are the rules of the shipped rule packs as the plugin gets
// them: a collectd.conf including both files, read and checked as
// `anomaly check` does. Rules are configuration; each engine keeps its
// own state, so one parse serves every fuzz input.
func shippedRules(tb testing.TB) []detect.Rule {
	tb.Helper()
	dir := tb.TempDir()
	var text strings.Builder
	for _, pack := range []string{"anomaly.conf", "host.conf"} {
		abs, err := filepath.Abs(filepath.Join("..", "collectd.conf.d", pack))
		if err != nil {
			tb.Fatal(err)
		}
		fmt.Fprintf(&text, "Include %q\n", abs)
	}
	path := filepath.Join(dir, "collectd.conf")
	if err := os.WriteFile(path, []byte(text.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	src, err := conf.ReadSource(path)
	if err != nil {
		tb.Fatal(err)
	}
	settings, problems := src.Check()
	if len(problems) > 0 {
		tb.Fatal(problems)
	}
	return settings.Rules
}

// Series the shipped rules select, so that fuzzed value lists reach them.
var fuzzSeries = []metric.Identifier{
	{Plugin: "ecommerce", Type: "gauge", TypeInstance: "page-hits-total"},
	{Plugin: "ecommerce", Type: "gauge", TypeInstance: "asset-hits-total"},
	{Plugin: "ecommerce", Type: "counter", TypeInstance: "page-hits-total"},
	{Plugin: "ecommerce", Type: "gauge", TypeInstance: "page-response-400"},
	{Plugin: "ecommerce", Type: "gauge", TypeInstance: "page-response-500"},
	{Plugin: "ecommerce", Type: "counter", TypeInstance: "asset-response-500"},
	{Plugin: "ecommerce", Type: "gauge", TypeInstance: "page-latency-mean"},
	{Plugin: "ecommerce", Type: "gauge", TypeInstance: "new-sessions"},
	{Plugin: "ecommerce", Type: "gauge", TypeInstance: "payment-provider-visa.success"},
	{Plugin: "ecommerce", Type: "counter", TypeInstance: "payment-provider-visa.failure"},
	{Plugin: "cpu", Type: "percent", TypeInstance: "idle"},
	{Plugin: "cpu", Type: "percent", TypeInstance: "wait"},
	{Plugin: "load", Type: "load"},
	{Plugin: "memory", Type: "percent", TypeInstance: "used"},
	{Plugin: "df", PluginInstance: "root", Type: "percent_bytes", TypeInstance: "used"},
	{Plugin: "df", PluginInstance: "root", Type: "df_complex", TypeInstance: "free"},
	{Plugin: "disk", PluginInstance: "sda", Type: "disk_io_time"},
	{Plugin: "interface", PluginInstance: "eth0", Type: "if_octets"},
	{Plugin: "interface", PluginInstance: "eth0", Type: "if_errors"},
	{Plugin: "processes", Type: "fork_rate"},
	{Plugin: "processes", Type: "ps_state", TypeInstance: "zombies"},
	{Plugin: "anomaly", Type: "gauge", TypeInstance: "web-health"},
}

var fuzzHosts = []string{"shop", "web1", "", strings.Repeat("h", 300), "\xff\xfe\x00host", "日本"}

var fuzzDSNames = [][]string{nil, {"value"}, {"rx", "tx"}, {"shortterm", "midterm", "longterm"}, {"io_time", "weighted_io_time"}, {"", "rx"}}

// Values that break arithmetic: NaN, infinities, the ends of each type's
// range and the edges of the counter wrap rule.
var fuzzSpecial = []metric.Value{
	metric.GaugeValue(math.NaN()), metric.GaugeValue(math.Inf(1)), metric.GaugeValue(math.Inf(-1)),
	metric.GaugeValue(1e308), metric.GaugeValue(-1e308), metric.GaugeValue(math.MaxFloat64),
	metric.GaugeValue(math.SmallestNonzeroFloat64), metric.GaugeValue(math.Copysign(0, -1)),
	metric.CounterValue(math.MaxUint64), metric.CounterValue(math.MaxUint32), metric.CounterValue(0),
	metric.CounterValue(math.MaxUint32 - 10), metric.CounterValue(math.MaxUint64 - 10),
	metric.DeriveValue(math.MaxInt64), metric.DeriveValue(math.MinInt64), metric.DeriveValue(-1),
	metric.AbsoluteValue(math.MaxUint64), {Kind: 9, Gauge: 1, Counter: 1, Derive: 1},
}

// fuzzInput reads a fuzz input as a program of value lists and ticks.
type fuzzInput struct{ b []byte }

func (in *fuzzInput) byte() byte {
	if len(in.b) == 0 {
		return 0
	}
	c := in.b[0]
	in.b = in.b[1:]
	return c
}

func (in *fuzzInput) uint64() uint64 {
	var buf [8]byte
	n := copy(buf[:], in.b)
	in.b = in.b[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

func (in *fuzzInput) string() string {
	n := int(in.byte())
	if n >= 0xf0 {
		n = (n - 0xef) * 200 // long identifiers: up to 3,200 bytes
		return strings.Repeat(string(rune('a'+n%26)), n)
	}
	n = min(n, len(in.b))
	s := string(in.b[:n])
	in.b = in.b[n:]
	return s
}

func (in *fuzzInput) value(kind byte) metric.Value {
	if kind >= 0x80 {
		return fuzzSpecial[int(kind)%len(fuzzSpecial)]
	}
	x := in.uint64()
	switch kind % 4 {
	case 0:
		return metric.CounterValue(x)
	case 1:
		return metric.GaugeValue(math.Float64frombits(x))
	case 2:
		return metric.DeriveValue(int64(x))
	}
	return metric.AbsoluteValue(x)
}

// Times and intervals that are hostile to slot arithmetic.
var (
	fuzzJumps     = []time.Duration{0, time.Second, -time.Second, 10 * time.Minute, -10 * time.Minute, 24 * time.Hour, -24 * time.Hour, 100 * 365 * 24 * time.Hour, -100 * 365 * 24 * time.Hour, math.MaxInt64, math.MinInt64}
	fuzzIntervals = []time.Duration{10 * time.Second, 0, -10 * time.Second, 1, time.Hour, 24 * time.Hour, math.MaxInt64, math.MinInt64}
	fuzzEpoch     = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
)

// checkingSink checks every alert and derived value the engine produces.
type checkingSink struct {
	t     *testing.T
	mu    sync.Mutex
	rules map[string]bool
	// utf8 is whether every identifier fed so far was valid UTF-8: the
	// engine passes identifiers into messages as they are (collectd's
	// strings are bytes), so only then must a message be valid UTF-8.
	utf8   bool
	alerts int
}

func (s *checkingSink) Alert(a detect.Alert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alerts++
	t := s.t
	t.Helper()
	if a.Time.IsZero() {
		t.Errorf("alert %s at the zero time", a.Subject())
	}
	for _, l := range []detect.Level{a.Severity, a.Previous} {
		if l != detect.OK && l != detect.Warning && l != detect.Failure {
			t.Errorf("alert %s: severity %d", a.Subject(), l)
		}
	}
	// A health rule reports every period, changed or not (Verdict.Periodic).
	if a.Severity == a.Previous && !a.Repeat && a.Kind != "health" {
		t.Errorf("alert %s: %s after %s is no change and no repeat", a.Subject(), a.Severity, a.Previous)
	}
	if !s.rules[a.Rule] {
		t.Errorf("alert of unknown rule %q", a.Rule)
	}
	if a.Kind == "" || a.Message == "" {
		t.Errorf("alert %s: kind %q, message %q", a.Subject(), a.Kind, a.Message)
	}
	if s.utf8 && !utf8.ValidString(a.Message) {
		t.Errorf("alert %s: message %q is not UTF-8", a.Subject(), a.Message)
	}
	if a.Window < 0 {
		t.Errorf("alert %s: window %s", a.Subject(), a.Window)
	}
	if a.Silenced != "" {
		t.Errorf("alert %s: silenced by the engine", a.Subject())
	}
}

func (s *checkingSink) Value(v detect.DerivedValue) {
	if v.Name == "" || v.Time.IsZero() {
		s.t.Errorf("derived value %+v", v)
	}
}

// FuzzEngineObserve: no sequence of value lists - NaN, infinities, huge and
// negative values of every type, wrapping and resetting counters, repeated,
// reordered and far-off times, empty and 1,000-value lists, long and
// non-UTF-8 identifiers, zero and negative intervals - makes the engine with
// the shipped rule packs panic or hang, and every alert it sends holds
// (checkingSink). The seeds are programs of normal traffic that raise
// alerts, and hostile variations of them; testdata/fuzz holds what fuzzing
// found.
func FuzzEngineObserve(f *testing.F) {
	rules := shippedRules(f)
	names := map[string]bool{}
	for _, r := range rules {
		names[r.Spec().Name] = true
	}
	for _, seed := range fuzzEngineSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sink := &checkingSink{t: t, rules: names, utf8: true}
		e, err := detect.NewEngine(rules, detect.Options{Sink: sink, MaxSeries: 64})
		if err != nil {
			t.Fatal(err)
		}
		runEngineProgram(t, e, sink, data)
		if st := e.Stats(); st.Series > 64 {
			t.Errorf("%d series beyond MaxSeries 64", st.Series)
		}
	})
}

// runEngineProgram feeds the engine what data describes: each step is an
// opcode byte and its operands. At most 20,000 values go in, so that an
// input costs milliseconds.
func runEngineProgram(t *testing.T, e *detect.Engine, sink *checkingSink, data []byte) {
	in := &fuzzInput{b: data}
	now := fuzzEpoch
	budget := 20_000
	var last *metric.ValueList
	feed := func(vl *metric.ValueList) {
		budget -= len(vl.Values) + 1
		for _, s := range []string{vl.Host, vl.Plugin, vl.PluginInstance, vl.Type, vl.TypeInstance} {
			if !utf8.ValidString(s) {
				sink.mu.Lock()
				sink.utf8 = false
				sink.mu.Unlock()
			}
		}
		e.Observe(vl)
	}
	for len(in.b) > 0 && budget > 0 {
		switch op := in.byte(); op % 8 {
		case 0, 1, 2: // a value list
			vl := &metric.ValueList{}
			if sel := in.byte(); sel&0x80 != 0 {
				vl.Identifier = metric.Identifier{Plugin: in.string(), PluginInstance: in.string(), Type: in.string(), TypeInstance: in.string()}
			} else {
				vl.Identifier = fuzzSeries[int(sel)%len(fuzzSeries)]
			}
			if h := in.byte(); h&0x80 != 0 {
				vl.Host = in.string()
			} else {
				vl.Host = fuzzHosts[int(h)%len(fuzzHosts)]
			}
			now = now.Add(time.Duration(int8(in.byte())) * time.Second)
			vl.Time = now
			vl.Interval = fuzzIntervals[int(in.byte())%len(fuzzIntervals)]
			n := int(in.byte())
			switch n {
			case 0xfe:
				n = 1000
			case 0xff:
				n = 0
			default:
				n %= 4
			}
			kind := in.byte()
			for i := 0; i < n; i++ {
				vl.Values = append(vl.Values, in.value(kind))
			}
			vl.DSNames = fuzzDSNames[int(in.byte())%len(fuzzDSNames)]
			feed(vl)
			last = vl
		case 3: // the last value list again, count times, its value moving by step
			if last == nil || len(last.Values) == 0 {
				continue
			}
			count, step := int(in.byte())*4, math.Float64frombits(in.uint64())
			if math.IsNaN(step) || math.Abs(step) > 1e6 {
				step = float64(int8(op))
			}
			for i := 0; i < count && budget > 0; i++ {
				interval := last.Interval
				if interval <= 0 || interval > time.Hour {
					interval = 10 * time.Second
				}
				now = now.Add(interval)
				next := *last
				next.Time = now
				next.Values = append([]metric.Value(nil), last.Values...)
				for j := range next.Values {
					v := &next.Values[j]
					switch v.Kind {
					case metric.Gauge:
						v.Gauge += step
					case metric.Derive:
						v.Derive += int64(step)
					default:
						v.Counter += uint64(int64(step))
					}
				}
				feed(&next)
				last = &next
			}
		case 4: // the clock jumps, forward or back
			now = now.Add(fuzzJumps[int(in.byte())%len(fuzzJumps)])
		case 5: // collectd's read callback
			e.Tick(now.Add(time.Duration(int8(in.byte())) * time.Second))
		case 6: // the last value list again, unchanged (a repeat) or at a given time
			if last != nil {
				again := *last
				if c := in.byte(); c != 0 {
					again.Time = now.Add(-time.Duration(c) * time.Second)
				}
				feed(&again)
			}
		case 7: // a time of its own: the zero time, the Unix epoch, far ahead
			if last != nil {
				odd := *last
				odd.Time = []time.Time{{}, time.Unix(0, 0), time.Unix(0, math.MaxInt64), now.Add(11 * time.Minute), now.AddDate(100, 0, 0)}[int(in.byte())%5]
				feed(&odd)
			}
		}
	}
	e.Tick(now.Add(time.Hour))
	_ = e.Stats()
}

// fuzzEngineSeeds are programs of traffic: steady values that fill windows
// and baselines, then a change that raises alerts, and hostile variations.
func fuzzEngineSeeds() [][]byte {
	vl := func(series, host, dt, interval, n, kind byte, value uint64, ds byte) []byte {
		out := []byte{0, series, host, dt, interval, n, kind}
		count := int(n % 4)
		if n >= 0xfe || kind >= 0x80 {
			count = 0 // 1,000 values or none; special values read no bytes
		}
		for i := 0; i < count; i++ {
			out = binary.LittleEndian.AppendUint64(out, value)
		}
		return append(out, ds)
	}
	repeat := func(count byte, step float64) []byte {
		return binary.LittleEndian.AppendUint64([]byte{3, count}, math.Float64bits(step))
	}
	gauge := func(x float64) uint64 { return math.Float64bits(x) }
	var seeds [][]byte
	// Page latency steady for two hours, then a jump (StdDevChange, Spike).
	s := vl(6, 0, 10, 0, 1, 1, gauge(150), 1)
	s = append(s, repeat(180, 0.5)...)
	s = append(s, repeat(180, -0.5)...)
	s = append(s, 5, 0)
	s = append(s, vl(6, 0, 10, 0, 1, 1, gauge(5000), 1)...)
	s = append(s, repeat(30, 100)...)
	seeds = append(seeds, s)
	// CPU idle falls to nothing; memory fills (the host pack's Aggregates).
	s = vl(10, 1, 10, 0, 1, 1, gauge(90), 1)
	s = append(s, repeat(60, -1.5)...)
	s = append(s, vl(13, 1, 10, 0, 1, 1, gauge(50), 1)...)
	s = append(s, repeat(60, 1)...)
	seeds = append(seeds, s)
	// A counter of hits that wraps at 32 bits, resets, then repeats itself.
	s = vl(2, 0, 10, 0, 1, 0, math.MaxUint32-1000, 1)
	s = append(s, repeat(10, 300)...)
	s = append(s, vl(2, 0, 10, 0, 1, 0, 5, 1)...)
	s = append(s, 6, 0, 6, 30, 4, 3, 7, 2, 7, 0)
	seeds = append(seeds, s)
	// Every special value, an empty and a 1,000-value list, odd intervals.
	for k := byte(0x80); k < 0x80+byte(len(fuzzSpecial)); k++ {
		s = append(s, vl(k-0x80, (k-0x80)%6, 1, k-0x80, 1, k, 0, 1)...)
	}
	s = append(s, vl(17, 0, 0, 1, 0xfe, 0x81, 0, 2)...)
	s = append(s, vl(17, 0, 10, 2, 0xff, 1, 0, 2)...)
	seeds = append(seeds, s)
	// Long and non-UTF-8 identifiers, a host far ahead, then clock jumps.
	s = []byte{0, 0x80, 3, 'a', 'b', 'c', 0, 4, 0xff, 0xfe, 0x00, 'x', 0xf5, 0x84, 0xff, 10, 0, 1, 1}
	s = binary.LittleEndian.AppendUint64(s, gauge(1))
	s = append(s, 1)
	s = append(s, 4, 8, 5, 0, 4, 7, 5, 0, 4, 10, 5, 127)
	seeds = append(seeds, s)
	return seeds
}
