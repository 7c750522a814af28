package bridge_test

import (
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/collectd-anomaly/collectd-anomaly/bridge"
	"github.com/collectd-anomaly/collectd-anomaly/bridge/fake"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// cut is what a C char array of size bytes holds of s: up to its first NUL,
// at most size-1 bytes, not ending in the middle of a UTF-8 character.
func cut(s string, size int) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	if len(s) < size {
		return s
	}
	n := size - 1
	for k := 0; k < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(s[n]); k++ {
		n--
	}
	return s[:n]
}

// FuzzNotify: every notification reaches collectd (the C fake, which copies
// it as the daemon does) with each string cut to its field - at a NUL, at
// the field's size, never inside a UTF-8 character - and its severity, time
// and meta data unchanged.
func FuzzNotify(f *testing.F) {
	f.Add("shop-1", "anomaly", "page", "ratio", "web-failed-requests", "FAILURE: failed share 14% above 10%", "rule", "web-failed-requests", 0.14, int64(300), int8(1), int64(1795780800123456789))
	f.Add(strings.Repeat("é", 100), "", "", "", "", strings.Repeat("日本", 60), "", "", math.NaN(), int64(math.MinInt64), int8(-1), int64(0))
	f.Add("a\x00b", "\xff\xfe", "x", "y", "z", "m\x00", "k\x00k", "v\x00v", math.Inf(-1), int64(0), int8(4), int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, host, plugin, pluginInstance, typ, typeInstance, message, key, str string, dbl float64, i64 int64, severity int8, ns int64) {
		daemon := fake.Install()
		defer daemon.Uninstall()
		n := &bridge.Notification{Severity: bridge.Severity(severity), Time: time.Unix(0, ns), Host: host, Plugin: plugin,
			PluginInstance: pluginInstance, Type: typ, TypeInstance: typeInstance, Message: message,
			Meta: []bridge.Meta{{key, str}, {key + "f", dbl}, {key + "i", i64}}}
		if err := (bridge.Collectd{}).Notify(n); err != nil {
			t.Fatal(err)
		}
		got := daemon.Dispatched()
		if len(got) != 1 {
			t.Fatalf("%d notifications", len(got))
		}
		g := got[0]
		for _, f := range []struct{ name, got, sent string }{{"host", g.Host, host}, {"plugin", g.Plugin, plugin},
			{"plugin_instance", g.PluginInstance, pluginInstance}, {"type", g.Type, typ}, {"type_instance", g.TypeInstance, typeInstance}} {
			if want := cut(f.sent, 128); f.got != want {
				t.Fatalf("%s %q, want %q", f.name, f.got, want)
			}
		}
		if want := cut(message, 256); g.Message != want {
			t.Fatalf("message %q, want %q", g.Message, want)
		}
		if utf8.ValidString(message) && !utf8.ValidString(g.Message) {
			t.Fatalf("message %q is not UTF-8", g.Message)
		}
		if g.Severity != n.Severity {
			t.Fatalf("severity %v, want %v", g.Severity, n.Severity)
		}
		if ns >= 0 {
			if d := g.Time.Sub(n.Time); d > 2 || d < -2 {
				t.Fatalf("time %v, want %v", g.Time, n.Time)
			}
		}
		if len(g.Meta) != 3 {
			t.Fatalf("meta %v", g.Meta)
		}
		if s, ok := g.Meta[0].Value.(string); !ok || s != cut(str, len(str)+2) {
			t.Fatalf("meta string %q, want %q", g.Meta[0].Value, cut(str, len(str)+2))
		}
		if d, ok := g.Meta[1].Value.(float64); !ok || math.Float64bits(d) != math.Float64bits(dbl) {
			t.Fatalf("meta double %v, want %v", g.Meta[1].Value, dbl)
		}
		if i, ok := g.Meta[2].Value.(int64); !ok || i != i64 {
			t.Fatalf("meta int %v, want %v", g.Meta[2].Value, i64)
		}
	})
}

