package conf

import (
	"errors"
	"fmt"
	"strings"

	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// Problem is an error in a configuration and where it is.
type Problem struct {
	Pos Position
	Err error
}

func (p Problem) Error() string {
	if p.Pos.File == "" {
		return p.Err.Error()
	}
	return p.Pos.String() + ": " + p.Err.Error()
}

func (p Problem) Unwrap() error { return p.Err }

// Check builds the settings of the <Plugin anomaly> blocks exactly as the
// plugin does when collectd hands it the blocks one by one - Parse of the
// blocks so far after each, then the engine's validation of the rules - and
// reports its error - the one collectd would stop at - with the position of
// the block or option at fault. It then parses every rule and option on its
// own (with the TimeScale of the whole configuration) to report the other
// broken ones too, in file order after the first.
// Settings are nil when there is a problem.
func (s *Source) Check() (*Settings, []Problem) {
	const name = "anomaly"
	plugins := s.PluginBlocks(name)
	if len(plugins) == 0 {
		return nil, []Problem{{Err: fmt.Errorf("no <Plugin %s> block", name)}}
	}
	var blocks []config.Block
	var settings *Settings
	var first error
	for _, p := range plugins {
		blocks = append(blocks, p.Block)
		st, err := Parse(blocks...)
		if err == nil {
			_, err = detect.NewEngine(st.Rules, detect.Options{MaxSeries: st.MaxSeries})
		}
		if err != nil {
			first = err
			break
		}
		settings = st
	}
	if first == nil {
		return settings, nil
	}
	problems := []Problem{{Pos: s.Locate(name, first), Err: first}}
	seen := map[string]bool{first.Error(): true}
	names := map[string]bool{}
	for _, c := range s.children(plugins) {
		if is(c.Block, "TimeScale") {
			continue
		}
		if _, rule := ruleKinds[strings.ToLower(c.Key)]; rule && len(c.Values) == 1 && c.Values[0].IsString() {
			name := c.Values[0].String()
			if names[name] {
				err := fmt.Errorf("<Plugin anomaly>: %s: another rule has the name %q", where(c.Block), name)
				if !seen[err.Error()] {
					seen[err.Error()] = true
					problems = append(problems, Problem{Pos: c.Pos, Err: err})
				}
				continue
			}
			names[name] = true
		}
		pos, err := parseAlone(s.children(plugins), c)
		if err == nil || seen[err.Error()] {
			continue
		}
		seen[err.Error()] = true
		problems = append(problems, Problem{Pos: pos, Err: err})
	}
	return nil, problems
}

// children lists the children of every plugin block, in order.
func (s *Source) children(plugins []Located) []Located {
	var out []Located
	for _, p := range plugins {
		out = append(out, p.Children()...)
	}
	return out
}

// parseAlone parses option c as the only option of <Plugin anomaly>, with
// the TimeScale options among all (which holds c), and returns the error with the position of
// what it is about.
func parseAlone(all []Located, c Located) (Position, error) {
	plugin := Located{Block: config.Block{Key: "Plugin", Values: config.Values("anomaly")}, node: &posNode{}}
	for _, o := range all {
		if is(o.Block, "TimeScale") || o.node == c.node {
			plugin.Block.Children = append(plugin.Block.Children, o.Block)
			plugin.node.children = append(plugin.node.children, *o.node)
		}
	}
	st, err := Parse(plugin.Block)
	if err == nil {
		_, err = detect.NewEngine(st.Rules, detect.Options{MaxSeries: st.MaxSeries})
	}
	if err == nil {
		return Position{}, nil
	}
	pos, ok := locate([]Located{plugin}, err)
	if !ok {
		pos = c.Pos
	}
	return pos, err
}

// Locate returns the position of the block or option that an error of
// Parse(PluginBlocks(s.Root, name)...) - or of detect.NewEngine on its rules -
// is about, or the position of the first plugin block when it names none.
func (s *Source) Locate(name string, err error) Position {
	plugins := s.PluginBlocks(name)
	if len(plugins) == 0 || err == nil {
		return Position{}
	}
	if pos, ok := locate(plugins, err); ok {
		return pos
	}
	return plugins[0].Pos
}

// locate follows the child indexes of Parse's error down from the plugin
// blocks it parsed (see childError); where they end, an optionError or a
// detect.SettingError may name one of the block's options. An error of the
// engine, which has no indexes, names its rule.
func locate(plugins []Located, err error) (Position, bool) {
	at := Located{Block: config.Block{}, node: &posNode{}}
	for _, p := range plugins {
		at.Block.Children = append(at.Block.Children, p.Block)
		at.node.children = append(at.node.children, *p.node)
	}
	found := false
	for {
		var ce *childError
		if !errors.As(err, &ce) {
			break
		}
		children := at.Children()
		if ce.index < 0 || ce.index >= len(children) {
			return Position{}, false // not an error of these blocks
		}
		at, found, err = children[ce.index], true, ce.err
	}
	var se *detect.SettingError
	if !found {
		if !errors.As(err, &se) {
			return Position{}, false
		}
		rule, ok := ruleNamed(at.Children(), se.Rule)
		if !ok {
			return Position{}, false
		}
		at = rule
	}
	var oe *optionErr
	switch {
	case errors.As(err, &oe):
		if o, ok := lastChild(at, func(c config.Block) bool {
			return c.Key == oe.option.Key && valuesText(c.Values) == valuesText(oe.option.Values)
		}); ok {
			at = o
		}
	case errors.As(err, &se) && se.Setting != "":
		if o, ok := lastChild(at, func(c config.Block) bool { return is(c, se.Setting) }); ok {
			at = o
		}
	}
	return at.Pos, true
}

// ruleNamed finds the rule block of a name among the plugin blocks'
// children (of which at most one has the name once Parse has passed).
func ruleNamed(plugins []Located, name string) (Located, bool) {
	for _, p := range plugins {
		for _, c := range p.Children() {
			if _, rule := ruleKinds[strings.ToLower(c.Key)]; rule && len(c.Values) == 1 && c.Values[0].String() == name {
				return c, true
			}
		}
	}
	return Located{}, false
}

// lastChild is the last child of b that match accepts: the one that counts
// when an option is written twice.
func lastChild(b Located, match func(config.Block) bool) (Located, bool) {
	children := b.Children()
	for i := len(children) - 1; i >= 0; i-- {
		if match(children[i].Block) {
			return children[i], true
		}
	}
	return Located{}, false
}
