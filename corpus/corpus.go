// Package corpus makes a labelled synthetic corpus of infrastructure-like
// series, seeded, for measuring a detector: what it finds (recall, delay)
// and what it raises for nothing (false alerts per series-week).
//
// Each series has a shape - CPU, request counts, temperatures, latency,
// memory, network traffic - with daily (and for some a weekly) cycle and
// noise of several kinds (Gaussian, heavy-tailed, multiplicative, Poisson,
// autocorrelated), sampled every 10 s, 1 min, 5 min or 1 h, some of them
// irregularly with values missing, and at most one labelled anomaly of one
// kind: a spike, a dip, a level shift, a variance change, a drift (a leak),
// a flat line (a stuck sensor), or none (a series for false alerts only).
// The sizes are stated with the kinds (Kinds) in units of the series' noise,
// so that "detected" has a meaning: an anomaly a person sees on a chart.
//
// It knows nothing of collectd or of any detector.
package corpus

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Kinds are the anomalies the corpus holds, with their size:
//
//	spike        1-3 values 6-10 noise sd above the expectation (the sd of
//	             the value's time, for noise that scales with the level)
//	dip          1-3 values 6-10 sd below (floored at 0 for counts)
//	level-shift  the level moves by 5-8 sd and stays
//	variance     the noise widens 4-5x for 3-6 hours
//	drift        the level ramps by 10-15 sd over 2-4 hours and stays (a leak)
//	flat         the value is stuck at its last reading for 2-6 hours
//	none         no anomaly
var Kinds = []string{"spike", "dip", "level-shift", "variance", "drift", "flat", "none"}

// Shapes are the normal behaviours of the corpus' series.
var Shapes = []string{"cpu", "requests", "temperature", "latency", "memory", "network"}

// Label is one labelled anomaly: it starts at Start, and a detector that
// raises an alert from Start to End has found it. For the kinds that stay
// (level shift, drift) End is some time after the change, when a person
// would have called it found late.
type Label struct {
	Kind       string
	Start, End time.Time
}

// Series is one labelled series.
type Series struct {
	Name   string // a collectd identifier: host/plugin-instance/type-instance
	Shape  string
	Step   time.Duration // the nominal interval
	Times  []time.Time
	Values []float64
	Labels []Label
}

// Options shape a corpus.
type Options struct {
	Seed int64
	// Series is how many series to make (default 7 per kind and shape pair:
	// 294).
	Series int
	// Weeks is the length of a 5-minute series (default 2); 1-minute and
	// 10-second series are shorter (2 days, 1 day), hourly ones 4x longer.
	Weeks float64
}

// Generate makes the corpus of opt: the kinds and shapes in turn, so that
// every kind meets every shape.
func Generate(opt Options) []Series {
	if opt.Series <= 0 {
		opt.Series = len(Kinds) * len(Shapes) * 7
	}
	if opt.Weeks <= 0 {
		opt.Weeks = 2
	}
	out := make([]Series, 0, opt.Series)
	for i := range opt.Series {
		rng := rand.New(rand.NewPCG(uint64(opt.Seed), uint64(i)))
		kind := Kinds[i%len(Kinds)]
		shape := Shapes[(i/len(Kinds))%len(Shapes)]
		out = append(out, generate(rng, i, shape, kind, opt.Weeks))
	}
	return out
}

// The sampling of the series: nominal step, span relative to Weeks, and
// whether the samples are irregular.
var samplings = []struct {
	step      time.Duration
	span      float64 // in weeks per Options.Weeks
	irregular bool
}{
	{5 * time.Minute, 1, false},
	{5 * time.Minute, 1, true},
	{time.Minute, 2.0 / 14, false},
	{time.Hour, 4, false},
	{10 * time.Second, 1.0 / 14, false},
}

var start = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday

