package influx

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	lp "github.com/influxdata/line-protocol"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// What InfluxDB keeps of a name or a string this package writes: line
// protocol has no escape for a line break (it becomes a space); a run of
// backslashes before a character that is escaped, or at the end of a name,
// is doubled (see appendEscaped) and stored twice; a measurement's leading
// # keeps its escape.
type escaping int

const (
	inMeasurement escaping = iota
	inTag                  // a tag value or a field key
	inString               // a string field
)

func stored(s string, in escaping) string {
	s = strings.NewReplacer("\n", " ", "\r", " ", "\f", " ").Replace(s)
	if in == inString {
		return s
	}
	s = strings.NewReplacer("\t", " ", "\v", " ").Replace(s)
	var b strings.Builder
	if in == inMeasurement && strings.HasPrefix(s, "#") {
		b.WriteByte('\\')
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		j := i
		for j < len(s) && s[j] == '\\' {
			j++
		}
		run := s[i:j]
		if j == len(s) || strings.IndexByte(" ,=\t\f\v", s[j]) >= 0 && (in == inTag || s[j] != '=') {
			run += run
		}
		b.WriteString(run)
		i = j - 1
	}
	return b.String()
}

// goParserReads reports whether InfluxDB's Go line-protocol parser (of
// Telegraf and client libraries) reads names vs as InfluxDB itself does.
// It takes the last of a tag value's trailing backslashes as escaping the
// separator, which InfluxDB's own scanner does not (there the value is
// stored with its backslash doubled): no escaping satisfies both, and the
// server is what this package writes to. And it unescapes \" in a name,
// but only when the name holds another escape. Neither is in a name
// collectd makes.
func goParserReads(vs ...string) bool {
	for _, v := range vs {
		if strings.HasSuffix(v, "\\") || strings.Contains(v, "\\\"") {
			return false
		}
	}
	return true
}

// parseLine reads one line back with InfluxDB's Go line-protocol parser.
func parseLine(t *testing.T, line []byte) parsed {
	t.Helper()
	ms, err := lp.NewParser(lp.NewMetricHandler()).Parse(append(line, '\n'))
	if err != nil || len(ms) != 1 {
		t.Fatalf("%q: %d metrics, %v", line, len(ms), err)
	}
	p := parsed{name: ms[0].Name(), tags: map[string]string{}, fields: map[string]any{}, time: ms[0].Time()}
	for _, tag := range ms[0].TagList() {
		p.tags[tag.Key] = tag.Value
	}
	for _, f := range ms[0].FieldList() {
		p.fields[f.Key] = f.Value
	}
	return p
}

func checkTags(t *testing.T, line []byte, got map[string]string, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if v == "" {
			delete(want, k)
		} else {
			want[k] = stored(v, inTag)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%q: tags %q, want %q", line, got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%q: tag %s %q, want %q", line, k, got[k], v)
		}
	}
}

// FuzzAppendValueList: every value list that has a line is one line that
// InfluxDB's parser reads back to the same measurement, tags, fields and
// time, whatever its identifier and data source names hold (separators,
// quotes, backslashes, line breaks, non-UTF-8) and whatever its values.
func FuzzAppendValueList(f *testing.F) {
	f.Add("web1", "ecommerce", "", "gauge", "page-hits-total", "value", "", uint64(math.Float64bits(1234)), uint64(7), byte(0x10), int64(1795780800123456789), true)
	f.Add("my host", "my,plugin", "a=b", "t t", "x,y=z w", "v v", "rx", uint64(math.Float64bits(1e21)), uint64(1<<40), byte(0x21), int64(0), false)
	f.Add("a\nb", `p\`, `\`, `t"`, "\xff\xfe", `a\,b`, "value1", uint64(math.Float64bits(math.NaN())), uint64(math.MaxUint64), byte(0x33), int64(-1), true)
	f.Add("#host", "#comment", "=", ",", " ", "=", ",", uint64(math.Float64bits(math.Inf(1))), uint64(2), byte(0x12), int64(math.MaxInt64), true)
	f.Fuzz(func(t *testing.T, host, plugin, pluginInstance, typ, typeInstance, ds0, ds1 string, v0, v1 uint64, kinds byte, ns int64, health bool) {
		value := func(k byte, x uint64) metric.Value {
			switch k % 4 {
			case 0:
				return metric.CounterValue(x)
			case 1:
				return metric.GaugeValue(math.Float64frombits(x))
			case 2:
				return metric.DeriveValue(int64(x))
			}
			return metric.AbsoluteValue(x)
		}
		vl := &metric.ValueList{
			Identifier: metric.Identifier{Host: host, Plugin: plugin, PluginInstance: pluginInstance, Type: typ, TypeInstance: typeInstance},
			Time:       time.Unix(0, ns),
			Values:     []metric.Value{value(kinds, v0)},
			DSNames:    []string{ds0, ds1},
		}
		if kinds&0x10 != 0 {
			vl.Values = append(vl.Values, value(kinds>>2, v1))
		}
		b, ok := AppendValueList([]byte("keep"), vl, health)
		if string(b[:4]) != "keep" {
			t.Fatalf("%q: the buffer's start changed", b)
		}
		b = b[4:]
		if !ok {
			if len(b) != 0 {
				t.Fatalf("%q appended without a line", b)
			}
			for _, v := range vl.Values {
				if f := float(v); plugin != "" && !math.IsNaN(f) && !math.IsInf(f, 0) {
					t.Fatalf("no line for a finite value %v", f)
				}
			}
			return
		}
		if bytes.ContainsAny(b, "\n\r") {
			t.Fatalf("%q: a line break", b)
		}
		quoted := strings.Contains(plugin, `\"`) || strings.Contains(ds0, `\"`) || strings.Contains(ds1, `\"`)
		if !goParserReads(host, pluginInstance, typ, typeInstance) || quoted {
			return
		}
		p := parseLine(t, b)
		if want := stored(plugin, inMeasurement); p.name != want {
			t.Fatalf("%q: measurement %q, want %q", b, p.name, want)
		}
		checkTags(t, b, p.tags, map[string]string{"host": host, "plugin_instance": pluginInstance, "type": typ, "type_instance": typeInstance})
		want := map[string]any{}
		for i, v := range vl.Values {
			f := float(v)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				continue
			}
			key := "value"
			if vl.DSNames[i] != "" {
				key = stored(vl.DSNames[i], inTag)
			} else if i > 0 {
				key += strconv.Itoa(i)
			}
			want[key] = f
			if s, ok := HealthState(f); ok && health && len(vl.Values) == 1 {
				want["state"] = s
			}
		}
		if len(p.fields) != len(want) {
			t.Fatalf("%q: fields %v, want %v", b, p.fields, want)
		}
		for k, v := range want {
			if p.fields[k] != v {
				t.Fatalf("%q: field %q = %v, want %v", b, k, p.fields[k], v)
			}
		}
		if p.time.UnixNano() != ns {
			t.Fatalf("%q: time %d, want %d", b, p.time.UnixNano(), ns)
		}
	})
}

