package replay_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/replay"
	"github.com/collectd-anomaly/collectd-anomaly/simulate"
)

// On a shop's day (examples/realistic/shop-day.conf) the payment rules
// miss a share of their incidents: a fraud wave at 4:00 is two attempts.
// This test says whether each miss is the data's or the rule's: for every
// incident it counts, from the simulator alone, the provider's attempts and
// errors over the incident's span, and the fewest errors k* with which any
// test at the rule's bound - its Probability and MinErrors, with the
// incident's span as its window - could raise an alert. An incident that
// holds k* errors or more must be found; one that holds fewer may not be
// (a sliding window may still catch it with a background error).
func TestPaymentRulesMissOnlyWhatTheEvidenceCannotShow(t *testing.T) {
	if testing.Short() {
		t.Skip("16 simulated weeks")
	}
	root, err := conf.ReadFile("../examples/realistic/shop-day.conf")
	require.NoError(t, err)
	blocks := conf.PluginBlocks(root, "anomaly")
	settings, err := conf.Parse(blocks...)
	require.NoError(t, err)
	require.NotNil(t, settings.Simulation)

	cases := map[string]struct{ rule, outcome string }{
		"fraud-wave":         {"payment-fraud", "fraud"},
		"provider-a-failing": {"payment-provider-errors", "provider_error"},
	}
	sc := replay.PackScenario()
	sc.Kinds = slices.DeleteFunc(sc.Kinds, func(k replay.IncidentKind) bool { _, ok := cases[k.Name]; return !ok })
	require.Len(t, sc.Kinds, len(cases))
	sc.Length = 7 * 24 * time.Hour
	sc.Config = simulate.Config{Params: settings.Simulation.Config.Params, Profile: settings.Simulation.Config.Profile}
	sc.Interval = settings.Simulation.Interval
	rules := map[string]*detect.ErrorShareRule{}
	for _, r := range settings.Rules {
		if es, ok := r.(*detect.ErrorShareRule); ok {
			rules[es.Name] = es
		}
	}
	seeds := make([]uint64, 16)
	for i := range seeds {
		seeds[i] = uint64(i + 1)
	}
	ev, err := replay.Evaluate(context.Background(), func() ([]detect.Rule, error) {
		s, err := conf.Parse(blocks...)
		if err != nil {
			return nil, err
		}
		return s.Rules, nil
	}, sc, replay.EvalOptions{Seeds: seeds})
	require.NoError(t, err)
	sc = ev.Scenario

	found, sufficient, incidents := map[string]int{}, map[string]int{}, map[string]int{}
	for _, run := range ev.Runs {
		counts := incidentCounts(t, sc, run)
		for i, p := range run.Incidents {
			kind := sc.Kinds[p.Kind].Name
			c := cases[kind]
			r := rules[c.rule]
			require.NotNil(t, r, c.rule)
			require.Equal(t, sc.Kinds[p.Kind].Duration, r.Window, "the rule's window is the incident's span")
			attempts, errs := counts[i].attempts, counts[i].outcomes[c.outcome]
			kStar := leastAlertingErrors(attempts, r)
			detected := slices.ContainsFunc(run.Onsets, func(o replay.Onset) bool {
				return o.Rule == c.rule && o.Group == "a" && o.At >= p.Start && o.At < p.End+sc.Grace
			})
			at := sc.Start.Add(p.Start)
			what := fmt.Sprintf("seed %d, %s at %s %s: %.0f errors in %.0f attempts, k* %d", run.Seed, kind,
				at.Weekday().String()[:3], at.Format("15:04"), errs, attempts, kStar)
			incidents[kind]++
			if errs >= float64(kStar) {
				sufficient[kind]++
				assert.True(t, detected, "the evidence sufficed: %s", what)
			}
			if detected {
				found[kind]++
			}
			t.Log(what, map[bool]string{true: "found", false: "missed"}[detected])
		}
	}
	for kind, n := range incidents {
		t.Logf("%s: found %d of %d; %d held the errors any test at the rule's bound needs", kind, found[kind], n, sufficient[kind])
		assert.Positive(t, sufficient[kind], "%s: some incidents are in the day", kind)
	}
}

type spanCounts struct {
	attempts float64
	outcomes map[string]float64 // provider a's outcomes
}

// incidentCounts replays the simulator of run alone and sums provider a's
// payment attempts and outcomes over each incident's span.
func incidentCounts(t *testing.T, sc replay.Scenario, run *replay.RunOutcome) []spanCounts {
	cfg := sc.Config
	cfg.Seed, cfg.Start = run.Seed, sc.Start
	for i, p := range run.Incidents {
		k := sc.Kinds[p.Kind]
		cfg.Incidents = append(cfg.Incidents, simulate.Incident{Name: fmt.Sprintf("%s#%d", k.Name, i), Start: p.Start, Duration: k.Duration, Changes: k.Changes})
	}
	sim, err := simulate.New(cfg, sc.Interval)
	require.NoError(t, err)
	out := make([]spanCounts, len(run.Incidents))
	for i := range out {
		out[i].outcomes = map[string]float64{}
	}
	last := int64(0)
	for _, p := range run.Incidents {
		last = max(last, int64(p.End/sc.Interval))
	}
	const prefix = "payment-provider-a."
	for step := range last {
		values := sim.Step(step)
		at := time.Duration(step) * sc.Interval
		for i, p := range run.Incidents {
			if at < p.Start || at >= p.End {
				continue
			}
			for _, v := range values {
				if outcome, ok := strings.CutPrefix(v.TypeInstance, prefix); ok {
					out[i].attempts += v.Value
					out[i].outcomes[outcome] += v.Value
				}
			}
		}
	}
	return out
}

// leastAlertingErrors is the fewest errors among n trials whose binomial
// tail under the rule's expected share is below its Probability, and at
// least its MinErrors.
func leastAlertingErrors(n float64, r *detect.ErrorShareRule) int {
	b := distuv.Binomial{N: n, P: r.ExpectedShare}
	for k := max(r.MinErrors, 1); ; k++ {
		if float64(k) > n {
			return k // more errors than trials: nothing could raise it
		}
		if b.Survival(float64(k)-1) < r.Probability { // P(X >= k) = P(X > k-1)
			return k
		}
	}
}
