package e2e

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What the Debian package installs (scripts/deb.sh).
const (
	debName     = "collectd-anomaly"
	debConfDir  = "/etc/collectd/collectd.conf.d"
	debStateDir = "/var/lib/collectd-anomaly"
)

var (
	debFiles = []string{
		"/usr/lib/collectd/anomaly.so",
		"/usr/bin/anomaly",
		"/usr/share/man/man1/anomaly.1.gz",
		"/usr/share/doc/collectd-anomaly/copyright",
		"/usr/share/doc/collectd-anomaly/changelog.gz",
		"/usr/share/doc/collectd-anomaly/examples/fleet/b-one-aggregator/aggregator.conf",
		"/usr/share/collectd-anomaly/grafana/dashboards/collectd-anomaly.json",
		"/usr/share/collectd-anomaly/grafana/provisioning/dashboards/anomaly.yaml",
		"/usr/share/collectd-anomaly/grafana/provisioning/datasources/influxdb.yaml",
	}
	debConffiles = []string{
		debConfDir + "/anomaly-ecommerce.conf.disabled",
		debConfDir + "/anomaly-host.conf",
		debConfDir + "/anomaly-simulation.conf.disabled",
	}
)

// The Debian package of `make deb` (or $ANOMALY_DEB) on this machine, as
// an administrator uses it: dpkg -i puts every file where the package says;
// collectd reads the installed configuration and loads the installed plugin
// with the host pack, which is on, and the e-commerce pack and the
// simulation, which are off, work once renamed to .conf; dpkg -r removes
// the files and keeps the conffiles (and the state someone left); dpkg -P
// removes those too. The package is purged whatever the outcome. The test
// refuses, with a skip that says why, where it would replace or remove what
// another installation put there (make install, an installed package).
// Other tests are not affected: they load build/anomaly.so from their own
// plugin directories.
func TestDebianPackage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: dpkg -i and dpkg -P need root; run the end-to-end tests as root to test the Debian package")
	}
	for _, tool := range []string{"dpkg", "dpkg-deb", "dpkg-query"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: this is no Debian system to install the package on", tool)
		}
	}
	if s := debStatus(t); s != "not-installed" {
		t.Skipf("%s is already on this machine (%s): the test would replace it and purge it", debName, s)
	}
	for _, p := range append(append([]string{debStateDir}, debFiles...), debConffiles...) {
		if _, err := os.Lstat(p); err == nil {
			t.Skipf("%s exists though %s is not installed (make install?): the test would overwrite or remove it", p, debName)
		}
	}
	if others, _ := filepath.Glob(debConfDir + "/*.conf"); len(others) > 0 {
		t.Skipf("%s holds %v: collectd would read them too when the test starts it on the installed configuration", debConfDir, others)
	}
	_, err := os.Stat(debConfDir)
	confDirExisted := err == nil

	deb := debPackage(t)
	fields := output(t, "dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Depends", "Maintainer", "Section", "Priority", "Description")
	t.Logf("%s:\n%s", deb, fields)
	arch := strings.TrimSpace(output(t, "dpkg", "--print-architecture"))
	assert.Contains(t, fields, "Package: "+debName)
	assert.Contains(t, fields, "Architecture: "+arch)
	assert.Regexp(t, `(?m)^Depends: collectd-core\b.*, libc6\b`, fields)
	assert.Regexp(t, `(?m)^Version: [0-9][A-Za-z0-9.+~]*$`, fields)

	// Registered before dpkg -i: a failure anywhere below still purges.
	t.Cleanup(func() {
		if s := debStatus(t); s != "not-installed" {
			if out, err := dpkg("-P", debName); err != nil {
				t.Errorf("cleaning up: dpkg -P %s: %v\n%s", debName, err, out)
			}
		}
		// dpkg removes the directory with its last file; it was there before.
		if confDirExisted {
			_ = os.MkdirAll(debConfDir, 0o755)
		}
	})
	out, err := dpkg("-i", deb)
	require.NoError(t, err, "dpkg -i:\n%s", out)
	require.Equal(t, "installed", debStatus(t))

	// The files, where the package says, and the plugin a real file:
	// collectd refuses a symlinked .so.
	for _, p := range debFiles {
		fi, err := os.Lstat(p)
		if assert.NoError(t, err, "installed file") {
			assert.True(t, fi.Mode().IsRegular(), "%s is a regular file (mode %s)", p, fi.Mode())
		}
	}
	for p, perm := range map[string]os.FileMode{"/usr/bin/anomaly": 0o755, "/usr/lib/collectd/anomaly.so": 0o644} {
		if fi, err := os.Stat(p); err == nil {
			assert.Equal(t, perm, fi.Mode().Perm(), p)
		}
	}
	conffiles := output(t, "dpkg-query", "-W", "-f=${Conffiles}", debName)
	for _, p := range debConffiles {
		assert.Contains(t, conffiles, " "+p+" ", "a conffile")
		assert.FileExists(t, p)
	}
	fi, err := os.Stat(debStateDir)
	require.NoError(t, err, "the state directory")
	assert.True(t, fi.IsDir())
	entries, _ := os.ReadDir(debStateDir)
	assert.Empty(t, entries, "the state directory, as shipped")

	// The man page holds the top level and every command.
	man := gunzip(t, "/usr/share/man/man1/anomaly.1.gz")
	assert.True(t, strings.HasPrefix(man, ".TH ANOMALY 1 "), "the man page starts with its title:\n%.200s", man)
	for _, c := range []string{"check", "replay", "eval"} {
		assert.Contains(t, man, `.SS "anomaly `+c+`"`)
	}
	assert.Contains(t, man, `\fB\-days float\fR`, "a flag of replay")

	// The installed command reads the installed packs.
	check, err := exec.Command("/usr/bin/anomaly", append([]string{"check"}, debConffiles...)...).CombinedOutput()
	require.NoError(t, err, "anomaly check:\n%s", check)
	assert.Contains(t, string(check), "anomaly-host.conf: OK, 12 rules")
	assert.Contains(t, string(check), "anomaly-ecommerce.conf.disabled: OK, 11 rules")

	// collectd -t on the installed configuration: Debian's collectd.conf
	// (package collectd), or without it a collectd.conf as minimal as the
	// test can make it around Debian's Include of collectd.conf.d. In
	// collectd 5.12 -t exits 0 whatever the file holds (collectd issue
	// #3216, fixed after 5.12), so -T, which also initialises the plugins
	// and reads once, is what says yes or no, on the minimal file: on
	// Debian's it would have rrdtool write into /var/lib/collectd.
	dir := t.TempDir()
	minimal, _ := debCollectdConf(t, filepath.Join(dir, "test"), debConfDir)
	system := "/etc/collectd/collectd.conf"
	if _, err := os.Stat(system); err != nil {
		t.Logf("%s missing (collectd-core alone ships none): testing %s", system, minimal)
		system = minimal
	}
	out, err = collectdOnce(t, "-t", system)
	require.NoError(t, err, "collectd -t -C %s:\n%s", system, out)
	out, err = collectdOnce(t, "-T", minimal)
	require.NoError(t, err, "collectd -T -C %s:\n%s", minimal, out)
	assert.Regexp(t, `anomaly plugin: 12 rules \(aggregate host-cpu-saturated, .*\); no simulation`, out)

	// The opt-in the README gives: the e-commerce pack and the simulation
	// renamed to .conf (in a copy of the directory, not in /etc). Both packs
	// say LoadPlugin anomaly; collectd reads the files in name order and
	// the plugin adds up the three <Plugin anomaly> blocks.
	optIn := filepath.Join(dir, "opt-in.conf.d")
	require.NoError(t, os.MkdirAll(optIn, 0o755))
	for _, p := range debConffiles {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(optIn, strings.TrimSuffix(filepath.Base(p), ".disabled")), b, 0o644))
	}
	optInConf, _ := debCollectdConf(t, filepath.Join(dir, "opt-in"), optIn)
	out, err = collectdOnce(t, "-T", optInConf)
	require.NoError(t, err, "collectd -T with both packs and the simulation:\n%s", out)
	assert.Regexp(t, `anomaly plugin: 23 rules \(.*web-failed-requests.*host-cpu-saturated.*\); simulating e-commerce traffic`, out)

	// collectd in the foreground on the installed configuration: the
	// plugin logs its rules, collectd runs a few intervals and stops
	// cleanly, and nothing in its log is a warning or an error.
	daemon, log := debCollectdConf(t, filepath.Join(dir, "daemon"), debConfDir)
	c := &collectd{t: t, dir: filepath.Dir(daemon), log: log, done: make(chan error, 1)}
	c.start(daemon)
	_, ok := c.waitFor(regexp.MustCompile(`anomaly plugin: 12 rules`), 30*time.Second)
	require.True(t, ok, "the installed plugin did not log the host pack's rules")
	time.Sleep(3 * time.Second)
	c.stop()
	_, ok = c.waitFor(regexp.MustCompile(`anomaly plugin: stopped: `), 5*time.Second)
	assert.True(t, ok, "the plugin's line at shutdown")
	for _, l := range c.lines() {
		assert.False(t, l.bad(), "collectd's log: [%s] %s", l.Severity, l.Text)
	}

	// State someone left (the plugin writes none yet): dpkg -r must keep
	// it, dpkg -P must not.
	require.NoError(t, os.WriteFile(filepath.Join(debStateDir, "state"), []byte("x"), 0o644))

	out, err = dpkg("-r", debName)
	require.NoError(t, err, "dpkg -r:\n%s", out)
	assert.Equal(t, "config-files", debStatus(t))
	assert.Contains(t, out, "anomaly-host.conf stays", "postrm's word on the enabled pack")
	for _, p := range debFiles {
		assert.NoFileExists(t, p, "removed with the package")
	}
	for _, p := range debConffiles {
		assert.FileExists(t, p, "a conffile stays on remove")
	}
	assert.FileExists(t, filepath.Join(debStateDir, "state"), "the state stays on remove")

	out, err = dpkg("-P", debName)
	require.NoError(t, err, "dpkg -P:\n%s", out)
	assert.Equal(t, "not-installed", debStatus(t))
	for _, p := range append([]string{debStateDir}, debConffiles...) {
		_, err := os.Lstat(p)
		assert.True(t, os.IsNotExist(err), "%s gone after purge (%v)", p, err)
	}
	if !confDirExisted {
		assert.NoDirExists(t, debConfDir, "dpkg -P leaves no directory the package made")
	}
}

