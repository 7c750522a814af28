package replay

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// Changes keeps the alerts that change a level: it leaves out repeats and the
// periodic reports (health) that repeat the level of the one before.
func Changes(alerts []detect.Alert) []detect.Alert {
	var out []detect.Alert
	for _, a := range alerts {
		if a.Repeat || a.Severity == a.Previous {
			continue
		}
		out = append(out, a)
	}
	return out
}

// TimeFormat is how tables print times (UTC).
const TimeFormat = "2006-01-02 15:04:05"

// WriteAlertTable prints alerts as a table: time, severity, host, message
// (without its leading severity, which has a column).
func WriteAlertTable(w io.Writer, alerts []detect.Alert) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME (UTC)\tSEVERITY\tHOST\tALERT")
	for _, a := range alerts {
		msg := strings.TrimPrefix(a.Message, a.Severity.String()+": ")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Time.UTC().Format(TimeFormat), a.Severity, hostOrAll(a.Host), msg)
	}
	return tw.Flush()
}

func hostOrAll(h string) string {
	if h == "" {
		return "(all)"
	}
	return h
}

// alertJSON is the JSON form of an alert: the notification's fields and
// meta data, numbers that are not set as null.
type alertJSON struct {
	Time      string   `json:"time"`
	Severity  string   `json:"severity"`
	Previous  string   `json:"previous"`
	Repeat    bool     `json:"repeat,omitempty"`
	Rule      string   `json:"rule"`
	Kind      string   `json:"kind"`
	Host      string   `json:"host"`
	Group     string   `json:"group,omitempty"`
	Series    string   `json:"series"`
	Observed  *float64 `json:"observed"`
	Threshold *float64 `json:"threshold"`
	Baseline  *float64 `json:"baseline"`
	Window    float64  `json:"window_seconds"`
	Message   string   `json:"message"`
	Runbook   string   `json:"runbook,omitempty"`
}

func number(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// WriteAlertJSON writes one JSON object per alert and line.
func WriteAlertJSON(w io.Writer, alerts []detect.Alert) error {
	enc := json.NewEncoder(w)
	for _, a := range alerts {
		err := enc.Encode(alertJSON{
			Time: a.Time.UTC().Format(time.RFC3339Nano), Severity: a.Severity.String(), Previous: a.Previous.String(),
			Repeat: a.Repeat, Rule: a.Rule, Kind: a.Kind, Host: a.Host, Group: a.Group, Series: a.Series,
			Observed: number(a.Observed), Threshold: number(a.Threshold), Baseline: number(a.Baseline),
			Window: a.Window.Seconds(), Message: a.Message, Runbook: a.Runbook,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// RuleSummary is what one rule did over a replay.
type RuleSummary struct {
	Rule, Kind string
	// Raised counts onsets (OK to WARNING or FAILURE); Failures those that
	// reached FAILURE at some point before recovering.
	Raised, Failures int
	// Alerting is the time spent in WARNING or FAILURE (until the end of the
	// replay for an alert still raised).
	Alerting time.Duration
}

// Summarize sums up the alerts per rule (every rule, in order, whether it
// alerted or not), up to end.
func Summarize(rules []detect.Rule, alerts []detect.Alert, end time.Time) []RuleSummary {
	type key struct{ rule, host, group string }
	since := map[key]time.Time{}
	worst := map[key]detect.Level{}
	byRule := map[string]*RuleSummary{}
	out := make([]RuleSummary, len(rules))
	for i, r := range rules {
		out[i] = RuleSummary{Rule: r.Spec().Name, Kind: r.Kind()}
		byRule[out[i].Rule] = &out[i]
	}
	for _, a := range alerts {
		s := byRule[a.Rule]
		if s == nil {
			continue
		}
		k := key{a.Rule, a.Host, a.Group}
		switch {
		case a.Severity > detect.OK && a.Previous == detect.OK && !a.Repeat:
			s.Raised++
			since[k] = a.Time
			worst[k] = a.Severity
		case a.Severity == detect.OK && a.Previous > detect.OK:
			if t, ok := since[k]; ok {
				s.Alerting += a.Time.Sub(t)
				if worst[k] == detect.Failure {
					s.Failures++
				}
				delete(since, k)
			}
		case a.Severity > worst[k]:
			worst[k] = a.Severity
		}
	}
	for k, t := range since {
		s := byRule[k.rule]
		s.Alerting += end.Sub(t)
		if worst[k] == detect.Failure {
			s.Failures++
		}
	}
	return out
}

// WriteSummary prints the per-rule summary as a table.
func WriteSummary(w io.Writer, sums []RuleSummary) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tKIND\tRAISED\tFAILURES\tTIME ALERTING")
	for _, s := range sums {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", s.Rule, s.Kind, s.Raised, s.Failures, s.Alerting.Round(time.Second))
	}
	return tw.Flush()
}

// WriteTable prints the evaluation as a table.
func (ev *Evaluation) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tINCIDENT\tCHANGE\tN\tRECALL\tDELAY p50\tDELAY p95\tFALSE/WEEK")
	for _, r := range ev.Rows {
		name := expectation{r.Rule, r.Group}.String()
		if r.Incident == "" {
			fmt.Fprintf(tw, "%s\t-\t\t\t\t\t\t%s\n", name, perWeekText(r.FalsePerWeek))
			continue
		}
		if r.NoSuchRule {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t(no such rule)\t\t\t\n", name, r.Incident, r.Change, r.Incidents)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", name, r.Incident, r.Change, r.Incidents,
			percentText(r.Recall), delayText(r.DelayP50), delayText(r.DelayP95), perWeekText(r.FalsePerWeek))
	}
	return tw.Flush()
}

// WriteCSV writes the evaluation as CSV, durations in seconds.
func (ev *Evaluation) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"rule", "group", "incident", "change", "incidents", "detected", "recall",
		"delay_p50_s", "delay_p95_s", "false_alerts", "false_per_week", "runs", "simulated_hours"})
	f := func(x float64) string {
		if math.IsNaN(x) {
			return ""
		}
		return strconv.FormatFloat(x, 'g', 6, 64)
	}
	d := func(x time.Duration) string {
		if x < 0 {
			return ""
		}
		return f(x.Seconds())
	}
	hours := f(float64(len(ev.Runs)) * ev.Scenario.Length.Hours())
	for _, r := range ev.Rows {
		incidents, detected := strconv.Itoa(r.Incidents), strconv.Itoa(r.Detected)
		if r.Incident == "" {
			incidents, detected = "", ""
		}
		_ = cw.Write([]string{r.Rule, r.Group, r.Incident, r.Change, incidents, detected, f(r.Recall),
			d(r.DelayP50), d(r.DelayP95), strconv.Itoa(r.FalseAlerts), f(r.FalsePerWeek), strconv.Itoa(len(ev.Runs)), hours})
	}
	cw.Flush()
	return cw.Error()
}

func percentText(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return strconv.FormatFloat(100*x, 'f', 0, 64) + "%"
}

func delayText(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return shortDuration(d.Round(time.Second))
}

func perWeekText(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}
