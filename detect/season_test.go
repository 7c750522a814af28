package detect

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat/distuv"
)

// shopDay is a shop's day as the share of its mean traffic at each hour
// (UTC), with a steep morning: a fifth of the mean at 7:00, 1.2 at 8:00,
// the evening's peak at 20:00. Between hours it is linear.
var shopDay = [24]float64{0.25, 0.15, 0.1, 0.1, 0.1, 0.12, 0.15, 0.2, 1.2, 1.4, 1.4, 1.5,
	1.6, 1.5, 1.4, 1.3, 1.3, 1.4, 1.6, 1.8, 1.9, 1.5, 1.0, 0.5}

func shopLoad(t time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60 + float64(t.Second())/3600
	i := int(h)
	f := h - float64(i)
	w := shopDay[i]*(1-f) + shopDay[(i+1)%24]*f
	mean := 0.0
	for _, x := range shopDay {
		mean += x
	}
	return w / (mean / 24)
}

// The profile learns a daily curve in one day: ready then and not before,
// its shape within 2% of the curve's everywhere (half-hour buckets of a
// linear curve, interpolated), for counts (a ratio) and for measurements
// (a difference).
func TestSeasonProfileLearnsADay(t *testing.T) {
	const step = 10 * time.Second
	for _, mult := range []bool{true, false} {
		p := newSeasonProfile(24*time.Hour, step, mult)
		require.NotNil(t, p)
		assert.Len(t, p.values, 48)
		value := func(at time.Time) float64 {
			if mult {
				return 1000 * shopLoad(at)
			}
			return 150 + 50*(shopLoad(at)-1)
		}
		for i := int64(0); i < 2*8640; i++ {
			at := t0.Add(time.Duration(i) * step)
			if i < 8640-180 { // a season less half an hour's bucket
				assert.False(t, p.ready(), "ready after %s", time.Duration(i)*step)
			}
			p.learn(at.UnixNano(), value(at))
		}
		require.True(t, p.ready())
		// At the bucket centres the profile is the curve (linear within a
		// bucket: its mean is its centre's value). Between them it is
		// interpolated; at the morning's corner (the slope grows by 0.95 an
		// hour at 7:00) that is off by the corner's slope change times a
		// quarter of the half-hour bucket width, 0.12.
		worstCentre, worst := 0.0, 0.0
		for m := 0; m < 24*60; m += 5 {
			at := t0.Add(time.Duration(m) * time.Minute)
			want := shopLoad(at)
			got := p.shape(at.UnixNano())
			if !mult {
				got = got/50 + 1 // in the curve's units
			}
			worst = max(worst, math.Abs(got-want))
			if m%30 == 15 {
				worstCentre = max(worstCentre, math.Abs(got-want))
			}
		}
		assert.Less(t, worstCentre, 0.01, "multiplicative %v: worst error at the centres %.4f", mult, worstCentre)
		assert.Less(t, worst, 0.13, "multiplicative %v: worst error %.3f", mult, worst)
	}
}

