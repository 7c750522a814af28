package detect

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat/distuv"
)

// Payments at night: 0.02 per 10 s, so half an hour expects 3.6 and even
// none in it is no evidence (e^-3.6 = 0.03). The run without any is judged
// as a whole: FAILURE once it expects more than 13.8 (e^-13.8 = 1e-6), about
// 690 slots - 1h55m - after the last payment, and OKAY with the next one.
// The slots of the run that left the window into the baseline are not
// counted in the rate it is judged against.
// Four nights of the same rate without a drop raise nothing: a run that
// long happens once in 1e6 runs, and four nights hold about 3,500.
func TestSpikeJudgesARunWithoutEventsLongerThanItsWindow(t *testing.T) {
	rule := spikeRule10s(t, func(p *SpikeParams) {
		p.Direction, p.Window, p.Baseline = DirectionDown, 30*time.Minute, 6*time.Hour
	})
	const rate = 0.02
	rng := rand.New(rand.NewPCG(3, 0))
	night := make([]float64, 4*8640)
	for i := range night {
		night[i] = distuv.Poisson{Lambda: rate, Src: rng}.Rand()
	}
	quiet := newSlotDriver(rule)
	for _, x := range night {
		quiet.step(x)
	}
	assert.Empty(t, quiet.changes, "a quiet night's runs")

	dropAt := int64(2160 + 180 + 100) // when the windows are full
	drive := func(restartAt int64) (*slotDriver, Verdict) {
		d := newSlotDriver(rule)
		var raised Verdict
		for d.slot < dropAt+3*360 {
			if d.slot == restartAt {
				d.st = restarted(t, rule, SlotClock{Origin: t0, Step: 10 * time.Second}, d.st)
			}
			x := night[d.slot]
			switch {
			case d.slot == dropAt-1:
				x = 1 // the last payment
			case d.slot >= dropAt && d.slot < dropAt+2*360+300:
				x = 0 // checkout broken for 2h50m
			case d.slot == dropAt+2*360+300:
				x = 1 // the first payment after it
			}
			before := d.level
			v := d.step(x)
			if before == OK && d.level == Failure {
				raised = v
			}
		}
		return d, raised
	}
	d, raised := drive(-1)
	require.Len(t, d.changes, 2, "%v", d.changes)
	// FAILURE at the first slot of the run whose expected count passes
	// -ln(1e-6) = 13.82, at the baseline's rate: 6 hours of it hold about
	// 43 payments, so the rate, and the run's length, are within 2 x 15%.
	var failAt int64
	_, err := fmt.Sscanf(d.changes[0], "FAILURE@%d", &failAt)
	require.NoError(t, err, d.changes[0])
	run := failAt - dropAt + 1
	assert.InDelta(t, 13.8/rate, float64(run), 0.3*13.8/rate, "run of %d slots", run)
	assert.Equal(t, 0.0, raised.Observed)
	assert.GreaterOrEqual(t, raised.Baseline, -math.Log(1e-6))
	assert.Less(t, raised.Baseline, -math.Log(1e-6)*(1+1/float64(run)), "the first slot past the bound")
	assert.Equal(t, time.Duration(run)*10*time.Second, raised.Window, "the run's length")
	// The rate is the baseline's before the run: the 6 hours that end where
	// the window begins, less the run's slots among them (416 of 2160; with
	// them the rate would be 19% lower). Buckets of 36 slots blur its edge.
	from, sum := failAt-180-2160+1, 0.0
	for i := from; i < dropAt-1; i++ {
		sum += night[i]
	}
	sum++ // the last payment, at dropAt-1
	assert.InDelta(t, sum/float64(dropAt-from), raised.Baseline/float64(run), 0.05*rate)
	assert.Contains(t, rule.Message(&Alert{Rule: "spike", Severity: Failure}, &raised), "0 in "+raised.Window.String())
	_, perWindow, _ := rule.ChartValues(&raised)
	assert.InDelta(t, raised.Baseline/float64(run)*180, perWindow, 1e-9, "charted per Window, as every other verdict")
	assert.Equal(t, fmt.Sprintf("OKAY@%d", dropAt+2*360+300), d.changes[1], "with the next payment")

	restarted, _ := drive(dropAt + 300)
	assert.Equal(t, d.changes, restarted.changes, "a restart in the run changes no verdict")
}

// With Hits 3 the alert a run raised needs three verdicts to end: the
// first events after the run give OK verdicts until it has, not one that
// the lifecycle would leave pending all night. Their message says what
// ended it, with the window's expectation, not "n/a".
func TestSpikeRunAlertEndsWithItsLifecycle(t *testing.T) {
	rule := spikeRule10s(t, func(p *SpikeParams) {
		p.Direction, p.Window, p.Baseline = DirectionDown, 30*time.Minute, 6*time.Hour
	})
	rng := rand.New(rand.NewPCG(5, 0))
	d := newSlotDriver(rule)
	d.lifecycle = &Lifecycle{Hits: 3}
	const dropAt, resumeAt = 2160 + 180 + 100, 2160 + 180 + 100 + 900
	var ended Verdict
	for d.slot < resumeAt+2*360 {
		x := distuv.Poisson{Lambda: 0.02, Src: rng}.Rand()
		switch {
		case d.slot == dropAt-1:
			x = 1
		case d.slot >= dropAt && d.slot < resumeAt:
			x = 0
		case d.slot == resumeAt:
			x = 1
		}
		before := d.level
		v := d.step(x)
		if before != OK && d.level == OK {
			ended = v
		}
	}
	require.Len(t, d.changes, 2, "%v", d.changes)
	assert.Regexp(t, `^FAILURE@`, d.changes[0])
	assert.Equal(t, fmt.Sprintf("OKAY@%d", resumeAt+2), d.changes[1], "the third verdict after the payment")
	msg := rule.Message(&Alert{Rule: "spike", Severity: OK}, &ended)
	assert.Contains(t, msg, "the first events after a run without any")
	assert.NotContains(t, msg, "n/a")
	assert.InDelta(t, 180*0.02, ended.Baseline, 0.3*180*0.02, "the window's expected count: %s", msg)
}