// debPackage is the package under test: $ANOMALY_DEB, or the one `make deb`
// builds (it names it on its last line).
func debPackage(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ANOMALY_DEB"); p != "" {
		abs, err := filepath.Abs(p)
		require.NoError(t, err)
		require.FileExists(t, abs, "$ANOMALY_DEB")
		return abs
	}
	cmd := exec.Command("make", "-s", "-C", "..", "deb")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "make deb:\n%s", out)
	m := regexp.MustCompile(`(?m)^(build/\S+\.deb)$`).FindAllStringSubmatch(string(out), -1)
	require.NotEmpty(t, m, "make deb names no package:\n%s", out)
	abs, err := filepath.Abs(filepath.Join("..", m[len(m)-1][1]))
	require.NoError(t, err)
	return abs
}

// debStatus is dpkg's word on the package: installed, config-files (removed,
// not purged), not-installed, or a state between.
func debStatus(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("dpkg-query", "-W", "-f=${db:Status-Status}", debName).Output()
	if err != nil {
		// dpkg-query fails for a package it has never heard of, or no
		// longer (after a purge).
		return "not-installed"
	}
	return strings.TrimSpace(string(out))
}

// dpkg runs dpkg, waiting up to two minutes for its lock: apt on this
// machine (another test's setup, unattended upgrades) holds it a while.
func dpkg(args ...string) (string, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		cmd := exec.Command("dpkg", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "lock") || time.Now().After(deadline) {
			return string(out), err
		}
		time.Sleep(2 * time.Second)
	}
}