// A shop's steep morning (traffic six times higher within an hour) is a
// "spike" against the hour before every day; with Season "1d" it is what
// the time of day expects once the profile has seen a day, while a real
// spike on the morning's ramp is still found within its first minute. In
// the first day (warm-up) the seasonal rule judges exactly as the plain one.
func TestSeasonalSpikeExpectsTheMorning(t *testing.T) {
	const perDay = 8640
	spikeFrom := int64(4*perDay + (8*360 + 180 - 12*360)) // 8:30 on the fourth morning (day 1 begins at 12:00)
	run := func(season time.Duration) (changes []string, levels []Level) {
		rng := rand.New(rand.NewPCG(5, 0))
		r := spikeRule10s(t, func(p *SpikeParams) {
			p.Window, p.Baseline = time.Minute, time.Hour
			p.Season = season
		})
		st := r.NewState(SlotClock{Origin: t0, Step: 10 * time.Second})
		level := OK
		for slot := int64(0); slot < 5*perDay; slot++ {
			at := t0.Add(time.Duration(slot) * 10 * time.Second)
			lambda := 300 * shopLoad(at)
			if slot >= spikeFrom && slot < spikeFrom+90 {
				lambda *= 3
			}
			st.Add(0, slot, distuv.Poisson{Lambda: lambda, Src: rng}.Rand())
			v := st.Evaluate(slot, level)
			if v.Decided && v.Level != level {
				level = v.Level
				changes = append(changes, fmt.Sprintf("%s@day%d-%s", level, slot/perDay+1, at.Format("15:04:05")))
			}
			levels = append(levels, level)
		}
		return changes, levels
	}
	plain, plainLevels := run(0)
	seasonal, seasonalLevels := run(24 * time.Hour)
	t.Logf("plain: %v", plain)
	t.Logf("seasonal: %v", seasonal)
	mornings := 0
	for _, c := range plain {
		if strings.HasPrefix(c, "FAILURE") && strings.Contains(c, "-07:") {
			mornings++
		}
	}
	assert.GreaterOrEqual(t, mornings, 4, "the plain rule takes the mornings for spikes")
	// Warm-up: the same verdicts for the first day.
	assert.Equal(t, plainLevels[:perDay], seasonalLevels[:perDay])
	// After it, only the spike.
	var after []string
	for _, c := range seasonal {
		if !strings.Contains(c, "day1-") {
			after = append(after, c)
		}
	}
	require.Len(t, after, 2, "%v", after)
	assert.Equal(t, "FAILURE@day4-08:30:10", after[0], "found in the spike's second slot")
	assert.Regexp(t, `^OKAY@day4-08:4`, after[1])
}

// Latency that follows the daily curve (+-40 ms about 150, peaking at
// 15:00, with 4 ms of noise per slot): a plain normal-model spike takes the
// rise and the fall for level shifts, the seasonal one does not, and still
// finds a shift of 30 ms on the rise. The seasonal spread rule's baseline
// is the noise, not the curve, so erratic latency after the shop's steep
// morning is found, where the plain one takes the rise for spread. (A
// corner sharper than the profile's half-hour buckets - the shop's 7:00 -
// leaves an error of a few ms at the corner, which a rule this sensitive
// would see.)
func TestSeasonalMeasurementsExpectTheCurve(t *testing.T) {
	const perDay = 8640
	shiftFrom := int64(4*perDay + (9*360 - 12*360)) // 9:00 on the fourth morning
	latency := func(slot int64, rng *rand.Rand, erratic bool) float64 {
		if erratic {
			// The shop's curve, 60 ms a unit of load, erratic from 8:00:
			// the hour before holds the morning's rise of 60 ms (a spread
			// of 17 ms as a plain baseline sees it).
			x := 150 + 60*(shopLoad(t0.Add(time.Duration(slot)*10*time.Second))-1) + 4*rng.NormFloat64()
			if slot >= shiftFrom-360 && slot < shiftFrom-180 {
				x += 14 * rng.NormFloat64()
			}
			return x
		}
		h := 12 + float64(slot)/360
		x := 150 + 40*math.Cos(2*math.Pi*(h-15)/24) + 4*rng.NormFloat64()
		if slot >= shiftFrom && slot < shiftFrom+180 {
			x += 30
		}
		return x
	}
	shift := func(season time.Duration) []string {
		rng := rand.New(rand.NewPCG(6, 0))
		r := spikeRule10s(t, func(p *SpikeParams) {
			p.Model, p.Direction, p.MinFactor = NormalModel, DirectionBoth, 1
			p.Window, p.Baseline, p.Probability = 5*time.Minute, time.Hour, 1e-7
			p.Season = season
			p.OverDispersion = false // this test is of the season (see TestSpikeNormalModelAllowsForAWander)
		})
		return levelChanges(r.NewState(SlotClock{Origin: t0, Step: 10 * time.Second}), perDay, 5*perDay,
			func(slot int64) float64 { return latency(slot, rng, false) })
	}
	spread := func(season time.Duration) []string {
		rng := rand.New(rand.NewPCG(7, 0))
		p := DefaultStdDevChangeParams()
		p.Season = season
		r, err := NewStdDevChangeRule(RuleSpec{Name: "spread", Lifecycle: Lifecycle{Hits: 1}},
			[]Selector{MustSelector("web/gauge-requests")}, p)
		require.NoError(t, err)
		return levelChanges(r.NewState(SlotClock{Origin: t0, Step: 10 * time.Second}), perDay, 5*perDay,
			func(slot int64) float64 { return latency(slot, rng, true) })
	}
	plain := shift(0)
	t.Logf("plain shift: %v", plain)
	assert.GreaterOrEqual(t, len(plain), 6, "the plain rule takes the curve for shifts")
	seasonal := shift(24 * time.Hour)
	require.Len(t, seasonal, 2, "%v", seasonal)
	assert.Regexp(t, `^FAILURE@day4-09:0[0-2]`, seasonal[0])
	plainSpread, seasonalSpread := spread(0), spread(24*time.Hour)
	t.Logf("spread: plain %v, seasonal %v", plainSpread, seasonalSpread)
	assert.NotContains(t, fmt.Sprint(plainSpread), "day4-08", "the rise in the plain baseline hides the erratic latency")
	require.Len(t, seasonalSpread, 2, "%v", seasonalSpread)
	assert.Regexp(t, `^FAILURE@day4-08:0[0-5]`, seasonalSpread[0])
}

