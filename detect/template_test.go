package detect

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func templateAlert() *Alert {
	return &Alert{
		Time: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), Severity: Failure, Previous: OK,
		Rule: "web-failed-requests", Kind: "ratio", Host: "shop-1", Group: "page", Series: "a / b",
		Observed: 0.1234, Threshold: 0.1, Baseline: math.NaN(), Probability: 1.5e-6, Window: 5 * time.Minute,
		Message: "FAILURE: the rule's own words", Runbook: "https://wiki/runbooks/pages",
	}
}

// Every field of a Message is filled from the alert; braces are escaped
// by doubling; NaN reads n/a.
func TestMessageTemplateFillsEveryField(t *testing.T) {
	tpl, err := ParseMessageTemplate("{severity} ({previous} before) {rule}/{kind} on {host} [{group}] {subject}: " +
		"{observed_percent} > {threshold_percent} ({observed} > {threshold}, baseline {baseline}, p {probability}) " +
		"over {window} at {time} of {series}; {{literal}} {message} see {runbook}")
	require.NoError(t, err)
	assert.Equal(t, "FAILURE (OKAY before) web-failed-requests/ratio on shop-1 [page] web-failed-requests[page]: "+
		"12.3% > 10% (0.1234 > 0.1, baseline n/a, p 1.5e-06) over 5m at 2026-12-02T10:00:00Z of a / b; "+
		"{literal} FAILURE: the rule's own words see https://wiki/runbooks/pages", tpl.Render(templateAlert()))
	a := templateAlert()
	a.Host = ""
	tpl, err = ParseMessageTemplate("{HOST}")
	require.NoError(t, err)
	assert.Equal(t, "all hosts", tpl.Render(a), "field names in any case; an aggregate rule's host")
}

func TestMessageTemplateErrorsNameTheProblem(t *testing.T) {
	for text, want := range map[string]string{
		"{rule} is {state}": "unknown field {state}; the fields are baseline, group, host, kind, message, ",
		"{rule":             "unclosed { at character 1",
		"a } b":             "} without { at character 3",
	} {
		_, err := ParseMessageTemplate(text)
		require.Error(t, err, text)
		assert.Contains(t, err.Error(), want, text)
	}
}

// A rule's Message words its notifications; its Runbook ends the message
// unless the Message places it.
func TestRuleMessageAndRunbook(t *testing.T) {
	run := func(message, runbook string) []Alert {
		rule := failedShareRule(t, func(s *RuleSpec) {
			if message != "" {
				tpl, err := ParseMessageTemplate(message)
				require.NoError(t, err)
				s.Message = tpl
			}
			s.Runbook = runbook
		})
		rec := &recorder{}
		e, err := NewEngine([]Rule{rule}, Options{Sink: rec})
		require.NoError(t, err)
		for step := 0; step < 100; step++ {
			feed(e, "h", step, 100, incidentErrors(step))
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.alerts
	}
	plain := run("", "")
	require.Len(t, plain, 2)
	templated := run("{severity}: {observed_percent} of the requests of {host} fail ({message})", "")
	require.Len(t, templated, 2)
	assert.Equal(t, "FAILURE: 17.3% of the requests of h fail ("+plain[0].Message+")", templated[0].Message)
	assert.Equal(t, "OKAY: 1% of the requests of h fail ("+plain[1].Message+")", templated[1].Message)

	linked := run("", "https://wiki/failed")
	assert.Equal(t, plain[0].Message+" Runbook: https://wiki/failed", linked[0].Message)
	assert.Equal(t, "https://wiki/failed", linked[0].Runbook)
	placed := run("{rule}: see {runbook}", "https://wiki/failed")
	assert.Equal(t, "failed: see https://wiki/failed", placed[1].Message)
}
