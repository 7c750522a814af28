package conf

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"collectd.org/config"
)

// where names a block for error messages: <Ratio "web-failed-requests">.
func where(b config.Block) string {
	if len(b.Values) == 0 {
		return "<" + b.Key + ">"
	}
	return "<" + b.Key + " " + valuesText(b.Values) + ">"
}

// valuesText writes values back the way a configuration file has them.
func valuesText(values []config.Value) string {
	var out []string
	for _, v := range values {
		switch x := v.Interface().(type) {
		case string:
			out = append(out, strconv.Quote(x))
		case float64:
			out = append(out, strconv.FormatFloat(x, 'g', -1, 64))
		case bool:
			out = append(out, strconv.FormatBool(x))
		}
	}
	return strings.Join(out, " ")
}

func is(c config.Block, key string) bool { return strings.EqualFold(c.Key, key) }

func noChildren(c config.Block) error {
	if len(c.Children) > 0 {
		return optionError(c, "takes no block")
	}
	return nil
}

func oneString(c config.Block) (string, error) {
	if err := noChildren(c); err != nil {
		return "", err
	}
	if len(c.Values) != 1 || !c.Values[0].IsString() {
		return "", optionError(c, "want one string in quotes")
	}
	return c.Values[0].String(), nil
}

func oneNumber(c config.Block) (float64, error) {
	if err := noChildren(c); err != nil {
		return 0, err
	}
	if len(c.Values) != 1 {
		return 0, optionError(c, "want one number")
	}
	f, ok := c.Values[0].Float64()
	if text := c.Values[0].String(); !ok && strings.ContainsAny(text, "eE") {
		if _, err := strconv.ParseFloat(text, 64); err == nil {
			// collectd's parser wants a decimal point and a signed exponent.
			return 0, optionError(c, "want one number: collectd reads %s as text; write it with a decimal point and a signed exponent (1.0e-06) or in full (0.000001)", text)
		}
	}
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, optionError(c, "want one number")
	}
	return f, nil
}

func nonNegative(c config.Block) (float64, error) {
	f, err := oneNumber(c)
	if err == nil && f < 0 {
		err = optionError(c, "must not be negative")
	}
	return f, err
}

func oneInt(c config.Block, lo int) (int, error) {
	f, err := oneNumber(c)
	if err != nil {
		return 0, err
	}
	if f != math.Trunc(f) || f < float64(lo) || f > math.MaxInt32 {
		return 0, optionError(c, "want a whole number from %d to %d", lo, math.MaxInt32)
	}
	return int(f), nil
}

func oneBool(c config.Block) (bool, error) {
	if err := noChildren(c); err != nil {
		return false, err
	}
	if len(c.Values) == 1 {
		if b, ok := c.Values[0].Bool(); ok {
			return b, nil
		}
	}
	return false, optionError(c, "want true or false")
}

const wantDuration = "want one duration: seconds, or a string like \"5m\" or \"1d\""

// duration reads seconds as a number (collectd's convention) or a Go duration
// string such as "5m" or "1h30m".
func duration(c config.Block) (time.Duration, error) {
	if err := noChildren(c); err != nil {
		return 0, err
	}
	if len(c.Values) != 1 {
		return 0, optionError(c, wantDuration)
	}
	var d time.Duration
	if f, ok := c.Values[0].Float64(); ok {
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e9 {
			return 0, optionError(c, wantDuration)
		}
		d = time.Duration(f * float64(time.Second))
	} else {
		var err error
		if d, err = parseUnits(c.Values[0].String()); err != nil {
			if errors.Is(err, errTooLong) {
				return 0, optionError(c, "must be at most 100 years")
			}
			return 0, optionError(c, wantDuration)
		}
	}
	if d < 0 {
		return 0, optionError(c, "must not be negative")
	}
	return d, nil
}

// ParseDuration reads a duration as the configuration and the command line
// write it: a number of seconds ("90", "1.5"), or Go's units with days and
// weeks added ("30m", "1h30m", "2d", "1w", "1d12h", "1.5d").
func ParseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		if math.Abs(f) > maxDuration.Seconds() {
			return 0, fmt.Errorf("duration %q: %w", s, errTooLong)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	return parseUnits(s)
}

// parseUnits reads a duration with units, days and weeks included: in the
// configuration a quoted number without a unit is a mistake (seconds are
// written unquoted).
func parseUnits(s string) (time.Duration, error) {
	bad := fmt.Errorf("duration %q: want seconds, or a string like 90s, 30m, 6h, 2d or 1w", s)
	tooLong := fmt.Errorf("duration %q: %w", s, errTooLong)
	rest, neg := strings.CutPrefix(s, "-")
	var d time.Duration
	// Days and weeks lead: "1w2d3h" is 1w, 2d and "3h" for time.ParseDuration.
	for rest != "" {
		i := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if i <= 0 || (rest[i] != 'd' && rest[i] != 'w') {
			break
		}
		f, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, bad
		}
		unit := 24 * time.Hour
		if rest[i] == 'w' {
			unit *= 7
		}
		if !(f*float64(unit) <= float64(maxDuration)-float64(d)) {
			return 0, tooLong
		}
		d += time.Duration(f * float64(unit))
		rest = rest[i+1:]
	}
	if rest != "" || d == 0 && !strings.ContainsAny(s, "dw") {
		more, err := time.ParseDuration(rest)
		signed := strings.HasPrefix(rest, "-") || strings.HasPrefix(rest, "+")
		switch {
		case err != nil && !signed && strings.Contains(err.Error(), "overflow"): // past 292 years
			return 0, tooLong
		case err != nil || signed:
			return 0, bad
		case more > maxDuration-d:
			return 0, tooLong
		}
		d += more
	}
	if neg {
		d = -d
	}
	return d, nil
}

var errTooLong = errors.New("longer than 100 years")

// maxDuration is the longest duration read: 100 years, far from where
// time.Duration (292 years) overflows into a negative one.
const maxDuration = 100 * 365 * 24 * time.Hour

func positiveDuration(c config.Block) (time.Duration, error) {
	d, err := duration(c)
	if err == nil && d == 0 {
		err = optionError(c, "must be more than zero")
	}
	return d, err
}

// blockName reads the single string argument of a block such as <Ratio "name">.
func blockName(b config.Block) (string, error) {
	if len(b.Values) != 1 || !b.Values[0].IsString() || b.Values[0].String() == "" {
		return "", fmt.Errorf("%s: want one name in quotes, like <%s \"my-rule\">", where(b), b.Key)
	}
	return b.Values[0].String(), nil
}