func generate(rng *rand.Rand, i int, shape, kind string, weeks float64) Series {
	smp := samplings[rng.IntN(len(samplings))]
	span := time.Duration(smp.span * weeks * float64(7*24*time.Hour))
	s := Series{
		Name:  fmt.Sprintf("host-%03d/%s/gauge-%s", i, shape, kind),
		Shape: shape,
		Step:  smp.step,
	}
	m := newModel(rng, shape)

	// The anomaly starts after the first third of the series (so that a
	// daily cycle has been seen), and ends before the last fifth.
	var a Label
	a.Kind = kind
	a.Start = start.Add(time.Duration((0.35 + 0.4*rng.Float64()) * float64(span)))
	a.Start = a.Start.Truncate(smp.step)
	var length, found time.Duration
	size := 0.0
	switch kind {
	case "spike", "dip":
		length = time.Duration(1+rng.IntN(3)) * smp.step
		found = length
		size = 6 + 4*rng.Float64()
	case "level-shift":
		length = span // it stays
		found = max(24*smp.step, 2*time.Hour)
		size = (5 + 3*rng.Float64()) * sign(rng)
	case "variance":
		length = time.Duration(3+3*rng.Float64()) * time.Hour
		length = max(length, 12*smp.step)
		found = length
		size = 4 + rng.Float64()
	case "drift":
		length = time.Duration(2+2*rng.Float64()) * time.Hour
		length = max(length, 6*smp.step)
		found = length + max(12*smp.step, time.Hour)
		size = (10 + 5*rng.Float64()) * sign(rng)
	case "flat":
		length = time.Duration(2+4*rng.Float64()) * time.Hour
		length = max(length, 15*smp.step)
		found = length
	}
	if kind == "level-shift" || kind == "drift" {
		size = m.fit(size, a.Start)
	}
	end := a.Start.Add(length)
	if kind != "none" {
		a.End = a.Start.Add(found)
		s.Labels = []Label{a}
	}

	stuck := math.NaN()
	for t := start; t.Before(start.Add(span)); t = t.Add(smp.step) {
		at := t
		if smp.irregular {
			if rng.Float64() < 0.05 {
				continue // a lost value
			}
			at = t.Add(time.Duration((rng.Float64() - 0.5) * 0.6 * float64(smp.step)))
		}
		normal, sd := m.value(rng, at, smp.step)
		x := normal
		in := !at.Before(a.Start) && at.Before(end)
		after := !at.Before(end)
		switch kind {
		case "spike":
			if in {
				x = normal + size*sd
			}
		case "dip":
			if in {
				x = normal - size*sd
			}
		case "level-shift":
			if in {
				x = normal + size*m.sdAt(at)
			}
		case "variance":
			if in {
				x = m.centre(at) + size*(normal-m.centre(at))
			}
		case "drift":
			switch {
			case in:
				x = normal + size*m.sdAt(at)*float64(at.Sub(a.Start))/float64(length)
			case after:
				x = normal + size*m.sdAt(at)
			}
		case "flat":
			if in {
				if math.IsNaN(stuck) {
					stuck = s.Values[len(s.Values)-1]
				}
				x = stuck
			}
		}
		s.Times = append(s.Times, at)
		s.Values = append(s.Values, m.clamp(x))
	}
	return s
}

func sign(rng *rand.Rand) float64 {
	if rng.IntN(2) == 0 {
		return -1
	}
	return 1
}

// model is the normal behaviour of one shape: a centre that follows a daily
// (and weekly) curve, and noise around it.
type model struct {
	shape            string
	base, amp, phase float64 // centre and daily amplitude (share), peak hour
	weekend          float64 // weekend factor of the centre
	sd               float64 // noise sd, relative to base for multiplicative shapes
	ar, arState      float64 // autocorrelation of the noise
	walk             float64 // a slow random walk of the centre (memory)
	tail             int     // degrees of freedom of a t-distributed noise, 0 Gaussian
	multiplicative   bool    // the noise scales the centre (lognormal) instead of adding to it
	rounding         float64 // values come rounded to this
}

