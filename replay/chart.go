package replay

import (
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// Colours of the charts (each chart's legend names what it draws).
var (
	colObserved  = color.NRGBA{R: 31, G: 119, B: 180, A: 255}
	colEnvelope  = color.NRGBA{R: 31, G: 119, B: 180, A: 50}
	colBaseline  = color.NRGBA{R: 90, G: 90, B: 90, A: 255}
	colBand      = color.NRGBA{R: 44, G: 160, B: 44, A: 40}
	colWarnBound = color.NRGBA{R: 230, G: 140, B: 0, A: 255}
	colFailBound = color.NRGBA{R: 214, G: 39, B: 40, A: 255}
	colWarnSpan  = color.NRGBA{R: 255, G: 165, B: 0, A: 90}
	colFailSpan  = color.NRGBA{R: 214, G: 39, B: 40, A: 90}
	colIncident  = color.NRGBA{R: 90, G: 90, B: 90, A: 160}
)

// The size of a chart: its plot, and below it as many rows of legend as
// the entries need.
const (
	chartWidth  = 10 * vg.Inch
	chartHeight = 3 * vg.Inch
	// In points:
	legendFont   = 9
	legendThumb  = 20 // the width of a thumbnail
	legendGap    = 4  // between a thumbnail and its label
	legendSpace  = 14 // between entries
	legendMargin = 8  // left of and under the legend
)

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// chart draws one trace, with its legend, into path (the format by the
// extension: svg, png...).
func (r *Report) chart(tr *Trace, title, path string) error {
	width := r.To.Sub(r.From) / time.Duration(max(len(tr.Buckets), 1))
	l := r.linesOf(tr, width)
	incidents := r.incidentsWithin()
	y := newYAxis(l.ymin, l.ymax, len(incidents) > 0)
	c := newChart(title, Unit(tr.Rule), unix(r.From), unix(r.To), y)
	// In this order: what is drawn later is on top.
	if err := c.incidents(incidents, width, y); err != nil {
		return err
	}
	if err := c.alertSpans(tr.Alerts, r.To, width, y); err != nil {
		return err
	}
	if err := c.areas(l, bucketsSpread(tr.Buckets)); err != nil {
		return err
	}
	if err := c.lines(l); err != nil {
		return err
	}
	return c.save(path)
}

// chartLines are what a chart of a trace draws as lines and areas, in plot
// coordinates (x in Unix seconds), each split into segments at the trace's
// gaps.
type chartLines struct {
	obs, lo, hi, base              []plotter.XYs
	bandLo, bandHi                 []plotter.XYs // the normal band's edges
	warnLo, warnHi, failLo, failHi []plotter.XYs
	// ymin and ymax span every point (+Inf and -Inf when there is none).
	ymin, ymax float64
	// averaged: some point is the mean of several verdicts.
	averaged bool
}

// linesOf reads a trace's buckets, each width long, into lines.
func (r *Report) linesOf(tr *Trace, width time.Duration) chartLines {
	l := chartLines{ymin: math.Inf(1), ymax: math.Inf(-1)}
	series := []*[]plotter.XYs{&l.obs, &l.lo, &l.hi, &l.base, &l.bandLo, &l.bandHi,
		&l.warnLo, &l.warnHi, &l.failLo, &l.failHi}
	lasts := make([]int, len(series))
	maxGap := usualGap(tr.Buckets) * 3
	for i, b := range tr.Buckets {
		if b.N == 0 {
			continue
		}
		mean, baseMean, auxMean := b.ObsSum/float64(b.N), math.NaN(), math.NaN()
		if b.BaseN > 0 {
			baseMean = b.BaseSum / float64(b.BaseN)
		}
		if b.AuxN > 0 {
			auxMean = b.AuxSum / float64(b.AuxN)
		}
		band := bandOf(tr.Rule, baseMean, auxMean)
		x := unix(r.From.Add(time.Duration(i)*width + width/2))
		for k, y := range []float64{mean, b.ObsMin, b.ObsMax, baseMean, band.Lo(), band.Hi(),
			band.WarnLo, band.WarnHi, band.FailLo, band.FailHi} {
			if math.IsNaN(y) || math.IsInf(y, 0) {
				continue
			}
			appendPoint(series[k], &lasts[k], i, maxGap, plotter.XY{X: x, Y: y})
			l.ymin, l.ymax = min(l.ymin, y), max(l.ymax, y)
		}
		l.averaged = l.averaged || b.N > 1
	}
	return l
}

// appendPoint adds pt, of bucket i, to the last segment of segs, or starts
// a new segment after a gap of more than maxGap buckets since the last
// point: a periodic rule has a point every period, not every bucket, and
// that is no gap.
func appendPoint(segs *[]plotter.XYs, last *int, i, maxGap int, pt plotter.XY) {
	if len(*segs) == 0 || i-*last > maxGap {
		*segs = append(*segs, nil)
	}
	(*segs)[len(*segs)-1] = append((*segs)[len(*segs)-1], pt)
	*last = i
}

// incidentsWithin are the incidents that overlap the report's time.
func (r *Report) incidentsWithin() []Span {
	var out []Span
	for _, in := range r.Incidents {
		if !in.End.Before(r.From) && in.Start.Before(r.To) {
			out = append(out, in)
		}
	}
	return out
}

// yAxis is the y range of a chart, and where the incidents' ribbon starts.
type yAxis struct{ min, max, ribbon float64 }

// newYAxis spans lo to hi, everything drawn - values, baseline and every
// bound, however far from the values, since an alert is about them - with
// 5% room; from 0 when lo is near it and nothing is negative (a count's
// axis starts at 0, not at the count's low); with a strip on top for the
// incidents' ribbon, so that it hides no value.
func newYAxis(lo, hi float64, ribbon bool) yAxis {
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1 // nothing drawn
	}
	if lo >= 0 && lo < (hi-lo)*0.5 {
		lo = 0
	}
	pad := (hi - lo) * 0.05
	if pad == 0 {
		pad = math.Max(math.Abs(hi)*0.1, 1)
	}
	y := yAxis{min: lo - pad, max: hi + pad}
	if lo >= 0 {
		y.min = max(y.min, 0)
	}
	y.ribbon = y.max
	if ribbon {
		y.max += (y.max - y.min) * 0.08
	}
	return y
}

