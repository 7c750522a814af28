package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"collectd.org/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// influxServer is an InfluxDB write endpoint keeping the lines it gets.
type influxServer struct {
	*httptest.Server
	mu    sync.Mutex
	lines []string
}

func newInfluxServer(t *testing.T) *influxServer {
	s := &influxServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.lines = append(s.lines, strings.Split(string(b), "\n")...)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(s.Close)
	return s
}

// measurement returns the lines whose measurement and tags start with prefix.
func (s *influxServer) with(prefix string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range s.lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

func healthRule() config.Block {
	return named("Health", "web-health",
		opt("Latency", "ecommerce/gauge-page-latency-mean"),
		opt("Errors", "/^ecommerce/gauge-page-response-(?:400|500)$/"),
		opt("Requests", "ecommerce/gauge-page-hits-total"),
		opt("Period", 300), opt("LatencyWarning", 300), opt("LatencyFailure", 500),
		opt("ErrorWarning", 0.02), opt("ErrorFailure", 0.05))
}

func conversionRule() config.Block {
	return named("PeriodRatio", "payment-conversion",
		opt("Numerator", "/^ecommerce/gauge-payment-provider-[^.]+[.]success$/"),
		opt("Denominator", "ecommerce/gauge-new-sessions"),
		opt("Period", 3600), opt("Output", "conversion-rate"))
}

// Every stream goes where the mapping says, and each Write option turns
// its stream off alone.
func TestInfluxStreams(t *testing.T) {
	for _, tc := range []struct {
		off                          string
		raw, derived, health, alerts bool
	}{
		{"", true, true, true, true},
		{"WriteValues", false, true, true, true},
		{"WriteDerived", true, false, true, true},
		{"WriteHealth", true, true, false, true},
		{"WriteAlerts", true, true, true, false},
	} {
		t.Run("off="+tc.off, func(t *testing.T) {
			s := newInfluxServer(t)
			block := []config.Block{opt("URL", s.URL), opt("Bucket", "collectd")}
			if tc.off != "" {
				block = append(block, opt(tc.off, false))
			}
			d := newFakeDaemon()
			p := configured(t, d, failedRequests(), healthRule(), conversionRule(), bare("InfluxDB", block...))
			for step := 0; step < 20; step++ {
				feedPages(t, p, "shop-1", step, 100, 30) // a FAILURE
			}
			at := t0.Add(time.Hour)
			require.NoError(t, p.write(gaugeList("shop-1", "anomaly", "gauge", "web-health", at, 1)))
			require.NoError(t, p.write(gaugeList("shop-1", "anomaly", "gauge", "conversion-rate", at, 0.5)))
			require.NoError(t, p.write(gaugeList("shop-1", "anomaly", "gauge", "from-elsewhere", at, 3)))
			require.NoError(t, p.Shutdown(t.Context())) // flushes

			raw := s.with("ecommerce,host=shop-1,type=gauge,type_instance=page-")
			health := s.with("anomaly,host=shop-1,type=gauge,type_instance=web-health ")
			derived := append(s.with("anomaly,host=shop-1,type=gauge,type_instance=conversion-rate "),
				s.with("anomaly,host=shop-1,type=gauge,type_instance=from-elsewhere ")...)
			alerts := s.with("anomaly_alerts,")
			if tc.raw {
				assert.Len(t, raw, 80)
				assert.Contains(t, raw, "ecommerce,host=shop-1,type=gauge,type_instance=page-hits-total value=100 "+nanos(t0))
			} else {
				assert.Empty(t, raw)
			}
			if tc.health {
				assert.Equal(t, []string{`anomaly,host=shop-1,type=gauge,type_instance=web-health value=1,state="warn" ` + nanos(at)}, health)
			} else {
				assert.Empty(t, health)
			}
			if tc.derived {
				assert.Equal(t, []string{
					"anomaly,host=shop-1,type=gauge,type_instance=conversion-rate value=0.5 " + nanos(at),
					"anomaly,host=shop-1,type=gauge,type_instance=from-elsewhere value=3 " + nanos(at),
				}, derived)
			} else {
				assert.Empty(t, derived)
			}
			if tc.alerts {
				require.Len(t, alerts, 1)
				assert.True(t, strings.HasPrefix(alerts[0],
					`anomaly_alerts,group=page,host=shop-1,kind=ratio,rule=web-failed-requests,severity=FAILURE message="FAILURE: web-failed-requests[page] of shop-1: `), alerts[0])
			} else {
				assert.Empty(t, alerts)
			}
		})
	}
}

func nanos(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }

// An alert of a rule aggregating hosts names the configured Hostname, or
// collectd's, as its notification does.
func TestInfluxAlertHost(t *testing.T) {
	for _, tc := range []struct {
		hostname []config.Block
		want     string
	}{{[]config.Block{opt("Hostname", "central")}, "central"}, {nil, "collectd-host"}} {
		s := newInfluxServer(t)
		d := newFakeDaemon()
		blocks := append([]config.Block{failedRequests(opt("AggregateHosts", true)),
			bare("InfluxDB", opt("URL", s.URL), opt("Bucket", "collectd"), opt("WriteValues", false))}, tc.hostname...)
		p := configured(t, d, blocks...)
		for step := 0; step < 20; step++ {
			feedPages(t, p, "shop-1", step, 100, 50)
		}
		require.NoError(t, p.Shutdown(t.Context()))
		alerts := s.with("anomaly_alerts,")
		require.Len(t, alerts, 1)
		assert.Contains(t, alerts[0], ",host="+tc.want+",kind=ratio,")
	}
}

// The write callback with InfluxDB on allocates nothing per value list.
func TestInfluxWritePathAllocatesNothing(t *testing.T) {
	s := newInfluxServer(t)
	d := newFakeDaemon()
	const batch = 2000
	p := configured(t, d, failedRequests(),
		bare("InfluxDB", opt("URL", s.URL), opt("Bucket", "collectd"), opt("BatchSize", batch), opt("FlushInterval", 3600)))
	vl := gaugeList("shop-1", "ecommerce", "gauge", "page-hits-total", t0, 100)
	health := gaugeList("shop-1", "anomaly", "gauge", "web-health", t0, 0)
	// Grow the writer's batches, which it reuses.
	for i := 0; i < 3*batch; i++ {
		require.NoError(t, p.write(vl))
	}
	require.Eventually(t, func() bool { return len(s.with("ecommerce,")) == 3*batch }, 5*time.Second, time.Millisecond)
	i := 0
	allocs := testing.AllocsPerRun(batch/2, func() {
		vl.Time = vl.Time.Add(10 * time.Second)
		if i%5 == 0 {
			_ = p.write(health)
		} else {
			_ = p.write(vl)
		}
		i++
	})
	assert.Zero(t, allocs)
}

// The log says where values go, never the token; failures are logged.
func TestInfluxLogsWithoutToken(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	d := newFakeDaemon()
	p := configured(t, d, failedRequests(), bare("InfluxDB", opt("URL", url), opt("Bucket", "collectd/autogen"),
		opt("Token", "admin:hunter2"), opt("FlushInterval", 0.01), opt("Timeout", 0.2), opt("WriteDerived", false)))
	feedPages(t, p, "shop-1", 0, 100, 0)
	require.Eventually(t, func() bool { return len(d.errorLines()) > 0 }, 5*time.Second, time.Millisecond)
	require.NoError(t, p.Shutdown(t.Context()))
	infos := d.infosContaining("InfluxDB")
	require.Len(t, infos, 2)
	assert.Regexp(t, `^anomaly plugin: InfluxDB: 0 points written to \S+, 0 dropped \(buffer full\), 0 refused, 4 not written at shutdown$`, infos[1])
	assert.Equal(t, `anomaly plugin: writing raw values, health, alerts to InfluxDB at `+url+`, bucket "collectd/autogen", with a token `+
		`(batches of up to 5000 points, sent at least every 10ms; up to 100000 points kept while writes fail)`, infos[0])
	errs := d.errorLines()
	assert.Regexp(t, `^anomaly plugin: InfluxDB: writing to `+url+` failed: .*connection refused; retrying, and keeping up to 100000 points meanwhile$`, errs[0])
	assert.Regexp(t, `^anomaly plugin: InfluxDB: 4 points could not be written to `+url+` before shutdown: .*connection refused$`, errs[len(errs)-1])
	for _, l := range append(d.infoLines(), errs...) {
		assert.NotContains(t, l, "hunter2")
	}
}

// A writer that cannot start fails init, naming the problem.
func TestInfluxBadConfigurationFailsInit(t *testing.T) {
	d := newFakeDaemon()
	p := newPlugin(d)
	require.NoError(t, p.configure(pluginBlock(failedRequests(), bare("InfluxDB", opt("URL", "http://h:8086"), opt("Bucket", "b")))))
	p.settings.InfluxDB.BufferLimit = 1 // past conf's checks
	assert.EqualError(t, p.init(), "influx: BufferLimit 1: want at least BatchSize (5000)")
}