func newModel(rng *rand.Rand, shape string) *model {
	m := &model{shape: shape, phase: 10 + 8*rng.Float64(), weekend: 1}
	switch shape {
	case "cpu":
		m.base, m.amp, m.sd, m.ar = 10+30*rng.Float64(), 0.3+0.3*rng.Float64(), 0.08, 0.5
		m.rounding = 0.1
	case "requests":
		m.base, m.amp, m.weekend = 50+500*rng.Float64(), 0.5+0.3*rng.Float64(), 0.6+0.3*rng.Float64()
	case "temperature":
		m.base, m.amp, m.sd, m.ar, m.phase = 40+20*rng.Float64(), 0.05+0.1*rng.Float64(), 0.01, 0.9, 15
		m.rounding = 0.5
	case "latency":
		m.base, m.amp, m.sd, m.tail = 80+200*rng.Float64(), 0.2+0.3*rng.Float64(), 0.1, 5
	case "memory":
		m.base, m.amp, m.sd, m.walk = 4e9+4e9*rng.Float64(), 0.02, 0.002, 0.0005
		m.rounding = 4096
	case "network":
		m.base, m.amp, m.sd, m.weekend = 1e6+9e6*rng.Float64(), 0.6+0.3*rng.Float64(), 0.12, 0.7+0.2*rng.Float64()
		m.multiplicative = true
	}
	return m
}

// centre is the expected value at t (without the walk's drift).
func (m *model) centre(t time.Time) float64 {
	h := float64(t.Sub(start)%(24*time.Hour)) / float64(time.Hour)
	c := m.base * (1 + m.amp*math.Cos(2*math.Pi*(h-m.phase)/24))
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		c *= m.weekend
	}
	return c
}

// sdAt is the noise sd at t (for sizing anomalies).
func (m *model) sdAt(t time.Time) float64 {
	switch {
	case m.shape == "requests":
		return math.Sqrt(max(m.centre(t), 1))
	case m.multiplicative:
		return m.sd * m.centre(t)
	}
	return m.sd * m.base
}

// value draws the normal value at t and returns it with its noise sd.
func (m *model) value(rng *rand.Rand, t time.Time, step time.Duration) (float64, float64) {
	c := m.centre(t)
	if m.walk > 0 {
		m.arState += m.walk * rng.NormFloat64()
		m.arState = max(min(m.arState, 0.1), -0.1)
		c *= 1 + m.arState
	}
	switch {
	case m.shape == "requests":
		return poisson(rng, c), math.Sqrt(max(c, 1))
	case m.multiplicative:
		return c * math.Exp(m.sd*rng.NormFloat64()-m.sd*m.sd/2), m.sd * c
	}
	e := rng.NormFloat64()
	if m.tail > 0 {
		chi := 0.0
		for range m.tail {
			n := rng.NormFloat64()
			chi += n * n
		}
		e /= math.Sqrt(chi / float64(m.tail))
		e *= math.Sqrt(float64(m.tail-2) / float64(m.tail)) // unit variance
	}
	if m.ar > 0 && m.walk == 0 {
		m.arState = m.ar*m.arState + math.Sqrt(1-m.ar*m.ar)*e
		e = m.arState
	}
	sd := m.sd * m.base
	return c + sd*e, sd
}

// fit turns a lasting change of size sd (signed) around if it would push
// the series into its floor (0) or, for CPU, its ceiling (100), where it
// would turn into a flat line: a leak that fills a disk is a drift, one that
// makes it read 0 forever is another anomaly.
func (m *model) fit(size float64, t time.Time) float64 {
	shift := size * m.sdAt(t)
	lo, hi := m.base*(1-m.amp)*min(m.weekend, 1), m.base*(1+m.amp)
	if shift < 0 && lo+shift < 0.3*lo {
		return -size
	}
	if m.shape == "cpu" && hi+shift > 95 {
		return -math.Abs(size)
	}
	return size
}

func (m *model) clamp(x float64) float64 {
	if m.shape == "cpu" {
		x = min(max(x, 0), 100)
	}
	if m.shape == "requests" || m.shape == "network" || m.shape == "latency" {
		x = max(x, 0)
	}
	if m.rounding > 0 {
		x = math.Round(x/m.rounding) * m.rounding
	}
	return x
}

// poisson draws a Poisson count (normal approximation above 500).
func poisson(rng *rand.Rand, mean float64) float64 {
	if mean > 500 {
		return math.Max(0, math.Round(mean+math.Sqrt(mean)*rng.NormFloat64()))
	}
	l, k, p := math.Exp(-mean), 0.0, 1.0
	for {
		p *= rng.Float64()
		if p < l {
			return k
		}
		k++
	}
}

// Kind is the kind of the series' anomaly, "none" if it has none.
func (s *Series) Kind() string {
	if len(s.Labels) == 0 {
		return "none"
	}
	return s.Labels[0].Kind
}
