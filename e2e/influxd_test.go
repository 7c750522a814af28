package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// influxdBin is the InfluxDB the tests start: $INFLUXD, or the one
// `make influxd` installs.
func influxdBin(t testing.TB) string {
	if p := os.Getenv("INFLUXD"); p != "" {
		return p
	}
	p, err := filepath.Abs("../build/bin/influxd")
	require.NoError(t, err)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s not found: run `make influxd` (go install of influxd 1.8.10, about 2 minutes once)", p)
	}
	return p
}

// influxd is an InfluxDB 1.8 started by a test: on loopback only, on free
// ports, with its data in a temporary directory, reporting off. It is
// stopped when the test ends.
type influxd struct {
	t    testing.TB
	bin  string
	dir  string
	conf string
	log  string
	URL  string
	DB   string

	cmd  *exec.Cmd
	done chan error
}

// startInfluxd starts an InfluxDB with the database db.
func startInfluxd(t testing.TB, db string) *influxd {
	t.Helper()
	dir := t.TempDir()
	httpPort, rpcPort := freePort(t), freePort(t)
	d := &influxd{t: t, bin: influxdBin(t), dir: dir, conf: filepath.Join(dir, "influxdb.conf"),
		log: filepath.Join(dir, "influxd.log"), URL: fmt.Sprintf("http://127.0.0.1:%d", httpPort), DB: db}
	// Every listener but HTTP is off by default in 1.8, except the RPC
	// service of backup/restore: it goes on loopback too.
	conf := fmt.Sprintf(`reporting-disabled = true
bind-address = "127.0.0.1:%d"
[meta]
  dir = %q
  logging-enabled = false
[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:%d"
  auth-enabled = false
  log-enabled = false
  flux-enabled = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
[logging]
  level = "warn"
`, rpcPort, filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), httpPort)
	require.NoError(t, os.WriteFile(d.conf, []byte(conf), 0o644))
	d.start()
	t.Cleanup(d.stop)
	_, err := d.query("CREATE DATABASE " + strconv.Quote(db))
	require.NoError(t, err)
	return d
}

// freePort is a loopback TCP port nobody listens on (just now).
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs influxd and waits until it answers /ping.
func (d *influxd) start() {
	d.t.Helper()
	out, err := os.OpenFile(d.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(d.t, err)
	d.cmd = exec.Command(d.bin, "run", "-config", d.conf)
	d.cmd.Dir = d.dir
	d.cmd.Stdout, d.cmd.Stderr = out, out
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(d.t, d.cmd.Start())
	d.done = make(chan error, 1)
	go func(cmd *exec.Cmd, done chan error) { done <- cmd.Wait(); out.Close() }(d.cmd, d.done)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(d.URL + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return
			}
		}
		select {
		case err := <-d.done:
			d.done <- err
			b, _ := os.ReadFile(d.log)
			d.t.Fatalf("influxd exited: %v\n%s", err, b)
		case <-time.After(50 * time.Millisecond):
		}
	}
	b, _ := os.ReadFile(d.log)
	d.t.Fatalf("influxd did not answer on %s in 30s\n%s", d.URL, b)
}

// stop ends influxd: SIGTERM, then SIGKILL after 10 s. Its data stay, for
// start to run it again on the same port.
func (d *influxd) stop() { stopProcess(d.cmd, d.done, 10*time.Second) }

// series is one series of an InfluxQL result.
type series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// column returns the values of one column (json.Number for numbers).
func (s series) column(name string) []any {
	for i, c := range s.Columns {
		if c == name {
			out := make([]any, len(s.Values))
			for j, row := range s.Values {
				out[j] = row[i]
			}
			return out
		}
	}
	return nil
}

// query runs InfluxQL statements (POST /query, times in ns) and returns the
// series of all their results.
func (d *influxd) query(q string) ([]series, error) {
	form := url.Values{"q": {q}, "db": {d.DB}, "epoch": {"ns"}}
	resp, err := http.PostForm(d.URL+"/query", form)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		return nil, err
	}
	var r struct {
		Results []struct {
			Series []series `json:"series"`
			Error  string   `json:"error"`
		} `json:"results"`
		Error string `json:"error"`
	}
	dec := json.NewDecoder(&body)
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("query %q: HTTP %d: %w", q, resp.StatusCode, err)
	}
	if r.Error != "" {
		return nil, fmt.Errorf("query %q: %s", q, r.Error)
	}
	var out []series
	for _, res := range r.Results {
		if res.Error != "" {
			return nil, fmt.Errorf("query %q: %s", q, res.Error)
		}
		out = append(out, res.Series...)
	}
	return out, nil
}

func (d *influxd) mustQuery(t testing.TB, q string) []series {
	t.Helper()
	s, err := d.query(q)
	require.NoError(t, err)
	return s
}

// count is the number of points of a query's FROM (and WHERE): the
// largest count(*) of its fields.
func (d *influxd) count(t testing.TB, from string) int {
	t.Helper()
	s := d.mustQuery(t, "SELECT count(*) FROM "+from)
	n := 0
	for _, x := range s {
		for _, row := range x.Values {
			for _, v := range row[1:] {
				if c, ok := v.(json.Number); ok {
					i, err := c.Int64()
					require.NoError(t, err)
					n = max(n, int(i))
				}
			}
		}
	}
	return n
}
