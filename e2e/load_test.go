package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"
)

// BenchmarkCollectdLoad measures what each configuration costs a real
// collectd in CPU time per value list, under the same load: collectd's
// network plugin receives value lists shaped like the simulated shop (plugin
// "ecommerce", type "gauge", the 27 type instances of the simulator, for many
// hosts, the time advancing by the interval every round) from a load
// generator in this process, over UDP on 127.0.0.1 at a bounded rate.
//
// The speed target: the whole plugin should cost collectd no more CPU per
// value list than collectd's own threshold plugin. The configurations:
//
//	bare             the network plugin only, no write plugin
//	threshold        + collectd's C threshold plugin, thresholds on the series the rule pack judges
//	anomaly          + the whole plugin: the shipped rule pack (collectd.conf.d/anomaly.conf)
//	                   and an <InfluxDB> block (every value list to InfluxDB; here a sink in
//	                   this process that counts the points: InfluxDB's own CPU is not collectd's)
//	anomaly-noinflux + our plugin with the shipped rule pack, no InfluxDB
//	anomaly-norules  + our plugin with an empty <Plugin anomaly> block: the cgo callback alone
//	gobare           + a Go write plugin through collectd.org's RegisterWrite that
//	                   does nothing (testdata/gobare): the cost of collectd.org's conversion
//	whole            + the plugin as a site runs it, beside a real influxd
//	prometheus       + write_prometheus, scraped by a real Prometheus
//	                   (both in load_peers_test.go)
//
// and, on request only (ANOMALY_LOAD_CONFIGS), bare-log: like bare but
// without the filter chain described below.
//
// A run starts a fresh collectd, sends it one round of the load (every
// series once: collectd's cache, the threshold plugin's first OKAY per
// series, the rules' state per series are set up - a warm-up, not measured),
// waits until it is idle, measures its idle CPU for 3 s, sends the other
// rounds and waits until it is idle again. The CPU is collectd's utime+stime
// (/proc/<pid>/stat, every thread) from the first packet to idle, minus the
// idle rate times that duration (not for prometheus, whose idle CPU is the
// scrapes), divided by the number of value lists. Every
// configuration gets the very same load; they run interleaved (A B C D E A B C
// D E ...) so that other work on the machine hits them alike. The table has
// medians; a ratio is the median of the ratios within a repetition.
//
// The first round has the time it is sent at and the time advances by the
// interval every round, faster than the clock: the load runs ahead of it, so
// that no host looks silent to a rule that judges by the clock (a dead man's
// switch), as none would in real traffic.
//
// Nothing is dropped: the kernel counts the datagrams it drops at collectd's
// socket (the drops column of /proc/net/udp), and a run with drops is
// repeated (twice at most, then the benchmark fails); inside collectd, the
// network plugin's queue and the write queue are unbounded
// (WriteQueueLimitHigh is not set), so a slow write plugin makes collectd
// lag, never drop. The table shows that lag as "tail" (from the last packet
// to collectd idle; 0.5 s is the resolution). gobare counts the value lists
// it receives, and the InfluxDB sink the points: every value list sent must
// arrive.
//
// No write plugin in bare: collectd 5.12 then logs "Available write
// targets: [none]" (INFO) for every value list, formatting the message even
// when the logfile's LogLevel hides it, or writing it to stderr without a
// log plugin. So bare has a post-cache filter chain whose only target is
// "stop": value lists are received, parsed, queued, cached - and not handed
// to the (empty) list of write plugins. Every configuration loads the logfile
// plugin at LogLevel info into a file, for the checks after the run (no
// warnings or errors); none of them logs per value list.
//
// It takes minutes and is not run by `make test`. Run it with
//
//	make loadbench
//
// or go test -v -run '^$' -bench CollectdLoad -benchtime 1x -timeout 60m ./e2e/
// (ANOMALY_SO names the plugin to measure, else TestMain builds one; -v
// shows every run as it ends). The environment tunes it:
//
//	ANOMALY_LOAD_VALUES   value lists measured per run, rounded up to whole rounds (600000)
//	ANOMALY_LOAD_RATE     value lists per second (40000)
//	ANOMALY_LOAD_HOSTS    simulated hosts (1000)
//	ANOMALY_LOAD_SERIES   comma-separated numbers of distinct series, one table
//	                      part each: the hosts are as many as they take (overrides
//	                      ANOMALY_LOAD_HOSTS)
//	ANOMALY_LOAD_HOSTMETRICS  1: every host sends the 37 series of collectd's
//	                      standard read plugins too (hostMetrics), 64 in all
//	ANOMALY_LOAD_REPS     repetitions (5)
//	ANOMALY_LOAD_CONFIGS  comma-separated configurations, bare first (all but bare-log)
//	ANOMALY_LOAD_RULES    the rule pack of anomaly (collectd.conf.d/anomaly.conf)
//	ANOMALY_LOAD_PERF     a directory: record a perf profile of each measured load
//	                      there (perf costs CPU too: compare such runs only among
//	                      themselves)
//
// One call does the whole measurement; b.N is not a repetition count here.
func BenchmarkCollectdLoad(b *testing.B) {
	lc := loadSettings{
		values:      loadEnvInt(b, "ANOMALY_LOAD_VALUES", 600_000),
		rate:        loadEnvInt(b, "ANOMALY_LOAD_RATE", 40_000),
		hosts:       loadEnvInt(b, "ANOMALY_LOAD_HOSTS", 1000),
		reps:        loadEnvInt(b, "ANOMALY_LOAD_REPS", 5),
		hostMetrics: os.Getenv("ANOMALY_LOAD_HOSTMETRICS") == "1",
	}
	configs := loadConfigs(b)
	if s := os.Getenv("ANOMALY_LOAD_CONFIGS"); s != "" {
		configs = selectConfigs(b, configs, strings.Split(s, ","))
	}
	if configs[0].name != "bare" {
		b.Fatalf("ANOMALY_LOAD_CONFIGS must start with bare, the reference of the ratios")
	}
	scales := []int{0} // 0: ANOMALY_LOAD_HOSTS hosts
	if s := os.Getenv("ANOMALY_LOAD_SERIES"); s != "" {
		scales = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				b.Fatalf("ANOMALY_LOAD_SERIES=%q: want comma-separated positive numbers of series", s)
			}
			scales = append(scales, n)
		}
	}

	plugins := loadPluginDir(b)
	var tab strings.Builder
	w := tabwriter.NewWriter(&tab, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "series\tconfiguration\tns/value list\tx bare\tx threshold\tpeer ns/vl\tpeak RSS MB\tpeer RSS MB\tper repetition\tnotifications\ttail s\t\n")
	for _, series := range scales {
		if series > 0 {
			lc.hosts = (series + seriesPerHost(lc) - 1) / seriesPerHost(lc)
		}
		load := newShopLoad(b, lc)
		if testing.Verbose() {
			fmt.Fprintf(os.Stderr, "load: %d series; %d value lists measured per run (%d rounds of %d hosts x %d series, interval %s, after a warm-up round) at %d value lists/s; %d repetitions of %d configurations\n",
				load.distinct(), load.measured(), load.rounds-1, lc.hosts, len(load.series), loadInterval, lc.rate, lc.reps, len(configs))
		}
		results := map[string][]loadResult{}
		for rep := 0; rep < lc.reps; rep++ {
			for _, c := range configs {
				r := runLoadRetrying(b, plugins, c, load, lc.rate)
				results[c.name] = append(results[c.name], r)
				if testing.Verbose() {
					// Progress: the benchmark's log is printed at its end only.
					fmt.Fprintf(os.Stderr, "rep %d/%d %-16s %6.0f ns/vl (busy %6.3fs over %5.2fs, idle %4.1f ms/s, send %5.2fs, tail %4.2fs, peak RSS %4.0f MB, peer %5.0f ns/vl %4.0f MB, %d notifications, %d scrapes given up, attempt %d)\n",
						rep+1, lc.reps, c.name, r.nsPerVL, r.busy.Seconds(), r.wall.Seconds(), r.idleRate*1000, r.send.Seconds(), r.tail.Seconds(),
						r.rssMB, r.peerNsPerVL, r.peerRSSMB, r.notifications, r.scrapesFailed, r.attempts)
					if r.firstNotification != "" && rep == 0 {
						fmt.Fprintf(os.Stderr, "    the first of them: %s\n", r.firstNotification)
					}
				}
			}
		}
		for _, c := range configs {
			rs := results[c.name]
			ns := loadMedian(mapResults(rs, func(r loadResult) float64 { return r.nsPerVL }))
			xBare := loadMedian(pairedRatios(rs, results["bare"]))
			xThreshold := math.NaN()
			if t, ok := results["threshold"]; ok {
				xThreshold = loadMedian(pairedRatios(rs, t))
			}
			var each []string
			for _, r := range rs {
				mark := ""
				if r.scrapesFailed > 0 {
					mark = "*"
				}
				each = append(each, fmt.Sprintf("%.0f%s", r.nsPerVL, mark))
			}
			peerNs, peerRSS := "-", "-"
			if c.peer != "" {
				peerNs = fmt.Sprintf("%.0f", loadMedian(mapResults(rs, func(r loadResult) float64 { return r.peerNsPerVL })))
				peerRSS = fmt.Sprintf("%.0f", loadMedian(mapResults(rs, func(r loadResult) float64 { return r.peerRSSMB })))
			}
			fmt.Fprintf(w, "%d\t%s\t%.0f\t%.2f\t%.2f\t%s\t%.0f\t%s\t%s\t%.0f\t%.2f\t\n", load.distinct(), c.name, ns, xBare, xThreshold,
				peerNs, loadMedian(mapResults(rs, func(r loadResult) float64 { return r.rssMB })), peerRSS, strings.Join(each, " "),
				loadMedian(mapResults(rs, func(r loadResult) float64 { return float64(r.notifications) })),
				loadMedian(mapResults(rs, func(r loadResult) float64 { return r.tail.Seconds() })))
			unit := fmt.Sprintf("%s@%d", c.name, load.distinct())
			b.ReportMetric(ns, unit+"-ns/vl")
			if c.name != "bare" && c.name != "threshold" && !math.IsNaN(xThreshold) {
				b.ReportMetric(xThreshold, unit+"/threshold")
			}
		}
	}
	w.Flush()
	b.Logf("collectd's CPU per value list beyond idle at %d value lists/s, medians of %d interleaved repetitions; peer: the CPU (all of it, while the load ran) and peak RSS of the process beside collectd (influxd, prometheus); *: Prometheus gave up scrapes (write_prometheus could not format every series within a round: saturated)\n%s",
		lc.rate, lc.reps, tab.String())
	b.ReportMetric(0, "ns/op") // the wall time of the whole benchmark says nothing
}

