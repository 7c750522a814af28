package conf_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"collectd.org/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
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
    Window -1.5e+2
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
		{"# fine\n\n<Plugin anomaly>\n  MaxSeries 5\n", ":3: <Plugin> is never closed"},
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
	src, err := conf.ReadSource(filepath.Join("..", "collectd.conf.d", "anomaly.conf"))
	require.NoError(t, err)
	assert.Empty(t, src.Notes, "the rule pack reads as it looks")
}

// The host pack is valid on its own and with the e-commerce pack.
func TestShippedHostPackParses(t *testing.T) {
	var blocks []config.Block
	for _, f := range []string{"host.conf", "anomaly.conf"} {
		root, err := conf.ReadFile(filepath.Join("..", "collectd.conf.d", f))
		require.NoError(t, err, f)
		blocks = append(blocks, conf.PluginBlocks(root, "anomaly")...)
		src, err := conf.ReadSource(filepath.Join("..", "collectd.conf.d", f))
		require.NoError(t, err)
		assert.Empty(t, src.Notes, "%s reads as it looks", f)
	}
	host, err := conf.Parse(blocks[0])
	require.NoError(t, err)
	kinds := map[string]int{}
	for _, r := range host.Rules {
		kinds[r.Kind()]++
	}
	assert.Equal(t, map[string]int{"aggregate": 9, "anomaly": 3}, kinds)
	_, err = conf.Parse(blocks...)
	require.NoError(t, err)
}

// ReadFile follows liboconfig's scanner and grammar where they surprise:
// numbers need a '.' for a fraction and a signed exponent, unquoted text is
// [0-9A-Za-z_]+ (other characters split it or are skipped), booleans are
// lower case, and a block without arguments or children is dropped. Source
// notes each surprise with its line.
func TestReadFileReadsAsCollectd(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.conf")
	writeFile(t, path, `<Plugin anomaly>
  A 1e-6
  B 1.0e-06 .5 +5 010 0x1F -2
  C True on only
  D 192.168.1.1:25826 shop-1
  E "x" \
    "y"
  F "multi\
     line"
  <Simulation>
    # nothing but a comment
  </Simulation>
  <Ratio "kept">
  </Ratio>
</Plugin>
`)
	src, err := conf.ReadSource(path)
	require.NoError(t, err)
	require.Len(t, src.Root.Children, 1)
	assert.Equal(t, []config.Block{
		{Key: "A", Values: config.Values("1e", -6.0)},
		{Key: "B", Values: config.Values(1e-6, 0.5, 5.0, 10.0, 31.0, -2.0)},
		{Key: "C", Values: config.Values("True", true, "only")},
		{Key: "D", Values: config.Values("192.168.1.1:25826", "shop", -1.0)},
		{Key: "E", Values: config.Values("x", "y")},
		{Key: "F", Values: config.Values("multiline")},
		{Key: "Ratio", Values: config.Values("kept")},
	}, src.Root.Children[0].Children)
	var notes []string
	for _, n := range src.Notes {
		notes = append(notes, strings.TrimPrefix(n.Error(), path))
	}
	assert.Equal(t, []string{
		`:2: collectd reads 1e-6 as "1e" -6: put text in quotes, and write numbers as 0.000001 or 1.0e-06`,
		`:4: collectd reads True as text, not as a boolean: write true`,
		`:5: collectd reads shop-1 as "shop" -1: put text in quotes, and write numbers as 0.000001 or 1.0e-06`,
		`:10: collectd drops an empty <Simulation> block without arguments`,
	}, notes)

	for _, tc := range []struct{ text, want string }{
		{"<Plugin anomaly>\n</plugin>\n", ":2: </plugin> closes <Plugin> of line 1: collectd wants the same spelling"},
		{"<Plugin anomaly>\n  <Ratio \"r\">\n</Plugin>\n", ":3: </Plugin> while <Ratio> of line 2 is not closed"},
		{"Hostname\n", ":1: option Hostname has no value"},
		{"Numerator web/gauge-errors\n", ":1: '/' outside quotes in option Numerator: put the value in quotes"},
		{"5 Hostname\n", ":1: a line must start with an option name or a <Block>"},
		{"<Plugin anomaly> x\n</Plugin>\n", ":1: text after <Plugin...>"},
		{"<Plugin anomaly>\n</Plugin x>\n", ":2: </Plugin> takes no arguments"},
	} {
		writeFile(t, path, tc.text)
		_, err := conf.ReadSource(path)
		require.Error(t, err, tc.text)
		assert.Equal(t, path+tc.want, err.Error(), tc.text)
	}
}

