package detect

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func anomalyRule(t testing.TB, mutate ...func(*AnomalyParams)) *AnomalyRule {
	t.Helper()
	sel, err := ParseSelector("app/gauge-x")
	require.NoError(t, err)
	p := DefaultAnomalyParams()
	for _, m := range mutate {
		m(&p)
	}
	r, err := NewAnomalyRule(RuleSpec{Name: "x", Lifecycle: Lifecycle{Hits: 1}}, []Selector{sel}, p)
	require.NoError(t, err)
	return r
}

// judged is one value's verdict, with the level the lifecycle left.
type judged struct {
	v     Verdict
	level Level
}

// judgeAll runs xs (NaN: no value in that slot) through one state, keeping
// the level as the engine would with Hits 1.
func judgeAll(r *AnomalyRule, step time.Duration, xs []float64) []judged {
	st := r.NewState(SlotClock{Origin: t0, Step: step})
	out := make([]judged, len(xs))
	level := OK
	for i, x := range xs {
		if !math.IsNaN(x) {
			st.Add(0, int64(i), x)
		}
		v := st.Evaluate(int64(i), level)
		if v.Decided {
			level = v.Level
		}
		out[i] = judged{v, level}
	}
	return out
}

// raises are the slots at which the level rose from OK.
func raises(js []judged) []int {
	var out []int
	prev := OK
	for i, j := range js {
		if prev == OK && j.level > OK {
			out = append(out, i)
		}
		prev = j.level
	}
	return out
}

func noise(seed uint64, n int, gen func(g *rand.Rand, i int) float64) []float64 {
	g := rand.New(rand.NewPCG(seed, 7))
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = gen(g, i)
	}
	return xs
}

// Under normal behaviour P(p < a) is about a, whatever the noise looks like.
// The tolerance has two parts: the sampling error of a count of about a*N
// hits (4 binomial sd) and the bias of the tail model, stated in the rule's
// documentation: it fits a tail of at most a few hundred excesses, shrinks
// its shape towards an exponential, and learns only from values it finds
// normal, so its probabilities of far values are off by up to a factor of
// 2.5 on heavy tails (a Student t with 3 degrees of freedom) and conservative
// (fewer hits) on light ones.
func TestAnomalyProbabilityIsCalibratedOnNullData(t *testing.T) {
	t3 := func(g *rand.Rand) float64 {
		c := 0.0
		for range 3 {
			n := g.NormFloat64()
			c += n * n
		}
		return g.NormFloat64() / math.Sqrt(c/3)
	}
	nulls := map[string]func(g *rand.Rand, i int) float64{
		"gaussian":  func(g *rand.Rand, _ int) float64 { return 100 + 5*g.NormFloat64() },
		"laplace":   func(g *rand.Rand, _ int) float64 { return 100 + 5*g.ExpFloat64()*float64(1-2*g.IntN(2)) },
		"student-3": func(g *rand.Rand, _ int) float64 { return 100 + 5*t3(g) },
		"lognormal": func(g *rand.Rand, _ int) float64 { return math.Exp(3 + 0.5*g.NormFloat64()) },
		"daily": func(g *rand.Rand, i int) float64 {
			return 100 + 50*math.Sin(2*math.Pi*float64(i)/288) + 5*g.NormFloat64()
		},
		"walk": func() func(*rand.Rand, int) float64 {
			x := 0.0
			return func(g *rand.Rand, _ int) float64 { x += g.NormFloat64(); return 50 + x }
		}(),
	}
	r := anomalyRule(t)
	for name, gen := range nulls {
		var n, hits [3]float64
		as := [3]float64{0.1, 0.01, 0.001}
		for seed := range uint64(20) {
			js := judgeAll(r, 5*time.Minute, noise(seed, 6000, gen))
			for _, j := range js[1000:] { // after the tail has been learnt
				require.True(t, j.v.Decided, name)
				for k, a := range as {
					n[k]++
					if j.v.Probability < a {
						hits[k]++
					}
				}
			}
		}
		for k, a := range as {
			sd := math.Sqrt(a * (1 - a) / n[k])
			share := hits[k] / n[k]
			assert.GreaterOrEqual(t, share, a/2.5-4*sd, "%s: P(p < %g)", name, a)
			assert.LessOrEqual(t, share, 2.5*a+4*sd, "%s: P(p < %g)", name, a)
		}
	}
}

