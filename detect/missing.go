package detect

import (
	"fmt"
	"math"
	"time"
)

// DefaultMissingIntervals is the timeout of a MissingRule whose Timeout is
// zero, in slots (collectd intervals): collectd's own "missing" handling
// (Timeout of the threshold plugin) waits 2 intervals; one more tolerates a
// read that is late once without paging anyone.
const DefaultMissingIntervals = 3

// MissingRule is a dead man's switch: it raises a FAILURE when none of the
// series it selects has sent a value for longer than Timeout - the host, the
// application or the network between them is down - and an OKAY when values
// arrive again. It is what Riemann's expired events and collectd's "missing"
// notifications do, for any set of series:
//
//	<Missing "shop-alive">
//	  Series "ecommerce/gauge-page-hits-total" "ecommerce/gauge-new-sessions"
//	  Timeout 30
//	</Missing>
//
// Grouping: like every rule it judges each host on its own, so by default one
// alert per host (and capture-group label) is raised when NONE of the host's
// matching series has arrived for Timeout; with PerSeries each series is its
// own group (its name is the label) and a single silent series alerts. With
// AggregateHosts the alert means that no host at all sends.
//
// Silence is measured from the middle of the last slot that received a value
// (the group's slots are centred on its first value, so regular values sit
// there) to the end of the slot judged: after e empty slots it is
// (e + 1/2) x slot width. A slot is a FAILURE when e >= 1 and that silence
// is longer than Timeout, and OK as soon as a slot has a value again. There is
// no hysteresis: data arriving or not is not a noisy measurement (Hits and
// MinDuration apply as for every rule, for a source that comes and goes).
//
// Timing, in the host's own time: a slot is judged when the host's clock has
// passed its end by the allowed lateness (AllowedLateness, default 2
// intervals), so that values late by less still count. While the host sends
// other series its clock is its newest value time; when it sends nothing at
// all, its clock is carried forward by its silence (the longer of the wall
// clock since its last value arrived, and how far it fell behind the other
// hosts: see Engine.Tick). With the default Timeout (3 slots of 10 s) and a
// last value at time t in the middle of slot L, slot L+3 is the first silent
// one (silence 35 s > 30 s); its end is t + 35 s, so the FAILURE is sent at
// t + 55 s (judged by the read callback, once an interval: up to one interval
// later live). In general the first silent slot is L+e, e the smallest e >= 1
// with (e + 1/2) x step > Timeout, and the notification comes at
// t + (e + 1/2) x step + lateness. It names the last value's time and how long
// before the notification that was. The OKAY comes when the slot of the first
// new value is judged: with that value, or the lateness after it.
//
// Limits: a group only exists once one of its series has sent a value, so a
// series never seen since collectd started cannot be missed (configure the
// rule on a central collectd that outlives the hosts it watches); and the
// state is in memory, so a host that died before a restart of collectd is
// not reported after it.
//
// Default: Timeout 0, meaning DefaultMissingIntervals slots (30 s at collectd's
// default interval of 10 s).
type MissingRule struct {
	RuleSpec
	// Timeout is how long the series may be silent; zero means
	// DefaultMissingIntervals slot widths.
	Timeout time.Duration
}

// NewMissingRule builds a dead man's switch over series; Inputs[0] is the series.
func NewMissingRule(spec RuleSpec, series []Selector, timeout time.Duration) (*MissingRule, error) {
	spec.Inputs = []Input{{Name: "Series", Selectors: series}}
	r := &MissingRule{RuleSpec: spec, Timeout: timeout}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if timeout < 0 {
		return nil, settingError(spec.Name, "Timeout", "must not be negative")
	}
	return r, nil
}

// Kind implements Rule.
func (r *MissingRule) Kind() string { return "missing" }

