package conf

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"collectd.org/config"
)

// ReadFile parses a collectd configuration file the way collectd does -
// "Key value ..." lines, <Block args> ... </Block>, quoted strings, numbers,
// booleans, # comments, backslash line continuation, and Include of files,
// directories and globs - into a root block whose children are the file's
// statements. Syntax errors name the file and line.
func ReadFile(path string) (config.Block, error) {
	src, err := ReadSource(path)
	if err != nil {
		return config.Block{}, err
	}
	return src.Root, nil
}

// PluginBlocks returns the <Plugin name> blocks of a parsed configuration,
// the blocks collectd would hand the plugin.
func PluginBlocks(root config.Block, name string) []config.Block {
	var out []config.Block
	ignored := ignoredPluginBlocks(root.Children, name)
	for i, c := range root.Children {
		if isNamed(c, "Plugin", name) && !ignored[i] {
			out = append(out, c)
		}
	}
	return out
}

// isNamed reports whether c is "Key name" (an option or a block), as
// collectd compares them: case aside.
func isNamed(c config.Block, key, name string) bool {
	return is(c, key) && len(c.Values) == 1 && strings.EqualFold(c.Values[0].String(), name)
}

// ignoredPluginBlocks marks the <Plugin name> blocks among top that
// collectd skips: those before the LoadPlugin of the plugin, when one comes
// later, unless AutoLoadPlugin true came first ("There is configuration for
// the plugin, but the plugin isn't loaded" - Debian's collectd.conf
// includes its conf.d at the very end). Without a LoadPlugin at all (a
// file collectd includes from elsewhere) nothing is skipped.
func ignoredPluginBlocks(top []config.Block, name string) map[int]bool {
	load := -1
	for i, c := range top {
		if isNamed(c, "LoadPlugin", name) {
			load = i
			break
		}
	}
	ignored := map[int]bool{}
	for i := range load {
		c := top[i]
		if is(c, "AutoLoadPlugin") && len(c.Values) == 1 {
			if on, ok := c.Values[0].Bool(); ok && on {
				return nil
			}
		}
		if isNamed(c, "Plugin", name) {
			ignored[i] = true
		}
	}
	return ignored
}

const maxIncludeDepth = 8

