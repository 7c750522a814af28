package simulate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// Plugin is the collectd plugin name of every simulated value: the
// e-commerce shop's series are ecommerce/<Type>-<TypeInstance>.
const Plugin = "ecommerce"

// Value is one dispatched value: plugin Plugin, type Type ("gauge", or "counter"
// for counts in Counter mode), type instance TypeInstance, e.g. "page-response-200",
// "payment-provider-a.fraud" or "new-sessions". Counts are whole numbers; latencies
// are in milliseconds.
type Value struct {
	Type         string
	TypeInstance string
	Value        float64
}

// Counter reports whether the value is a cumulative count (Counter mode)
// rather than a gauge.
func (v Value) Counter() bool { return v.Type == "counter" }

// Metric is the value as collectd's data model has it: a COUNTER in
// Counter mode, a GAUGE otherwise.
func (v Value) Metric() metric.Value {
	if v.Counter() {
		return metric.CounterValue(uint64(v.Value))
	}
	return metric.GaugeValue(v.Value)
}

// Indices of the values in dispatch order. The payment values follow, four per
// provider in outcome order, and new-sessions comes last.
const (
	idxPage200 = iota
	idxPage400
	idxPage500
	idxAsset200
	idxAsset400
	idxAsset500
	idxPageHits
	idxAssetHits
	idxPageLatency
	idxAssetLatency
	idxPayments
)

var outcomes = [...]string{"success", "user_error", "provider_error", "fraud"}

// Simulator produces the values of each read of the model. It is not safe for
// concurrent use: it reuses its buffers and caches the effective parameters.
type Simulator struct {
	base      Params
	incidents []Incident
	mode      Mode
	interval  time.Duration
	keys      [][2]uint64 // per random stream, see streamKey
	src       rand.PCG

	names []string
	types []string
	out   []Value

	// gauge holds the per-interval values of the step computed last.
	gauge []float64
	// In Counter mode totals holds the running totals up to step last (-1: none)
	// and the latencies of that step.
	totals []float64
	last   int64

	// model is derived from base and the incidents in active; recomputing it only
	// when the set of active incidents changes keeps Step free of string lookups.
	model   model
	active  []int
	scratch []int

	profile *profileState // nil: flat
}

// model holds the parameters in the form the draws need.
type model struct {
	page, asset, session, payment float64 // expected events per interval
	pageCond, assetCond           [3]float64
	pageLatency, assetLatency     Latency
	providerCond                  []float64
	outcomeCond                   [][4]float64
	perProvider                   []float64 // scratch: attempts per provider
}

