package influx

import (
	"math"
	"strconv"
	"strings"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// AlertMeasurement is the measurement of alert events.
const AlertMeasurement = "anomaly_alerts"

// HealthState is the text of a health level (the exercise's words), written
// as the field "state" beside the numeric "value" of a health series.
func HealthState(level float64) (string, bool) {
	if l := detect.Level(level); float64(l) == level && l >= detect.OK && l <= detect.Failure {
		return detect.HealthWord(l), true
	}
	return "", false
}

// AppendValueList appends the line of one value list to b (without a
// trailing newline) and reports whether there was one: a value list whose
// values are all NaN or infinite (collectd's "unknown" gauge), or that has
// no plugin name, has nothing line protocol can carry. health adds the
// field state (see HealthState).
//
// It allocates nothing: vl's strings may be borrowed from C memory.
func AppendValueList(b []byte, vl *metric.ValueList, health bool) ([]byte, bool) {
	if vl.Plugin == "" {
		// No measurement, no line: InfluxDB would refuse it, and with it
		// the batch it came in. collectd's own plugins always have a name.
		return b, false
	}
	start := len(b)
	b = appendMeasurement(b, vl.Plugin)
	b = appendTag(b, "host", vl.Host)
	b = appendTag(b, "plugin_instance", vl.PluginInstance)
	b = appendTag(b, "type", vl.Type)
	b = appendTag(b, "type_instance", vl.TypeInstance)
	sep := byte(' ')
	for i, v := range vl.Values {
		f := float(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		b = append(b, sep)
		sep = ','
		if i < len(vl.DSNames) && vl.DSNames[i] != "" {
			b = appendKey(b, vl.DSNames[i])
		} else {
			b = append(b, "value"...)
			if i > 0 {
				b = strconv.AppendInt(b, int64(i), 10)
			}
		}
		b = append(b, '=')
		b = appendFloat(b, f)
		if health && len(vl.Values) == 1 {
			if s, ok := HealthState(f); ok {
				b = append(b, ",state="...)
				b = appendString(b, s)
			}
		}
	}
	if sep == ' ' {
		return b[:start], false
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, vl.Time.UnixNano(), 10)
	return b, true
}

// float is a value as a float: every collectd data source type is written as
// a float field, as InfluxDB's own collectd input does, so that a series
// switching type (a gauge becoming a counter) never conflicts with the field
// type InfluxDB has recorded. Counters above 2^53 lose their last digits.
func float(v metric.Value) float64 {
	switch v.Kind {
	case metric.Gauge:
		return v.Gauge
	case metric.Counter, metric.Absolute:
		return float64(v.Counter)
	case metric.Derive:
		return float64(v.Derive)
	}
	return math.NaN()
}

// AppendAlert appends the line of one alert event; host is the host to
// name when the alert has none (a rule aggregating hosts).
func AppendAlert(b []byte, a *detect.Alert, host string) []byte {
	if a.Host != "" {
		host = a.Host
	}
	b = append(b, AlertMeasurement...)
	b = appendTag(b, "group", a.Group)
	b = appendTag(b, "host", host)
	b = appendTag(b, "kind", a.Kind)
	b = appendTag(b, "rule", a.Rule)
	b = appendTag(b, "severity", a.Severity.String())
	b = append(b, " message="...)
	b = appendString(b, a.Message)
	b = append(b, ",severity_code="...)
	b = strconv.AppendInt(b, int64(a.Severity), 10)
	b = append(b, "i,previous="...)
	b = appendString(b, a.Previous.String())
	b = append(b, ",series="...)
	b = appendString(b, a.Series)
	b = append(b, ",repeat="...)
	b = strconv.AppendBool(b, a.Repeat)
	if a.Runbook != "" {
		b = append(b, ",runbook="...)
		b = appendString(b, a.Runbook)
	}
	if a.Silenced != "" {
		b = append(b, ",silenced="...)
		b = appendString(b, a.Silenced)
	}
	b = appendFloatField(b, "observed", a.Observed)
	b = appendFloatField(b, "threshold", a.Threshold)
	b = appendFloatField(b, "baseline", a.Baseline)
	b = appendFloatField(b, "window_seconds", a.Window.Seconds())
	b = append(b, ' ')
	b = strconv.AppendInt(b, a.Time.UnixNano(), 10)
	return b
}

// appendFloatField leaves out NaN (a threshold the rule does not have) and
// infinities, which line protocol cannot carry.
func appendFloatField(b []byte, key string, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b
	}
	b = append(b, ',')
	b = append(b, key...)
	b = append(b, '=')
	return appendFloat(b, f)
}

// appendFloat writes the shortest form that reads back exactly: plain
// digits (a counter of 2^40 as 1099511627776), an exponent only for the
// very large and very small.
func appendFloat(b []byte, f float64) []byte {
	if a := math.Abs(f); a == 0 || (a >= 1e-4 && a < 1e21) {
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// Escaping, as InfluxDB's line protocol has it: a measurement escapes commas
// and spaces; tag keys, tag values and field keys escape commas, equal signs
// and spaces; string field values escape double quotes and backslashes.
// Line protocol has no escape for a line break: one becomes a space. Nor
// for other white space in names, which InfluxDB's Go parser (Telegraf's,
// the client libraries') takes as a separator: a tab, form feed or
// vertical tab becomes a space too (fuzzing found the form feed).
//
// A backslash is not escaped itself, but InfluxDB's scanner reads a
// backslash and the character after it as one: a backslash right before a
// character that gets escaped (a\,b) or at the end of a name would take
// the escape or the separator after it, and split the tag or break the line
// (fuzzing found both, and runs of backslashes: one such line can cost its
// whole batch). So each backslash of such a run is doubled, and InfluxDB
// then stores two. A measurement starting with # would make the line a
// comment, dropped without a word: the # is escaped (InfluxDB keeps the
// backslash).

func appendMeasurement(b []byte, s string) []byte {
	if strings.HasPrefix(s, "#") {
		b = append(b, '\\')
	}
	return appendEscaped(b, s, false)
}

func appendKey(b []byte, s string) []byte {
	return appendEscaped(b, s, true)
}

// appendTag leaves out a tag whose value is empty: line protocol has no
// empty tag values (and InfluxQL matches a missing tag as the empty string).
func appendTag(b []byte, key, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, ',')
	b = appendEscaped(b, key, true)
	b = append(b, '=')
	return appendEscaped(b, value, true)
}

// escaped reports whether appendEscaped escapes c.
func escaped(c byte, equals bool) bool {
	switch c {
	case ',', ' ', '\n', '\r', '\t', '\f', '\v':
		return true
	}
	return c == '=' && equals
}

func appendEscaped(b []byte, s string, equals bool) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' {
			// Every backslash of a run that ends at an escaped character
			// or at the end is doubled: the scanner reads the run in
			// pairs, and an odd one would take what follows.
			j := i
			for j < len(s) && s[j] == '\\' {
				j++
			}
			if j == len(s) || escaped(s[j], equals) {
				b = append(b, s[start:i]...)
				for ; i < j; i++ {
					b = append(b, '\\', '\\')
				}
				start = j
			}
			i = j - 1
			continue
		}
		if !escaped(c, equals) {
			continue
		}
		b = append(b, s[start:i]...)
		start = i + 1
		switch c {
		case '\n', '\r', '\t', '\f', '\v':
			b = append(b, '\\', ' ')
		default:
			b = append(b, '\\', c)
		}
	}
	return append(b, s[start:]...)
}

// appendString writes a string field. A form feed becomes a space like a
// line break: InfluxDB's Go parser refuses the line otherwise (fuzzing
// found it in a message).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '"' && c != '\\' && c != '\n' && c != '\r' && c != '\f' {
			continue
		}
		b = append(b, s[start:i]...)
		start = i + 1
		if c == '\n' || c == '\r' || c == '\f' {
			b = append(b, ' ')
		} else {
			b = append(b, '\\', c)
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