// levelChanges runs st over slots [0, to) of value(slot) and lists the
// level changes from slot from on, as "LEVEL@dayD-hh:mm:ss" (day 1 begins
// at t0, 12:00).
func levelChanges(st RuleState, from, to int64, value func(int64) float64) []string {
	const perDay = 8640
	var changes []string
	level := OK
	for slot := int64(0); slot < to; slot++ {
		st.Add(0, slot, value(slot))
		v := st.Evaluate(slot, level)
		if v.Decided && v.Level != level {
			level = v.Level
			if slot >= from && (len(changes) > 0 || level != OK) { // not the end of an alert raised before from
				at := t0.Add(time.Duration(slot) * 10 * time.Second)
				changes = append(changes, fmt.Sprintf("%s@day%d-%s", level, slot/perDay+1, at.Format("15:04:05")))
			}
		}
	}
	return changes
}

// restarted is st saved and loaded into a new state of r, as across a
// restart of collectd; the whole record must be read.
func restarted(t *testing.T, r Rule, clock SlotClock, st RuleState) RuleState {
	t.Helper()
	var e stateEncoder
	st.(persistent).saveState(&e)
	next := r.NewState(clock)
	d := stateDecoder{b: e.b}
	next.(persistent).loadState(&d)
	require.NoError(t, d.err)
	require.Empty(t, d.b, "all read")
	return next
}

// A restart - before the profile is ready, during the handover, after it -
// changes no verdict: the profile, the handover window and the seasonal
// baseline are saved with the rest.
func TestSeasonalStateSurvivesARestart(t *testing.T) {
	const perDay = 8640
	r := spikeRule10s(t, func(p *SpikeParams) {
		p.Window, p.Baseline, p.Season = time.Minute, time.Hour, 24*time.Hour
	})
	clock := SlotClock{Origin: t0, Step: 10 * time.Second}
	counts := make([]float64, 2*perDay)
	rng := rand.New(rand.NewPCG(8, 0))
	for i := range counts {
		counts[i] = distuv.Poisson{Lambda: 300 * shopLoad(t0.Add(time.Duration(i)*10*time.Second)), Src: rng}.Rand()
	}
	verdicts := func(restarts ...int64) []Verdict {
		st := r.NewState(clock)
		var out []Verdict
		for slot := range int64(len(counts)) {
			if len(restarts) > 0 && slot == restarts[0] {
				restarts = restarts[1:]
				st = restarted(t, r, clock, st)
			}
			st.Add(0, slot, counts[slot])
			out = append(out, st.Evaluate(slot, OK))
		}
		return out
	}
	whole := verdicts()
	handover := int64(perDay + 6 + 180)
	st := r.NewState(clock).(*baselineState)
	for slot := range handover {
		st.Add(0, slot, counts[slot])
		st.Evaluate(slot, OK)
	}
	require.NotNil(t, st.wb.handover, "the restart falls in the handover")
	restarted := verdicts(perDay/2, handover, perDay+3*360)
	assert.Equal(t, fmt.Sprint(whole), fmt.Sprint(restarted))
	assert.Equal(t, ReasonSeasonal, whole[len(whole)-1].Reason)
}

