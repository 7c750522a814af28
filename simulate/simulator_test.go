package simulate

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newSim(t testing.TB, c Config, interval time.Duration) *Simulator {
	t.Helper()
	s, err := New(c, interval)
	require.NoError(t, err)
	return s
}

func TestNames(t *testing.T) {
	s := newSim(t, Config{Params: DefaultParams()}, 10*time.Second)
	want := []string{
		"page-response-200", "page-response-400", "page-response-500",
		"asset-response-200", "asset-response-400", "asset-response-500",
		"page-hits-total", "asset-hits-total",
		"page-latency-mean", "asset-latency-mean",
	}
	for _, p := range []string{"a", "b", "c", "d"} {
		for _, o := range []string{"success", "user_error", "provider_error", "fraud"} {
			want = append(want, "payment-provider-"+p+"."+o)
		}
	}
	want = append(want, "new-sessions")
	assert.Equal(t, want, s.Names())

	got := s.Step(0)
	require.Len(t, got, len(want))
	for i, v := range got {
		assert.Equal(t, want[i], v.TypeInstance)
		assert.Equal(t, "gauge", v.Type, v.TypeInstance)
	}

	p := DefaultParams()
	p.Providers = []Provider{{Name: "visa", Weight: 1}, {Name: "pay_pal-2", Weight: 1}}
	s = newSim(t, Config{Params: p}, 10*time.Second)
	assert.Equal(t, []string{
		"payment-provider-visa.success", "payment-provider-visa.user_error",
		"payment-provider-visa.provider_error", "payment-provider-visa.fraud",
		"payment-provider-pay_pal-2.success", "payment-provider-pay_pal-2.user_error",
		"payment-provider-pay_pal-2.provider_error", "payment-provider-pay_pal-2.fraud",
		"new-sessions",
	}, s.Names()[idxPayments:])

	p.PaymentRate, p.Providers = 0, nil
	s = newSim(t, Config{Params: p}, 10*time.Second)
	assert.Equal(t, want[:idxPayments], s.Names()[:idxPayments], "no providers, no payment names")
	assert.Equal(t, []string{"new-sessions"}, s.Names()[idxPayments:])
	assert.Len(t, s.Step(0), idxPayments+1)
}

func TestZerosAreDispatched(t *testing.T) {
	// With the default payment rate (0.12 attempts per 10 s) almost every payment
	// count is 0, and the original plugin sent nothing for them.
	s := newSim(t, Config{Params: DefaultParams(), Seed: 1}, 10*time.Second)
	names := s.Names()
	zeros := 0
	for k := range int64(100) {
		got := s.Step(k)
		require.Len(t, got, len(names))
		for i, v := range got {
			require.Equal(t, names[i], v.TypeInstance)
			if v.Value == 0 {
				zeros++
			}
		}
	}
	assert.Greater(t, zeros, 100*14, "most payment counts are 0 and still dispatched")

	p := DefaultParams()
	p.PageRate, p.AssetRate, p.SessionRate, p.PaymentRate = 0, 0, 0, 0
	s = newSim(t, Config{Params: p, Seed: 1}, 10*time.Second)
	for k := range int64(10) {
		got := s.Step(k)
		require.Len(t, got, len(names))
		for i, v := range got {
			if !isLatency(i) {
				assert.Zero(t, v.Value, v.TypeInstance)
			}
		}
	}
}

func TestStepIsPure(t *testing.T) {
	c := Config{Params: busyPayments(), Seed: 21}
	const n = 200
	s := newSim(t, c, 10*time.Second)
	inOrder := make([][]Value, n)
	for k := range int64(n) {
		inOrder[k] = snapshot(s, k)
	}
	assert.Equal(t, inOrder[7], snapshot(s, 7), "Step(7) again")
	assert.Equal(t, inOrder[7], snapshot(s, 7), "Step(7) twice in a row")

	other := newSim(t, c, 10*time.Second)
	for _, k := range rand.New(rand.NewPCG(1, 2)).Perm(n) {
		assert.Equal(t, inOrder[k], snapshot(other, int64(k)), "step %d out of order", k)
	}
	assert.Equal(t, inOrder[0], snapshot(other, 0))
}