func TestAnomalySpikeIsOneAlertAtItsFirstValue(t *testing.T) {
	xs := noise(1, 600, func(g *rand.Rand, _ int) float64 { return 100 + 5*g.NormFloat64() })
	xs[400], xs[401], xs[402] = 160, 150, 100 // a spike of 12 and 10 sd, and a normal value within it
	xs[403] = 155
	js := judgeAll(anomalyRule(t), time.Minute, xs)
	assert.Equal(t, []int{400}, raises(js))
	assert.Equal(t, Failure, js[400].level)
	assert.Equal(t, Failure, js[403].level, "a normal value between anomalous ones does not end the alert")
	assert.Equal(t, OK, js[410].level, "back to OKAY after RecoverAfter normal values")
	assert.Less(t, js[400].v.Probability, 1e-9)
	assert.InDelta(t, 1-js[400].v.Probability, js[400].v.Value, 1e-15, "the score is 1 - p")
	assert.True(t, js[400].v.Emit)
	for _, j := range js[:50] {
		assert.False(t, j.v.Decided, "warming up")
	}
}

// The tail probability keeps apart deviations whose scores round to 1.
func TestAnomalyProbabilityKeepsFarTailsApart(t *testing.T) {
	base := noise(2, 500, func(g *rand.Rand, _ int) float64 { return 100 + 5*g.NormFloat64() })
	far := func(x float64) float64 {
		xs := append(append([]float64(nil), base...), x)
		js := judgeAll(anomalyRule(t), time.Minute, xs)
		return js[len(js)-1].v.Probability
	}
	p1, p2 := far(300), far(1000)
	assert.Less(t, p1, 1e-15)
	assert.Greater(t, p1, 0.0)
	assert.Less(t, p2, p1/1e10, "farther is far less likely")
}

// shifted is n values of 100 +- 5 whose level moves to level from value at on.
func shifted(seed uint64, n, at int, level float64) []float64 {
	return noise(seed, n, func(g *rand.Rand, i int) float64 {
		if i >= at {
			return level + 5*g.NormFloat64()
		}
		return 100 + 5*g.NormFloat64()
	})
}

func TestAnomalyLevelShiftBecomesTheNewNormal(t *testing.T) {
	xs := shifted(3, 800, 400, 200)
	r := anomalyRule(t)
	js := judgeAll(r, time.Minute, xs)
	assert.Equal(t, []int{400}, raises(js), "one alert for the shift")
	var renormal int
	for i, j := range js {
		if j.v.Reason == ReasonNewNormal {
			renormal = i
			assert.Equal(t, OK, j.level)
			a := Alert{Severity: OK, Rule: "x", Host: "h"}
			assert.Contains(t, r.Message(&a, &j.v), "is the new normal after 24 anomalous values")
			break
		}
	}
	assert.Equal(t, 400+r.NewNormalAfter-1, renormal)
	for _, j := range js[renormal+1:] {
		assert.Equal(t, OK, j.level, "the new level is normal")
	}
}

func TestAnomalyFlatLineIsAnAnomalyUnlessTheSeriesIsConstant(t *testing.T) {
	xs := noise(4, 600, func(g *rand.Rand, i int) float64 { return 100 + 5*g.NormFloat64() })
	for i := 300; i < 340; i++ {
		xs[i] = xs[299]
	}
	r := anomalyRule(t)
	js := judgeAll(r, time.Minute, xs)
	// The run starts with the value it repeats, xs[299].
	require.Equal(t, []int{299 + r.FlatAfter - 1}, raises(js))
	j := js[299+r.FlatAfter-1]
	assert.Equal(t, ReasonFlat, j.v.Reason)
	a := Alert{Severity: Failure, Rule: "x", Host: "h"}
	assert.Contains(t, r.Message(&a, &j.v), "stuck at")

	constant := make([]float64, 600)
	for i := range constant {
		constant[i] = 7
	}
	assert.Empty(t, raises(judgeAll(r, time.Minute, constant)), "a constant series never alerts")

	// A series that often repeats needs a long run: integer counts of about 2.
	counts := noise(5, 3000, func(g *rand.Rand, _ int) float64 { return float64(g.IntN(3)) })
	assert.Empty(t, raises(judgeAll(r, time.Minute, counts)))
}

func TestAnomalyDirectionJudgesOneSide(t *testing.T) {
	xs := noise(6, 600, func(g *rand.Rand, _ int) float64 { return 100 + 5*g.NormFloat64() })
	xs[300], xs[500] = 30, 170
	up := judgeAll(anomalyRule(t, func(p *AnomalyParams) { p.Direction = DirectionUp }), time.Minute, xs)
	assert.Equal(t, []int{500}, raises(up))
	down := judgeAll(anomalyRule(t, func(p *AnomalyParams) { p.Direction = DirectionDown }), time.Minute, xs)
	assert.Equal(t, []int{300}, raises(down))
}

