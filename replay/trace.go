package replay

import (
	"math"
	"sort"
	"sync"
	"time"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// Tracer records what the rules judged, slot by slot, for charts (Report)
// and per-timestamp scores (Scores). The engine does not expose its
// verdicts, so the Tracer wraps the rules: Wrap them before building the
// engine, make the Tracer the engine's Sink (it passes everything on to
// Sink), and tell it each value list before the engine observes it (Play and
// Simulation.RunContext do), so that it can name the group a new rule state
// belongs to. A Tracer serves one engine fed by one goroutine.
type Tracer struct {
	// Sink receives every alert and derived value (a Recorder, say).
	Sink detect.Sink
	// From, To and Buckets: verdicts are summed into Buckets equal spans of
	// [From, To), the points of a chart; zero Buckets keeps none.
	From, To time.Time
	Buckets  int
	// Slots keeps the score and level of every slot judged, for Scores.
	Slots bool

	mu      sync.Mutex
	cur     *metric.ValueList
	traces  []*Trace
	byGroup map[traceKey]*Trace
	last    *Trace
}

type traceKey struct{ rule, host, group string }

// Trace is what one rule judged for one group (a host, a label).
type Trace struct {
	Rule        detect.Rule // the rule as configured (not the wrapper)
	Host, Group string
	Clock       detect.SlotClock
	// Buckets of the chart (see Tracer.Buckets).
	Buckets []Bucket
	// Slots judged, when Tracer.Slots: the slot, its score in [0, 1], the
	// verdict's tail probability (NaN if the rule judges by none) and the
	// alert's level after its verdict.
	Slot        []int64
	Score       []float64
	Probability []float64
	Level       []detect.Level
	// Alerts of the group, in order.
	Alerts []detect.Alert

	level detect.Level // the alert's level now
}

// Bucket sums the verdicts of one span of a chart. Obs is what the rule
// judged (see chartValues), Base what it compared it with, Aux a further
// quantity some kinds need for their band (the trials of an error share).
type Bucket struct {
	N                      int
	ObsMin, ObsMax, ObsSum float64
	BaseN                  int
	BaseSum                float64
	AuxN                   int
	AuxSum                 float64
}

// Subject is "rule[group]", or the rule's name.
func (t *Trace) Subject() string {
	if t.Group == "" {
		return t.Rule.Spec().Name
	}
	return t.Rule.Spec().Name + "[" + t.Group + "]"
}

// Wrap returns the rules wrapped so that the Tracer sees their verdicts.
// The wrappers behave as the rules do (Emitters stay Emitters).
func (t *Tracer) Wrap(rules []detect.Rule) []detect.Rule {
	out := make([]detect.Rule, len(rules))
	for i, r := range rules {
		w := &tracedRule{Rule: r, t: t}
		if e, ok := r.(detect.Emitter); ok {
			out[i] = &tracedEmitter{tracedRule: w, out: e.OutputName()}
		} else {
			out[i] = w
		}
	}
	return out
}

// Observe tells the Tracer the value list the engine observes next.
func (t *Tracer) Observe(vl *metric.ValueList) { t.cur = vl }

// Traces returns the traces in the order their groups started.
func (t *Tracer) Traces() []*Trace {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]*Trace(nil), t.traces...)
}

// Alert implements detect.Sink.
func (t *Tracer) Alert(a detect.Alert) {
	t.mu.Lock()
	if tr := t.byGroup[traceKey{a.Rule, a.Host, a.Group}]; tr != nil {
		tr.Alerts = append(tr.Alerts, a)
		tr.level = a.Severity
		// The engine notifies right after the verdict that caused it.
		if tr == t.last && len(tr.Level) > 0 {
			tr.Level[len(tr.Level)-1] = a.Severity
		}
	}
	t.mu.Unlock()
	if t.Sink != nil {
		t.Sink.Alert(a)
	}
}

// Value implements detect.Sink.
func (t *Tracer) Value(v detect.DerivedValue) {
	if t.Sink != nil {
		t.Sink.Value(v)
	}
}