// New returns a Simulator for c whose reads are interval apart. It validates c (see
// Config.Validate) and copies it, so later changes to c do not affect the Simulator.
func New(c Config, interval time.Duration) (*Simulator, error) {
	if interval <= 0 {
		return nil, fmt.Errorf("interval = %v: must be positive", interval)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	s := &Simulator{
		base:     c.Params.clone(),
		mode:     c.Mode,
		interval: interval,
		last:     -1,
	}
	for _, inc := range c.Incidents {
		inc.Changes = slices.Clone(inc.Changes)
		s.incidents = append(s.incidents, inc)
	}
	s.scratch = make([]int, 0, len(s.incidents))
	if !c.Profile.Flat() {
		s.profile = newProfileState(c.Profile, c.Start, c.Seed)
	}

	nProviders := len(s.base.Providers)
	for i := 0; i < streamProvider0+nProviders; i++ {
		s.keys = append(s.keys, streamKey(c.Seed, i))
	}

	s.names = []string{
		"page-response-200", "page-response-400", "page-response-500",
		"asset-response-200", "asset-response-400", "asset-response-500",
		"page-hits-total", "asset-hits-total",
		"page-latency-mean", "asset-latency-mean",
	}
	for _, p := range s.base.Providers {
		for _, o := range outcomes {
			s.names = append(s.names, "payment-provider-"+p.Name+"."+o)
		}
	}
	s.names = append(s.names, "new-sessions")

	n := len(s.names)
	s.types = make([]string, n)
	for i := range s.types {
		s.types[i] = "gauge"
		if s.mode == Counter && !isLatency(i) {
			s.types[i] = "counter"
		}
	}
	s.out = make([]Value, n)
	s.gauge = make([]float64, n)
	if s.mode == Counter {
		s.totals = make([]float64, n)
	}

	s.model.providerCond = make([]float64, nProviders)
	s.model.outcomeCond = make([][4]float64, nProviders)
	s.model.perProvider = make([]float64, nProviders)
	s.model.set(s.base, interval.Seconds())
	return s, nil
}

func isLatency(i int) bool { return i == idxPageLatency || i == idxAssetLatency }

// Names returns the TypeInstance of every value in dispatch order: the order of the
// slice Step returns.
func (s *Simulator) Names() []string { return slices.Clone(s.names) }

// ActiveIncidents returns the names of the incidents active during step, in
// configuration order, or nil if there are none.
func (s *Simulator) ActiveIncidents(step int64) []string {
	t := s.offset(step)
	var names []string
	for i := range s.incidents {
		if s.incidents[i].activeAt(t) {
			names = append(names, s.incidents[i].Name)
		}
	}
	return names
}

// Step returns the values of read number step, which covers [step x interval,
// (step+1) x interval) after the simulation start; step must not be negative. Every
// name is present in every step, zeros included, in the order of Names.
//
// The result is a pure function of the Config, the interval and step, in both modes,
// so steps may be computed in any order and recomputed. In Gauge mode that costs one
// step. In Counter mode the counts are running totals over steps 0..step: moving
// forward from the last step requested costs one step per step advanced, moving
// backwards recomputes from step 0.
//
// The returned slice, and the Values in it, are overwritten by the next call; copy
// them to keep them.
func (s *Simulator) Step(step int64) []Value {
	if step < 0 {
		panic(fmt.Sprintf("simulate: Step(%d): steps start at 0", step))
	}
	values := s.gauge
	if s.mode == Counter {
		s.accumulate(step)
		values = s.totals
	} else {
		s.compute(step)
	}
	for i := range s.out {
		s.out[i] = Value{Type: s.types[i], TypeInstance: s.names[i], Value: values[i]}
	}
	return s.out
}

// accumulate brings totals to step.
func (s *Simulator) accumulate(step int64) {
	if step == s.last {
		return
	}
	if step < s.last {
		clear(s.totals)
		s.last = -1
	}
	for i := s.last + 1; i <= step; i++ {
		s.compute(i)
		for j, v := range s.gauge {
			s.totals[j] += v
		}
	}
	s.last = step
	s.totals[idxPageLatency] = s.gauge[idxPageLatency]
	s.totals[idxAssetLatency] = s.gauge[idxAssetLatency]
}

// offset returns the start time of step, saturating rather than overflowing for steps
// centuries away.
func (s *Simulator) offset(step int64) time.Duration {
	if step > math.MaxInt64/int64(s.interval) {
		return math.MaxInt64
	}
	return time.Duration(step) * s.interval
}

// compute fills gauge with the per-interval values of step.
func (s *Simulator) compute(step int64) {
	t := s.offset(step)
	s.update(t)
	m := &s.model
	g := s.gauge
	src := &s.src
	var buf [4]float64
	load := 1.0
	if s.profile != nil {
		load = s.profile.load(t)
	}
	pageLatency, assetLatency := m.pageLatency, m.assetLatency
	if ll := s.profile.latencyLoad(); ll > 0 {
		f := max(0, 1+ll*(load-1))
		pageLatency.Mean *= f
		assetLatency.Mean *= f
	}

	seedStep(src, s.keys[streamPage], step)
	n := poisson(src, m.page*load)
	multinomial(src, n, m.pageCond[:], buf[:3])
	g[idxPage500], g[idxPage400], g[idxPage200], g[idxPageHits] = buf[0], buf[1], buf[2], n

	seedStep(src, s.keys[streamAsset], step)
	n = poisson(src, m.asset*load)
	multinomial(src, n, m.assetCond[:], buf[:3])
	g[idxAsset500], g[idxAsset400], g[idxAsset200], g[idxAssetHits] = buf[0], buf[1], buf[2], n

	seedStep(src, s.keys[streamPageLatency], step)
	g[idxPageLatency] = latency(src, pageLatency)
	seedStep(src, s.keys[streamAssetLatency], step)
	g[idxAssetLatency] = latency(src, assetLatency)

	if len(m.perProvider) > 0 {
		seedStep(src, s.keys[streamPayment], step)
		n = poisson(src, m.payment*load)
		multinomial(src, n, m.providerCond, m.perProvider)
		for i, attempts := range m.perProvider {
			seedStep(src, s.keys[streamProvider0+i], step)
			multinomial(src, attempts, m.outcomeCond[i][:], buf[:4])
			j := idxPayments + 4*i
			g[j], g[j+1], g[j+2], g[j+3] = buf[3], buf[0], buf[1], buf[2]
		}
	}

	seedStep(src, s.keys[streamSession], step)
	g[len(g)-1] = poisson(src, m.session*load)
}

func latency(src rand.Source, l Latency) float64 {
	return max(0, distuv.Normal{Mu: l.Mean, Sigma: l.StdDev, Src: src}.Rand())
}

// update makes model follow the incidents active at time t.
func (s *Simulator) update(t time.Duration) {
	s.scratch = s.scratch[:0]
	for i := range s.incidents {
		if s.incidents[i].activeAt(t) {
			s.scratch = append(s.scratch, i)
		}
	}
	if slices.Equal(s.scratch, s.active) {
		return
	}
	s.active, s.scratch = s.scratch, s.active
	p := s.base.clone()
	for _, i := range s.active {
		if err := s.incidents[i].apply(&p); err != nil {
			panic("simulate: incident rejected after validation: " + err.Error())
		}
	}
	s.model.set(p, s.interval.Seconds())
}

// set derives the model from p, which Config.Validate has accepted.
func (m *model) set(p Params, seconds float64) {
	f := p.TrafficMultiplier * seconds
	m.page, m.asset, m.session, m.payment = p.PageRate*f, p.AssetRate*f, p.SessionRate*f, p.PaymentRate*f
	// Draw order: 500, 400, then 200 takes the rest. max guards against a sum a
	// rounding error above 1, which Validate tolerates.
	conditional([]float64{p.Page.Error500, p.Page.Error400, max(0, 1-p.Page.Error500-p.Page.Error400)}, m.pageCond[:])
	conditional([]float64{p.Asset.Error500, p.Asset.Error400, max(0, 1-p.Asset.Error500-p.Asset.Error400)}, m.assetCond[:])
	m.pageLatency, m.assetLatency = p.PageLatency, p.AssetLatency

	weights := make([]float64, len(p.Providers))
	for i, pr := range p.Providers {
		weights[i] = pr.Weight
		// Draw order: user_error, provider_error, fraud, then success takes the rest.
		conditional([]float64{pr.UserError, pr.ProviderError, pr.Fraud, max(0, 1-pr.UserError-pr.ProviderError-pr.Fraud)}, m.outcomeCond[i][:])
	}
	conditional(weights, m.providerCond)
}
