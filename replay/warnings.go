package replay

import (
	"fmt"
	"slices"
	"time"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// Warnings says what the rules will not do with a recording, before it is
// played: a selector that matches none of its series (a typo, or data of
// another naming), and a rule that can never judge, or judges another span
// than it says, at the interval of the series it reads (detect's
// IntervalChecker: a 5-minute window of 5-minute data is one slot, too few
// for a stddev). Each warning names the rule; a rule and interval are named
// once, with one of the series.
func Warnings(rules []detect.Rule, rec *Recording) []string {
	var out []string
	for _, rule := range rules {
		spec := rule.Spec()
		checker, _ := rule.(detect.IntervalChecker)
		checked := map[time.Duration]bool{}
		for _, in := range spec.Inputs {
			for _, sel := range in.Selectors {
				matched := false
				for i := range rec.Series {
					s := &rec.Series[i]
					if !spec.Hosts.Match(s.ID.Host) {
						continue
					}
					if _, ok := sel.Match(s.ID.Series()); !ok {
						continue
					}
					matched = true
					step := s.Interval
					if spec.Resolution > 0 {
						step = spec.Resolution
					}
					if checker == nil || checked[step] || step <= 0 {
						continue
					}
					checked[step] = true
					for _, p := range checker.CheckInterval(step) {
						out = append(out, fmt.Sprintf("rule %q at the %s interval of %s: %s", spec.Name, step, s.ID, p))
					}
				}
				if !matched {
					out = append(out, fmt.Sprintf("rule %q: %s %q matches no series of the data", spec.Name, in.Name, sel))
				}
			}
		}
	}
	return slices.Compact(out)
}
