package replay

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// WriteScores writes a CSV line per value of the recording's one series:
//
//	timestamp,value,state,score
//
// the time as the source wrote it, the value, the state of the rules at that
// time (0 ok, 1 warning, 2 failure: the worst over the traces) and the score
// in [0, 1] of the slot holding it (the largest over the traces; see Score).
// The traces must come from a Tracer with Slots set; pass those of the rules
// to score (every group of the recording belongs to its one series).
func WriteScores(w io.Writer, rec *Recording, traces []*Trace) error {
	if len(rec.Series) != 1 {
		return fmt.Errorf("scores need a recording of one series, not %d", len(rec.Series))
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"timestamp", "value", "state", "score"})
	ts, vs := rec.Values(0)
	for i, t := range ts {
		state, score := detect.OK, 0.0
		for _, tr := range traces {
			s, l := tr.At(t)
			state, score = max(state, l), max(score, s)
		}
		_ = cw.Write([]string{rec.FormatTime(t), strconv.FormatFloat(vs[i], 'g', -1, 64),
			strconv.Itoa(int(state)), strconv.FormatFloat(score, 'f', 4, 64)})
	}
	cw.Flush()
	return cw.Error()
}