// NewState implements Rule.
func (r *MissingRule) NewState(clock SlotClock) RuleState {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultMissingIntervals * clock.Step
	}
	s := &missingState{clock: clock, timeout: timeout}
	// the first silent slot: (e + 1/2) * step > timeout, e >= 1
	s.emptySlots = max(int64((timeout-clock.Step/2)/clock.Step)+1, 1)
	return s
}

// Message implements Rule: "FAILURE: shop-alive: no values of
// ecommerce/gauge-page-hits-total from shop-1 since 12:00:05 UTC, 55s ago
// (timeout 30s)" - in the host's own time.
func (r *MissingRule) Message(a *Alert, v *Verdict) string {
	what := a.Series
	if r.PerSeries && a.Group != "" {
		what = a.Group
	}
	from := a.Host
	if from == "" {
		from = "any host"
	}
	timeout := time.Duration(v.Threshold * float64(time.Second))
	if a.Severity == OK {
		return fmt.Sprintf("%s: %s: values of %s from %s arrive again (timeout %s)",
			a.Severity, a.Subject(), what, from, timeout)
	}
	since := a.Time.Sub(v.LastValue).Round(time.Millisecond)
	return fmt.Sprintf("%s: %s: no values of %s from %s since %s, %s ago (timeout %s)",
		a.Severity, a.Subject(), what, from, v.LastValue.UTC().Format("2006-01-02 15:04:05 UTC"), since, timeout)
}

type missingState struct {
	clock      SlotClock
	timeout    time.Duration
	emptySlots int64 // empty slots after the last value that make a FAILURE
	seen       bool
	last       int64 // newest slot that received a value
}

func (s *missingState) Add(_ int, slot int64, _ float64) {
	if !s.seen || slot > s.last {
		s.seen, s.last = true, slot
	}
}

// Span: after a gap longer than this, judging the last slots is enough (the
// state is only the slot of the last value).
func (s *missingState) Span() int64 { return s.emptySlots + 1 }

func (s *missingState) Evaluate(slot int64, _ Level) Verdict {
	v := undecided()
	if !s.seen {
		return v
	}
	step := s.clock.Step
	empty := max(slot-s.last, 0)
	silence := time.Duration(empty)*step + step/2
	v.LastValue = s.clock.Start(s.last).Add(step / 2)
	v.Decided = true
	if empty >= s.emptySlots {
		v.Level = Failure
	}
	v.Observed = silence.Seconds()
	v.Threshold = s.timeout.Seconds()
	v.Window = s.timeout
	return v
}

// saveState keeps the slot of the last value: a host silent before a
// restart is still silent after it.
func (s *missingState) saveState(e *stateEncoder) {
	e.bool(s.seen)
	e.int(s.last)
}

func (s *missingState) loadState(d *stateDecoder) { s.seen, s.last = d.bool(), d.int() }

// memory is the timeout: a restart that took longer must not read as the
// host's silence.
func (s *missingState) memory(time.Duration) time.Duration { return s.timeout }

// ChartUnit implements Charted.
func (r *MissingRule) ChartUnit() string { return "silence (seconds)" }

// ChartValues implements Charted: the silence and the timeout (the
// default's too, in the verdict).
func (r *MissingRule) ChartValues(v *Verdict) (obs, base, aux float64) {
	return v.Observed, math.NaN(), v.Threshold
}

// ChartBand implements Charted: a silence past the timeout is a FAILURE
// (the rule has no WARNING); Timeout 0 is a number of the series'
// intervals, the verdict's.
func (r *MissingRule) ChartBand(_, aux float64) Band {
	b := NoBand()
	switch {
	case r.Timeout > 0:
		b.FailHi = r.Timeout.Seconds()
	case aux > 0:
		b.FailHi = aux
	}
	return b
}

// Score implements Charted: silence / timeout.
func (r *MissingRule) Score(v *Verdict) float64 {
	u := math.NaN()
	if v.Threshold > 0 {
		u = v.Observed / v.Threshold
	}
	return scoreOf(v, u)
}
