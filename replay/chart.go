package replay

import (
	"image/color"
	"math"
	"sort"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// Colours of the charts (the page's key explains them).
var (
	colObserved = color.NRGBA{R: 31, G: 119, B: 180, A: 255}
	colEnvelope = color.NRGBA{R: 31, G: 119, B: 180, A: 50}
	colBaseline = color.NRGBA{R: 90, G: 90, B: 90, A: 255}
	colBand     = color.NRGBA{R: 44, G: 160, B: 44, A: 40}
	colBound    = color.NRGBA{R: 230, G: 140, B: 0, A: 255}
	colFailure  = color.NRGBA{R: 214, G: 39, B: 40, A: 255}
	colWarnSpan = color.NRGBA{R: 255, G: 165, B: 0, A: 90}
	colFailSpan = color.NRGBA{R: 214, G: 39, B: 40, A: 90}
	colIncident = color.NRGBA{R: 90, G: 90, B: 90, A: 160}
)

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// chart draws one trace as an SVG file.
func (r *Report) chart(tr *Trace, title, path string) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = Unit(tr.Rule)
	p.Y.Label.TextStyle.Font.Size = vg.Points(10)
	p.X.Tick.Marker = timeTicker{}
	p.X.Min, p.X.Max = unix(r.From), unix(r.To)

	n := len(tr.Buckets)
	width := r.To.Sub(r.From) / time.Duration(max(n, 1))
	mid := func(i int) float64 { return unix(r.From.Add(time.Duration(i)*width + width/2)) }
	var obs, lo, hi, base, bLo, bHi, wLo, wHi, fLo, fHi []plotter.XYs
	ymin, ymax := math.Inf(1), math.Inf(-1)
	see := func(y float64) {
		if !math.IsNaN(y) && !math.IsInf(y, 0) {
			ymin, ymax = min(ymin, y), max(ymax, y)
		}
	}
	// appendPt adds a point to the current segment of a series, starting a
	// new segment after a gap (longer than the trace's usual spacing: a
	// periodic rule has a point every period, not every bucket).
	maxGap := usualGap(tr.Buckets) * 3
	appendPt := func(segs *[]plotter.XYs, i int, last *int, y float64) {
		if math.IsNaN(y) || math.IsInf(y, 0) {
			return
		}
		if len(*segs) == 0 || i-*last > maxGap {
			*segs = append(*segs, nil)
		}
		(*segs)[len(*segs)-1] = append((*segs)[len(*segs)-1], plotter.XY{X: mid(i), Y: y})
		*last = i
	}
	lasts := make([]int, 10)
	for i := range lasts {
		lasts[i] = -2
	}
	for i, b := range tr.Buckets {
		if b.N == 0 {
			continue
		}
		mean := b.ObsSum / float64(b.N)
		baseMean, auxMean := math.NaN(), math.NaN()
		if b.BaseN > 0 {
			baseMean = b.BaseSum / float64(b.BaseN)
		}
		if b.AuxN > 0 {
			auxMean = b.AuxSum / float64(b.AuxN)
		}
		band := bandOf(tr.Rule, baseMean, auxMean)
		appendPt(&obs, i, &lasts[0], mean)
		appendPt(&lo, i, &lasts[1], b.ObsMin)
		appendPt(&hi, i, &lasts[2], b.ObsMax)
		appendPt(&base, i, &lasts[3], baseMean)
		appendPt(&bLo, i, &lasts[4], band.Lo())
		appendPt(&bHi, i, &lasts[5], band.Hi())
		appendPt(&wLo, i, &lasts[6], band.WarnLo)
		appendPt(&wHi, i, &lasts[7], band.WarnHi)
		appendPt(&fLo, i, &lasts[8], band.FailLo)
		appendPt(&fHi, i, &lasts[9], band.FailHi)
		for _, y := range []float64{b.ObsMin, b.ObsMax, baseMean, band.WarnLo, band.WarnHi, band.FailLo, band.FailHi} {
			see(y)
		}
	}
	if math.IsInf(ymin, 1) {
		ymin, ymax = 0, 1
	}
	if ymin >= 0 && ymin < (ymax-ymin)*0.5 {
		ymin = 0
	}
	pad := (ymax - ymin) * 0.05
	if pad == 0 {
		pad = math.Max(math.Abs(ymax)*0.1, 1)
	}
	ymin, ymax = ymin-pad, ymax+pad
	if ymin < 0 && tr.Buckets != nil && allNonNegative(tr.Buckets) {
		ymin = 0
	}
	p.Y.Min, p.Y.Max = ymin, ymax

	rect := func(x0, x1, y0, y1 float64, c color.Color) error {
		poly, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
		if err != nil {
			return err
		}
		poly.Color = c
		poly.LineStyle.Width = 0
		p.Add(poly)
		return nil
	}
	// Incidents: a ribbon along the top, apart from the alerts' spans.
	ribbon := ymax - (ymax-ymin)*0.06
	for _, in := range r.Incidents {
		if err := rect(unix(in.Start), max(unix(in.End), unix(in.Start)+width.Seconds()/2), ribbon, ymax, colIncident); err != nil {
			return err
		}
	}
	// Alert spans: each alert's level holds until the next one.
	for i, a := range tr.Alerts {
		if a.Severity == detect.OK {
			continue
		}
		end := r.To
		if i+1 < len(tr.Alerts) {
			end = tr.Alerts[i+1].Time
		}
		c := colWarnSpan
		if a.Severity == detect.Failure {
			c = colFailSpan
		}
		x0, x1 := unix(a.Time), unix(end)
		if x1-x0 < width.Seconds()/2 {
			x1 = x0 + width.Seconds()/2 // visible however short
		}
		if err := rect(x0, x1, ymin, ymax, c); err != nil {
			return err
		}
	}
	// The band between both bounds, where both are set.
	if len(bLo) > 0 && len(bHi) > 0 {
		for _, seg := range pairSegments(bLo, bHi) {
			poly, err := plotter.NewPolygon(seg)
			if err != nil {
				return err
			}
			poly.Color, poly.LineStyle.Width = colBand, 0
			p.Add(poly)
		}
	}
	if envelope := pairSegments(lo, hi); len(envelope) > 0 && bucketsSpread(tr.Buckets) {
		for _, seg := range envelope {
			poly, err := plotter.NewPolygon(seg)
			if err != nil {
				return err
			}
			poly.Color, poly.LineStyle.Width = colEnvelope, 0
			p.Add(poly)
		}
	}
	lines := func(segs []plotter.XYs, c color.Color, w vg.Length, dashed bool) error {
		for _, seg := range segs {
			l, err := plotter.NewLine(seg)
			if err != nil {
				return err
			}
			l.Color, l.Width = c, w
			if dashed {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			p.Add(l)
		}
		return nil
	}
	for _, s := range []struct {
		segs   []plotter.XYs
		c      color.Color
		w      vg.Length
		dashed bool
	}{
		{base, colBaseline, vg.Points(1), true},
		{wLo, colBound, vg.Points(1), true},
		{wHi, colBound, vg.Points(1), true},
		{fLo, colFailure, vg.Points(1), true},
		{fHi, colFailure, vg.Points(1), true},
		{obs, colObserved, vg.Points(1.2), false},
	} {
		if err := lines(s.segs, s.c, s.w, s.dashed); err != nil {
			return err
		}
	}
	return p.Save(10*vg.Inch, 3*vg.Inch, path)
}

// pairSegments makes polygons between two series of the same buckets.
func pairSegments(lo, hi []plotter.XYs) []plotter.XYs {
	his := map[float64]float64{}
	for _, seg := range hi {
		for _, pt := range seg {
			his[pt.X] = pt.Y
		}
	}
	var out []plotter.XYs
	for _, seg := range lo {
		var top, bottom plotter.XYs
		flush := func() {
			if len(bottom) > 1 {
				ring := append(plotter.XYs{}, bottom...)
				for i := len(top) - 1; i >= 0; i-- {
					ring = append(ring, top[i])
				}
				out = append(out, ring)
			}
			top, bottom = nil, nil
		}
		for _, pt := range seg {
			y, ok := his[pt.X]
			if !ok {
				flush()
				continue
			}
			bottom = append(bottom, pt)
			top = append(top, plotter.XY{X: pt.X, Y: y})
		}
		flush()
	}
	return out
}

// usualGap is the median distance between filled buckets (at least 1).
func usualGap(bs []Bucket) int {
	var gaps []int
	last := -1
	for i, b := range bs {
		if b.N == 0 {
			continue
		}
		if last >= 0 {
			gaps = append(gaps, i-last)
		}
		last = i
	}
	if len(gaps) == 0 {
		return 1
	}
	sort.Ints(gaps)
	return max(gaps[len(gaps)/2], 1)
}

func bucketsSpread(bs []Bucket) bool {
	for _, b := range bs {
		if b.N > 1 && b.ObsMax > b.ObsMin {
			return true
		}
	}
	return false
}

func allNonNegative(bs []Bucket) bool {
	for _, b := range bs {
		if b.N > 0 && b.ObsMin < 0 {
			return false
		}
	}
	return true
}

// timeTicker puts ticks on round times (whole minutes, hours, days) in UTC.
type timeTicker struct{}

var tickSteps = []time.Duration{time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour,
	3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour,
	14 * 24 * time.Hour, 28 * 24 * time.Hour, 91 * 24 * time.Hour}

func (timeTicker) Ticks(lo, hi float64) []plot.Tick {
	span := time.Duration((hi - lo) * 1e9)
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if span/s <= 8 {
			step = s
			break
		}
	}
	minor := step / 4
	if step == 7*24*time.Hour {
		minor = 24 * time.Hour
	}
	format := "15:04"
	switch {
	case step >= 24*time.Hour:
		format = "Jan 2"
	case span > 24*time.Hour:
		format = "Jan 2\n15:04"
	}
	from := time.Unix(0, int64(lo*1e9)).UTC()
	var ticks []plot.Tick
	for t := from.Truncate(minor); !t.After(time.Unix(0, int64(hi*1e9))); t = t.Add(minor) {
		if t.Before(from) {
			continue
		}
		x := unix(t)
		// Round times get a label, unless so close to an edge that it would be cut.
		if t.Truncate(step).Equal(t) && x-lo > (hi-lo)*0.02 && hi-x > (hi-lo)*0.03 {
			ticks = append(ticks, plot.Tick{Value: x, Label: t.Format(format)})
		} else {
			ticks = append(ticks, plot.Tick{Value: x})
		}
	}
	return ticks
}