// newTrace starts the trace of a group of rule r whose state the engine
// creates while observing t.cur: the group is the first of those the value
// list routes to that has none yet, found as the engine finds it.
func (t *Tracer) newTrace(r detect.Rule, clock detect.SlotClock) *Trace {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byGroup == nil {
		t.byGroup = map[traceKey]*Trace{}
	}
	spec := r.Spec()
	tr := &Trace{Rule: r, Clock: clock, Group: "?"}
	if vl := t.cur; vl != nil {
		series := vl.Identifier.Series()
		host := vl.Host
		if spec.AggregateHosts {
			host = ""
		}
	inputs:
		for _, in := range spec.Inputs {
			for _, sel := range in.Selectors {
				label, ok := sel.Match(series)
				if !ok {
					continue
				}
				if spec.PerSeries {
					label = series
				}
				if t.byGroup[traceKey{spec.Name, host, label}] == nil {
					tr.Host, tr.Group = host, label
					break inputs
				}
				break
			}
		}
	}
	if t.Buckets > 0 {
		tr.Buckets = make([]Bucket, t.Buckets)
	}
	t.traces = append(t.traces, tr)
	t.byGroup[traceKey{spec.Name, tr.Host, tr.Group}] = tr
	return tr
}

// record accounts for the verdict on slot, judged at level current.
func (t *Tracer) record(tr *Trace, slot int64, current detect.Level, v *detect.Verdict) {
	t.last = tr
	if t.Slots {
		tr.Slot = append(tr.Slot, slot)
		tr.Score = append(tr.Score, Score(tr.Rule, v))
		p := math.NaN()
		if v.Decided {
			p = v.Probability
		}
		tr.Probability = append(tr.Probability, p)
		// The level after the verdict: the current one unless the engine
		// notifies a change right after (see Alert).
		tr.Level = append(tr.Level, current)
	}
	if len(tr.Buckets) == 0 {
		return
	}
	span := t.To.Sub(t.From)
	at := tr.Clock.Start(slot).Add(tr.Clock.Step / 2)
	if span <= 0 || at.Before(t.From) || !at.Before(t.To) {
		return
	}
	obs, base, aux := chartValues(tr.Rule, v)
	if math.IsNaN(obs) {
		return
	}
	b := &tr.Buckets[int(float64(at.Sub(t.From))/float64(span)*float64(len(tr.Buckets)))]
	if b.N == 0 || obs < b.ObsMin {
		b.ObsMin = obs
	}
	if b.N == 0 || obs > b.ObsMax {
		b.ObsMax = obs
	}
	b.N++
	b.ObsSum += obs
	if !math.IsNaN(base) {
		b.BaseN++
		b.BaseSum += base
	}
	if !math.IsNaN(aux) {
		b.AuxN++
		b.AuxSum += aux
	}
}

// Point is what a trace says of one time: see At.
type Point struct {
	Score, Probability float64
	Level              detect.Level
}

// At returns the point of the trace at time ts: the score, probability and
// level of the slot that holds ts, or the level the alert was left at by
// the last slot judged before it (with a score of 0 and no probability) if
// that slot was not judged.
func (tr *Trace) At(ts time.Time) Point {
	slot := tr.Clock.Of(ts)
	i := sort.Search(len(tr.Slot), func(i int) bool { return tr.Slot[i] > slot }) - 1
	if i < 0 {
		return Point{Probability: math.NaN()}
	}
	if tr.Slot[i] == slot {
		return Point{Score: tr.Score[i], Probability: tr.Probability[i], Level: tr.Level[i]}
	}
	return Point{Probability: math.NaN(), Level: tr.Level[i]}
}

// tracedRule is a rule whose states report their verdicts to a Tracer.
type tracedRule struct {
	detect.Rule
	t *Tracer
}

func (r *tracedRule) NewState(clock detect.SlotClock) detect.RuleState {
	return &tracedState{RuleState: r.Rule.NewState(clock), t: r.t, tr: r.t.newTrace(r.Rule, clock)}
}

// tracedEmitter is a tracedRule of a rule that dispatches a derived series.
type tracedEmitter struct {
	*tracedRule
	out string
}

func (r *tracedEmitter) OutputName() string { return r.out }

type tracedState struct {
	detect.RuleState
	t  *Tracer
	tr *Trace
}

func (s *tracedState) Evaluate(slot int64, current detect.Level) detect.Verdict {
	v := s.RuleState.Evaluate(slot, current)
	s.t.record(s.tr, slot, current, &v)
	return v
}