// seriesPerHost is the number of series one simulated host sends: the
// shop's, and with hostMetrics the host's own too.
func seriesPerHost(lc loadSettings) int {
	n := len(simulatedNames())
	if lc.hostMetrics {
		n += len(hostMetrics())
	}
	return n
}

// loadInterval is the interval of the simulated hosts: the time of the value
// lists advances by it every round, as collectd's default Interval.
const loadInterval = 10 * time.Second

type loadSettings struct {
	values, rate, hosts, reps int
	hostMetrics               bool // the host's own series too (hostMetrics)
}

// loadConfig is one configuration under test: what is added to the common
// part of collectd.conf.
type loadConfig struct {
	name string
	body string
	// gobare: the count file to check after the run.
	countsValueLists bool
	// An <InfluxDB> block writing to a sink in this process is added.
	influx bool
	// A process beside collectd, measured too: "influxd" or "prometheus"
	// (load_peers_test.go).
	peer string
}

func loadConfigs(b *testing.B) []loadConfig {
	rulePack := os.Getenv("ANOMALY_LOAD_RULES")
	if rulePack == "" {
		rulePack = "../collectd.conf.d/anomaly.conf"
	}
	rulePack, err := filepath.Abs(rulePack)
	if err != nil {
		b.Fatal(err)
	}
	return []loadConfig{
		{name: "bare", body: `PostCacheChain "LoadBare"
<Chain "LoadBare">
  Target "stop"
</Chain>
`},
		{name: "threshold", body: thresholdConf},
		{name: "anomaly", body: fmt.Sprintf("Include %q\n", rulePack), influx: true},
		{name: "anomaly-noinflux", body: fmt.Sprintf("Include %q\n", rulePack)},
		{name: "anomaly-norules", body: "LoadPlugin anomaly\n<Plugin anomaly>\n</Plugin>\n"},
		{name: "gobare", body: "LoadPlugin gobare\n", countsValueLists: true},
		{name: "whole", peer: "influxd"},
		{name: "prometheus", peer: "prometheus"},
	}
}

