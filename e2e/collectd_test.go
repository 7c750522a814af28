package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pluginSO is the plugin under test: $ANOMALY_SO (the Makefile passes the one
// it built) or one built by TestMain.
var pluginSO string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if _, err := os.Stat(collectdBin); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %s not found: run `make deps` (Debian package collectd-core)\n", collectdBin)
		return 1
	}
	pluginSO = os.Getenv("ANOMALY_SO")
	if pluginSO == "" {
		dir, err := os.MkdirTemp("", "anomaly-e2e-build")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		pluginSO = filepath.Join(dir, "anomaly.so")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", pluginSO, "../plugin")
		cmd.Env = append(os.Environ(), "CGO_CPPFLAGS=-I/usr/include/collectd/core/daemon -I/usr/include/collectd/core -I/usr/include/collectd")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: building the plugin: %v\n%s", err, out)
			return 1
		}
	}
	abs, err := filepath.Abs(pluginSO)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pluginSO = abs
	return m.Run()
}

const collectdBin = "/usr/sbin/collectd"

// collectd is a collectd daemon started by a test.
type collectd struct {
	t     *testing.T
	dir   string
	log   string // the logfile plugin's file
	netns string // the network namespace it runs in (ip netns exec); empty: the test's own
	cmd   *exec.Cmd
	done  chan error
}

// startCollectd writes a configuration around body (which may Include the
// shipped rule pack) and starts collectd in the foreground. The daemon is
// stopped when the test ends, whatever its outcome.
func startCollectd(t *testing.T, body string) *collectd {
	t.Helper()
	return startCollectdWith(t, daemonOptions{csv: true}, body)
}

// daemonOptions are what tests vary of the daemon around their body.
type daemonOptions struct {
	csv      bool     // load the csv writer (thousands of hosts would be thousands of files)
	plugins  []string // collectd plugins the body loads, copied into the plugin directory
	hostname string   // collectd's Hostname; empty: "e2e-host"
	netns    string   // run collectd in this network namespace (fleet_test.go)
}

func startCollectdWith(t *testing.T, opt daemonOptions, body string) *collectd {
	t.Helper()
	dir := t.TempDir()
	plugins := filepath.Join(dir, "plugins")
	require.NoError(t, os.MkdirAll(plugins, 0o755))
	// collectd refuses a plugin that is a symlink: copy the ones we need.
	copyFile(t, pluginSO, filepath.Join(plugins, "anomaly.so"))
	for _, p := range append([]string{"logfile", "csv", "exec"}, opt.plugins...) {
		copyFile(t, "/usr/lib/collectd/"+p+".so", filepath.Join(plugins, p+".so"))
	}
	csv := ""
	if opt.csv {
		csv = fmt.Sprintf("LoadPlugin csv\n<Plugin csv>\n  DataDir %q\n</Plugin>\n", filepath.Join(dir, "csv"))
	}
	c := &collectd{t: t, dir: dir, log: filepath.Join(dir, "collectd.log"), netns: opt.netns, done: make(chan error, 1)}
	hostname := opt.hostname
	if hostname == "" {
		hostname = "e2e-host"
	}
	config := fmt.Sprintf(`Hostname %q
FQDNLookup false
BaseDir %q
PIDFile %q
PluginDir %q
TypesDB "/usr/share/collectd/types.db"
Interval 1
WriteQueueLimitHigh 100000
WriteQueueLimitLow 100000
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File %q
  Timestamp true
  PrintSeverity true
</Plugin>
%s%s
`, hostname, dir, filepath.Join(dir, "collectd.pid"), plugins, c.log, csv, body)
	confPath := filepath.Join(dir, "collectd.conf")
	require.NoError(t, os.WriteFile(confPath, []byte(config), 0o644))
	c.start(confPath)
	return c
}

// start runs collectd in the foreground on the configuration file confPath,
// in c.dir, its stdout and stderr in c.dir/stdout.log. The daemon is stopped
// when the test ends, whatever its outcome.
func (c *collectd) start(confPath string) {
	t := c.t
	t.Helper()
	out, err := os.Create(filepath.Join(c.dir, "stdout.log"))
	require.NoError(t, err)
	c.cmd = exec.Command(collectdBin, "-f", "-C", confPath)
	if c.netns != "" {
		// ip execs collectd in the namespace: the process is collectd's.
		c.cmd = exec.Command("ip", "netns", "exec", c.netns, collectdBin, "-f", "-C", confPath)
	}
	c.cmd.Dir = c.dir
	c.cmd.Stdout, c.cmd.Stderr = out, out
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, c.cmd.Start())
	go func() { c.done <- c.cmd.Wait(); out.Close() }()
	t.Cleanup(c.stop)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o755))
}

