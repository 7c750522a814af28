package conf_test

import (
	"os"
	"path/filepath"
	"testing"

	"collectd.org/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
)

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
}

// ReadFile reads collectd's syntax: options, blocks, typed values, comments,
// continued lines, and Include of directories with or without a Filter.
func TestReadFileSyntax(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "collectd.conf"), `# collectd.conf
Interval 10
LoadPlugin anomaly
<Plugin anomaly>
  Hostname "cent\"ral" # a comment after a value
  MaxSeries 0x10
  <Ratio "r">
    Numerator "a/b" \
      "a/c"
    AggregateHosts true
    Window -1.5e2
    Host off
  </Ratio>
</Plugin>
Include "conf.d"
<Include "conf.d">
  Filter "*.conf"
</Include>
`)
	writeFile(t, filepath.Join(dir, "conf.d", "b.conf"), "<Plugin anomaly>\n  TimeScale 60\n</Plugin>\n")
	writeFile(t, filepath.Join(dir, "conf.d", "a.txt"), "Hostname shop\n")

	root, err := conf.ReadFile(filepath.Join(dir, "collectd.conf"))
	require.NoError(t, err)
	plugin := config.Block{Key: "Plugin", Values: config.Values("anomaly"), Children: []config.Block{
		{Key: "Hostname", Values: config.Values(`cent"ral`)},
		{Key: "MaxSeries", Values: config.Values(16.0)},
		{Key: "Ratio", Values: config.Values("r"), Children: []config.Block{
			{Key: "Numerator", Values: config.Values("a/b", "a/c")},
			{Key: "AggregateHosts", Values: config.Values(true)},
			{Key: "Window", Values: config.Values(-150.0)},
			{Key: "Host", Values: config.Values(false)},
		}},
	}}
	included := config.Block{Key: "Plugin", Values: config.Values("anomaly"), Children: []config.Block{{Key: "TimeScale", Values: config.Values(60.0)}}}
	assert.Equal(t, config.Block{Children: []config.Block{
		{Key: "Interval", Values: config.Values(10.0)},
		{Key: "LoadPlugin", Values: config.Values("anomaly")},
		plugin,
		{Key: "Hostname", Values: config.Values("shop")}, // Include of a directory: every file, sorted
		included,
		included, // <Include> with a Filter: *.conf only
	}}, root)

	blocks := conf.PluginBlocks(root, "anomaly")
	assert.Equal(t, []config.Block{plugin, included, included}, blocks)
	assert.Empty(t, conf.PluginBlocks(root, "csv"))
}

func TestReadFileErrorsNameFileAndLine(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		text, want string
	}{
		{"Hostname \"open\n", ":1: a quoted string is not closed"},
		{"<Plugin anomaly>\n</Ratio>\n", ":2: </Ratio> closes no open <Ratio>"},
		{"# fine\n\n<Plugin anomaly>\n  MaxSeries 5\n", ": <Plugin> is never closed"},
		{"<Plugin anomaly\n</Plugin>\n", ":1: <Plugin is not closed with '>'"},
		{"Include \"missing.conf\"\n", `:1: Include "` + filepath.Join(dir, "missing.conf") + `": no such file`},
	} {
		path := filepath.Join(dir, "bad.conf")
		writeFile(t, path, tc.text)
		_, err := conf.ReadFile(path)
		require.Error(t, err, tc.text)
		assert.Equal(t, path+tc.want, err.Error(), tc.text)
	}
	_, err := conf.ReadFile(filepath.Join(dir, "absent.conf"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// The shipped rule pack and simulation configuration are valid, together.
func TestShippedConfigurationParses(t *testing.T) {
	var blocks []config.Block
	for _, f := range []string{"anomaly.conf", "simulation.conf"} {
		root, err := conf.ReadFile(filepath.Join("..", "collectd.conf.d", f))
		require.NoError(t, err, f)
		b := conf.PluginBlocks(root, "anomaly")
		require.NotEmpty(t, b, f)
		blocks = append(blocks, b...)
	}
	s, err := conf.Parse(blocks...)
	require.NoError(t, err)
	names := map[string]bool{}
	for _, r := range s.Rules {
		names[r.Spec().Name] = true
	}
	assert.True(t, names["web-failed-requests"], "rules: %v", names)
	assert.True(t, names["web-server-errors"], "rules: %v", names)
	require.NotNil(t, s.Simulation)
}
