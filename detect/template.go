package detect

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// MessageTemplate is a rule author's wording of the rule's notifications
// (the Message option): text with {field} placeholders filled from the
// alert, {{ and }} for literal braces. {message} is the rule's own message.
type MessageTemplate struct {
	source string
	parts  []templatePart
}

type templatePart struct {
	text  string
	name  string                // the field's name, empty for text
	field func(a *Alert) string // nil for text
}

// templateFields are the placeholders a Message may use.
var templateFields = map[string]func(a *Alert) string{
	"rule":     func(a *Alert) string { return a.Rule },
	"kind":     func(a *Alert) string { return a.Kind },
	"host":     func(a *Alert) string { return hostOrAll(a.Host) },
	"group":    func(a *Alert) string { return a.Group },
	"subject":  func(a *Alert) string { return a.Subject() },
	"series":   func(a *Alert) string { return a.Series },
	"severity": func(a *Alert) string { return a.Severity.String() },
	"previous": func(a *Alert) string { return a.Previous.String() },
	"time":     func(a *Alert) string { return a.Time.UTC().Format(time.RFC3339) },
	"observed": func(a *Alert) string { return formatNumber(a.Observed) },
	"observed_percent": func(a *Alert) string {
		return formatPercent(a.Observed)
	},
	"threshold": func(a *Alert) string { return formatNumber(a.Threshold) },
	"threshold_percent": func(a *Alert) string {
		return formatPercent(a.Threshold)
	},
	"baseline":    func(a *Alert) string { return formatNumber(a.Baseline) },
	"probability": func(a *Alert) string { return formatProbability(a.Probability) },
	"window":      func(a *Alert) string { return CompactDuration(a.Window) },
	"message":     func(a *Alert) string { return a.Message },
	"runbook":     func(a *Alert) string { return a.Runbook },
}

// TemplateFields lists the placeholders a Message may use, sorted.
func TemplateFields() []string {
	names := make([]string, 0, len(templateFields))
	for k := range templateFields {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// ParseMessageTemplate reads a Message option; an unknown or unclosed
// placeholder is an error that names it.
func ParseMessageTemplate(s string) (*MessageTemplate, error) {
	t := &MessageTemplate{source: s}
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			t.parts = append(t.parts, templatePart{text: text.String()})
			text.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '{' && strings.HasPrefix(s[i:], "{{"), c == '}' && strings.HasPrefix(s[i:], "}}"):
			text.WriteByte(c)
			i++
		case c == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unclosed { at character %d (write {{ for a brace)", i+1)
			}
			name := strings.TrimSpace(s[i+1 : i+end])
			key := strings.ToLower(name)
			f, ok := templateFields[key]
			if !ok {
				return nil, fmt.Errorf("unknown field {%s}; the fields are %s", name, strings.Join(TemplateFields(), ", "))
			}
			flush()
			t.parts = append(t.parts, templatePart{name: key, field: f})
			i += end
		case c == '}':
			return nil, fmt.Errorf("} without { at character %d (write }} for a brace)", i+1)
		default:
			text.WriteByte(c)
		}
	}
	flush()
	return t, nil
}

// String is the template as written.
func (t *MessageTemplate) String() string { return t.source }

// Render words alert a; a.Message is the rule's own message.
func (t *MessageTemplate) Render(a *Alert) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.field != nil {
			b.WriteString(p.field(a))
		} else {
			b.WriteString(p.text)
		}
	}
	return b.String()
}

// uses reports whether the template has placeholder name.
func (t *MessageTemplate) uses(name string) bool {
	return slices.ContainsFunc(t.parts, func(p templatePart) bool { return p.name == name })
}

// CompactDuration prints a duration as people write it: 5m for 5m0s, 1h
// for 1h0m0s, 1h30m, 10s.
func CompactDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// wordAlert applies the rule's Message and Runbook to a, whose Message is
// the rule's own: a runbook the template does not place ends the message.
func wordAlert(spec *RuleSpec, a *Alert) {
	a.Runbook = spec.Runbook
	if spec.Message != nil {
		a.Message = spec.Message.Render(a)
	}
	if spec.Runbook != "" && (spec.Message == nil || !spec.Message.uses("runbook")) {
		a.Message += RunbookSuffix(spec.Runbook)
	}
}

// RunbookSuffix is how a message that does not place its rule's runbook
// ends with it.
func RunbookSuffix(runbook string) string { return " Runbook: " + runbook }
