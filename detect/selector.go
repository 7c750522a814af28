package detect

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// Selector picks series by their identifier without host
// ("plugin[-instance]/type[-instance]"), written in one of three forms:
//
//	ecommerce/gauge-page-hits-total           exact
//	ecommerce/gauge-payment-provider-*.fraud  glob (*, ?, [...] as in path.Match)
//	/^ecommerce\/gauge-(page|asset)-hits-total$/  regular expression, collectd's /.../ form
//
// A regular expression may capture a group label: the group named "group" if
// there is one, otherwise the first capture group. Rules keep separate state
// per label (per payment provider, say) within each host.
type Selector struct {
	text  string
	exact string
	glob  string
	re    *regexp.Regexp
	label int // index of the capture group that labels the group, 0 if none
}

// ParseSelector compiles one of the three forms; the error names the pattern.
func ParseSelector(s string) (Selector, error) {
	sel := Selector{text: s}
	switch {
	case s == "":
		return Selector{}, fmt.Errorf("empty series selector")
	case len(s) >= 2 && strings.HasPrefix(s, "/") && strings.HasSuffix(s, "/"):
		re, err := regexp.Compile(s[1 : len(s)-1])
		if err != nil {
			return Selector{}, fmt.Errorf("series selector %q: %v", s, err)
		}
		sel.re = re
		if i := re.SubexpIndex("group"); i > 0 {
			sel.label = i
		} else if re.NumSubexp() > 0 {
			sel.label = 1
		}
	case strings.ContainsAny(s, "*?["):
		if _, err := path.Match(s, ""); err != nil {
			return Selector{}, fmt.Errorf("series selector %q: %v", s, err)
		}
		sel.glob = s
	default:
		if _, err := metric.ParseIdentifier(s); err != nil {
			return Selector{}, fmt.Errorf("series selector: %v", err)
		}
		sel.exact = s
	}
	return sel, nil
}

// MustSelector is ParseSelector for patterns known to be valid (tests, built-in rules).
func MustSelector(s string) Selector {
	sel, err := ParseSelector(s)
	if err != nil {
		panic(err)
	}
	return sel
}

func (s Selector) String() string { return s.text }

// Match reports whether the series (an Identifier.Series string) is selected,
// and the group label it captured. It allocates for regular expressions with
// captures; the engine calls it once per new series, never per value.
func (s Selector) Match(series string) (label string, ok bool) {
	switch {
	case s.re != nil:
		if s.label == 0 {
			return "", s.re.MatchString(series)
		}
		m := s.re.FindStringSubmatch(series)
		if m == nil {
			return "", false
		}
		return m[s.label], true
	case s.glob != "":
		ok, _ := path.Match(s.glob, series)
		return "", ok
	default:
		return "", series == s.exact
	}
}

// HostMatcher restricts a rule to some hosts: empty matches all; otherwise a
// glob or a /regex/, like a Selector but over the host name.
type HostMatcher struct {
	glob string
	re   *regexp.Regexp
}

// ParseHostMatcher compiles a host pattern; "" matches every host.
func ParseHostMatcher(s string) (HostMatcher, error) {
	if len(s) >= 2 && strings.HasPrefix(s, "/") && strings.HasSuffix(s, "/") {
		re, err := regexp.Compile(s[1 : len(s)-1])
		if err != nil {
			return HostMatcher{}, fmt.Errorf("host pattern %q: %v", s, err)
		}
		return HostMatcher{re: re}, nil
	}
	if _, err := path.Match(s, ""); err != nil {
		return HostMatcher{}, fmt.Errorf("host pattern %q: %v", s, err)
	}
	return HostMatcher{glob: s}, nil
}

// Match reports whether host is selected.
func (h HostMatcher) Match(host string) bool {
	switch {
	case h.re != nil:
		return h.re.MatchString(host)
	case h.glob == "":
		return true
	default:
		ok, _ := path.Match(h.glob, host)
		return ok
	}
}