func selectConfigs(b *testing.B, all []loadConfig, names []string) []loadConfig {
	all = append(all, loadConfig{name: "bare-log"}) // logs (and hides) a line per value list
	var out []loadConfig
	for _, n := range names {
		i := slices.IndexFunc(all, func(c loadConfig) bool { return c.name == strings.TrimSpace(n) })
		if i < 0 {
			b.Fatalf("ANOMALY_LOAD_CONFIGS: unknown configuration %q", n)
		}
		out = append(out, all[i])
	}
	return out
}

// thresholdConf: collectd's threshold plugin on the series the rule pack
// judges (errors, latency, payments, sessions), with bounds that normal
// traffic does not cross, as the rule pack's do not fire on it either.
const thresholdConf = `LoadPlugin threshold
<Plugin threshold>
  <Plugin "ecommerce">
    <Type "gauge">
      Instance "page-response-500"
      WarningMax 5
      FailureMax 10
    </Type>
    <Type "gauge">
      Instance "asset-response-500"
      WarningMax 5
      FailureMax 10
    </Type>
    <Type "gauge">
      Instance "page-response-400"
      WarningMax 20
      FailureMax 40
    </Type>
    <Type "gauge">
      Instance "asset-response-400"
      WarningMax 100
      FailureMax 200
    </Type>
    <Type "gauge">
      Instance "page-latency-mean"
      WarningMax 300
      FailureMax 500
    </Type>
    <Type "gauge">
      Instance "asset-latency-mean"
      WarningMax 30
      FailureMax 50
    </Type>
    <Type "gauge">
      Instance "new-sessions"
      FailureMin 1
    </Type>
    <Type "gauge">
      Instance "payment-provider-a.fraud"
      FailureMax 3
    </Type>
    <Type "gauge">
      Instance "payment-provider-b.fraud"
      FailureMax 3
    </Type>
  </Plugin>
</Plugin>
`