func readInto(parent *config.Block, parentPos *posNode, src *Source, path string, depth int) error {
	if depth > maxIncludeDepth {
		return fmt.Errorf("%s: Include nested more than %d deep", path, maxIncludeDepth)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	src.keepLines(path, string(data))
	p := &fileParser{file: path, depth: depth, src: src}
	stack := []*config.Block{parent}
	posStack := []*posNode{parentPos}
	for _, line := range logicalLines(string(data)) {
		p.line = line.number
		st, err := p.statement(line.text)
		if err != nil {
			return err
		}
		top, topPos := stack[len(stack)-1], posStack[len(posStack)-1]
		here := posNode{Position: Position{File: path, Line: line.number}}
		switch st.kind {
		case stEmpty:
		case stOpen:
			top.Children = append(top.Children, config.Block{Key: st.key, Values: st.values})
			topPos.children = append(topPos.children, here)
			stack = append(stack, &top.Children[len(top.Children)-1])
			posStack = append(posStack, &topPos.children[len(topPos.children)-1])
		case stClose:
			open := stack[len(stack)-1]
			if len(stack) == 1 || open.Key != st.key {
				return p.closeError(st.key, stack, posStack)
			}
			posStack[len(posStack)-1].end = line.last
			stack, posStack = stack[:len(stack)-1], posStack[:len(posStack)-1]
			parent, parentPos := stack[len(stack)-1], posStack[len(posStack)-1]
			switch {
			case strings.EqualFold(open.Key, "Include"):
				if err := p.includeBlock(parent, parentPos, open); err != nil {
					return err
				}
			case len(open.Values) == 0 && len(open.Children) == 0:
				// liboconfig keeps no statement without values or children.
				p.note(parentPos.children[len(parentPos.children)-1].Position,
					"collectd drops an empty <%s> block without arguments", open.Key)
				parent.Children = parent.Children[:len(parent.Children)-1]
				parentPos.children = parentPos.children[:len(parentPos.children)-1]
			}
		case stOption:
			if strings.EqualFold(st.key, "Include") && len(st.values) == 1 && st.values[0].IsString() {
				if err := p.include(top, topPos, st.values[0].String(), ""); err != nil {
					return err
				}
				continue
			}
			top.Children = append(top.Children, config.Block{Key: st.key, Values: st.values})
			topPos.children = append(topPos.children, here)
		}
	}
	if len(stack) > 1 {
		open := posStack[len(posStack)-1]
		return fmt.Errorf("%s:%d: <%s> is never closed", path, open.Line, stack[len(stack)-1].Key)
	}
	return nil
}

// closeError explains a </key> that does not close the innermost open block.
func (p *fileParser) closeError(key string, stack []*config.Block, posStack []*posNode) error {
	if len(stack) > 1 {
		open, line := stack[len(stack)-1].Key, posStack[len(posStack)-1].Line
		if strings.EqualFold(open, key) {
			return p.errorf("</%s> closes <%s> of line %d: collectd wants the same spelling", key, open, line)
		}
		for i := len(stack) - 2; i > 0; i-- {
			if strings.EqualFold(stack[i].Key, key) {
				return p.errorf("</%s> while <%s> of line %d is not closed", key, open, line)
			}
		}
	}
	return p.errorf("</%s> closes no open <%s>", key, key)
}

// includeBlock handles <Include "path"> Filter "*.conf" </Include>: it
// replaces the block just added to parent by the files it names.
func (p *fileParser) includeBlock(parent *config.Block, parentPos *posNode, b *config.Block) error {
	if len(b.Values) != 1 || !b.Values[0].IsString() {
		return p.errorf("<Include> wants one path")
	}
	filter := ""
	for _, c := range b.Children {
		if is(c, "Filter") && len(c.Values) == 1 {
			filter = c.Values[0].String()
		}
	}
	path := b.Values[0].String()
	parent.Children = parent.Children[:len(parent.Children)-1]
	parentPos.children = parentPos.children[:len(parentPos.children)-1]
	return p.include(parent, parentPos, path, filter)
}

// include reads a file, every file of a directory (sorted, as collectd
// does), or every match of a glob, relative to the including file.
func (p *fileParser) include(parent *config.Block, parentPos *posNode, path, filter string) error {
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(p.file), path)
	}
	matches, err := filepath.Glob(path)
	if err != nil || len(matches) == 0 {
		return p.errorf("Include %q: no such file", path)
	}
	sort.Strings(matches)
	for _, m := range matches {
		st, err := os.Stat(m)
		if err != nil {
			return p.errorf("Include %q: %v", m, err)
		}
		files := []string{m}
		if st.IsDir() {
			entries, err := os.ReadDir(m)
			if err != nil {
				return p.errorf("Include %q: %v", m, err)
			}
			files = files[:0]
			for _, e := range entries {
				if e.IsDir() {
					continue
				}
				if ok, _ := filepath.Match(filter, e.Name()); filter != "" && !ok {
					continue
				}
				files = append(files, filepath.Join(m, e.Name()))
			}
		}
		for _, f := range files {
			if err := readInto(parent, parentPos, p.src, f, p.depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

type fileParser struct {
	file  string
	line  int
	depth int
	src   *Source // where notes go
}

func (p *fileParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.file, p.line, fmt.Sprintf(format, args...))
}

// note records something collectd reads differently from what it looks like.
func (p *fileParser) note(pos Position, format string, args ...any) {
	p.src.Notes = append(p.src.Notes, Problem{Pos: pos, Err: fmt.Errorf(format, args...)})
}

type logicalLine struct {
	number int // of its first physical line
	last   int // of its last physical line (number, unless continued)
	text   string
}

// logicalLines joins lines continued with a backslash right before the end
// of the line, as liboconfig does: outside quotes the two lines are two runs
// of tokens; inside a quoted string the next line's leading white space is
// dropped. A backslash at the end of a comment continues nothing.
func logicalLines(s string) []logicalLine {
	var out []logicalLine
	var cur strings.Builder
	start, continuing, inQuote := 0, false, false
	for i, l := range strings.Split(s, "\n") {
		l = strings.TrimSuffix(l, "\r")
		if !continuing {
			start = i + 1
		}
		if continuing && inQuote {
			l = strings.TrimLeft(l, " \t\b")
		}
		if cont, quoted := continues(l, inQuote); cont {
			cur.WriteString(l[:len(l)-1])
			if !quoted {
				cur.WriteByte(' ')
			}
			continuing, inQuote = true, quoted
			continue
		}
		cur.WriteString(l)
		out = append(out, logicalLine{number: start, last: i + 1, text: cur.String()})
		cur.Reset()
		continuing, inQuote = false, false
	}
	if continuing {
		out = append(out, logicalLine{number: start, last: strings.Count(s, "\n") + 1, text: cur.String()})
	}
	return out
}

// continues reports whether line l ends with a continuing backslash, and
// whether a quoted string is open there; inQuote says one is open at its start.
func continues(l string, inQuote bool) (bool, bool) {
	for j := 0; j < len(l); j++ {
		switch c := l[j]; {
		case c == '\\':
			if j == len(l)-1 {
				return true, inQuote
			}
			if inQuote {
				j++
			}
		case inQuote && c == '"':
			inQuote = false
		case !inQuote && c == '"':
			inQuote = true
		case !inQuote && c == '#':
			return false, false
		}
	}
	return false, inQuote
}

type tokKind int

const (
	tokWord   tokKind = iota // an unquoted string (liboconfig's UNQUOTED_STRING, or an IP address)
	tokString                // a quoted string, unquoted
	tokNumber
	tokBool
	tokOpen  // <
	tokClose // >
	tokSlash // /
)

type token struct {
	kind tokKind
	text string // the string, or the token as written
	num  float64
	b    bool
}

func (t token) value() config.Value {
	switch t.kind {
	case tokNumber:
		return config.Float64(t.num)
	case tokBool:
		return config.Bool(t.b)
	}
	return config.String(t.text)
}

// The tokens of liboconfig's scanner (src/liboconfig/scanner.l) that a run of
// characters outside quotes and outside < > / is made of. Like flex, the
// longest match wins, and of equally long ones the first rule.
var lexRules = func() []*regexp.Regexp {
	const (
		port    = `(?:6(?:5(?:5(?:3[0-5]|[0-2][0-9])|[0-4][0-9][0-9])|[0-4][0-9][0-9][0-9])|[1-5][0-9][0-9][0-9][0-9]|[1-9][0-9]?[0-9]?[0-9]?)`
		ipByte  = `(?:2(?:5[0-5]|[0-4][0-9])|1[0-9][0-9]|[1-9]?[0-9])`
		ipv4    = ipByte + `\.` + ipByte + `\.` + ipByte + `\.` + ipByte + `(?::` + port + `)?`
		hex16   = `[0-9A-Fa-f]{1,4}`
		v6part  = `(?:` + hex16 + `:` + hex16 + `|` + ipv4 + `)`
		ipv6    = `(?:` + hex16 + `:){6}` + v6part + `|::(?:` + hex16 + `:){5}` + v6part + `|(?:` + hex16 + `)?::(?:` + hex16 + `:){4}` + v6part + `|(?:(?:` + hex16 + `:){0,1}` + hex16 + `)?::(?:` + hex16 + `:){3}` + v6part + `|(?:(?:` + hex16 + `:){0,2}` + hex16 + `)?::(?:` + hex16 + `:){2}` + v6part + `|(?:(?:` + hex16 + `:){0,3}` + hex16 + `)?::` + hex16 + `:` + v6part + `|(?:(?:` + hex16 + `:){0,4}` + hex16 + `)?::` + v6part + `|(?:(?:` + hex16 + `:){0,5}` + hex16 + `)?::` + hex16 + `|(?:(?:` + hex16 + `:){0,6}` + hex16 + `)?::`
		number  = `[+-]?[0-9]*\.[0-9]+(?:[eE][+-][0-9]+)?|0[xX][0-9a-fA-F]+|0[0-7]+|[+-]?[0-9]+`
		unquote = `[0-9A-Za-z_]+`
	)
	var out []*regexp.Regexp
	for _, re := range []string{`true|yes|on`, `false|no|off`, ipv4, `(?:` + ipv6 + `)|\[(?:` + ipv6 + `)\](?::` + port + `)?`, number, unquote} {
		r := regexp.MustCompile(`^(?:` + re + `)`)
		r.Longest()
		out = append(out, r)
	}
	return out
}()

const (
	ruleTrue = iota
	ruleFalse
	ruleIPv4
	ruleIPv6
	ruleNumber
	ruleUnquoted
)

// lexWord splits a run of characters as liboconfig does; characters no rule
// matches are skipped (flex's default rule echoes them).
func lexWord(word string) (toks []token, skipped []byte) {
	for k := 0; k < len(word); {
		best, rule := 0, -1
		for i, re := range lexRules {
			if m := re.FindString(word[k:]); len(m) > best {
				best, rule = len(m), i
			}
		}
		if rule < 0 {
			skipped = append(skipped, word[k])
			k++
			continue
		}
		m := word[k : k+best]
		k += best
		switch rule {
		case ruleTrue, ruleFalse:
			toks = append(toks, token{kind: tokBool, text: m, b: rule == ruleTrue})
		case ruleNumber:
			toks = append(toks, token{kind: tokNumber, text: m, num: strtod(m)})
		default:
			toks = append(toks, token{kind: tokWord, text: m})
		}
	}
	return toks, skipped
}

// strtod converts a number token as C's strtod does (hexadecimal included,
// a leading 0 not octal).
func strtod(s string) float64 {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		u, err := strconv.ParseUint(s[2:], 16, 64)
		if err != nil {
			f, _ := strconv.ParseFloat("0x"+s[2:]+"p0", 64)
			return f
		}
		return float64(u)
	}
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// lex splits a logical line into tokens.
func (p *fileParser) lex(line string) ([]token, error) {
	var toks []token
	for i := 0; i < len(line); {
		switch c := line[i]; c {
		case ' ', '\t', '\b':
			i++
		case '#':
			i = len(line)
		case '<':
			toks = append(toks, token{kind: tokOpen, text: "<"})
			i++
		case '>':
			toks = append(toks, token{kind: tokClose, text: ">"})
			i++
		case '/':
			toks = append(toks, token{kind: tokSlash, text: "/"})
			i++
		case '"':
			var b strings.Builder
			j, closed := i+1, false
			for j < len(line) {
				if line[j] == '\\' && j+1 < len(line) {
					b.WriteByte(line[j+1])
					j += 2
					continue
				}
				if line[j] == '"' {
					closed = true
					break
				}
				b.WriteByte(line[j])
				j++
			}
			if !closed {
				return nil, p.errorf("a quoted string is not closed")
			}
			toks = append(toks, token{kind: tokString, text: b.String()})
			i = j + 1
		default:
			j := i
			for j < len(line) && !strings.ContainsRune(" \t\b#\"<>/", rune(line[j])) {
				j++
			}
			word := line[i:j]
			wt, skipped := lexWord(word)
			p.noteWord(word, wt, skipped)
			toks = append(toks, wt...)
			i = j
		}
	}
	return toks, nil
}

// noteWord records an unquoted word that collectd reads as something other
// than it looks: several values, skipped characters, a boolean's name in
// another case (text, not a boolean).
func (p *fileParser) noteWord(word string, toks []token, skipped []byte) {
	pos := Position{File: p.file, Line: p.line}
	switch {
	case len(skipped) > 0 || len(toks) > 1:
		var parts []string
		for _, t := range toks {
			if t.kind == tokWord {
				parts = append(parts, strconv.Quote(t.text))
			} else {
				parts = append(parts, t.text)
			}
		}
		what := "nothing"
		if len(parts) > 0 {
			what = strings.Join(parts, " ")
		}
		p.note(pos, "collectd reads %s as %s: put text in quotes, and write numbers as 0.000001 or 1.0e-06", word, what)
	case len(toks) == 1 && toks[0].kind == tokWord:
		switch strings.ToLower(word) {
		case "true", "yes", "on", "false", "no", "off":
			p.note(pos, "collectd reads %s as text, not as a boolean: write %s", word, strings.ToLower(word))
		}
	}
}

type stmtKind int

const (
	stEmpty  stmtKind = iota
	stOption          // Key value...
	stOpen            // <Key value...>
	stClose           // </Key>
)

type statement struct {
	kind   stmtKind
	key    string
	values []config.Value
}

// statement parses a logical line with liboconfig's grammar.
func (p *fileParser) statement(line string) (statement, error) {
	toks, err := p.lex(line)
	if err != nil || len(toks) == 0 {
		return statement{}, err
	}
	args := func(ts []token, what string) ([]config.Value, error) {
		var vs []config.Value
		for _, t := range ts {
			switch t.kind {
			case tokSlash:
				return nil, p.errorf("'/' outside quotes in %s: put the value in quotes", what)
			case tokOpen, tokClose:
				return nil, p.errorf("'%s' in the middle of %s", t.text, what)
			}
			vs = append(vs, t.value())
		}
		return vs, nil
	}
	first := toks[0]
	switch first.kind {
	case tokWord:
		if len(toks) == 1 {
			return statement{}, p.errorf("option %s has no value", first.text)
		}
		vs, err := args(toks[1:], "option "+first.text)
		return statement{kind: stOption, key: first.text, values: vs}, err
	case tokOpen:
		if len(toks) > 1 && toks[1].kind == tokSlash {
			if len(toks) < 3 || toks[2].kind != tokWord {
				return statement{}, p.errorf("a block without a name")
			}
			name := toks[2].text
			if len(toks) < 4 || toks[3].kind != tokClose {
				if len(toks) > 3 && toks[3].kind != tokClose {
					return statement{}, p.errorf("</%s> takes no arguments", name)
				}
				return statement{}, p.errorf("</%s is not closed with '>'", name)
			}
			if len(toks) > 4 {
				return statement{}, p.errorf("text after </%s>", name)
			}
			return statement{kind: stClose, key: name}, nil
		}
		if len(toks) < 2 || toks[1].kind != tokWord {
			return statement{}, p.errorf("a block without a name")
		}
		name := toks[1].text
		end := -1
		for i, t := range toks {
			if t.kind == tokClose {
				end = i
				break
			}
		}
		if end < 0 {
			return statement{}, p.errorf("<%s is not closed with '>'", name)
		}
		if end != len(toks)-1 {
			return statement{}, p.errorf("text after <%s...>", name)
		}
		vs, err := args(toks[2:end], "<"+name+">")
		return statement{kind: stOpen, key: name, values: vs}, err
	}
	return statement{}, p.errorf("a line must start with an option name or a <Block>")
}
