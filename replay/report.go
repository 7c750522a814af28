package replay

import (
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// Span is a named stretch of time, such as a simulated incident.
type Span struct {
	Name       string
	Start, End time.Time
}

// Report is an HTML page of a replay: a summary per rule, and a chart per
// rule and group of what the rule judged over time (from a Tracer's
// buckets), with the band it compares with, and its alerts as shaded spans;
// under them the rule's block as configured.
type Report struct {
	Title  string
	Source string // what was replayed, in words
	From   time.Time
	To     time.Time
	Rules  []detect.Rule // as configured, in order
	Traces []*Trace
	Alerts []detect.Alert
	// Incidents are shaded grey (the simulator's ground truth).
	Incidents []Span
	// MaxGroups is the most charts drawn per rule (default 8): the groups
	// with the most alerts first.
	MaxGroups int
	// RuleBlocks are the rules' blocks as written (conf.Source.RuleBlocks),
	// shown under each rule's charts, matched by the rule's name: what a
	// chart shows is judged against what configured it.
	RuleBlocks []conf.RuleBlock
}

type reportChart struct {
	Title, File, Caption string
}

type reportRule struct {
	Name, Kind, Series, Anchor string
	Summary                    RuleSummary
	Charts                     []reportChart
	More                       int
	Note                       string
	// Config is the rule's block as written, and ConfigAt its file:line
	// ("" when the report has no block of that name).
	Config, ConfigAt string
}

// Write writes dir/index.html and one SVG per chart; it creates dir.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	maxGroups := r.MaxGroups
	if maxGroups <= 0 {
		maxGroups = 8
	}
	sums := Summarize(r.Rules, r.Alerts, r.To)
	byRule := map[string][]*Trace{}
	for _, tr := range r.Traces {
		byRule[tr.Rule.Spec().Name] = append(byRule[tr.Rule.Spec().Name], tr)
	}
	blocks := map[string]conf.RuleBlock{}
	for _, b := range r.RuleBlocks {
		blocks[b.Name] = b
	}
	var rules []reportRule
	for i, rule := range r.Rules {
		name := rule.Spec().Name
		rr := reportRule{Name: name, Kind: rule.Kind(), Series: rule.Spec().Describe(), Summary: sums[i],
			Anchor: fileName(name), Config: blocks[name].Text, ConfigAt: blocks[name].Pos.String()}
		traces := byRule[name]
		sort.SliceStable(traces, func(a, b int) bool { return len(traces[a].Alerts) > len(traces[b].Alerts) })
		if len(traces) == 0 {
			rr.Note = "No series of the replayed data matched this rule."
		}
		if len(traces) > maxGroups {
			rr.More = len(traces) - maxGroups
			traces = traces[:maxGroups]
		}
		sort.SliceStable(traces, func(a, b int) bool {
			return traces[a].Host+"\x00"+traces[a].Group < traces[b].Host+"\x00"+traces[b].Group
		})
		for _, tr := range traces {
			name := tr.Subject()
			if tr.Host != "" {
				name = tr.Host + "-" + name
			}
			file := fmt.Sprintf("%02d-%s.svg", i+1, fileName(name))
			title := tr.Subject() + " of " + hostOrAll(tr.Host)
			if err := r.chart(tr, title, filepath.Join(dir, file)); err != nil {
				return fmt.Errorf("chart of %s: %w", title, err)
			}
			rr.Charts = append(rr.Charts, reportChart{Title: title, File: file,
				Caption: fmt.Sprintf("%d alert notifications", len(tr.Alerts))})
		}
		rules = append(rules, rr)
	}
	f, err := os.Create(filepath.Join(dir, "index.html"))
	if err != nil {
		return err
	}
	data := struct {
		*Report
		Rules               []reportRule
		FromText, ToText    string
		AlertCount, Changes int
		IncidentText        []string
	}{Report: r, Rules: rules, FromText: r.From.UTC().Format(TimeFormat), ToText: r.To.UTC().Format(TimeFormat),
		AlertCount: len(r.Alerts), Changes: len(Changes(r.Alerts))}
	for _, in := range r.Incidents {
		data.IncidentText = append(data.IncidentText, fmt.Sprintf("%s: %s to %s", in.Name,
			in.Start.UTC().Format(TimeFormat), in.End.UTC().Format(TimeFormat)))
	}
	if err := pageTemplate.Execute(f, data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func fileName(s string) string {
	s = unsafeName.ReplaceAllString(s, "_")
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

var pageTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1100px; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.8em; text-align: left; }
td.n { text-align: right; }
img { width: 100%; max-width: 1000px; border: 1px solid #eee; }
code { background: #f4f4f4; padding: 0 0.2em; }
pre.conf { background: #f4f4f4; padding: 0.6em 1em; overflow-x: auto; max-width: 1000px; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>{{.Source}}<br>From {{.FromText}} to {{.ToText}} UTC. {{.Changes}} changes of alert level ({{.AlertCount}} notifications, with periodic reports and repeats).</p>
{{if .IncidentText}}<p>Incidents (grey along the top of every chart):</p><ul>{{range .IncidentText}}<li>{{.}}</li>{{end}}</ul>{{end}}
<table>
<tr><th>rule</th><th>kind</th><th>raised</th><th>reached FAILURE</th><th>time alerting</th></tr>
{{range .Rules}}<tr><td><a href="#{{.Anchor}}">{{.Name}}</a></td><td>{{.Kind}}</td><td class="n">{{.Summary.Raised}}</td><td class="n">{{.Summary.Failures}}</td><td class="n">{{.Summary.Alerting}}</td></tr>
{{end}}</table>
{{range .Rules}}
<h2 id="{{.Anchor}}">{{.Name}} <small>({{.Kind}})</small></h2>
<p>Series: <code>{{.Series}}</code></p>
{{if .Note}}<p>{{.Note}}</p>{{end}}
{{range .Charts}}<figure><img src="{{.File}}" alt="{{.Title}}"><figcaption>{{.Title}}: {{.Caption}}</figcaption></figure>
{{end}}{{if .More}}<p>{{.More}} more groups not drawn (the groups with the most alerts are).</p>{{end}}
{{if .Config}}<p>Configured in <code>{{.ConfigAt}}</code>:</p>
<pre class="conf">{{.Config}}</pre>{{end}}
{{end}}
</body>
</html>
`))