// loadPluginDir is a PluginDir for every configuration: collectd refuses
// plugins that are symlinks, so they are copied; gobare is built here.
func loadPluginDir(b *testing.B) string {
	dir := b.TempDir()
	for _, p := range []string{"network", "logfile", "threshold", "write_prometheus"} {
		loadCopyFile(b, "/usr/lib/collectd/"+p+".so", filepath.Join(dir, p+".so"))
	}
	loadCopyFile(b, pluginSO, filepath.Join(dir, "anomaly.so"))
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", filepath.Join(dir, "gobare.so"), "./testdata/gobare")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1",
		"CGO_CPPFLAGS=-I/usr/include/collectd/core/daemon -I/usr/include/collectd/core -I/usr/include/collectd")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building testdata/gobare: %v\n%s", err, out)
	}
	return dir
}

func loadCopyFile(tb testing.TB, from, to string) {
	tb.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o755); err != nil {
		tb.Fatal(err)
	}
}

// send sends d at rate value lists per second, evenly (to a millisecond)
// rather than in bursts, and returns when it started and ended.
func (d *datagrams) send(b *testing.B, conn net.Conn, rate int) (start, end time.Time) {
	start = time.Now()
	for i, p := range d.packets {
		due := start.Add(time.Duration(float64(d.before[i]) / float64(rate) * float64(time.Second)))
		if wait := time.Until(due); wait > time.Millisecond {
			time.Sleep(wait)
		}
		if _, err := conn.Write(p); err != nil {
			b.Fatalf("sending packet %d of %d: %v", i, len(d.packets), err)
		}
	}
	return start, time.Now()
}

