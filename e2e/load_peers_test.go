package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The configurations of the load benchmark that run a process beside
// collectd (its peer), whose CPU and memory are measured too:
//
//	whole       the plugin as a site runs it: both shipped packs (e-commerce
//	            and host), an <Anomaly> on every series, the InfluxDB writer
//	            to a real influxd 1.8.10 (the peer)
//	prometheus  the same load judged by Prometheus instead: collectd's
//	            write_prometheus plugin, scraped by Prometheus 2.42 (the peer),
//	            which evaluates the latency rule of the pack (web-latency)
//
// Prometheus pulls: it sees each series' latest value at each scrape, so its
// scrape interval is the time one round of the load takes to send, and it
// gets every value. Its CPU is counted whole while the load runs (its cost
// of scraping and storing does not depend on whether the values change, so
// "beyond idle" would hide it); influxd's likewise.

// wholeBody is the whole configuration's part of collectd.conf: both packs
// and the site's own block, its files in dir, InfluxDB at url.
func wholeBody(b *testing.B, dir, url string) string {
	var includes string
	for _, pack := range []string{"../collectd.conf.d/anomaly.conf", "../collectd.conf.d/host.conf"} {
		abs, err := filepath.Abs(pack)
		if err != nil {
			b.Fatal(err)
		}
		includes += fmt.Sprintf("Include %q\n", abs)
	}
	// Scores false: every score is a value list collectd handles again, one
	// per value list; a site charts the scores of the series it cares for.
	// The default WarmUp (50 values): with fewer, the spread the detector
	// learns is too rough, and it alerts on noise (5 gave 44 false alerts
	// over 5,000 series and 15 rounds). So where the load has fewer rounds
	// (50,000 series and more), the detector learns and does not judge yet.
	return includes + fmt.Sprintf(`<Plugin anomaly>
  StateFile %q
  SilenceFile %q
  <Anomaly "every-series-unusual">
    Series "*/*"
    Scores false
  </Anomaly>
  <InfluxDB>
    URL %q
    Bucket "load/autogen"
  </InfluxDB>
</Plugin>
`, filepath.Join(dir, "anomaly.state"), filepath.Join(dir, "silences"), url)
}

// prometheusBody is the prometheus configuration's part of collectd.conf.
func prometheusBody(port int) string {
	return fmt.Sprintf("LoadPlugin write_prometheus\n<Plugin write_prometheus>\n  Host \"127.0.0.1\"\n  Port \"%d\"\n</Plugin>\n", port)
}

// prometheusRules is the pack's web-latency rule in Prometheus' terms: the
// mean page latency over 5 minutes above 500 ms for a minute.
const prometheusRules = `groups:
  - name: load
    rules:
      - alert: WebLatency
        expr: avg_over_time(collectd_ecommerce_gauge{type="page-latency-mean"}[5m]) > 500
        for: 1m
`

// loadPeer is a process beside collectd: its pid, and how to stop it.
type loadPeer struct {
	pid  int
	stop func()
}

// startPrometheus starts Prometheus scraping collectd's write_prometheus on
// port every interval, with prometheusRules, its data in dir.
func startPrometheus(b *testing.B, dir string, port int, interval time.Duration) *loadPeer {
	b.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		b.Fatalf("prometheus not found: `make loadbench-deps` installs Debian's prometheus (2.42) and write_prometheus's libraries")
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.yml"), []byte(prometheusRules), 0o644); err != nil {
		b.Fatal(err)
	}
	conf := fmt.Sprintf(`global:
  scrape_interval: %[1]dms
  scrape_timeout: %[1]dms
  evaluation_interval: %[1]dms
rule_files: [%[2]q]
scrape_configs:
  - job_name: collectd
    honor_timestamps: false
    static_configs:
      - targets: ["127.0.0.1:%[3]d"]
`, interval.Milliseconds(), filepath.Join(dir, "rules.yml"), port)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	web := freePort(b)
	out, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", web))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); out.Close() }()
	p := &loadPeer{pid: cmd.Process.Pid, stop: func() { stopProcess(cmd, done, 20*time.Second) }}
	b.Cleanup(p.stop)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/-/ready", web))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
	}
	log, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
	b.Fatalf("prometheus was not ready in 30 s\n%s", log)
	return nil
}

// procCPU is the CPU time process pid has used so far, all threads, user
// and system.
func procCPU(b *testing.B, pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name (in parentheses, which may hold
	// spaces) start with field 3, state; utime and stime are fields 14 and 15.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("parsing /proc/<pid>/stat %q: %v %v", stat, err1, err2)
	}
	return time.Duration(utime+stime) * procClockTick
}

// peakRSSMB is process pid's peak resident memory (VmHWM) in MB.
func peakRSSMB(b *testing.B, pid int) float64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^VmHWM:\s+(\d+) kB$`).FindSubmatch(status)
	if m == nil {
		b.Fatalf("no VmHWM in /proc/%d/status", pid)
	}
	kb, _ := strconv.Atoi(string(m[1]))
	return float64(kb) / 1000
}
