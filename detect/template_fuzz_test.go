package detect

import (
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzMessageTemplate: no Message option makes ParseMessageTemplate or
// Render panic; a template is refused or renders every alert, a text
// without braces renders as itself, and a template and an alert of valid
// UTF-8 render valid UTF-8 (numbers, NaN and infinities included).
func FuzzMessageTemplate(f *testing.F) {
	f.Add("{severity}: {subject} on {host}: {observed_percent} above {threshold_percent} ({message}) {{literal}} {runbook}", "web-failed-requests", "page", "shop-1", 0.4, 0.1, int64(300e9), int64(1795780800123456789))
	f.Add("{ rule }{KIND}{time}{window}{probability}{baseline}{series}{previous}{group}", "r", "", "", math.NaN(), math.Inf(1), int64(-1), int64(math.MinInt64))
	f.Add("{", "r", "g", "h", 0.0, 0.0, int64(0), int64(0))
	f.Add("}}}", "r", "g", "h", 0.0, 0.0, int64(0), int64(0))
	f.Add("{{{observed}}}", "\xff", "\xfe", "日本", -1e308, 5e-324, int64(math.MaxInt64), int64(math.MaxInt64))
	f.Add("{unknown}", "r", "g", "h", 0.0, 0.0, int64(0), int64(0))
	f.Fuzz(func(t *testing.T, tmpl, rule, group, host string, observed, threshold float64, window, ns int64) {
		m, err := ParseMessageTemplate(tmpl)
		if err != nil {
			if m != nil {
				t.Fatal("a template and an error")
			}
			return
		}
		if m.String() != tmpl {
			t.Fatalf("String %q, want %q", m.String(), tmpl)
		}
		a := &Alert{Time: time.Unix(0, ns), Severity: Failure, Previous: OK, Rule: rule, Kind: "ratio", Host: host, Group: group,
			Series: "a/b", Observed: observed, Threshold: threshold, Baseline: math.NaN(), Probability: observed,
			Window: time.Duration(window), Message: "the rule's own", Runbook: "https://wiki"}
		got := m.Render(a)
		if !strings.ContainsAny(tmpl, "{}") && got != tmpl {
			t.Fatalf("%q renders as %q", tmpl, got)
		}
		valid := utf8.ValidString(tmpl) && utf8.ValidString(rule) && utf8.ValidString(group) && utf8.ValidString(host)
		if valid && !utf8.ValidString(got) {
			t.Fatalf("%q renders as %q: not UTF-8", tmpl, got)
		}
	})
}