// loadResult is one run of one configuration.
type loadResult struct {
	nsPerVL       float64
	busy          time.Duration // CPU time beyond idle during the load
	wall          time.Duration // first packet to collectd idle
	send          time.Duration // first packet to last
	tail          time.Duration // last packet to collectd idle
	idleRate      float64       // CPU seconds per second before the load
	notifications int           // during the measured load
	// firstNotification is the first of them.
	firstNotification string
	drops             int // datagrams the kernel dropped at collectd's socket
	attempts          int
	rssMB             float64 // collectd's peak resident memory
	peerNsPerVL       float64 // the peer's CPU while the load ran, per value list
	peerRSSMB         float64 // the peer's peak resident memory
	scrapesFailed     int     // scrapes Prometheus gave up (saturated)
}

// runLoadRetrying runs c until no datagram is dropped, at most three times:
// a busy machine may keep collectd's receive thread from the socket long
// enough to fill its buffer.
func runLoadRetrying(b *testing.B, plugins string, c loadConfig, load *shopLoad, rate int) loadResult {
	var r loadResult
	for attempt := 1; attempt <= 3; attempt++ {
		r = runLoad(b, plugins, c, load, rate)
		r.attempts = attempt
		if r.drops == 0 {
			return r
		}
	}
	b.Errorf("%s: the kernel dropped %d datagrams at collectd's socket in each of 3 runs: lower ANOMALY_LOAD_RATE", c.name, r.drops)
	return r
}

