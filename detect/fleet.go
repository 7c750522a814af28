package detect

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"
)

// StateSuffix ends the name of the derived series a rule's alert level is
// dispatched as when the engine's Options.States is set:
// anomaly[-<group>]/gauge-<rule>-state, 0 OK, 1 WARNING, 2 FAILURE.
const StateSuffix = "-state"

// StateSelector selects the state series of rule name from every host,
// capturing the rule's group (the plugin instance after "anomaly-").
func StateSelector(name string) Selector {
	return MustSelector("/^anomaly(?:-(?P<group>[^/]+))?/gauge-" + regexp.QuoteMeta(name+StateSuffix) + "$/")
}

// FleetRule is a rule over hosts: it counts the hosts whose rule Rule is
// raised, from the state series their own collectd dispatches (Options.States
// at the edges, forwarded by collectd's network plugin), and alerts when at
// least FailureHosts (WarningHosts) of them, or FailureShare (WarningShare) of
// the hosts it hears from, are:
//
//	<Fleet "fleet-failed-requests">
//	  Rule "web-failed-requests"
//	  FailureHosts 2
//	  FailureShare 0.5
//	</Fleet>
//
// Why states and not notifications: a notification is sent once, when an
// alert changes; one lost on a cut link, or sent before the aggregator
// started, leaves the aggregator wrong until the next change. A state is sent
// every slot: the aggregator learns every host's level within a slot of
// hearing from it again, and a host it stops hearing from is forgotten after
// Expire - it counts neither as raised nor among the hosts the share is taken
// of. Its silence is the business of a <Missing> rule, which reports it once.
//
// One state per group of the edges' rule (its capture group: page, asset),
// since the state series carry it as plugin instance. The rule always
// aggregates hosts. A host is raised when its level is at least MinSeverity
// (WARNING by default). The share is judged only while at least MinHosts
// hosts report, so that two hosts left of twenty are not "100% of the fleet".
//
// Verdict: Observed is the number of raised hosts, Denominator the hosts
// reporting, Numerator the raised ones again, and Threshold the number of
// hosts that makes the level reached (or the first alert, if OK): a share is
// turned into hosts of those reporting. Reason names the raised hosts.
type FleetRule struct {
	RuleSpec
	// Rule is the name of the edges' rule whose states are counted.
	Rule string
	// WarningHosts and FailureHosts: at least this many raised hosts (0: unset).
	WarningHosts, FailureHosts int
	// WarningShare and FailureShare: at least this share of the hosts
	// reporting (0: unset).
	WarningShare, FailureShare float64
	// MinHosts is how many hosts must report for the share to be judged.
	MinHosts int
	// MinSeverity is the level of a host's rule that counts as raised.
	MinSeverity Level
	// Expire is how long a host's last state counts; zero means
	// DefaultMissingIntervals slot widths.
	Expire time.Duration
}

// NewFleetRule builds a fleet rule; its input is StateSelector(rule).
func NewFleetRule(spec RuleSpec, rule string, f FleetRule) (*FleetRule, error) {
	spec.AggregateHosts = true
	spec.PerSeries = false
	spec.Inputs = []Input{{Name: "States", Selectors: []Selector{StateSelector(rule)}}}
	f.RuleSpec, f.Rule = spec, rule
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	switch {
	case rule == "":
		return nil, settingError(spec.Name, "Rule", "names no rule")
	case rule == spec.Name:
		return nil, settingError(spec.Name, "Rule", "names the fleet rule itself")
	case f.WarningHosts < 0 || f.FailureHosts < 0 || f.MinHosts < 0:
		return nil, settingError(spec.Name, "", "WarningHosts, FailureHosts and MinHosts must not be negative")
	case !(f.WarningShare >= 0 && f.WarningShare <= 1 && f.FailureShare >= 0 && f.FailureShare <= 1):
		return nil, settingError(spec.Name, "WarningShare", "and FailureShare must be between 0 and 1")
	case f.WarningHosts == 0 && f.FailureHosts == 0 && f.WarningShare == 0 && f.FailureShare == 0:
		return nil, settingError(spec.Name, "", "set at least one of WarningHosts, FailureHosts, WarningShare, FailureShare")
	case f.Expire < 0:
		return nil, settingError(spec.Name, "Expire", "must not be negative")
	}
	if f.MinSeverity == OK {
		f.MinSeverity = Warning
	}
	if f.MinHosts == 0 {
		f.MinHosts = 1
	}
	return &f, nil
}

// Kind implements Rule.
func (r *FleetRule) Kind() string { return "fleet" }

// NewState implements Rule.
func (r *FleetRule) NewState(clock SlotClock) RuleState {
	expire := r.Expire
	if expire <= 0 {
		expire = DefaultMissingIntervals * clock.Step
	}
	return &fleetState{rule: r, expire: int64(slotsFor(expire, clock.Step)), window: expire, hosts: map[string]*fleetHost{}}
}

