package conf_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/collectd-anomaly/collectd-anomaly/conf"
	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// FuzzReadSource: no configuration file makes the reader, the mapping of
// <Plugin anomaly> (Parse) or Check panic or hang; each returns a result or
// an error, and Check agrees with Parse and NewEngine on whether the
// configuration is valid. The seeds are the shipped rule packs, the check
// command's test files and the corner cases of the lexer; testdata/fuzz
// holds what fuzzing found.
func FuzzReadSource(f *testing.F) {
	for _, glob := range []string{"../collectd.conf.d/*.conf", "../cmd/anomaly/testdata/check/*.conf"} {
		files, err := filepath.Glob(glob)
		if err != nil || len(files) == 0 {
			f.Fatalf("no seed files %s", glob)
		}
		for _, name := range files {
			data, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	for _, seed := range []string{
		"",
		"<Plugin anomaly>\n</Plugin>\n",
		"<Plugin anomaly>\n  Hostname \"a\\\n   b\" \\\n  \"c\"\n</Plugin>\n",
		"<Plugin anomaly>\n  TimeScale 1e-6\n  MaxSeries 0x7fffffffffffffffff\n</Plugin>\n",
		"<Plugin anomaly>\n  <Ratio \"r\">\n    Numerator \"a/b\"\n    Denominator \"a/c\"\n    FailureMax 0.1\n    Window \"1ns\"\n  </Ratio>\n</Plugin>\n",
		"<Plugin anomaly>\n  <Spike \"s\">\n    Series \"/(?P<group>x\"\n  </Spike>\n</Plugin>\n",
		"<Plugin anomaly>\n  <Count \"c\">\n    Series \"a/b\"\n    Message \"{rule\"\n  </Count>\n</Plugin>\n",
		"<Plugin \"anomaly\">\n<Plugin anomaly>\n</plugin>\n</Plugin>\n",
		"Include \"*\"\n",
		"<Include \"x\">\n  Filter \"*\"\n</Include>\n",
		"Key 1.2.3.4:80 [::1]:53 ::ffff:1.2.3.4 0x 08 -.5e+3 1e-6 yes On\n",
		"\xff\xfe<\x00Plugin anomaly>\r\n#\\\n\"\\",
	} {
		f.Add([]byte(seed))
	}
	// One file per worker process, rewritten for every input: a directory
	// per input would cost more than the parsing.
	path := filepath.Join(f.TempDir(), "collectd.conf")
	f.Fuzz(func(t *testing.T, data []byte) {
		// Include reads any file the input names: only names inside the
		// test's own directory (no separator, no "..") are read, so that no
		// input reads /dev/zero or the whole disk. Include itself - of the
		// file, of a glob, nested 8 deep - stays fuzzed.
		if bytes.Contains(bytes.ToLower(data), []byte("include")) &&
			(bytes.ContainsAny(data, `/\`) || bytes.Contains(data, []byte(".."))) {
			t.Skip("Include of a path outside the test directory")
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := conf.ReadSource(path)
		if err != nil {
			if src != nil {
				t.Fatal("a source and an error")
			}
			return
		}
		_ = src.RuleBlocks()
		_ = src.Loads("anomaly")
		settings, problems := src.Check()
		if (settings == nil) == (len(problems) == 0) {
			t.Fatalf("Check: settings %v and %d problems", settings != nil, len(problems))
		}
		for _, p := range problems {
			if p.Err == nil || p.Error() == "" {
				t.Fatalf("a problem without an error: %+v", p)
			}
			if p.Pos.Line < 0 {
				t.Fatalf("problem at line %d", p.Pos.Line)
			}
		}
		// What Check reports is what the plugin would do with the blocks
		// collectd hands it: Parse of them all, then the engine's validation.
		blocks := conf.PluginBlocks(src.Root, "anomaly")
		if len(blocks) == 0 {
			return
		}
		st, err := conf.Parse(blocks...)
		if err == nil {
			_, err = detect.NewEngine(st.Rules, detect.Options{MaxSeries: st.MaxSeries})
		}
		if (err == nil) != (settings != nil) {
			t.Fatalf("Parse+NewEngine says %v, Check %d problems", err, len(problems))
		}
	})
}