// output runs a command that must succeed and returns its standard output.
func output(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	require.NoError(t, err, "%s %s", name, strings.Join(args, " "))
	return string(out)
}

// debCollectdConf writes a collectd.conf into dir that reads confDir as
// Debian's collectd.conf reads /etc/collectd/collectd.conf.d, and keeps
// everything else in dir: the base directory, the PID file and a logfile
// plugin's log (nothing to syslog, nothing into /var/lib/collectd). The
// plugins are the system's, the installed anomaly.so among them.
func debCollectdConf(t *testing.T, dir, confDir string) (conf, log string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	conf, log = filepath.Join(dir, "collectd.conf"), filepath.Join(dir, "collectd.log")
	body := fmt.Sprintf(`Hostname "e2e-host"
FQDNLookup false
BaseDir %q
PIDFile %q
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
Interval 1
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File %q
  Timestamp true
  PrintSeverity true
</Plugin>
<Include %q>
  Filter "*.conf"
</Include>
`, dir, filepath.Join(dir, "collectd.pid"), log, confDir)
	require.NoError(t, os.WriteFile(conf, []byte(body), 0o644))
	return conf, log
}

// collectdOnce runs collectd with a test flag (-t, -T) on a configuration
// and returns what it printed and, when the configuration logs to a file
// beside it, that log.
func collectdOnce(t *testing.T, flag, conf string) (string, error) {
	t.Helper()
	cmd := exec.Command(collectdBin, flag, "-C", conf)
	cmd.Dir = filepath.Dir(conf)
	out, err := cmd.CombinedOutput()
	if b, rerr := os.ReadFile(filepath.Join(filepath.Dir(conf), "collectd.log")); rerr == nil {
		out = append(out, b...)
	}
	return string(out), err
}

func gunzip(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	z, err := gzip.NewReader(f)
	require.NoError(t, err)
	b, err := io.ReadAll(z)
	require.NoError(t, err)
	return string(b)
}
