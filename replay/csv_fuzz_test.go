package replay_test

import (
	"strings"
	"testing"

	"github.com/collectd-anomaly/collectd-anomaly/replay"
)

// FuzzReadCSV: no input makes the reader panic; it returns a recording or
// an error. The seeds (and testdata/fuzz/FuzzReadCSV) hold the stray quote
// that once did.
func FuzzReadCSV(f *testing.F) {
	for _, seed := range []string{
		"1764000000,\"shop/a/b,5\n",
		"time,identifier,value\n1764000000,shop/web/gauge-x,1\n1764000010,shop/web/gauge-x,2\n",
		"1,h/p/gauge-x,1\n4102444800,h/p/gauge-x,2\n",
		"\"\n",
		"a,b,c\n\"x\"y,z\n",
		"1764000000,h/p/counter-x,nan\n1764000000,h/p/counter-x,-1e308\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rec, err := replay.ReadCSV(strings.NewReader(in), "fuzz.csv", replay.CSVOptions{MaxSeries: 100})
		if err == nil && rec == nil {
			t.Fatal("no recording and no error")
		}
	})
}