func TestSeedsDiffer(t *testing.T) {
	a := newSim(t, Config{Params: DefaultParams(), Seed: 1}, 10*time.Second)
	b := newSim(t, Config{Params: DefaultParams(), Seed: 2}, 10*time.Second)
	for k := range int64(20) {
		va, vb := snapshot(a, k), snapshot(b, k)
		// Latencies are continuous, so equal draws would mean a shared stream.
		assert.NotEqual(t, va[idxPageLatency], vb[idxPageLatency], "step %d", k)
		assert.NotEqual(t, va[idxAssetLatency], vb[idxAssetLatency], "step %d", k)
		assert.NotEqual(t, va, vb, "step %d", k)
	}
	// Steps and streams must not repeat each other either.
	assert.NotEqual(t, snapshot(a, 0)[idxPageLatency], snapshot(a, 1)[idxPageLatency])
	v := snapshot(a, 3)
	assert.NotEqual(t, (v[idxPageLatency].Value-150)/50, v[idxAssetLatency].Value-10,
		"page and asset latency use different standard normal draws")
}

func TestCounterModeAccumulatesGaugeValues(t *testing.T) {
	const n = 500
	gc := Config{Params: busyPayments(), Seed: 31, Mode: Gauge}
	cc := gc
	cc.Mode = Counter
	g, c := newSim(t, gc, 10*time.Second), newSim(t, cc, 10*time.Second)

	totals := make([]float64, len(g.Names()))
	counters := make([][]Value, n)
	for k := range int64(n) {
		gv, cv := g.Step(k), snapshot(c, k)
		counters[k] = cv
		for i := range gv {
			require.Equal(t, gv[i].TypeInstance, cv[i].TypeInstance)
			if isLatency(i) {
				assert.Equal(t, "gauge", cv[i].Type, cv[i].TypeInstance)
				assert.Equal(t, gv[i].Value, cv[i].Value, "step %d %s", k, cv[i].TypeInstance)
				continue
			}
			totals[i] += gv[i].Value
			assert.Equal(t, "counter", cv[i].Type, cv[i].TypeInstance)
			assert.Equal(t, totals[i], cv[i].Value, "step %d %s", k, cv[i].TypeInstance)
		}
	}

	// Out of order a counter is recomputed, so it is still the same function of step.
	c = newSim(t, cc, 10*time.Second)
	for _, k := range []int64{300, 300, 100, 101, 499, 0, 250} {
		assert.Equal(t, counters[k], snapshot(c, k), "step %d", k)
	}
}

func TestNegativeStepPanics(t *testing.T) {
	s := newSim(t, Config{Params: DefaultParams()}, time.Second)
	assert.Panics(t, func() { s.Step(-1) })
}

func TestNewRejects(t *testing.T) {
	_, err := New(Config{Params: DefaultParams()}, 0)
	assert.ErrorContains(t, err, "interval")

	p := DefaultParams()
	p.PageRate = -1
	_, err = New(Config{Params: p}, time.Second)
	assert.ErrorContains(t, err, "PageRate")

	_, err = New(Config{Params: DefaultParams(), Mode: Mode(7)}, time.Second)
	assert.ErrorContains(t, err, "Mode(7)")
}

func TestNewCopiesConfig(t *testing.T) {
	c := Config{Params: DefaultParams(), Seed: 5, Incidents: []Incident{{
		Name: "x", Start: 0, Duration: time.Hour,
		Changes: []Change{{Provider: "a", Param: "Fraud", Value: 0.5}},
	}}}
	s := newSim(t, c, 10*time.Second)
	want := snapshot(s, 3)
	c.Params.Providers[0].Weight = 0
	c.Incidents[0].Changes[0].Value = 0
	s.Step(4) // a fresh step recomputes from the stored copies
	assert.Equal(t, want, snapshot(s, 3))
	assert.Equal(t, want, snapshot(newSim(t, Config{Params: DefaultParams(), Seed: 5, Incidents: []Incident{{
		Name: "x", Start: 0, Duration: time.Hour,
		Changes: []Change{{Provider: "a", Param: "Fraud", Value: 0.5}},
	}}}, 10*time.Second), 3))
}

func TestStepDoesNotAllocate(t *testing.T) {
	c := Config{Params: busyPayments(), Seed: 1, Incidents: []Incident{{
		Name: "later", Start: 100 * 24 * time.Hour, Duration: time.Hour,
		Changes: []Change{{Param: "PageLatencyMean", Value: 900}},
	}}}
	// Only a change of the set of active incidents allocates (it rebuilds the
	// model), which AllocsPerRun's average would hide; the incident lies beyond the
	// steps measured so that its checks still run.
	s := newSim(t, c, 10*time.Second)
	s.Step(0)
	step := int64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		step++
		s.Step(step)
	})
	assert.Zero(t, allocs)
}
