package detect

import "math"

// Summary accumulates count, sum and the spread of values. It keeps sums of
// the values shifted by a fixed reference (the first value it saw): the
// textbook sum-of-squares formula loses every significant digit when the mean
// is large against the spread (latencies of 1e9 ns varying by a few ns), the
// shifted one does not as long as the reference is near the data, and unlike
// Welford's update it can be subtracted, which a moving window needs.
type Summary struct {
	N     float64 // number of values
	Sum   float64 // plain sum, exact for integer counts below 2^53
	shift float64 // reference subtracted before the squared sums
	s1    float64 // sum of (x - shift)
	s2    float64 // sum of (x - shift)^2
}

// Add accounts for one value.
func (s *Summary) Add(x float64) {
	if s.N == 0 && s.s1 == 0 && s.s2 == 0 {
		s.shift = x
	}
	d := x - s.shift
	s.N++
	s.Sum += x
	s.s1 += d
	s.s2 += d * d
}

// Merge adds the values summarised by o.
func (s *Summary) Merge(o *Summary) { s.combine(o, 1) }

// Remove takes away values that an earlier Merge brought in.
func (s *Summary) Remove(o *Summary) { s.combine(o, -1) }

func (s *Summary) combine(o *Summary, sign float64) {
	if o.N == 0 {
		return
	}
	if s.N == 0 && sign > 0 {
		*s = *o
		return
	}
	// Re-express o's shifted sums around s's reference:
	// sum(x-a) = sum(x-b) + n(b-a); sum((x-a)^2) = sum((x-b)^2) + 2(b-a)sum(x-b) + n(b-a)^2.
	delta := o.shift - s.shift
	o1 := o.s1 + o.N*delta
	o2 := o.s2 + 2*delta*o.s1 + o.N*delta*delta
	s.N += sign * o.N
	s.Sum += sign * o.Sum
	s.s1 += sign * o1
	s.s2 += sign * o2
	if s.N <= 0 {
		*s = Summary{}
	}
}

// dominatedBy reports whether removing o from s would lose s's other values
// to rounding: o is not finite, or its sum, or its squares about s's
// reference, outweigh the rest by 2^20 (so the rest keeps fewer than 33 of
// its 53 bits).
func (s *Summary) dominatedBy(o *Summary) bool {
	if o.N == 0 {
		return false
	}
	delta := o.shift - s.shift
	o2 := o.s2 + 2*delta*o.s1 + o.N*delta*delta
	return sumDominated(s.Sum, o.Sum) || sumDominated(s.s2, o2)
}

// sumDominated reports whether taking b out of total would lose the rest to
// rounding: total is not finite, or b outweighs the rest by 2^20.
func sumDominated(total, b float64) bool {
	const outweighs = 1 << 20
	return math.IsInf(total, 0) || math.IsNaN(total) || math.Abs(b) > outweighs*max(math.Abs(total-b), 1)
}

// Mean is the average, NaN when empty.
func (s *Summary) Mean() float64 {
	if s.N == 0 {
		return math.NaN()
	}
	return s.shift + s.s1/s.N
}

// StdDev is the sample standard deviation, NaN with fewer than two values.
func (s *Summary) StdDev() float64 {
	if s.N < 2 {
		return math.NaN()
	}
	v := (s.s2 - s.s1*s.s1/s.N) / (s.N - 1)
	if v < 0 { // rounding in a window of identical values
		v = 0
	}
	return math.Sqrt(v)
}

// scaled is s with every value multiplied by c.
func (s Summary) scaled(c float64) Summary {
	return Summary{N: s.N, Sum: s.Sum * c, shift: s.shift * c, s1: s.s1 * c, s2: s.s2 * c * c}
}

// shifted is s with d added to every value.
func (s Summary) shifted(d float64) Summary {
	if s.N == 0 {
		return s
	}
	return Summary{N: s.N, Sum: s.Sum + s.N*d, shift: s.shift + d, s1: s.s1, s2: s.s2}
}