// runLoad starts a collectd with configuration c and sends it the first
// round of the load, which creates every series in collectd's cache and in
// the plugins (a threshold's first OKAY, say): a warm-up. Then it measures
// collectd's idle CPU, sends the other rounds, the load measured, waits until
// collectd is idle again and stops it.
func runLoad(b *testing.B, plugins string, c loadConfig, load *shopLoad, rate int) loadResult {
	b.Helper()
	var sink *influxSink
	if c.influx {
		sink = startInfluxSink(b)
		c.body += fmt.Sprintf(`<Plugin anomaly>
  <InfluxDB>
    URL %q
    Bucket "load/autogen"
  </InfluxDB>
</Plugin>
`, sink.url)
	}
	peerDir := b.TempDir()
	var peer *loadPeer
	var promPort int
	switch c.peer {
	case "influxd":
		db := startInfluxd(b, "load")
		defer db.stop()
		peer = &loadPeer{pid: db.cmd.Process.Pid, stop: db.stop}
		c.body += wholeBody(b, peerDir, db.URL)
	case "prometheus":
		promPort = freePort(b)
		c.body += prometheusBody(promPort)
	}
	d := startLoadCollectd(b, plugins, c)
	defer d.stop()
	if !d.waitReady(30 * time.Second) {
		b.Fatalf("%s: collectd did not start\n%s", c.name, d.output())
	}
	// quiet is the window in which collectd is idle once it used no more
	// CPU than before the load: with Prometheus scraping it, two scrapes.
	quiet := 500 * time.Millisecond
	if c.peer == "prometheus" {
		// One scrape per round: the time a round takes to send.
		round := time.Duration(float64(load.perRound) / float64(rate) * float64(time.Second)).Round(time.Millisecond)
		scrape := max(round, 100*time.Millisecond)
		peer = startPrometheus(b, peerDir, promPort, scrape)
		defer peer.stop()
		quiet = max(quiet, 2*scrape)
	}
	// The warm-up round has the time it is sent at; the load runs ahead of
	// the clock from there (a round takes less than an interval to send), so
	// no host looks silent to a rule judging by the clock (ecommerce-silent).
	now := time.Now()
	warm := load.encode(b, 0, 1, now)
	measured := load.encode(b, 1, load.rounds, now)
	conn, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", d.port))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()

	const settle = 1 * time.Second
	idleFor := max(3*time.Second, 2*quiet)
	warm.send(b, conn, rate)
	if c.peer == "prometheus" {
		// Never idle: each scrape formats every series, at 50,000 series
		// for longer than a window of no CPU. The warm-up round is parsed
		// within seconds; the scrapes' cost is then the idle rate.
		time.Sleep(max(5*time.Second, 2*quiet))
	} else {
		d.waitIdle(b, 0, quiet, time.Minute)
	}
	time.Sleep(settle)
	cpu0, t0 := d.cpu(b), time.Now()
	time.Sleep(idleFor)
	cpu1, t1 := d.cpu(b), time.Now()
	idleRate := (cpu1 - cpu0).Seconds() / t1.Sub(t0).Seconds()

	d.logFrom = d.logSize()
	stopPerf := d.perf(b, c.name)
	var peerStart time.Duration
	if peer != nil {
		peerStart = procCPU(b, peer.pid)
	}
	cpuStart := d.cpu(b)
	start, sentAt := measured.send(b, conn, rate)
	cpuEnd, end := d.waitIdle(b, idleRate, quiet, 10*time.Minute)
	stopPerf()

	r := loadResult{
		wall:     end.Sub(start),
		send:     sentAt.Sub(start),
		tail:     end.Sub(sentAt),
		idleRate: idleRate,
	}
	r.busy = cpuEnd - cpuStart
	if c.peer != "prometheus" {
		// Beyond idle; but collectd's idle CPU with Prometheus scraping it
		// is write_prometheus formatting every series for each scrape: the
		// pipeline's cost, counted whole.
		r.busy -= time.Duration(idleRate * float64(r.wall))
	}
	r.nsPerVL = float64(r.busy.Nanoseconds()) / float64(measured.total)
	r.rssMB = peakRSSMB(b, d.cmd.Process.Pid)
	if peer != nil {
		r.peerNsPerVL = float64((procCPU(b, peer.pid) - peerStart).Nanoseconds()) / float64(measured.total)
		r.peerRSSMB = peakRSSMB(b, peer.pid)
	}

	drops, ok := udpDrops(d.port)
	if !ok {
		b.Fatalf("%s: collectd's socket 127.0.0.1:%d is not in /proc/net/udp", c.name, d.port)
	}
	r.drops = drops
	d.stop()
	if c.countsValueLists && drops == 0 {
		got, err := os.ReadFile(filepath.Join(d.dir, "count"))
		if err != nil {
			b.Errorf("%s: %v", c.name, err)
		} else if n, _ := strconv.Atoi(strings.TrimSpace(string(got))); n != warm.total+measured.total {
			b.Errorf("%s: the write plugin received %d value lists, %d were sent", c.name, n, warm.total+measured.total)
		}
	}
	if sink != nil && drops == 0 {
		// Every value list is a point, and so is every alert and derived value.
		if n := sink.points.Load(); n < int64(warm.total+measured.total) {
			b.Errorf("%s: InfluxDB received %d points, %d value lists were sent", c.name, n, warm.total+measured.total)
		}
	}
	var complaints []string
	r.notifications, r.firstNotification, complaints = d.logSummary()
	if c.peer == "prometheus" {
		// Prometheus gave up a scrape (scrape_timeout): write_prometheus
		// could not format every series within a round. Not a fault of
		// the run: the pipeline is saturated, which the table says.
		kept := complaints[:0]
		for _, l := range complaints {
			if strings.Contains(l, "write_prometheus plugin: Failed to send the response body") {
				r.scrapesFailed++
			} else {
				kept = append(kept, l)
			}
		}
		complaints = kept
	}
	if len(complaints) > 0 {
		b.Errorf("%s: collectd logged %d warnings or errors, the first: %s", c.name, len(complaints), complaints[0])
	}
	return r
}

// influxSink stands in for InfluxDB: it accepts every write and counts the
// points, so that the writer's cost is measured without InfluxDB's (which
// runs elsewhere in production, and would compete with collectd for this
// machine's cores here).
type influxSink struct {
	url    string
	points atomic.Int64
}

