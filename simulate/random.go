package simulate

import (
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"
)

// Each quantity of the model draws from its own random stream, seeded afresh from
// (seed, stream, step) at every step. That makes a step a pure function of its
// number, and it keeps quantities apart: an incident that changes, say, the page
// latency changes no other value, because no other quantity sees a shifted sequence.
const (
	streamPage = iota
	streamAsset
	streamSession
	streamPayment // attempts and their split across providers
	streamPageLatency
	streamAssetLatency
	streamProvider0 // provider i's outcomes use streamProvider0+i
)

// streamWander is the stream of the profile's wander (profile.go), apart from
// the others so that adding it changed no existing simulation.
const streamWander = -1

// streamKey derives a stream's key from the seed; mix64 keeps keys of neighbouring
// seeds and streams unrelated.
func streamKey(seed uint64, stream int) [2]uint64 {
	k := mix64(seed ^ mix64(uint64(stream)+0x6a09e667f3bcc908))
	return [2]uint64{k, mix64(k ^ 0xbb67ae8584caa73b)}
}

// seedStep points src at the stream's sequence for one step. PCG's state is only
// two words, so reseeding costs nothing and allocates nothing.
func seedStep(src *rand.PCG, key [2]uint64, step int64) {
	s := uint64(step) * 0x9e3779b97f4a7c15
	src.Seed(mix64(key[0]+s), mix64(key[1]^s))
}

// mix64 is the SplitMix64 finalizer, a bijection that spreads every input bit over
// every output bit.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// poisson skips the draw for a zero mean, where distuv would still consume randomness.
func poisson(src rand.Source, lambda float64) float64 {
	if lambda <= 0 {
		return 0
	}
	return distuv.Poisson{Lambda: lambda, Src: src}.Rand()
}

// binomial handles the degenerate cases itself; distuv's rejection samplers would
// spend draws on them.
func binomial(src rand.Source, n, p float64) float64 {
	switch {
	case n <= 0 || p <= 0:
		return 0
	case p >= 1:
		return n
	}
	return distuv.Binomial{N: n, P: p, Src: src}.Rand()
}

// multinomial splits n events across categories as a sequence of binomial draws:
// category i gets Binomial(events left, cond[i]) where cond[i] is its probability
// given that none of the earlier categories was chosen (see conditional). The last
// category takes the events left, so the counts always sum to n exactly.
func multinomial(src rand.Source, n float64, cond []float64, out []float64) {
	last := len(out) - 1
	for i := 0; i < last; i++ {
		k := binomial(src, n, cond[i])
		out[i] = k
		n -= k
	}
	out[last] = n
}

// conditional turns weights into the conditional probabilities multinomial uses:
// w[i] / (w[i] + w[i+1] + ...). Suffix sums rather than 1 - prefix sums keep the
// probabilities exact when the weights do not sum to 1 (provider popularities) and
// avoid cancellation when they do.
func conditional(w []float64, cond []float64) {
	var rest float64
	for i := len(w) - 1; i >= 0; i-- {
		rest += w[i]
		if rest > 0 {
			cond[i] = min(w[i]/rest, 1)
		} else {
			cond[i] = 0 // nothing is left for this or later categories
		}
	}
}
