package conf_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"collectd.org/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/conf/conftest"
	"github.com/collectd-anomaly/collectd-anomaly/influx"
)

func influxBlock(children ...config.Block) config.Block {
	return bare("InfluxDB", children...)
}

func minimalInflux(extra ...config.Block) config.Block {
	return influxBlock(append([]config.Block{opt("URL", "http://127.0.0.1:8086"), opt("Bucket", "collectd")}, extra...)...)
}

func TestParseInfluxDBDefaults(t *testing.T) {
	assert.Nil(t, parseOne(t).InfluxDB, "no block, no InfluxDB")
	got := parseOne(t, minimalInflux()).InfluxDB
	assert.Equal(t, &conf.InfluxDB{
		Config: influx.Config{URL: "http://127.0.0.1:8086", Bucket: "collectd",
			BatchSize: 5000, FlushInterval: time.Second, BufferLimit: 100_000, Timeout: 10 * time.Second},
		WriteValues: true, WriteDerived: true, WriteHealth: true, WriteAlerts: true,
	}, got)
}

func TestParseInfluxDB(t *testing.T) {
	ca := conftest.WriteCA(t)
	s, err := conf.Parse(
		pluginBlock(minimalRatio("r"), opt("TimeScale", 60)),
		// In a block of its own, as a site configuration beside the rule
		// pack has it; option names in any case.
		pluginBlock(influxBlock(
			opt("url", "https://influx.example.com:8086/"),
			opt("Token", "user:pass"),
			opt("Org", "my-org"),
			opt("Bucket", "collectd/autogen"),
			opt("BatchSize", 100),
			opt("FlushInterval", "500ms"),
			opt("BufferLimit", 1000),
			opt("Timeout", 3),
			opt("CAFile", ca),
			opt("InsecureSkipVerify", true),
			opt("WriteValues", false),
			opt("WriteDerived", false),
			opt("WriteHealth", false),
			opt("WriteAlerts", false),
		)),
	)
	require.NoError(t, err)
	assert.Equal(t, &conf.InfluxDB{Config: influx.Config{
		URL: "https://influx.example.com:8086/", Token: "user:pass", Org: "my-org", Bucket: "collectd/autogen",
		BatchSize: 100, FlushInterval: 500 * time.Millisecond, BufferLimit: 1000, Timeout: 3 * time.Second,
		CAFile: ca, InsecureSkipVerify: true,
	}}, s.InfluxDB, "TimeScale does not touch InfluxDB's durations")
}

