package conf

import (
	"fmt"
	"strings"

	"collectd.org/config"
)

// Position is where a block or an option begins: its file, and the line (the
// first physical line of a line continued with backslashes).
type Position struct {
	File string
	Line int
}

// String is "file:line", or "" for an unknown position.
func (p Position) String() string {
	if p.File == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// posNode mirrors a config.Block: its position and its children's.
type posNode struct {
	Position
	end      int // line of a block's closing tag (0 for an option)
	children []posNode
}

// Source is a configuration read by ReadSource: the tree collectd builds from
// it (Root, what ReadFile returns) and where each of its blocks and options
// was written, so that errors found in the tree later - by Parse, say - can
// name the file and line.
type Source struct {
	Root config.Block
	// Notes are things collectd reads differently from how they look (an
	// unquoted 1e-6 is two values to collectd, "1e" and -6): not errors of
	// the syntax, but likely mistakes; Check's errors often follow from them.
	Notes []Problem
	pos   posNode
	// lines are the physical lines of every file read, for RuleBlocks.
	lines map[string][]string
}

// ReadSource reads a configuration file as ReadFile does, keeping the
// position of every block and option.
func ReadSource(path string) (*Source, error) { return ReadSources(path) }

// ReadSources reads several files as one configuration, in order, as if a
// file included each of them: what `anomaly check a.conf b.conf` checks
// together (two <InfluxDB> blocks, a rule name twice).
func ReadSources(paths ...string) (*Source, error) {
	s := &Source{}
	for _, path := range paths {
		if err := readInto(&s.Root, &s.pos, s, path, 0); err != nil {
			return nil, err
		}
	}
	s.noteIgnoredPluginBlocks("anomaly")
	return s, nil
}

// Located is a block or option of a Source with its position.
type Located struct {
	config.Block
	Pos  Position
	node *posNode
}

// Children returns the block's children with their positions.
func (l Located) Children() []Located {
	out := make([]Located, len(l.Block.Children))
	for i := range l.Block.Children {
		out[i] = Located{Block: l.Block.Children[i], Pos: l.node.children[i].Position, node: &l.node.children[i]}
	}
	return out
}

// PluginBlocks returns the <Plugin name> blocks with their positions, the
// blocks PluginBlocks(s.Root, name) returns.
func (s *Source) PluginBlocks(name string) []Located {
	var out []Located
	ignored := ignoredPluginBlocks(s.Root.Children, name)
	for i, c := range (Located{Block: s.Root, node: &s.pos}).Children() {
		if isNamed(c.Block, "Plugin", name) && !ignored[i] {
			out = append(out, c)
		}
	}
	return out
}

// noteIgnoredPluginBlocks adds a Note for each <Plugin name> block that
// collectd skips (ignoredPluginBlocks), and for an Interval in
// <LoadPlugin name>, which the plugin does not use.
func (s *Source) noteIgnoredPluginBlocks(name string) {
	ignored := ignoredPluginBlocks(s.Root.Children, name)
	for i, c := range (Located{Block: s.Root, node: &s.pos}).Children() {
		if ignored[i] {
			s.Notes = append(s.Notes, Problem{Pos: c.Pos, Err: fmt.Errorf(
				"collectd ignores this <Plugin %s>: it comes before LoadPlugin %s (move it after, or set AutoLoadPlugin true first)", name, name)})
		}
		if isNamed(c.Block, "LoadPlugin", name) {
			for _, o := range c.Children() {
				if is(o.Block, "Interval") {
					s.Notes = append(s.Notes, Problem{Pos: o.Pos, Err: fmt.Errorf(
						"the %s plugin does not use the Interval of its LoadPlugin: it ticks at collectd's global Interval (or its <Simulation>'s)", name)})
				}
			}
		}
	}
}

// keepLines remembers the physical lines of a file read.
func (s *Source) keepLines(path, data string) {
	if s.lines == nil {
		s.lines = map[string][]string{}
	}
	lines := strings.Split(data, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	s.lines[path] = lines
}

// RuleBlock is the block of one rule as the user wrote it, so that what a
// rule did (a replay's report, say) can be shown beside what configured it.
type RuleBlock struct {
	Name string   // the rule's name, the block's argument
	Kind string   // the block's name as written: Ratio, Count...
	Pos  Position // the line of <Kind "name">
	// Text is the block's lines, from <Kind "name"> to </Kind>, as written:
	// indentation, comments and continued lines kept.
	Text string
}

// RuleBlocks returns the rule blocks of the <Plugin anomaly> blocks, in
// order (the order of Settings.Rules when the configuration is valid).
func (s *Source) RuleBlocks() []RuleBlock {
	var out []RuleBlock
	for _, c := range s.children(s.PluginBlocks("anomaly")) {
		if _, rule := ruleKinds[strings.ToLower(c.Key)]; !rule || len(c.Values) != 1 || !c.Values[0].IsString() {
			continue
		}
		out = append(out, RuleBlock{Name: c.Values[0].String(), Kind: c.Key, Pos: c.Pos, Text: s.text(c)})
	}
	return out
}

// text is the lines of a block as written ("" if they were not kept).
func (s *Source) text(l Located) string {
	lines := s.lines[l.Pos.File]
	if l.node == nil || l.Pos.Line < 1 || l.node.end < l.Pos.Line || l.node.end > len(lines) {
		return ""
	}
	return strings.Join(lines[l.Pos.Line-1:l.node.end], "\n")
}

// Loads reports whether the configuration loads the plugin: a LoadPlugin
// line or <LoadPlugin> block naming it.
func (s *Source) Loads(name string) bool {
	for _, c := range s.Root.Children {
		if is(c, "LoadPlugin") && len(c.Values) == 1 && strings.EqualFold(c.Values[0].String(), name) {
			return true
		}
	}
	return false
}