// stop ends collectd: SIGTERM, then SIGKILL if it has not exited in 10 s.
func (c *collectd) stop() {
	stopProcess(c.cmd, c.done, 10*time.Second)
	if c.t.Failed() {
		b, _ := os.ReadFile(c.log)
		o, _ := os.ReadFile(filepath.Join(c.dir, "stdout.log"))
		c.t.Logf("collectd log:\n%s\ncollectd stdout/stderr:\n%s", b, o)
	}
}

// stopProcess ends a daemon the tests started in its own process group:
// SIGTERM, then SIGKILL after grace. done receives the daemon's exit (from
// cmd.Wait) and gets it back, so that stopping twice, or after the daemon
// exited by itself, is fine.
func stopProcess(cmd *exec.Cmd, done chan error, grace time.Duration) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	select {
	case err := <-done:
		done <- err
		return
	default:
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case err := <-done:
		done <- err
	case <-time.After(grace):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		done <- <-done
	}
}

// exited waits up to d for collectd to exit by itself and returns its exit
// status and everything it printed and logged.
func (c *collectd) exited(d time.Duration) (exitCode int, output string, ok bool) {
	select {
	case err := <-c.done:
		c.done <- err // let stop see it too
		code := 0
		if ee, isExit := err.(*exec.ExitError); isExit {
			code = ee.ExitCode()
		}
		o, _ := os.ReadFile(filepath.Join(c.dir, "stdout.log"))
		l, _ := os.ReadFile(c.log)
		return code, string(o) + string(l), true
	case <-time.After(d):
		return 0, "", false
	}
}

// logLine is one line of collectd's logfile.
type logLine struct {
	Time     time.Time
	Severity string // "error", "warning", "notice", "info", "debug"; empty if none
	Text     string
}

// bad reports whether the line is an error or a warning.
func (l logLine) bad() bool { return l.Severity == "error" || l.Severity == "warning" }

var logPrefix = regexp.MustCompile(`^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\] (?:\[(\w+)\] )?(.*)$`)

func (c *collectd) lines() []logLine {
	f, err := os.Open(c.log)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []logLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := logPrefix.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		ts, err := time.ParseInLocation("2006-01-02 15:04:05", m[1], time.Local)
		if err != nil {
			continue
		}
		out = append(out, logLine{Time: ts, Severity: m[2], Text: m[3]})
	}
	return out
}

// waitFor waits until a log line matches re and returns it.
func (c *collectd) waitFor(re *regexp.Regexp, timeout time.Duration) (logLine, bool) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, l := range c.lines() {
			if re.MatchString(l.Text) {
				return l, true
			}
		}
		select {
		case err := <-c.done:
			c.done <- err
			return logLine{}, false
		case <-time.After(200 * time.Millisecond):
		}
	}
	return logLine{}, false
}

// notification is one notification as the logfile plugin writes it.
type notification struct {
	Time                                                   time.Time
	Severity, Host, Plugin, PluginInstance, Type, TypeInst string
	Message                                                string
}

// The logfile plugin leaves out the fields that are empty.
var notificationLine = regexp.MustCompile(`^Notification: severity = (\w+), host = ([^,]*)(?:, plugin = ([^,]*))?(?:, plugin_instance = ([^,]*))?(?:, type = ([^,]*))?(?:, type_instance = ([^,]*))?, message = (.*)$`)

func (c *collectd) notifications() []notification {
	var out []notification
	for _, l := range c.lines() {
		m := notificationLine.FindStringSubmatch(l.Text)
		if m == nil {
			continue
		}
		out = append(out, notification{Time: l.Time, Severity: m[1], Host: m[2], Plugin: m[3],
			PluginInstance: m[4], Type: m[5], TypeInst: m[6], Message: m[7]})
	}
	return out
}

// filter keeps the notifications of one rule and group.
func filter(ns []notification, rule, group string) []notification {
	var out []notification
	for _, n := range ns {
		if n.TypeInst == rule && n.PluginInstance == group {
			out = append(out, n)
		}
	}
	return out
}

// rulePack is the shipped rule pack, included as a user would include it.
func rulePack(t *testing.T) string {
	p, err := filepath.Abs("../collectd.conf.d/anomaly.conf")
	require.NoError(t, err)
	return fmt.Sprintf("Include %q\n", p)
}

func severities(ns []notification) string {
	var s []string
	for _, n := range ns {
		s = append(s, n.Severity)
	}
	return strings.Join(s, " ")
}