// chart is a plot being drawn, and its legend.
type chart struct {
	p      *plot.Plot
	legend [legendKinds]legendItem // in the legend's order; label "" if not drawn
}

// legendKind is a kind of thing a chart draws, in the legend's order.
type legendKind int

const (
	legObserved legendKind = iota
	legRange
	legBaseline
	legBand
	legWarnBound
	legFailBound
	legWarnSpan
	legFailSpan
	legIncident
	legendKinds
)

// legendItem is an entry of a chart's legend: what it names, and a
// thumbnail drawn as it is.
type legendItem struct {
	label string
	thumb plot.Thumbnailer
}

func newChart(title, unit string, from, to float64, y yAxis) *chart {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "time (UTC)"
	p.Y.Label.Text = unit
	for _, l := range []*text.Style{&p.X.Label.TextStyle, &p.Y.Label.TextStyle} {
		l.Font.Size = vg.Points(10)
	}
	p.X.Tick.Marker = timeTicker{}
	p.X.Min, p.X.Max = from, to
	p.Y.Min, p.Y.Max = y.min, y.max
	return &chart{p: p}
}

// note puts a kind of thing drawn into the legend; the first label stays.
func (c *chart) note(k legendKind, label string, thumb plot.Thumbnailer) {
	if c.legend[k].label == "" {
		c.legend[k] = legendItem{label: label, thumb: thumb}
	}
}

// rect fills a rectangle of the plot, and returns it for a thumbnail.
func (c *chart) rect(x0, x1, y0, y1 float64, col color.Color) (*plotter.Polygon, error) {
	poly, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
	if err != nil {
		return nil, err
	}
	poly.Color, poly.LineStyle.Width = col, 0
	c.p.Add(poly)
	return poly, nil
}

// incidents shades each incident in the ribbon along the top, apart from
// the alerts' spans; one too short to see is drawn half a point wide.
func (c *chart) incidents(incidents []Span, width time.Duration, y yAxis) error {
	for _, in := range incidents {
		x0 := unix(in.Start)
		poly, err := c.rect(x0, max(unix(in.End), x0+width.Seconds()/2), y.ribbon, y.max, colIncident)
		if err != nil {
			return err
		}
		c.note(legIncident, "incident (simulated, along the top)", poly)
	}
	return nil
}

// alertSpans shades the time each alert's level holds (until the next
// alert, or the end), however short: at least half a point wide.
func (c *chart) alertSpans(alerts []detect.Alert, end time.Time, width time.Duration, y yAxis) error {
	for i, a := range alerts {
		if a.Severity == detect.OK {
			continue
		}
		until := end
		if i+1 < len(alerts) {
			until = alerts[i+1].Time
		}
		col, kind, label := colWarnSpan, legWarnSpan, "WARNING alert"
		if a.Severity == detect.Failure {
			col, kind, label = colFailSpan, legFailSpan, "FAILURE alert"
		}
		x0, x1 := unix(a.Time), unix(until)
		x1 = max(x1, x0+width.Seconds()/2)
		poly, err := c.rect(x0, x1, y.min, y.ribbon, col)
		if err != nil {
			return err
		}
		c.note(kind, label, poly)
	}
	return nil
}