// Message implements Rule: "FAILURE: fleet-failed-requests[page]:
// web-failed-requests raised on 2 of 3 hosts (67%): edge-1, edge-2 (at least 2)".
func (r *FleetRule) Message(a *Alert, v *Verdict) string {
	share := math.NaN()
	if v.Denominator > 0 {
		share = v.Numerator / v.Denominator
	}
	head := fmt.Sprintf("%s: %s: %s raised on %s of %s hosts (%s)", a.Severity, a.Subject(), r.Rule,
		formatNumber(v.Numerator), formatNumber(v.Denominator), formatPercent(share))
	if a.Severity == OK {
		return fmt.Sprintf("%s, fewer than %s", head, formatNumber(v.Threshold))
	}
	return fmt.Sprintf("%s: %s (at least %s)", head, v.Reason, formatNumber(v.Threshold))
}

type fleetHost struct {
	level Level
	slot  int64
}

type fleetState struct {
	rule   *FleetRule
	expire int64 // slots a host's state counts after the one it came in
	window time.Duration
	hosts  map[string]*fleetHost
	raised []string // scratch
}

func (s *fleetState) Add(input int, slot int64, v float64) { s.AddFrom("", input, slot, v) }

// AddFrom implements HostState: the newest state of each host counts.
func (s *fleetState) AddFrom(host string, _ int, slot int64, v float64) {
	h := s.hosts[host]
	if h == nil {
		h = &fleetHost{}
		s.hosts[host] = h
	} else if slot < h.slot {
		return
	}
	h.slot, h.level = slot, Level(min(max(math.Round(v), 0), float64(Failure)))
}

func (s *fleetState) Span() int64 { return s.expire + 1 }

func (s *fleetState) Evaluate(slot int64, current Level) Verdict {
	v := undecided()
	if len(s.hosts) == 0 && current == OK {
		return v // nothing heard: nothing to say (a raised alert is ended below)
	}
	s.raised = s.raised[:0]
	reporting := 0
	for host, h := range s.hosts {
		if slot-h.slot >= s.expire {
			delete(s.hosts, host) // silent: neither raised nor reporting
			continue
		}
		reporting++
		if h.level >= s.rule.MinSeverity {
			s.raised = append(s.raised, host)
		}
	}
	n := len(s.raised)
	v.Decided = true
	v.Observed, v.Numerator, v.Denominator = float64(n), float64(n), float64(reporting)
	v.Window = s.window
	r := s.rule
	// The hosts each bound asks for (0: unset); a share is a share of those
	// reporting, judged once enough do.
	need := func(hosts int, share float64) int {
		k := hosts
		if share > 0 && reporting >= r.MinHosts {
			if byShare := int(math.Ceil(share*float64(reporting) - 1e-9)); k == 0 || byShare < k {
				k = max(byShare, 1)
			}
		}
		return k
	}
	failure, warning := need(r.FailureHosts, r.FailureShare), need(r.WarningHosts, r.WarningShare)
	switch {
	case failure > 0 && n >= failure:
		v.Level, v.Threshold = Failure, float64(failure)
	case warning > 0 && n >= warning:
		v.Level, v.Threshold = Warning, float64(warning)
	case warning > 0:
		v.Threshold = float64(warning)
	case failure > 0:
		v.Threshold = float64(failure)
	}
	if v.Level != OK {
		v.Reason = hostList(s.raised)
	}
	return v
}

// maxNamedHosts is how many raised hosts a message names: collectd's
// notification message holds 255 bytes.
const maxNamedHosts = 5

// hostList names hosts in order, the first maxNamedHosts of them.
func hostList(hosts []string) string {
	sort.Strings(hosts)
	if len(hosts) <= maxNamedHosts {
		return strings.Join(hosts, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(hosts[:maxNamedHosts], ", "), len(hosts)-maxNamedHosts)
}

// memory: a host's state counts for Expire; older, it has expired anyway.
func (s *fleetState) memory(time.Duration) time.Duration { return s.window }

// saveState keeps each host's last level across a restart of the
// aggregator (persistent).
func (s *fleetState) saveState(e *stateEncoder) {
	e.uint(uint64(len(s.hosts)))
	for host, h := range s.hosts {
		e.string(host)
		e.uint(uint64(h.level))
		e.int(h.slot)
	}
}

func (s *fleetState) loadState(d *stateDecoder) {
	for range d.length(3) {
		host, level, slot := d.string(), Level(min(d.uint(), uint64(Failure))), d.int()
		if d.err != nil {
			return
		}
		s.hosts[host] = &fleetHost{level: level, slot: slot}
	}
}

// ChartUnit implements Charted.
func (r *FleetRule) ChartUnit() string { return "hosts with " + r.Rule + " raised" }

// ChartValues implements Charted: the raised hosts and the hosts the next
// level needs.
func (r *FleetRule) ChartValues(v *Verdict) (obs, base, aux float64) {
	return v.Observed, math.NaN(), v.Threshold
}

// ChartBand implements Charted: the verdict's own count (a share's hosts
// move with those reporting); "at least n" is above n - 1/2.
func (r *FleetRule) ChartBand(_, aux float64) Band {
	b := NoBand()
	if aux > 0 {
		b.FailHi = aux - 0.5
	}
	return b
}

// Score implements Charted: raised hosts / (hosts needed - 1/2).
func (r *FleetRule) Score(v *Verdict) float64 {
	u := math.NaN()
	if v.Threshold > 0 {
		u = v.Observed / (v.Threshold - 0.5)
	}
	return scoreOf(v, u)
}
