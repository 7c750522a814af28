package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/bridge"
)

// The whole chain: the plugin's simulator dispatches traffic, collectd hands
// it back to the write callback, the failed-requests rule judges it, and
// exactly one FAILURE goes out during the incident and one OKAY after it.
func TestSimulatedIncidentRaisesOneFailureAndOneOkay(t *testing.T) {
	for _, mode := range []string{"gauge", "counter"} {
		t.Run(mode, func(t *testing.T) {
			d := newFakeDaemon()
			p := configured(t, d,
				// The rule pack's selectors, for gauges and counters alike.
				named("Ratio", "web-failed-requests",
					opt("Numerator", `/^ecommerce\/(?:gauge|counter)-(?P<group>page|asset)-response-(?:400|500)$/`),
					opt("Denominator", `/^ecommerce\/(?:gauge|counter)-(?P<group>page|asset)-hits-total$/`),
					opt("Window", 60),
					opt("FailureMax", 0.10),
					opt("Hysteresis", 0.02),
					opt("MinDenominator", 50),
				),
				bare("Simulation",
					opt("Seed", 7),
					opt("Mode", mode),
					opt("Interval", 1),
					opt("Host", "shop-sim"),
					named("Incident", "errors",
						opt("Start", "2m"),
						opt("Duration", "2m"),
						opt("PageError400", 0.2),
						opt("PageError500", 0.1),
					),
				),
			)
			require.Equal(t, time.Second, p.interval)
			// The read stamps values with the wall clock; the test plays
			// collectd and delivers read i at base + i s, an hour ahead so
			// that the engine's own ticks (at the wall clock) judge nothing.
			base := time.Now().Add(time.Hour).Truncate(time.Second)
			const reads = 360
			var startRead, endRead = -1, -1
			for i := 0; i < reads; i++ {
				require.NoError(t, p.Read(context.Background()))
				lists := d.takeDispatched()
				require.Len(t, lists, 27)
				for _, vl := range lists {
					require.NoError(t, p.write(toDetect(t, vl, base.Add(time.Duration(i)*time.Second))))
				}
				if startRead < 0 && len(d.infosContaining(`incident "errors" starts`)) > 0 {
					startRead = i
				}
				if endRead < 0 && len(d.infosContaining(`incident "errors" ends`)) > 0 {
					endRead = i
				}
			}
			assert.Equal(t, 120, startRead)
			assert.Equal(t, 240, endRead)

			notes := drain(t, p, d.rec)
			require.Len(t, notes, 2, "%v", notes)
			f, o := notes[0], notes[1]
			t.Logf("FAILURE at %v: %s; OKAY at %v: %s", f.Time.Sub(base), f.Message, o.Time.Sub(base), o.Message)
			assert.Equal(t, bridge.Failure, f.Severity)
			assert.Equal(t, bridge.Okay, o.Severity)
			for _, n := range notes {
				assert.Equal(t, "shop-sim", n.Host)
				assert.Equal(t, "anomaly", n.Plugin)
				assert.Equal(t, "page", n.PluginInstance, "the pages fail, not the assets")
				assert.Equal(t, "ratio", n.Type)
				assert.Equal(t, "web-failed-requests", n.TypeInstance)
			}
			incidentStart, incidentEnd := base.Add(120*time.Second), base.Add(240*time.Second)
			assert.True(t, f.Time.After(incidentStart) && f.Time.Before(incidentEnd), "FAILURE at %v, during the incident", f.Time.Sub(base))
			// 30% of the pages fail: 10% is crossed about 20 s into the
			// incident, and 8% left about 45 s after it.
			assert.Less(t, f.Time.Sub(incidentStart), 30*time.Second, "detection delay")
			assert.True(t, o.Time.After(incidentEnd), "OKAY at %v, after the incident", o.Time.Sub(base))
			assert.Less(t, o.Time.Sub(incidentEnd), 60*time.Second, "recovery within a window")
			assert.Contains(t, f.Message, "FAILURE: web-failed-requests[page] of shop-sim: ")
			assert.Contains(t, o.Message, "OKAY: web-failed-requests[page] of shop-sim: ")
			assert.Empty(t, d.errorLines())
		})
	}
}