// A weekly profile costs 4 bytes an hour of the week per group; the state
// of a seasonal spike group stays small.
func TestSeasonalStateIsSmall(t *testing.T) {
	p := newSeasonProfile(7*24*time.Hour, 10*time.Second, true)
	require.Len(t, p.values, 168)
	size := int(unsafe.Sizeof(*p)) + 4*cap(p.values)
	t.Logf("a weekly profile: %d bytes", size)
	assert.LessOrEqual(t, size, 800)
}

// Season is checked against the rule's windows.
func TestSeasonIsValidated(t *testing.T) {
	sel := []Selector{MustSelector("web/gauge-requests")}
	for season, want := range map[time.Duration]string{
		-time.Hour:         `rule "s": Season must be between 0 and 1w`,
		8 * 24 * time.Hour: `rule "s": Season must be between 0 and 1w`,
		90 * time.Minute:   `rule "s": Season 1h30m0s must be at least twice Window plus Baseline (2h2m0s)`,
		24 * time.Hour:     "",
		7 * 24 * time.Hour: "",
		0:                  "",
	} {
		p := DefaultSpikeParams()
		p.Season = season
		_, err := NewSpikeRule(RuleSpec{Name: "s"}, sel, p)
		if want == "" {
			assert.NoError(t, err, season)
		} else {
			assert.EqualError(t, err, want, season)
		}
	}
	p := DefaultSpikeParams()
	p.Season, p.Reference = 24*time.Hour, sel
	_, err := NewSpikeRule(RuleSpec{Name: "s"}, sel, p)
	assert.EqualError(t, err, `rule "s": Season and Reference exclude each other (a Reference follows the curve already)`)
}

// A level that wanders (latency following a load that drifts by 10% with a
// correlation time of 2 hours: sd 3 ms on 150, 1 ms of noise per slot)
// moves a 5-minute mean away from the hour before by several of its
// standard errors every day; with OverDispersion the normal model learns
// how far, and a 15 ms shift is still found at once.
func TestSpikeNormalModelAllowsForAWander(t *testing.T) {
	const perDay = 8640
	shiftFrom := int64(5*perDay + 100)
	run := func(overDispersion bool) []string {
		rng := rand.New(rand.NewPCG(9, 0))
		phi := math.Exp(-10.0 / 7200)
		w := 0.0
		r := spikeRule10s(t, func(p *SpikeParams) {
			p.Model, p.Direction, p.MinFactor = NormalModel, DirectionBoth, 1
			p.Window, p.Baseline, p.Probability = 5*time.Minute, time.Hour, 1e-7
			p.OverDispersion = overDispersion
		})
		return levelChanges(r.NewState(SlotClock{Origin: t0, Step: 10 * time.Second}), perDay/4, 6*perDay,
			func(slot int64) float64 {
				w = phi*w + math.Sqrt(1-phi*phi)*3*rng.NormFloat64()
				x := 150 + w + rng.NormFloat64()
				if slot >= shiftFrom && slot < shiftFrom+180 {
					x += 15
				}
				return x
			})
	}
	raw, calibrated := run(false), run(true)
	t.Logf("raw: %d changes; calibrated: %v", len(raw), calibrated)
	assert.GreaterOrEqual(t, len(raw), 10, "independent-slot t takes the wander for shifts")
	require.Len(t, calibrated, 2, "%v", calibrated)
	assert.Regexp(t, `^FAILURE@day6-12:1[67]`, calibrated[0], "the shift at 12:16:40")
}
