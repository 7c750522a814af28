package detect

// The words and numbers of alert messages, shared by the kinds; each kind's
// Message, in its own file, says what its verdict means.

import (
	"math"
	"strconv"
	"time"
)

// formatNumber prints a number compactly for messages (up to 4 significant digits).
func formatNumber(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return strconv.FormatFloat(x, 'g', 4, 64)
}

// formatPercent prints a share in percent.
func formatPercent(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return strconv.FormatFloat(100*x, 'g', 3, 64) + "%"
}

// formatProbability prints a tail probability with two digits.
func formatProbability(p float64) string {
	switch {
	case math.IsNaN(p):
		return "n/a"
	case p == 0:
		return "<1e-300"
	}
	return strconv.FormatFloat(p, 'g', 2, 64)
}

// hostOrAll names the host of an alert, or all hosts for a rule across them.
func hostOrAll(host string) string {
	if host == "" {
		return "all hosts"
	}
	return host
}

// seasonText names a season for messages: "the daily profile".
func seasonText(season time.Duration) string {
	switch season {
	case 24 * time.Hour:
		return "the daily profile"
	case 7 * 24 * time.Hour:
		return "the weekly profile"
	}
	return "the profile of " + season.String()
}

// side words where an observed value stands against its threshold: ok
// when the alert ends, else above or below.
func side(a *Alert, v *Verdict, ok, above, below string) string {
	switch {
	case a.Severity == OK:
		return ok
	case v.Observed > v.Threshold:
		return above
	}
	return below
}
