package influx

import (
	"math"
	"testing"
	"time"

	lp "github.com/influxdata/line-protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 123456789, time.UTC)

func gauge(host, plugin, pluginInstance, typ, typeInstance string, v float64) *metric.ValueList {
	return &metric.ValueList{
		Identifier: metric.Identifier{Host: host, Plugin: plugin, PluginInstance: pluginInstance, Type: typ, TypeInstance: typeInstance},
		Time:       t0,
		Interval:   10 * time.Second,
		Values:     []metric.Value{metric.GaugeValue(v)},
		DSNames:    []string{"value"},
	}
}

func line(t *testing.T, vl *metric.ValueList, health bool) string {
	t.Helper()
	b, ok := AppendValueList(nil, vl, health)
	require.True(t, ok)
	return string(b)
}

func TestAppendValueList(t *testing.T) {
	ts := "1795780800123456789"
	assert.Equal(t, "ecommerce,host=web1,type=gauge,type_instance=page-hits-total value=1234 "+ts,
		line(t, gauge("web1", "ecommerce", "", "gauge", "page-hits-total", 1234), false))
	assert.Equal(t, "ecommerce,host=web1,type=gauge,type_instance=page-latency-mean value=153.25 "+ts,
		line(t, gauge("web1", "ecommerce", "", "gauge", "page-latency-mean", 153.25), false))

	// Empty tags are left out; every tag present keeps its place.
	assert.Equal(t, "cpu,plugin_instance=0,type=percent value=1e-05 "+ts,
		line(t, gauge("", "cpu", "0", "percent", "", 1e-5), false))

	// Several data sources, of every type, as floats named by the data set.
	vl := &metric.ValueList{
		Identifier: metric.Identifier{Host: "h", Plugin: "interface", PluginInstance: "eth0", Type: "if_octets"},
		Time:       t0,
		Values:     []metric.Value{metric.DeriveValue(-5), metric.CounterValue(1 << 40), metric.AbsoluteValue(7), metric.GaugeValue(1e21)},
		DSNames:    []string{"rx", "tx", "", "g"},
	}
	assert.Equal(t, "interface,host=h,plugin_instance=eth0,type=if_octets rx=-5,tx=1099511627776,value2=7,g=1e+21 "+ts, line(t, vl, false))

	// NaN (collectd's unknown gauge) and infinities are left out...
	vl = &metric.ValueList{Identifier: metric.Identifier{Host: "h", Plugin: "p", Type: "t"}, Time: t0,
		Values:  []metric.Value{metric.GaugeValue(math.NaN()), metric.GaugeValue(2), metric.GaugeValue(math.Inf(1))},
		DSNames: []string{"a", "b", "c"}}
	assert.Equal(t, "p,host=h,type=t b=2 "+ts, line(t, vl, false))
	// ... and a value list of nothing else is no line at all.
	vl.Values[1] = metric.GaugeValue(math.NaN())
	b, ok := AppendValueList([]byte("keep"), vl, false)
	assert.False(t, ok)
	assert.Equal(t, "keep", string(b), "nothing appended")

	// Health: the level and its word.
	for level, word := range []string{"ok", "warn", "error"} {
		assert.Equal(t, `anomaly,host=h,type=gauge,type_instance=web-health value=`+string(rune('0'+level))+`,state="`+word+`" `+ts,
			line(t, gauge("h", "anomaly", "", "gauge", "web-health", float64(level)), true))
	}
	assert.Equal(t, "anomaly,host=h,type=gauge,type_instance=web-health value=0.5 "+ts,
		line(t, gauge("h", "anomaly", "", "gauge", "web-health", 0.5), true), "no word for an unknown level")
}

func TestAppendValueListEscapes(t *testing.T) {
	vl := gauge("my host", "my,plugin", "a=b", "t t", "x,y=z w", 1)
	vl.DSNames = []string{"v v"}
	got := line(t, vl, false)
	assert.Equal(t, `my\,plugin,host=my\ host,plugin_instance=a\=b,type=t\ t,type_instance=x\,y\=z\ w v\ v=1 1795780800123456789`, got)

	// A line break would end the line: it becomes an (escaped) space.
	assert.Equal(t, `p,host=a\ b,type=t value=1 1795780800123456789`, line(t, gauge("a\nb", "p", "", "t", "", 1), false))
	// A trailing backslash would escape the separator after it.
	assert.Equal(t, `p,host=a\\,type=t value=1 1795780800123456789`, line(t, gauge(`a\`, "p", "", "t", "", 1), false))

	// What InfluxDB's parser reads back (the Go line-protocol parser).
	m := parse(t, got)
	assert.Equal(t, "my,plugin", m.Name())
	assert.Equal(t, map[string]string{"host": "my host", "plugin_instance": "a=b", "type": "t t", "type_instance": "x,y=z w"}, m.Tags())
	assert.Equal(t, map[string]any{"v v": 1.0}, m.Fields())
	assert.Equal(t, t0, m.Time().UTC())
}

// parsed is a line as a parser reads it back.
type parsed struct {
	name   string
	tags   map[string]string
	fields map[string]any
	time   time.Time
}

func (p parsed) Name() string            { return p.name }
func (p parsed) Tags() map[string]string { return p.tags }
func (p parsed) Fields() map[string]any  { return p.fields }
func (p parsed) Time() time.Time         { return p.time }

func parse(t *testing.T, line string) parsed {
	t.Helper()
	ms, err := lp.NewParser(lp.NewMetricHandler()).Parse([]byte(line + "\n"))
	require.NoError(t, err, line)
	require.Len(t, ms, 1)
	p := parsed{name: ms[0].Name(), tags: map[string]string{}, fields: map[string]any{}, time: ms[0].Time()}
	for _, tag := range ms[0].TagList() {
		p.tags[tag.Key] = tag.Value
	}
	for _, f := range ms[0].FieldList() {
		p.fields[f.Key] = f.Value
	}
	return p
}

func TestAppendAlert(t *testing.T) {
	a := &detect.Alert{
		Time: t0, Severity: detect.Failure, Previous: detect.Warning,
		Rule: "web-failed-requests", Kind: "ratio", Group: "page",
		Series:   `/^ecommerce/gauge-(?P<group>page|asset)-response-(?:400|500)$/`,
		Observed: 0.4, Threshold: 0.1, Baseline: math.NaN(), Window: 5 * time.Minute,
		Message: `FAILURE: web-failed-requests[page] of web1: 40% (400 of 1000) over 5m0s is above the threshold 10% "quoted" \ back`,
	}
	got := string(AppendAlert(nil, a, "collectd-host"))
	assert.Equal(t, `anomaly_alerts,group=page,host=collectd-host,kind=ratio,rule=web-failed-requests,severity=FAILURE `+
		`message="FAILURE: web-failed-requests[page] of web1: 40% (400 of 1000) over 5m0s is above the threshold 10% \"quoted\" \\ back",`+
		`severity_code=2i,previous="WARNING",series="/^ecommerce/gauge-(?P<group>page|asset)-response-(?:400|500)$/",repeat=false,`+
		`observed=0.4,threshold=0.1,window_seconds=300 1795780800123456789`, got)

	m := parse(t, got)
	assert.Equal(t, AlertMeasurement, m.Name())
	assert.Equal(t, map[string]string{"group": "page", "host": "collectd-host", "kind": "ratio", "rule": "web-failed-requests", "severity": "FAILURE"}, m.Tags())
	assert.Equal(t, a.Message, m.Fields()["message"])
	assert.Equal(t, int64(2), m.Fields()["severity_code"])
	assert.NotContains(t, m.Fields(), "baseline", "NaN is left out")

	// The alert's own host wins; no group, no group tag.
	a.Host, a.Group, a.Severity, a.Previous, a.Repeat = "web1", "", detect.OK, detect.Failure, true
	m = parse(t, string(AppendAlert(nil, a, "collectd-host")))
	assert.Equal(t, map[string]string{"host": "web1", "kind": "ratio", "rule": "web-failed-requests", "severity": "OKAY"}, m.Tags())
	assert.Equal(t, int64(0), m.Fields()["severity_code"])
	assert.Equal(t, true, m.Fields()["repeat"])
	assert.NotContains(t, m.Fields(), "runbook", "no runbook, no field")
	assert.NotContains(t, m.Fields(), "silenced")

	// A runbook and a silence are fields, not tags: they would multiply series.
	a.Runbook, a.Silenced = "https://wiki.example/run book?x=\"1\"", "s3"
	m = parse(t, string(AppendAlert(nil, a, "collectd-host")))
	assert.Equal(t, a.Runbook, m.Fields()["runbook"])
	assert.Equal(t, "s3", m.Fields()["silenced"])
	assert.NotContains(t, m.Tags(), "runbook")
}

func TestFormattingAllocatesNothing(t *testing.T) {
	vl := gauge("web1", "ecommerce", "", "gauge", "page-hits-total", 1234)
	a := &detect.Alert{Time: t0, Rule: "r", Kind: "ratio", Message: "m", Observed: 1, Threshold: math.NaN(), Baseline: math.NaN()}
	buf := make([]byte, 0, 1024)
	assert.Zero(t, testing.AllocsPerRun(1000, func() {
		buf, _ = AppendValueList(buf[:0], vl, true)
		buf = AppendAlert(buf[:0], a, "h")
	}))
}

// What fuzzing found (FuzzAppendValueList, FuzzAppendAlert): lines that
// InfluxDB's parsers split wrongly, refused or dropped as comments.
func TestAppendFuzzFound(t *testing.T) {
	// A backslash before an escaped comma took the escape: the tag split.
	got := line(t, gauge("a\\,b", "p", "", "t", "", 1), false)
	assert.Equal(t, `p,host=a\\\,b,type=t value=1 1795780800123456789`, got)
	assert.Equal(t, map[string]string{"host": `a\\,b`, "type": "t"}, parse(t, got).Tags())
	// So did a run of backslashes: each is doubled, not only the last.
	got = line(t, gauge("a\\\\,b", "p", "", "t", "", 1), false)
	assert.Equal(t, `p,host=a\\\\\,b,type=t value=1 1795780800123456789`, got)
	assert.Equal(t, map[string]string{"host": `a\\\\,b`, "type": "t"}, parse(t, got).Tags())
	vl := gauge("h", "p", "", "t", "", 1)
	vl.DSNames = []string{`x\\`}
	assert.Equal(t, map[string]any{`x\\\\`: 1.0}, parse(t, line(t, vl, false)).Fields())
	// A form feed or tab is a separator to the Go parser: a space.
	got = line(t, gauge("h", "p", "", "t", "a\fb\tc", 1), false)
	assert.Equal(t, "a b c", parse(t, got).Tags()["type_instance"])
	// A measurement starting with # made the line a comment.
	got = line(t, gauge("h", "#p", "", "t", "", 1), false)
	assert.Equal(t, `\#p`, parse(t, got).Name())
	// No plugin, no measurement: no line (InfluxDB refuses the batch of one).
	_, ok := AppendValueList(nil, gauge("h", "", "", "t", "", 1), false)
	assert.False(t, ok)
	// A form feed in a message made the Go parser refuse the alert.
	a := &detect.Alert{Time: t0, Rule: "r", Kind: "k", Message: "a\fb", Observed: 1, Threshold: math.NaN(), Baseline: math.NaN()}
	assert.Equal(t, "a b", parse(t, string(AppendAlert(nil, a, "h"))).Fields()["message"])
}