func startInfluxSink(b *testing.B) *influxSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &influxSink{url: "http://" + ln.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			gz, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = gz
		}
		data, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if len(data) > 0 {
			n := bytes.Count(data, []byte{'\n'})
			if data[len(data)-1] != '\n' {
				n++
			}
			s.points.Add(int64(n))
		}
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return s
}

// loadCollectd is a collectd started by the load benchmark.
type loadCollectd struct {
	dir, log string
	port     int
	cmd      *exec.Cmd
	done     chan error
	logFrom  int64 // where the measured load starts in the log
	quietLog bool  // LogLevel err: readiness is the socket alone
}

func (d *loadCollectd) logSize() int64 {
	fi, err := os.Stat(d.log)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// perf records a profile of collectd (perf record -g) into
// $ANOMALY_LOAD_PERF/<name>-<pid>.perf.data, if that is set, until the
// function it returns is called. perf costs collectd CPU as well: the
// numbers of such a run are not comparable with runs without it.
func (d *loadCollectd) perf(b *testing.B, name string) (stop func()) {
	dir := os.Getenv("ANOMALY_LOAD_PERF")
	if dir == "" {
		return func() {}
	}
	out := filepath.Join(dir, fmt.Sprintf("%s-%d.perf.data", name, d.cmd.Process.Pid))
	cmd := exec.Command("perf", "record", "-g", "-F", "999", "-o", out, "-p", strconv.Itoa(d.cmd.Process.Pid))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		b.Fatalf("ANOMALY_LOAD_PERF: %v", err)
	}
	time.Sleep(500 * time.Millisecond) // perf attaches
	return func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
}

// startLoadCollectd starts collectd in the foreground with the network
// plugin listening on a free UDP port of 127.0.0.1, the logfile plugin and
// configuration c.
func startLoadCollectd(b *testing.B, plugins string, c loadConfig) *loadCollectd {
	b.Helper()
	dir := b.TempDir()
	d := &loadCollectd{dir: dir, log: filepath.Join(dir, "collectd.log"), port: freeUDPPort(b), done: make(chan error, 1)}
	logLevel := "info"
	if c.name == "bare-log" {
		logLevel = "err" // hides the INFO line of every value list, and "Initialization complete"
		d.quietLog = true
	}
	config := fmt.Sprintf(`Hostname "load-host"
FQDNLookup false
BaseDir %q
PIDFile %q
PluginDir %q
TypesDB "/usr/share/collectd/types.db"
Interval %d
LoadPlugin logfile
<Plugin logfile>
  LogLevel %s
  File %q
  Timestamp true
  PrintSeverity true
</Plugin>
LoadPlugin network
<Plugin network>
  Listen "127.0.0.1" "%d"
</Plugin>
%s`, dir, filepath.Join(dir, "collectd.pid"), plugins, int(loadInterval.Seconds()), logLevel, d.log, d.port, c.body)
	confPath := filepath.Join(dir, "collectd.conf")
	if err := os.WriteFile(confPath, []byte(config), 0o644); err != nil {
		b.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		b.Fatal(err)
	}
	d.cmd = exec.Command(collectdBin, "-f", "-C", confPath)
	d.cmd.Dir = dir
	d.cmd.Env = append(os.Environ(), "GOBARE_COUNT_FILE="+filepath.Join(dir, "count"))
	d.cmd.Stdout, d.cmd.Stderr = out, out
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait(); out.Close() }()
	b.Cleanup(d.stop)
	return d
}

