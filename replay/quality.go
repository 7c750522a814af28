package replay

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/collectd-anomaly/collectd-anomaly/corpus"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// KindQuality is how the rules did on the series of one kind of anomaly.
type KindQuality struct {
	Kind             string
	Series, Labels   int
	Detected         int
	Delays           []time.Duration // of the anomalies detected, sorted
	FalseAlerts      int             // raised outside every label
	SeriesWeeks      float64
	Precision        float64 // detected / (detected + false), NaN without alerts
	MedianDelay, P95 time.Duration
}

// Recall is the share of the labelled anomalies detected.
func (q KindQuality) Recall() float64 {
	if q.Labels == 0 {
		return 1
	}
	return float64(q.Detected) / float64(q.Labels)
}

// FalsePerWeek is the false alerts per series and week.
func (q KindQuality) FalsePerWeek() float64 {
	if q.SeriesWeeks == 0 {
		return 0
	}
	return float64(q.FalseAlerts) / q.SeriesWeeks
}

// Quality replays every series of a labelled corpus alone through a new
// engine of rules and scores the alerts against the labels: an anomaly is
// detected when an alert is raised between its Start and its End (plus one
// interval, the slot that ends then), with the delay from Start; an alert
// raised anywhere else is false. Kinds come in corpus.Kinds order, with the
// total last.
func Quality(ctx context.Context, rules []detect.Rule, series []corpus.Series) ([]KindQuality, error) {
	byKind := map[string]*KindQuality{}
	total := &KindQuality{Kind: "all"}
	for _, s := range series {
		q := byKind[s.Kind()]
		if q == nil {
			q = &KindQuality{Kind: s.Kind()}
			byKind[q.Kind] = q
		}
		alerts, err := playSeries(ctx, rules, s)
		if err != nil {
			return nil, err
		}
		weeks := 0.0
		if n := len(s.Times); n > 1 {
			weeks = s.Times[n-1].Sub(s.Times[0]).Hours() / (7 * 24)
		}
		for _, k := range []*KindQuality{q, total} {
			k.Series++
			k.SeriesWeeks += weeks
			k.Labels += len(s.Labels)
		}
		found := make([]bool, len(s.Labels))
		for _, a := range alerts {
			if a.Severity == detect.OK || a.Repeat || a.Previous != detect.OK {
				continue
			}
			inLabel := false
			for i, l := range s.Labels {
				if !a.Time.Before(l.Start) && !a.Time.After(l.End.Add(s.Step)) {
					inLabel = true
					if !found[i] {
						found[i] = true
						for _, k := range []*KindQuality{q, total} {
							k.Detected++
							k.Delays = append(k.Delays, a.Time.Sub(l.Start))
						}
					}
				}
			}
			if !inLabel {
				q.FalseAlerts++
				total.FalseAlerts++
			}
		}
	}
	var out []KindQuality
	for _, k := range corpus.Kinds {
		if q := byKind[k]; q != nil {
			out = append(out, *q)
		}
	}
	out = append(out, *total)
	for i := range out {
		q := &out[i]
		slices.Sort(q.Delays)
		q.Precision = math.NaN()
		if n := q.Detected + q.FalseAlerts; n > 0 {
			q.Precision = float64(q.Detected) / float64(n)
		}
		q.MedianDelay, q.P95 = -1, -1
		if len(q.Delays) > 0 {
			q.MedianDelay = percentile(q.Delays, 0.5)
			q.P95 = percentile(q.Delays, 0.95)
		}
	}
	return out, nil
}

func playSeries(ctx context.Context, rules []detect.Rule, s corpus.Series) ([]detect.Alert, error) {
	id, err := metric.ParseIdentifier(s.Name)
	if err != nil {
		return nil, fmt.Errorf("corpus series %q: %v", s.Name, err)
	}
	rec := &Recording{}
	i := rec.AddSeries(id, "value", metric.Gauge, s.Step)
	for j, t := range s.Times {
		rec.Add(i, t, s.Values[j])
	}
	rec.Finish()
	sink := &Recorder{}
	e, err := detect.NewEngine(rules, detect.Options{Sink: sink})
	if err != nil {
		return nil, err
	}
	if _, err := rec.Play(ctx, e, PlayOptions{}); err != nil {
		return nil, err
	}
	return sink.Alerts(), nil
}

// WriteQuality prints the table of Quality.
func WriteQuality(w io.Writer, qs []KindQuality) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tseries\tanomalies\tdetected\trecall\tprecision\tmedian delay\tp95 delay\tfalse/series-week\t")
	for _, q := range qs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.0f%%\t%s\t%s\t%s\t%.3f\t\n", q.Kind, q.Series, q.Labels, q.Detected,
			100*q.Recall(), percentText(q.Precision), delayText(q.MedianDelay), delayText(q.P95), q.FalsePerWeek())
	}
	return tw.Flush()
}