// A daily cycle of +-50 is learnt: where the cycle falls fastest the recent
// level lags it (the fast level less, at the price of a wider spread),
// which the profile corrects, so that a rise of 8 sd there is found; a week
// of the cycle alone is quiet.
func TestAnomalySeasonLearnsTheDailyCycle(t *testing.T) {
	const perDay = 288 // 5-minute values
	cycle := func(g *rand.Rand, i int) float64 {
		return 100 + 50*math.Cos(2*math.Pi*float64(i)/perDay) + 3*g.NormFloat64()
	}
	r := anomalyRule(t)
	quiet := judgeAll(r, 5*time.Minute, noise(7, 7*perDay, cycle))
	assert.Empty(t, raises(quiet))

	xs := noise(8, 5*perDay, cycle)
	at := 4*perDay + perDay/4 // the cycle at 100, falling by 1.1 a value
	xs[at] += 24
	seasonal := judgeAll(r, 5*time.Minute, xs)
	assert.Equal(t, []int{at}, raises(seasonal))

	flat := judgeAll(anomalyRule(t, func(p *AnomalyParams) { p.Season = 0 }), 5*time.Minute, xs)
	assert.Greater(t, flat[at].v.Probability, 100*seasonal[at].v.Probability, "without the profile the rise is far less surprising")
}

// Gaps and irregular values: a gap is no verdict, and the level's memory
// counts the time a value stands for.
func TestAnomalyGapsAreNotJudged(t *testing.T) {
	xs := noise(9, 600, func(g *rand.Rand, _ int) float64 { return 100 + 5*g.NormFloat64() })
	for i := 200; i < 300; i++ {
		xs[i] = math.NaN()
	}
	js := judgeAll(anomalyRule(t), time.Minute, xs)
	for _, j := range js[200:300] {
		assert.False(t, j.v.Decided)
	}
	assert.Empty(t, raises(js))
	assert.True(t, js[300].v.Decided)
}

func TestAnomalyParamsAreChecked(t *testing.T) {
	sel, err := ParseSelector("app/gauge-x")
	require.NoError(t, err)
	for name, m := range map[string]func(*AnomalyParams){
		"Memory":         func(p *AnomalyParams) { p.Memory = 1 },
		"Season":         func(p *AnomalyParams) { p.Season = 8 * 24 * time.Hour },
		"WarmUp":         func(p *AnomalyParams) { p.WarmUp = 1 },
		"NewNormalAfter": func(p *AnomalyParams) { p.NewNormalAfter = 0 },
		"FlatAfter":      func(p *AnomalyParams) { p.FlatAfter = 1 },
		"RecoverAfter":   func(p *AnomalyParams) { p.RecoverAfter = 0 },
		"Probability":    func(p *AnomalyParams) { p.Probability = 0 },
	} {
		p := DefaultAnomalyParams()
		m(&p)
		_, err := NewAnomalyRule(RuleSpec{Name: "x"}, []Selector{sel}, p)
		assert.ErrorContains(t, err, name, name)
	}
}

// Through the engine: one state per series, the score as a derived series
// (plugin instance the series, type instance the rule), NaN and Inf skipped.
func TestAnomalyThroughTheEngine(t *testing.T) {
	sel, err := ParseSelector("cpu-*/percent-user")
	require.NoError(t, err)
	r, err := NewAnomalyRule(RuleSpec{Name: "cpu", Lifecycle: Lifecycle{Hits: 1}}, []Selector{sel}, DefaultAnomalyParams())
	require.NoError(t, err)
	rec := &recorder{}
	e, err := NewEngine([]Rule{r}, Options{Sink: rec})
	require.NoError(t, err)
	g := rand.New(rand.NewPCG(10, 7))
	for i := range 300 {
		at := t0.Add(time.Duration(i) * 10 * time.Second)
		for _, cpu := range []string{"cpu-0", "cpu-1"} {
			x := 20 + 2*g.NormFloat64()
			if cpu == "cpu-1" && i == 250 {
				x = 90
			}
			if i == 100 {
				x = math.NaN()
			}
			if i == 101 {
				x = math.Inf(1)
			}
			e.Observe(gaugeList("db-1", cpu+"/percent-user", at, x))
		}
	}
	e.Tick(t0.Add(time.Hour))
	require.Len(t, rec.alerts, 2, rec.severities())
	assert.Equal(t, "cpu-1/percent-user", rec.alerts[0].Group)
	assert.Equal(t, "anomaly", rec.alerts[0].Kind)
	assert.Equal(t, Failure, rec.alerts[0].Severity)
	assert.Equal(t, t0.Add(250*10*time.Second), rec.alerts[0].Time, "the time of the deciding value")
	st := e.Stats()
	assert.Equal(t, uint64(2), st.NaN)
	assert.Equal(t, uint64(2), st.Infinite)
	groups := map[string]int{}
	for _, v := range rec.values {
		assert.Equal(t, "cpu", v.Name)
		assert.True(t, v.Value >= 0 && v.Value <= 1)
		groups[v.Group]++
	}
	assert.Len(t, groups, 2)
	assert.Greater(t, groups["cpu-0/percent-user"], 200)
}

