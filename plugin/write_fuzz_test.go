package main

import (
	"context"
	"encoding/binary"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/bridge"
	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// shippedBlocks are the <Plugin anomaly> blocks of both shipped rule packs,
// as collectd hands them to the plugin.
func shippedBlocks(tb testing.TB) []config.Block {
	tb.Helper()
	var out []config.Block
	for _, pack := range []string{"../collectd.conf.d/anomaly.conf", "../collectd.conf.d/host.conf"} {
		src, err := conf.ReadSource(pack)
		if err != nil {
			tb.Fatal(err)
		}
		for _, b := range src.PluginBlocks("anomaly") {
			out = append(out, b.Block)
		}
	}
	return out
}

var fuzzIDs = []metric.Identifier{
	{Plugin: "ecommerce", Type: "gauge", TypeInstance: "page-hits-total"},
	{Plugin: "ecommerce", Type: "gauge", TypeInstance: "page-response-500"},
	{Plugin: "ecommerce", Type: "counter", TypeInstance: "asset-hits-total"},
	{Plugin: "ecommerce", Type: "gauge", TypeInstance: "page-latency-mean"},
	{Plugin: "ecommerce", Type: "gauge", TypeInstance: "payment-provider-visa.success"},
	{Plugin: "cpu", Type: "percent", TypeInstance: "idle"},
	{Plugin: "memory", Type: "percent", TypeInstance: "used"},
	{Plugin: "load", Type: "load"},
}

var fuzzHostNames = []string{"shop-1", "shop-2", "", strings.Repeat("é", 100), "\xff\xfe", "a\nb\"c\\"}

// FuzzPluginWrite: the plugin's write path - the engine with both shipped
// rule packs, burst shaping, notifications, derived values - and its read
// callback never panic on what the write callback is handed, and every
// notification that reaches collectd is one of its severities, from plugin
// "anomaly" with its rule and a message (valid UTF-8 when the identifiers
// were). Each input is a program: value lists (series, host, time step,
// type, value), runs of them, and reads.
func FuzzPluginWrite(f *testing.F) {
	blocks := shippedBlocks(f)
	gauge := func(x float64) []byte { return binary.LittleEndian.AppendUint64(nil, math.Float64bits(x)) }
	one := func(series, host, dt, kind byte, v []byte) []byte {
		return append([]byte{series, host, dt, kind}, v...)
	}
	s := one(0, 0, 1, 1, gauge(1000))
	s = append(s, one(1, 0, 0, 1, gauge(5))...)
	s = append(s, 0xef, 2, 0xf0) // 300 more of the 500s at step 2, a read
	f.Add(s)
	s = one(5, 3, 1, 1, gauge(3))
	s = append(s, 0xe5, 0, 0xf0)
	s = append(s, one(2, 4, 0x80, 0, gauge(math.NaN()))...)
	s = append(s, one(6, 5, 0x7f, 2, gauge(math.Inf(1)))...)
	f.Add(s)
	// Memory full for 10 minutes, then freed: a FAILURE and its OKAY.
	s = one(6, 0, 1, 1, gauge(99))
	s = append(s, 0xe2, 0, 0xf0)
	s = append(s, one(6, 0, 1, 1, gauge(50))...)
	s = append(s, 0xe2, 0, 0xf0)
	f.Add(s)
	f.Fuzz(func(t *testing.T, data []byte) {
		d := newFakeDaemon()
		p := newPlugin(d)
		// The host pack's StateFile and SilenceFile are the machine's: the
		// test's own instead.
		dir := t.TempDir()
		own := pluginBlock(opt("StateFile", filepath.Join(dir, "anomaly.state")), opt("SilenceFile", filepath.Join(dir, "silences")))
		for _, b := range append(blocks, own) {
			if err := p.configure(b); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.init(); err != nil {
			t.Fatal(err)
		}
		valid := true
		base := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
		step, budget := 0, 5000
		var last *metric.ValueList
		for len(data) > 0 && budget > 0 {
			op := data[0]
			data = data[1:]
			switch {
			case op >= 0xf0:
				if err := p.Read(context.Background()); err != nil {
					t.Fatal(err)
				}
			case op >= 0xe0:
				if last == nil || len(data) == 0 {
					continue
				}
				delta := float64(int8(data[0]))
				data = data[1:]
				for range int(op-0xdf) * 20 {
					step++
					next := *last
					next.Time = base.Add(time.Duration(step) * 10 * time.Second)
					next.Values = []metric.Value{last.Values[0]}
					switch v := &next.Values[0]; v.Kind {
					case metric.Gauge:
						v.Gauge += delta
					default:
						v.Counter += uint64(int64(delta))
					}
					budget--
					if err := p.write(&next); err != nil {
						t.Fatal(err)
					}
					last = &next
				}
			default:
				if len(data) < 11 {
					data = nil
					continue
				}
				vl := &metric.ValueList{Identifier: fuzzIDs[int(op)%len(fuzzIDs)], Interval: 10 * time.Second, DSNames: []string{"value"}}
				vl.Host = fuzzHostNames[int(data[0])%len(fuzzHostNames)]
				valid = valid && utf8.ValidString(vl.Host)
				step += int(int8(data[1]))
				vl.Time = base.Add(time.Duration(step) * 10 * time.Second)
				x := binary.LittleEndian.Uint64(data[3:11])
				switch data[2] % 3 {
				case 0:
					vl.Values = []metric.Value{metric.CounterValue(x)}
				case 1:
					vl.Values = []metric.Value{metric.GaugeValue(math.Float64frombits(x))}
				default:
					vl.Values = []metric.Value{metric.DeriveValue(int64(x))}
				}
				data = data[11:]
				budget--
				if err := p.write(vl); err != nil {
					t.Fatal(err)
				}
				last = vl
			}
		}
		if err := p.Read(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := p.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, n := range d.rec.Notifications() {
			if n.Severity != bridge.Failure && n.Severity != bridge.Warning && n.Severity != bridge.Okay {
				t.Fatalf("severity %v: %+v", n.Severity, n)
			}
			if n.Plugin != "anomaly" || n.TypeInstance == "" || n.Type == "" || n.Message == "" || n.Time.IsZero() {
				t.Fatalf("notification %+v", n)
			}
			if valid && !utf8.ValidString(n.Message) {
				t.Fatalf("message %q is not UTF-8", n.Message)
			}
		}
		if lines := d.errorLines(); len(lines) > 0 {
			t.Fatalf("errors logged: %q", lines)
		}
	})
}
