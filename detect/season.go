package detect

import (
	"fmt"
	"math"
	"time"
)

// seasonProfile learns what a series' level is at each time of its Season (a
// day, or a week) so that a rule judging a window against the hour before it
// can expect the evening's fall and the morning's rise. It is the seasonal
// baseline of the rules built on windowAndBaseline (Spike, StdDevChange):
//
//   - The season is cut into buckets (48 for a day: half an hour each; 168
//     for a week: an hour each), aligned on Unix time, so in UTC: a shop's
//     day follows its local clock, which is a fixed offset from UTC except
//     at daylight saving's changes, which the profile relearns within a few
//     seasons.
//   - Each bucket holds the mean value per slot seen in it, over its passes:
//     the first pass sets it, each later one moves it a third of the way
//     (an exponential memory of about three seasons, so one odd day - a
//     sale, an outage the baseline kept out anyway - is a third of one
//     bucket's weight and fades).
//   - The profile's shape is a bucket's value against the mean of all
//     buckets: a ratio for counts (multiplicative: 0.3 at night, 1.7 in the
//     afternoon), a difference for measurements (additive: +40 ms at the
//     peak). Between bucket centres it is interpolated linearly.
//   - It is ready once every bucket has been seen once: a whole season after
//     the first value. Until then the rule judges against the recent
//     baseline alone, as without a season (the warm-up).
//
// Memory: 4 bytes per bucket (192 bytes a day, 672 a week) and 56 of
// bookkeeping, per group. The rules feed it only the slots their baseline
// takes in, so an incident the baseline keeps out is not learnt as normal.
type seasonProfile struct {
	values         []float32 // per bucket: mean value per slot; NaN until seen
	seen           int       // buckets seen at least once
	total          float64   // sum of the seen buckets' values
	width, period  int64     // bucket width and season, in ns
	multiplicative bool      // counts: shape is a ratio; measurements: a difference
	bucket         int64     // the absolute bucket (Unix ns / width) being accumulated
	sum, n         float64   // its values so far in this pass
	started        bool
}

// ReasonSeasonal marks a verdict judged against a seasonal baseline.
const ReasonSeasonal = "seasonal"

// seasonMemory is the weight of one pass against the passes before: a
// third (about three seasons of memory).
const seasonMemory = 1.0 / 3

// seasonMinShape floors a count's shape: a bucket that saw (almost) no
// events would make the expectation zero and any event infinitely
// improbable.
const seasonMinShape = 0.02

// maxSeason is the longest Season a rule takes: a week, in hourly buckets.
const maxSeason = 7 * 24 * time.Hour

// seasonBuckets is how many buckets a season has at the data's step:
// 48 a day, up to 168 (a week of hours), never narrower than a slot.
func seasonBuckets(season, step time.Duration) int {
	days := int((season + 24*time.Hour - 1) / (24 * time.Hour))
	n := min(48*max(days, 1), 168)
	if step > 0 {
		n = min(n, int(season/step))
	}
	return n
}

// newSeasonProfile makes the profile of season for data at step; nil when
// the season holds fewer than two buckets (CheckInterval says so).
func newSeasonProfile(season, step time.Duration, multiplicative bool) *seasonProfile {
	n := seasonBuckets(season, step)
	if season <= 0 || n < 2 {
		return nil
	}
	p := &seasonProfile{
		values:         make([]float32, n),
		width:          int64(season) / int64(n),
		multiplicative: multiplicative,
	}
	p.period = p.width * int64(n)
	for i := range p.values {
		p.values[i] = float32(math.NaN())
	}
	return p
}

// seasonProblems is the check of a Season at step (IntervalChecker).
func seasonProblems(season, step time.Duration) []string {
	if season > 0 && seasonBuckets(season, step) < 2 {
		return []string{fmt.Sprintf("Season %s holds fewer than two slots of %s: no seasonal baseline", season, step)}
	}
	return nil
}

