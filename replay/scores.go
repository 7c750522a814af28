package replay

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// WriteScores writes a CSV line per value of the recording's one series:
//
//	timestamp,value,state,score,log10p
//
// the time as the source wrote it, the value, the state of the rules at that
// time (0 ok, 1 warning, 2 failure: the worst over the traces), the score in
// [0, 1] of the slot holding it (the largest over the traces; see Score) and
// the base-10 logarithm of the smallest tail probability the rules judged it
// by (empty if none judges by one), which keeps apart the tails that a score
// of 1 - p rounds to 1 (1e-30 and 1e-300). Numbers are written at full
// precision, rows in the order of the input. The traces must come from a
// Tracer with Slots set; pass those of the rules to score (every group of the
// recording belongs to its one series).
func WriteScores(w io.Writer, rec *Recording, traces []*Trace) error {
	if len(rec.Series) != 1 {
		return fmt.Errorf("scores need a recording of one series, not %d", len(rec.Series))
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"timestamp", "value", "state", "score", "log10p"})
	ts, vs := rec.InputOrder(0)
	for i, t := range ts {
		state, score, p := detect.OK, 0.0, math.NaN()
		for _, tr := range traces {
			pt := tr.At(t)
			state, score = max(state, pt.Level), max(score, pt.Score)
			if pt.Probability < p || math.IsNaN(p) {
				p = pt.Probability
			}
		}
		logP := ""
		switch {
		case p == 0:
			logP = "-inf"
		case p > 0:
			logP = strconv.FormatFloat(math.Log10(p), 'g', -1, 64)
		}
		_ = cw.Write([]string{rec.FormatTime(t), strconv.FormatFloat(vs[i], 'g', -1, 64),
			strconv.Itoa(int(state)), strconv.FormatFloat(score, 'g', -1, 64), logP})
	}
	cw.Flush()
	return cw.Error()
}