// freeUDPPort is a UDP port of 127.0.0.1 that nothing listens on.
func freeUDPPort(b testing.TB) int {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// waitReady waits until collectd has initialised its plugins and listens.
func (d *loadCollectd) waitReady(timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
		log, _ := os.ReadFile(d.log)
		if _, listening := udpDrops(d.port); listening && (d.quietLog || strings.Contains(string(log), "Initialization complete")) {
			return true
		}
		select {
		case err := <-d.done:
			d.done <- err
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
	return false
}

// procClockTick is the unit of utime and stime in /proc/<pid>/stat (USER_HZ,
// 100 on every Linux architecture Go supports).
const procClockTick = 10 * time.Millisecond

// cpu is the CPU time collectd has used so far, all threads, user and system.
func (d *loadCollectd) cpu(b *testing.B) time.Duration { return procCPU(b, d.cmd.Process.Pid) }

// waitIdle waits until collectd has handled its backlog: until it used no
// more CPU in a window than when idle (idleRate, CPU seconds per second),
// give or take two clock ticks and a tenth. It returns collectd's CPU time
// and the time then.
func (d *loadCollectd) waitIdle(b *testing.B, idleRate float64, window, timeout time.Duration) (time.Duration, time.Time) {
	prev := d.cpu(b)
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
		time.Sleep(window)
		cur, now := d.cpu(b), time.Now()
		// A tenth over the idle rate: scrapes vary in cost.
		if cur-prev <= time.Duration(1.1*idleRate*float64(window))+2*procClockTick {
			return cur, now
		}
		prev = cur
	}
	b.Fatalf("collectd still busy %s after the load", timeout)
	return 0, time.Time{}
}

// udpDrops returns the drops counter of the UDP socket bound to
// 127.0.0.1:port, and whether there is one.
func udpDrops(port int) (int, bool) {
	f, err := os.Open("/proc/net/udp")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	local := fmt.Sprintf("0100007F:%04X", port)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops
		fields := strings.Fields(sc.Text())
		if len(fields) >= 13 && fields[1] == local {
			n, err := strconv.Atoi(fields[len(fields)-1])
			return n, err == nil
		}
	}
	return 0, false
}

// stop ends collectd with SIGTERM (SIGKILL after 20 s) and waits for it: its
// shutdown callbacks run (gobare writes its count then).
func (d *loadCollectd) stop() { stopProcess(d.cmd, d.done, 20*time.Second) }

// output is what collectd logged and printed, for a failure message.
func (d *loadCollectd) output() string {
	log, _ := os.ReadFile(d.log)
	out, _ := os.ReadFile(filepath.Join(d.dir, "stdout.log"))
	return string(log) + string(out)
}

// logSummary counts the notifications in collectd's log, returns the first,
// and the lines of severity warning or error, and what collectd printed to
// stdout or stderr, but for the expected ones.
func (d *loadCollectd) logSummary() (notifications int, first string, complaints []string) {
	log, _ := os.ReadFile(d.log)
	var at int64
	for _, line := range strings.Split(string(log), "\n") {
		measured := at >= d.logFrom
		at += int64(len(line)) + 1
		m := logPrefix.FindStringSubmatch(line)
		switch {
		case m == nil:
		case strings.HasPrefix(m[3], "Notification: "):
			if !measured {
				continue
			}
			if notifications == 0 {
				first = m[3]
			}
			notifications++
		case strings.Contains(m[3], "No write callback has been registered"):
			// bare has none: the warning comes once.
		case strings.Contains(m[3], "MHD_OPTION_EXTERNAL_LOGGER is not the first option"):
			// write_prometheus 5.12 with libmicrohttpd 0.9.75, at start: harmless.
		case strings.Contains(line, "] [warning] "), strings.Contains(line, "] [error] "):
			complaints = append(complaints, line)
		}
	}
	out, _ := os.ReadFile(filepath.Join(d.dir, "stdout.log"))
	for _, line := range strings.Split(string(out), "\n") {
		// collectd prints the plugins it loads before the logfile plugin takes over.
		if line != "" && !strings.Contains(line, "successfully loaded") {
			complaints = append(complaints, "stdout/stderr: "+line)
		}
	}
	return notifications, first, complaints
}

func loadEnvInt(b testing.TB, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive whole number", name, s)
	}
	return n
}

func mapResults(rs []loadResult, f func(loadResult) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

// pairedRatios are the ratios of rs to ref run by run: run i of every
// configuration belongs to the same repetition.
func pairedRatios(rs, ref []loadResult) []float64 {
	out := make([]float64, len(rs))
	for i := range rs {
		out[i] = rs[i].nsPerVL / ref[i].nsPerVL
	}
	return out
}

func loadMedian(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return math.NaN()
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