// ReadSource keeps the file and line of every block and option, through
// Include and continued lines.
func TestReadSourcePositions(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "collectd.conf")
	inc := filepath.Join(dir, "conf.d", "rules.conf")
	writeFile(t, main, "# top\nLoadPlugin anomaly\n<Plugin anomaly>\n  MaxSeries \\\n    10\n</Plugin>\n<Include \"conf.d\">\n  Filter \"*.conf\"\n</Include>\n")
	writeFile(t, inc, "\n<Plugin anomaly>\n  <Ratio \"r\">\n    Window 60\n  </Ratio>\n</Plugin>\n")
	src, err := conf.ReadSource(main)
	require.NoError(t, err)
	root, err := conf.ReadFile(main)
	require.NoError(t, err)
	assert.Equal(t, root, src.Root, "the same tree as ReadFile")
	assert.True(t, src.Loads("anomaly"))
	assert.False(t, src.Loads("csv"))

	plugins := src.PluginBlocks("anomaly")
	require.Len(t, plugins, 2)
	assert.Equal(t, conf.PluginBlocks(root, "anomaly"), []config.Block{plugins[0].Block, plugins[1].Block})
	assert.Equal(t, main+":3", plugins[0].Pos.String())
	assert.Equal(t, main+":4", plugins[0].Children()[0].Pos.String(), "a continued line is at its first line")
	assert.Equal(t, inc+":2", plugins[1].Pos.String())
	ratio := plugins[1].Children()[0]
	assert.Equal(t, inc+":3", ratio.Pos.String())
	assert.Equal(t, inc+":4", ratio.Children()[0].Pos.String())
	assert.Equal(t, "", conf.Position{}.String())
}

// RuleBlocks gives each rule's block as written - comments, indentation,
// CRLF line ends and continued lines kept - with its file and line, across
// plugin blocks and included files; other blocks are not rules.
func TestRuleBlocksAsWritten(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "collectd.conf")
	inc := filepath.Join(dir, "conf.d", "more.conf")
	ratio := "  <Ratio \"server-errors\"> # why: 5xx share\n    Numerator \"web/gauge-errors\" \\\n      \"web/gauge-failed\"\n    Denominator \"web/gauge-requests\"\n    FailureMax 0.2\n  </Ratio>"
	count := "\t<Count \"fraud\">\r\n\t\tSeries \"shop/gauge-fraud\"\r\n\t\tFailureMax 3\r\n\t</Count>"
	writeFile(t, main, "LoadPlugin anomaly\n<Plugin anomaly>\n  MaxSeries 10\n"+ratio+"\n  <Simulation>\n    Seed 3\n  </Simulation>\n</Plugin>\nInclude \"conf.d\"\n")
	writeFile(t, inc, "<Plugin anomaly>\r\n"+count+"\r\n</Plugin>\r\n")
	src, err := conf.ReadSource(main)
	require.NoError(t, err)

	blocks := src.RuleBlocks()
	require.Len(t, blocks, 2)
	assert.Equal(t, conf.RuleBlock{Name: "server-errors", Kind: "Ratio", Pos: conf.Position{File: main, Line: 4}, Text: ratio}, blocks[0])
	assert.Equal(t, conf.RuleBlock{Name: "fraud", Kind: "Count", Pos: conf.Position{File: inc, Line: 2},
		Text: strings.ReplaceAll(count, "\r\n", "\n")}, blocks[1])
	settings, problems := src.Check()
	require.Empty(t, problems)
	require.Len(t, settings.Rules, len(blocks))
	for i, r := range settings.Rules {
		assert.Equal(t, r.Spec().Name, blocks[i].Name, "in the order of the rules")
	}
}

func TestParseDurationTakesDaysAndWeeks(t *testing.T) {
	for s, want := range map[string]time.Duration{
		"90": 90 * time.Second, "1.5": 1500 * time.Millisecond, "30m": 30 * time.Minute, "1h30m": 90 * time.Minute,
		"2d": 48 * time.Hour, "1.5d": 36 * time.Hour, "1w": 7 * 24 * time.Hour, "1w2d": 9 * 24 * time.Hour,
		"1d12h": 36 * time.Hour, "0": 0, "-1d": -24 * time.Hour,
	} {
		d, err := conf.ParseDuration(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, d, s)
	}
	for _, s := range []string{"", "soon", "d", "1x", "1d-2h", "w1", "1dd"} {
		_, err := conf.ParseDuration(s)
		assert.Error(t, err, s)
	}
	// Past 292 years a time.Duration overflows into a negative one, which
	// read as "must not be negative" for "10000w10000w".
	for _, s := range []string{"10000w10000w", "6000w", "1000000h", "1e12", "5300w1d"} {
		_, err := conf.ParseDuration(s)
		assert.ErrorContains(t, err, "longer than 100 years", s)
	}
	d, err := conf.ParseDuration("5200w")
	require.NoError(t, err, "99.7 years")
	assert.Equal(t, 5200*7*24*time.Hour, d)
}

// The fleet examples are valid, and every rule their <Fleet> rules count
// exists: in the shipped packs (the edges') or in another example (a shard
// aggregator's fleet rule, counted by the top aggregator).
func TestFleetExamplesParse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "examples", "fleet", "*", "*.conf"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 6, "the three topologies' files")
	defined := map[string]bool{}
	var counted []*detect.FleetRule
	for _, f := range append(files, filepath.Join("..", "collectd.conf.d", "anomaly.conf"), filepath.Join("..", "collectd.conf.d", "host.conf")) {
		src, err := conf.ReadSource(f)
		require.NoError(t, err, f)
		assert.Empty(t, src.Notes, "%s reads as it looks", f)
		s, err := conf.Parse(conf.PluginBlocks(src.Root, "anomaly")...)
		require.NoError(t, err, f)
		for _, r := range s.Rules {
			defined[r.Spec().Name] = true
			if fr, ok := r.(*detect.FleetRule); ok {
				counted = append(counted, fr)
			}
		}
	}
	require.NotEmpty(t, counted)
	for _, fr := range counted {
		assert.True(t, defined[fr.Rule], "<Fleet %q> counts rule %q, which no example or pack defines", fr.Spec().Name, fr.Rule)
	}
}