// FuzzAppendAlert: every alert is one line that InfluxDB's parser reads
// back to the same tags and fields, whatever its strings and numbers.
func FuzzAppendAlert(f *testing.F) {
	f.Add("web-failed-requests", "ratio", "page", "", "collectd-host", `FAILURE: 40% "quoted" \ back`, `/^ecommerce/gauge-(?P<group>page|asset)-response-(?:400|500)$/`, "", "", int8(2), int8(1), false, 0.4, 0.1, math.NaN(), int64(300e9), int64(1795780800123456789))
	f.Add("r", "k", "", "web1", "h", "line\nbreak\r", "s", "https://wiki.example/run book?x=\"1\"", "s3", int8(0), int8(2), true, math.Inf(1), -1e308, 5e-324, int64(-1), int64(0))
	f.Add(`r\`, "k=,", "g ,=", "\xff", `h\`, `\`, `"`, `\"`, "\n", int8(-3), int8(7), true, 1e21, 1e-5, 0.0, int64(math.MaxInt64), int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, rule, kind, group, host, fallback, message, series, runbook, silenced string,
		severity, previous int8, repeat bool, observed, threshold, baseline float64, window, ns int64) {
		a := &detect.Alert{Time: time.Unix(0, ns), Severity: detect.Level(severity), Previous: detect.Level(previous), Repeat: repeat,
			Rule: rule, Kind: kind, Group: group, Host: host, Series: series, Message: message, Runbook: runbook, Silenced: silenced,
			Observed: observed, Threshold: threshold, Baseline: baseline, Window: time.Duration(window)}
		b := AppendAlert(nil, a, fallback)
		if bytes.ContainsAny(b, "\n\r") {
			t.Fatalf("%q: a line break", b)
		}
		if host == "" {
			host = fallback
		}
		if !goParserReads(group, host, kind, rule) {
			return
		}
		p := parseLine(t, b)
		if p.name != AlertMeasurement {
			t.Fatalf("%q: measurement %q", b, p.name)
		}
		checkTags(t, b, p.tags, map[string]string{"group": group, "host": host, "kind": kind, "rule": rule, "severity": a.Severity.String()})
		want := map[string]any{"message": stored(message, inString), "severity_code": int64(severity), "previous": a.Previous.String(),
			"series": stored(series, inString), "repeat": repeat}
		if runbook != "" {
			want["runbook"] = stored(runbook, inString)
		}
		if silenced != "" {
			want["silenced"] = stored(silenced, inString)
		}
		for k, v := range map[string]float64{"observed": observed, "threshold": threshold, "baseline": baseline, "window_seconds": a.Window.Seconds()} {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				want[k] = v
			}
		}
		if len(p.fields) != len(want) {
			t.Fatalf("%q: fields %v, want %v", b, p.fields, want)
		}
		for k, v := range want {
			if p.fields[k] != v {
				t.Fatalf("%q: field %q = %#v, want %#v", b, k, p.fields[k], v)
			}
		}
		if p.time.UnixNano() != ns {
			t.Fatalf("%q: time %d, want %d", b, p.time.UnixNano(), ns)
		}
	})
}