// areas fills the normal band (where both its edges are set) and, if
// points hold several verdicts that differ, the range of each point.
func (c *chart) areas(l chartLines, spread bool) error {
	fill := func(segs []plotter.XYs, col color.Color, k legendKind, label string) error {
		for _, seg := range segs {
			poly, err := plotter.NewPolygon(seg)
			if err != nil {
				return err
			}
			poly.Color, poly.LineStyle.Width = col, 0
			c.p.Add(poly)
			c.note(k, label, poly)
		}
		return nil
	}
	if err := fill(pairSegments(l.bandLo, l.bandHi), colBand, legBand, "normal band"); err != nil {
		return err
	}
	if !spread {
		return nil
	}
	return fill(pairSegments(l.lo, l.hi), colEnvelope, legRange, "observed range per point (lowest to highest)")
}

// lines draws the baseline, the bounds and, on top, the observed values.
func (c *chart) lines(l chartLines) error {
	observed := "observed"
	if l.averaged {
		observed = "observed (mean per point)"
	}
	for _, s := range []struct {
		segs   []plotter.XYs
		col    color.Color
		width  float64
		dashed bool
		kind   legendKind
		label  string
	}{
		{l.base, colBaseline, 1, true, legBaseline, "baseline (expected)"},
		{l.warnLo, colWarnBound, 1, true, legWarnBound, sides("WARNING bound", l.warnLo, l.warnHi)},
		{l.warnHi, colWarnBound, 1, true, legWarnBound, sides("WARNING bound", l.warnLo, l.warnHi)},
		{l.failLo, colFailBound, 1, true, legFailBound, sides("FAILURE bound", l.failLo, l.failHi)},
		{l.failHi, colFailBound, 1, true, legFailBound, sides("FAILURE bound", l.failLo, l.failHi)},
		{l.obs, colObserved, 1.2, false, legObserved, observed},
	} {
		for _, seg := range s.segs {
			line, err := plotter.NewLine(seg)
			if err != nil {
				return err
			}
			line.Color, line.Width = s.col, vg.Points(s.width)
			if s.dashed {
				line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			c.p.Add(line)
			c.note(s.kind, s.label, line)
		}
	}
	return nil
}

// sides names a bound by the sides it is drawn on: "WARNING bound
// (upper)", or "WARNING bounds (lower, upper)".
func sides(name string, lo, hi []plotter.XYs) string {
	switch {
	case len(lo) > 0 && len(hi) > 0:
		return name + "s (lower, upper)"
	case len(lo) > 0:
		return name + " (lower)"
	}
	return name + " (upper)"
}

// items are the legend's entries for what was drawn.
func (c *chart) items() []legendItem {
	var out []legendItem
	for _, it := range c.legend {
		if it.label != "" {
			out = append(out, it)
		}
	}
	return out
}

// save writes the chart to path: the plot, and the legend in rows under
// it, outside the data so that it hides none of it.
func (c *chart) save(path string) error {
	sty := c.p.Legend.TextStyle
	sty.Font.Size = vg.Points(legendFont)
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YCenter
	rows := legendRows(c.items(), sty, chartWidth-2*vg.Points(legendMargin))
	rowHeight := sty.Font.Size * 1.5
	legendHeight := rowHeight*vg.Length(len(rows)) + vg.Points(legendMargin)
	height := chartHeight + legendHeight
	cv, err := draw.NewFormattedCanvas(chartWidth, height, strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), "."))
	if err != nil {
		return err
	}
	dc := draw.New(cv)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	c.p.Draw(draw.Crop(dc, 0, 0, legendHeight, 0))
	drawLegend(draw.Crop(dc, vg.Points(legendMargin), 0, 0, -chartHeight), sty, rowHeight, rows)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := cv.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// legendWidth is the room an entry takes in a row.
func legendWidth(it legendItem, sty text.Style) vg.Length {
	return vg.Points(legendThumb+legendGap) + sty.Width(it.label) + vg.Points(legendSpace)
}

// legendRows lays the entries out in rows of at most width.
func legendRows(items []legendItem, sty text.Style, width vg.Length) [][]legendItem {
	var rows [][]legendItem
	var used vg.Length
	for _, it := range items {
		w := legendWidth(it, sty)
		if len(rows) == 0 || used+w > width {
			rows, used = append(rows, nil), 0
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], it)
		used += w
	}
	return rows
}

// drawLegend draws the rows from the top of c down.
func drawLegend(c draw.Canvas, sty text.Style, rowHeight vg.Length, rows [][]legendItem) {
	y := c.Max.Y - rowHeight/2
	half := sty.Font.Size * 0.35
	for _, row := range rows {
		x := c.Min.X
		for _, it := range row {
			icon := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
				Min: vg.Point{X: x, Y: y - half}, Max: vg.Point{X: x + vg.Points(legendThumb), Y: y + half}}}
			it.thumb.Thumbnail(&icon)
			c.FillText(sty, vg.Point{X: x + vg.Points(legendThumb+legendGap), Y: y}, it.label)
			x += legendWidth(it, sty)
		}
		y -= rowHeight
	}
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
