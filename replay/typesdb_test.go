package replay

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

const typesSample = `# a piece of collectd's types.db
cpu                     value:DERIVE:0:U
if_octets               rx:DERIVE:0:U, tx:DERIVE:0:U
load                    shortterm:GAUGE:0:5000, midterm:GAUGE:0:5000, longterm:GAUGE:0:5000
gauge                   value:GAUGE:U:U
`

func TestTypesDB(t *testing.T) {
	db, err := ReadTypesDB(strings.NewReader(typesSample), "types.db")
	require.NoError(t, err)
	assert.Equal(t, metric.Derive, db.Kind("cpu", ""))
	assert.Equal(t, metric.Derive, db.Kind("if_octets", "tx"))
	assert.Equal(t, metric.Gauge, db.Kind("load", "midterm"))
	assert.Equal(t, metric.Gauge, db.Kind("gauge", "value"))
	assert.Equal(t, metric.Counter, db.Kind("counter", "value"), "unknown to the file: by the name")
	assert.Equal(t, metric.Gauge, TypesDB(nil).Kind("cpu", ""), "no database: by the name")

	for text, want := range map[string]string{
		"cpu\n":                   "types.db:1: type \"cpu\" without data sources",
		"cpu value:DERIVE:0\n":    "types.db:1: data source \"value:DERIVE:0\": want name:TYPE:min:max",
		"cpu value:RATE:0:U\n":    "types.db:1: data source \"value:RATE:0:U\": type \"RATE\" is not GAUGE, COUNTER, DERIVE or ABSOLUTE",
		"# c\n\nx v:GAUGE:U:U\ny": "types.db:4: type \"y\" without data sources",
	} {
		_, err := ReadTypesDB(strings.NewReader(text), "types.db")
		assert.EqualError(t, err, want, text)
	}

	sys, err := LoadTypesDB("")
	require.NoError(t, err)
	if sys != nil { // Debian's collectd-core is installed by make deps
		assert.Equal(t, metric.Derive, sys.Kind("if_octets", "rx"))
	}
}

// A CSV of cpu jiffies is a derive by types.db: its increments are judged.
func TestCSVTakesTypesFromTypesDB(t *testing.T) {
	db, err := ReadTypesDB(strings.NewReader(typesSample), "types.db")
	require.NoError(t, err)
	in := "time,identifier,value\n1767571200,h/cpu-0/cpu-user,100\n1767571210,h/cpu-0/cpu-user,150\n"
	rec, err := ReadCSV(strings.NewReader(in), "cpu.csv", CSVOptions{Types: db})
	require.NoError(t, err)
	assert.Equal(t, metric.Derive, rec.Series[0].Kind)
	rec, err = ReadCSV(strings.NewReader(in), "cpu.csv", CSVOptions{})
	require.NoError(t, err)
	assert.Equal(t, metric.Gauge, rec.Series[0].Kind)
}

func TestCSVValuesInfiniteOutOfRangeAndFractionalTimes(t *testing.T) {
	rec, err := ReadCSV(strings.NewReader("2026-01-05 00:00:00.25,inf\n2026-01-05 00:00:10,-Inf\n"), "x.csv",
		CSVOptions{Series: "app/gauge-x"})
	require.NoError(t, err)
	ts, vs := rec.Values(0)
	assert.True(t, math.IsInf(vs[0], 1))
	assert.True(t, math.IsInf(vs[1], -1))
	assert.Equal(t, "2026-01-05 00:00:00.25", rec.FormatTime(ts[0]), "the fraction kept")
	assert.Equal(t, "2026-01-05 00:00:10", rec.FormatTime(ts[1]))

	_, err = ReadCSV(strings.NewReader("1767571200,1e999\n"), "x.csv", CSVOptions{Series: "app/gauge-x"})
	assert.EqualError(t, err, `x.csv:1: value "1e999" is out of the range of a float64 (about 1.8e308)`)

	// A counter's NaN or Inf is no counter value: a gauge NaN, skipped.
	assert.Equal(t, metric.Gauge, valueOf(metric.Counter, math.NaN()).Kind)
	assert.Equal(t, metric.Gauge, valueOf(metric.Derive, math.Inf(1)).Kind)
	assert.Equal(t, metric.Derive, valueOf(metric.Derive, 12).Kind)
}