func TestParseInfluxDBErrors(t *testing.T) {
	const in = `<Plugin anomaly>: <InfluxDB>: `
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("hello"), 0o644))
	with := func(extra ...config.Block) []config.Block { return []config.Block{minimalInflux(extra...)} }
	checkErrors(t, []errorCase{
		{"two blocks", []config.Block{minimalInflux(), minimalInflux()}, in + `only one <InfluxDB> block is allowed`},
		{"argument", []config.Block{named("InfluxDB", "x", opt("URL", "http://h"), opt("Bucket", "b"))}, `<Plugin anomaly>: <InfluxDB "x">: takes no argument`},
		{"no URL", []config.Block{influxBlock(opt("Bucket", "b"))}, in + `missing URL, such as URL "http://127.0.0.1:8086"`},
		{"no Bucket", []config.Block{influxBlock(opt("URL", "http://h"))},
			in + `missing Bucket: "database/retention-policy" (or just "database") for InfluxDB 1.8, the bucket for 2.x`},
		{"empty Bucket", with(opt("Bucket", "")), in + `option Bucket "": must not be empty`},
		{"unknown option", with(opt("Database", "x")),
			in + `unknown option "Database" (options: URL, Token, TokenFile, Org, Bucket, BatchSize, FlushInterval, BufferLimit, Timeout, CAFile, InsecureSkipVerify, WriteValues, WriteDerived, WriteHealth, WriteAlerts)`},
		{"URL scheme", with(opt("URL", "udp://h:8089")), in + `option URL "udp://h:8089": want http://host:port or https://host:port`},
		{"URL without host", with(opt("URL", "localhost:8086")), in + `option URL "localhost:8086": want http://host:port or https://host:port`},
		{"URL number", with(opt("URL", 8086)), in + `option URL 8086: want one string in quotes`},
		{"URL not a URL", with(opt("URL", "http://h:port")), in + `option URL (value not shown): not a URL`},
		{"URL with credentials", with(opt("URL", "http://admin:hunter2@h:8086")),
			in + `option URL "http://h:8086 (credentials and query hidden)": put the credentials in Token ("user:password" for InfluxDB 1.8), not in the URL`},
		{"Token number", with(opt("Token", 12345)), in + `option Token (value not shown): want one string in quotes`},
		{"Token two values", with(opt("Token", "user", "hunter2")), in + `option Token (value not shown): want one string in quotes`},
		{"Token as a block", with(named("Token", "hunter2", opt("X", 1))), in + `option Token (value not shown): want one string in quotes`},
		{"Org number", with(opt("Org", 1)), in + `option Org 1: want one string in quotes`},
		{"BatchSize zero", with(opt("BatchSize", 0)), in + `option BatchSize 0: want a whole number from 1 to 2147483647`},
		{"BatchSize fraction", with(opt("BatchSize", 2.5)), in + `option BatchSize 2.5: want a whole number from 1 to 2147483647`},
		{"BatchSize above the default BufferLimit", with(opt("BatchSize", 200_000)),
			in + `option BatchSize 200000: the BufferLimit (default 100000) must be at least BatchSize`},
		{"BufferLimit below BatchSize", with(opt("BufferLimit", 10), opt("BatchSize", 100)), in + `option BufferLimit 10: must be at least BatchSize (100)`},
		{"BufferLimit string", with(opt("BufferLimit", "lots")), in + `option BufferLimit "lots": want one number`},
		{"FlushInterval zero", with(opt("FlushInterval", 0)), in + `option FlushInterval 0: must be more than zero`},
		{"FlushInterval bad", with(opt("FlushInterval", "soon")), in + `option FlushInterval "soon": ` + wantDuration},
		{"Timeout negative", with(opt("Timeout", -1)), in + `option Timeout -1: must not be negative`},
		{"CAFile relative", with(opt("CAFile", "ca.pem")), in + `option CAFile "ca.pem": want an absolute path`},
		{"CAFile missing", with(opt("CAFile", "/nonexistent/ca.pem")), in + `option CAFile "/nonexistent/ca.pem": open /nonexistent/ca.pem: no such file or directory`},
		{"CAFile not PEM", with(opt("CAFile", notPEM)), in + `option CAFile "` + notPEM + `": no PEM certificate in it`},
		{"CAFile number", with(opt("CAFile", 1)), in + `option CAFile 1: want one string in quotes`},
		{"InsecureSkipVerify string", with(opt("InsecureSkipVerify", "yes")), in + `option InsecureSkipVerify "yes": want true or false`},
		{"WriteValues number", with(opt("WriteValues", 1)), in + `option WriteValues 1: want true or false`},
		{"WriteDerived string", with(opt("WriteDerived", "no")), in + `option WriteDerived "no": want true or false`},
		{"WriteHealth nothing", with(opt("WriteHealth")), in + `option WriteHealth: want true or false`},
		{"WriteAlerts two", with(opt("WriteAlerts", true, false)), in + `option WriteAlerts true false: want true or false`},
	})
}

// TokenFile reads the token from a file's first line; errors name the file,
// never what it holds.
func TestParseInfluxDBTokenFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(file, []byte("  user:hunter2 \nsecond line\n"), 0o600))
	got := parseOne(t, minimalInflux(opt("TokenFile", file))).InfluxDB
	assert.Equal(t, "user:hunter2", got.Token)

	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, []byte("\nhunter2\n"), 0o600))
	in := `<Plugin anomaly>: <InfluxDB>: `
	for name, tc := range map[string]struct {
		b    config.Block
		want string
	}{
		"missing":  {minimalInflux(opt("TokenFile", filepath.Join(dir, "none"))), in + `option TokenFile "` + dir + `/none": open ` + dir + `/none: no such file or directory`},
		"empty":    {minimalInflux(opt("TokenFile", empty)), in + `option TokenFile "` + empty + `": the file's first line is empty: want the token there`},
		"relative": {minimalInflux(opt("TokenFile", "token")), in + `option TokenFile "token": want an absolute path`},
		"both":     {minimalInflux(opt("Token", "hunter2"), opt("TokenFile", file)), in + `option TokenFile "` + file + `": give Token or TokenFile, not both`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := conf.Parse(pluginBlock(tc.b))
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
}

// The token is a secret: no error shows it, whatever is wrong around it.
func TestParseInfluxDBErrorsHideTheToken(t *testing.T) {
	for _, b := range []config.Block{
		influxBlock(opt("Token", "hunter2")),
		influxBlock(opt("Token", "hunter2"), opt("URL", "http://h")),
		minimalInflux(opt("Token", "hunter2"), opt("BatchSize", 0)),
		minimalInflux(opt("Token", "hunter2", "hunter2")),
		minimalInflux(opt("URL", "http://user:hunter2@h")),
		minimalInflux(opt("URL", "http://user:hunter2@h:port")),
		minimalInflux(opt("URL", "http://user:hunter2@h"), opt("Token", "hunter2")),
	} {
		_, err := conf.Parse(pluginBlock(b))
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "hunter2")
	}
}

// writeCA writes a self-signed CA certificate in PEM.