// FuzzWrite: every value list passes the write callback's C entry point,
// the ring and the conversion back to Go with its strings cut to collectd's
// fields and its values, kinds, time and interval unchanged; one of more
// than 16 values or an unknown type is refused, never a crash.
func FuzzWrite(f *testing.F) {
	f.Add("h", "interface", "eth0", "if_octets", "", "rx", uint64(7), byte(0x12), byte(2), int64(1_800_000_000_250_000_000), int64(10e9))
	f.Add(strings.Repeat("é", 100), "p", "", "t", "\xff", "", uint64(math.MaxUint64), byte(0xff), byte(17), int64(0), int64(-1))
	f.Add("a\x00b", "", "", "", "", strings.Repeat("x", 70), uint64(math.Float64bits(math.NaN())), byte(0x55), byte(16), int64(math.MaxInt64), int64(1))
	f.Fuzz(func(t *testing.T, host, plugin, pluginInstance, typ, typeInstance, ds string, raw uint64, kinds, n byte, ns, interval int64) {
		var got *metric.ValueList
		if err := bridge.SetWriteFunc(func(vl *metric.ValueList) error {
			c := *vl
			c.Identifier = metric.Identifier{Host: strings.Clone(vl.Host), Plugin: strings.Clone(vl.Plugin),
				PluginInstance: strings.Clone(vl.PluginInstance), Type: strings.Clone(vl.Type), TypeInstance: strings.Clone(vl.TypeInstance)}
			c.Values = append([]metric.Value(nil), vl.Values...)
			c.DSNames = nil
			for _, s := range vl.DSNames {
				c.DSNames = append(c.DSNames, strings.Clone(s))
			}
			got = &c
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		defer bridge.SetWriteFunc(nil)
		count := int(n % 20)
		var values []fake.Value
		unknown := false
		for i := range count {
			k := metric.Kind((kinds >> (i % 4 * 2)) & 3)
			if kinds == 0xff && i == count-1 {
				k, unknown = 9, true
			}
			v := metric.Value{Kind: k}
			x := raw + uint64(i)
			switch k {
			case metric.Gauge:
				v.Gauge = math.Float64frombits(x)
			case metric.Derive:
				v.Derive = int64(x)
			default:
				v.Counter = x
			}
			values = append(values, fake.Value{Name: ds, Value: v})
		}
		id := metric.Identifier{Host: host, Plugin: plugin, PluginInstance: pluginInstance, Type: typ, TypeInstance: typeInstance}
		when := time.Unix(0, ns)
		rc := fake.Write(id, when, time.Duration(interval), values...)
		if count > 16 {
			if rc != -1 || got != nil {
				t.Fatalf("%d values: status %d, written %v", count, rc, got != nil)
			}
			return
		}
		if rc != 0 {
			t.Fatalf("status %d", rc)
		}
		if unknown {
			if got != nil {
				t.Fatal("a value of an unknown type was written")
			}
			return
		}
		if got == nil {
			t.Fatal("nothing written")
		}
		want := metric.Identifier{Host: cut(host, 128), Plugin: cut(plugin, 128), PluginInstance: cut(pluginInstance, 128),
			Type: cut(typ, 128), TypeInstance: cut(typeInstance, 128)}
		if got.Identifier != want {
			t.Fatalf("identifier %q, want %q", got.Identifier, want)
		}
		if len(got.Values) != count || len(got.DSNames) != count {
			t.Fatalf("%d values, %d names; want %d", len(got.Values), len(got.DSNames), count)
		}
		for i, v := range got.Values {
			w := values[i].Value
			if v.Kind != w.Kind || math.Float64bits(v.Gauge) != math.Float64bits(w.Gauge) || v.Counter != w.Counter || v.Derive != w.Derive {
				t.Fatalf("value %d: %+v, want %+v", i, v, w)
			}
			if got.DSNames[i] != cut(ds, 128) {
				t.Fatalf("name %q, want %q", got.DSNames[i], cut(ds, 128))
			}
		}
		if ns >= 0 {
			if d := got.Time.Sub(when); d > 2 || d < -2 {
				t.Fatalf("time %v, want %v", got.Time, when)
			}
		}
		if interval > 0 {
			if d := got.Interval - time.Duration(interval); d > 2 || d < -2 {
				t.Fatalf("interval %v, want %v", got.Interval, time.Duration(interval))
			}
		}
	})
}