// validateSeason checks a rule's Season against its Baseline.
func validateSeason(rule string, season, window, baseline time.Duration) error {
	switch {
	case season < 0 || season > maxSeason:
		return settingError(rule, "Season", "must be between 0 and 1w")
	case season > 0 && season < 2*(window+baseline):
		return settingError(rule, "Season", "%s must be at least twice Window plus Baseline (%s)", season, 2*(window+baseline))
	}
	return nil
}

// learn takes in the mean value x of slots that begin at Unix time t (ns).
func (p *seasonProfile) learn(t int64, x float64) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return
	}
	b := floorDiv(t, p.width)
	switch {
	case !p.started:
		p.started, p.bucket = true, b
	case b > p.bucket:
		p.fold()
		p.bucket = b
	case b < p.bucket:
		return // older than the pass being learnt: its bucket is done
	}
	p.sum += x
	p.n++
}

// fold ends the pass of the bucket being accumulated.
func (p *seasonProfile) fold() {
	if p.n == 0 {
		return
	}
	mean := p.sum / p.n
	p.sum, p.n = 0, 0
	i := p.index(p.bucket)
	old := float64(p.values[i])
	next := mean
	if !math.IsNaN(old) {
		next = old + seasonMemory*(mean-old)
	}
	if !(math.Abs(next) <= math.MaxFloat32) {
		return // a hostile value: keep what the bucket knew
	}
	p.values[i] = float32(next)
	p.recount()
}

// recount counts the buckets seen and sums their values: recounted, not
// updated, once a bucket's time, so that nothing drifts.
func (p *seasonProfile) recount() {
	p.seen, p.total = 0, 0
	for _, v := range p.values {
		if !math.IsNaN(float64(v)) {
			p.seen++
			p.total += float64(v)
		}
	}
}

func (p *seasonProfile) index(bucket int64) int { return int(floorMod(bucket, int64(len(p.values)))) }

// ready reports whether every bucket has been seen, and (counts) the
// season's mean is positive, so that the shape means something.
func (p *seasonProfile) ready() bool {
	if p == nil || p.seen < len(p.values) {
		return false
	}
	return !p.multiplicative || p.total > 0
}

// shape is the profile at Unix time t (ns): the expected value there
// against the season's mean - a ratio (counts, at least seasonMinShape) or
// a difference (measurements). Only meaningful once ready.
func (p *seasonProfile) shape(t int64) float64 {
	// Bucket centres sit at (i + 1/2) width: interpolate between the two
	// centres around t.
	pos := float64(floorMod(t-p.width/2, p.period)) / float64(p.width)
	i := int(pos)
	frac := pos - float64(i)
	i %= len(p.values)
	j := (i + 1) % len(p.values)
	v := float64(p.values[i])*(1-frac) + float64(p.values[j])*frac
	mean := p.total / float64(len(p.values))
	if p.multiplicative {
		return max(v/mean, seasonMinShape)
	}
	return v - mean
}

// meanShape is the shape's mean over [from, to] (Unix ns), by Simpson's
// rule: exact for a profile linear within the span, within a few percent
// for a window of an hour across a bucket's corner.
func (p *seasonProfile) meanShape(from, to int64) float64 {
	mid := from + (to-from)/2
	return (p.shape(from) + 4*p.shape(mid) + p.shape(to)) / 6
}

// deseason expresses s, slots that begin around Unix time t, in units of
// the season's mean: divided by the shape (counts) or less it
// (measurements).
func (p *seasonProfile) deseason(t int64, s Summary) Summary {
	f := p.shape(t)
	if p.multiplicative {
		return s.scaled(1 / f)
	}
	return s.shifted(-f)
}

func (p *seasonProfile) saveState(e *stateEncoder) {
	e.uint(uint64(len(p.values)))
	for _, v := range p.values {
		e.float(float64(v))
	}
	e.bool(p.started)
	e.int(p.bucket)
	e.float(p.sum)
	e.float(p.n)
}

func (p *seasonProfile) loadState(d *stateDecoder) {
	if !d.count(len(p.values), "a season of buckets") {
		return
	}
	for i := range p.values {
		p.values[i] = float32(d.float())
	}
	p.recount()
	p.started, p.bucket, p.sum, p.n = d.bool(), d.int(), d.float(), d.float()
}
