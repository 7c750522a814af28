package detect

import (
	"math"

	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// increment turns a cumulative value into the increase since the previous
// one; reset is true when the value fell and no wrap explains it.
//
// A counter that falls has been reset (a restarted daemon, a replaced
// device): how much it counted between the previous value and the reset is
// unknown, so the increment is NaN - no spike, no drop - rather than the new
// value (Prometheus' convention, which reads a counter of a million that
// restarts at 900,000 as 900,000 events in one interval). A wrap is assumed
// only when the values make one plausible: the previous value was in the top
// eighth of the 32-bit range (SNMP's Counter32) or of the 64-bit one, and the
// increment across the wrap is under an eighth of that range. A DERIVE that
// falls is taken as reset the same way.
func increment(kind metric.Kind, prev, cur metric.Value) (inc float64, reset bool) {
	switch kind {
	case metric.Counter:
		if cur.Counter >= prev.Counter {
			return float64(cur.Counter - prev.Counter), false
		}
		if prev.Counter <= math.MaxUint32 {
			if wrapped := uint64(math.MaxUint32) - prev.Counter + cur.Counter + 1; prev.Counter > math.MaxUint32-math.MaxUint32/8 && wrapped < math.MaxUint32/8 {
				return float64(wrapped), false
			}
			return math.NaN(), true
		}
		if wrapped := math.MaxUint64 - prev.Counter + cur.Counter + 1; prev.Counter > math.MaxUint64-math.MaxUint64/8 && wrapped < math.MaxUint64/8 {
			return float64(wrapped), false
		}
		return math.NaN(), true
	case metric.Derive:
		if cur.Derive >= prev.Derive {
			// In uint64: from -9e18 to 9e18 the int64 difference overflows.
			return float64(uint64(cur.Derive) - uint64(prev.Derive)), false
		}
		return math.NaN(), true
	}
	return math.NaN(), false
}