func TestAnomalyStateIsSmall(t *testing.T) {
	r := anomalyRule(t, func(p *AnomalyParams) { p.Season = 7 * 24 * time.Hour })
	st := r.NewState(SlotClock{Origin: t0, Step: 10 * time.Second}).(*anomalyState)
	size := int(unsafe.Sizeof(*st)) + 4*cap(st.season)
	t.Logf("state of a series with a weekly profile: %d bytes", size)
	assert.LessOrEqual(t, size, 1024)
}

func BenchmarkAnomalyEvaluate(b *testing.B) {
	r := anomalyRule(b)
	st := r.NewState(SlotClock{Origin: t0, Step: 10 * time.Second})
	xs := noise(11, 4096, func(g *rand.Rand, _ int) float64 { return 100 + 5*g.NormFloat64() })
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		st.Add(0, int64(i), xs[i&4095])
		st.Evaluate(int64(i), OK)
	}
}

// A shift of 4 sd: no single value is improbable enough, a few together
// are (the run), and the message says so.
func TestAnomalyRunOfUnusualValuesIsJudgedTogether(t *testing.T) {
	xs := shifted(12, 800, 500, 120)
	r := anomalyRule(t)
	js := judgeAll(r, time.Minute, xs)
	got := raises(js)
	require.NotEmpty(t, got)
	first := got[0]
	assert.GreaterOrEqual(t, first, 500)
	assert.Less(t, first, 506, "found within a few values")
	j := js[first]
	require.Equal(t, ReasonRun, j.v.Reason, "p of the value alone: %g", js[500].v.Probability)
	a := Alert{Severity: Failure, Rule: "x", Host: "h"}
	assert.Contains(t, r.Message(&a, &j.v), "values before it are above the usual")
	assert.GreaterOrEqual(t, j.v.Numerator, 2.0)
	// Under a random walk runs are what the series does: the deviations'
	// autocorrelation discounts them (the null test holds it to its
	// calibration); here the walk itself raises nothing.
	walk := 0.0
	ws := noise(13, 3000, func(g *rand.Rand, _ int) float64 { walk += g.NormFloat64(); return 50 + walk })
	assert.LessOrEqual(t, len(raises(judgeAll(r, time.Minute, ws))), 1)
}

// A broken sensor that reports 1e25 for 30 values becomes the new normal
// (it lasted), and the series coming back to 100 another; 1e90 and 1e200
// are no measurement and are taken as gaps. None may leave the model
// beyond float64 or its float32 profile (the squares of 1e200 overflowed,
// a profile offset of 1e90 too, and the spread became NaN: every later
// value was judged p = 1). A later 10000 against the usual
// 100 is an anomaly again.
func TestAnomalyOutlivesABrokenSensorsHugeValues(t *testing.T) {
	for _, huge := range []float64{1e25, 1e90, 1e200} {
		r := anomalyRule(t)
		g := rand.New(rand.NewPCG(1, 2))
		var xs []float64
		for range 300 {
			xs = append(xs, 100+g.NormFloat64()*5)
		}
		for range 30 {
			xs = append(xs, huge)
		}
		for range 300 {
			xs = append(xs, 100+g.NormFloat64()*5)
		}
		xs = append(xs, 10000)
		js := judgeAll(r, 10*time.Second, xs)
		last := js[len(js)-1]
		require.True(t, last.v.Decided, "%g", huge)
		assert.False(t, math.IsNaN(last.v.Denominator), "%g: the spread", huge)
		assert.InDelta(t, 100, last.v.Baseline, 10, "%g", huge)
		assert.Equal(t, Failure, last.level, "%g: p=%g", huge, last.v.Probability)
	}
}
