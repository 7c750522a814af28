package conf

import (
	"fmt"
	"os"
	"path/filepath"
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
	root := config.Block{}
	if err := readInto(&root, path, 0); err != nil {
		return config.Block{}, err
	}
	return root, nil
}

// PluginBlocks returns the <Plugin name> blocks of a parsed configuration,
// the blocks collectd would hand the plugin.
func PluginBlocks(root config.Block, name string) []config.Block {
	var out []config.Block
	for _, c := range root.Children {
		if is(c, "Plugin") && len(c.Values) == 1 && strings.EqualFold(c.Values[0].String(), name) {
			out = append(out, c)
		}
	}
	return out
}

const maxIncludeDepth = 8

func readInto(parent *config.Block, path string, depth int) error {
	if depth > maxIncludeDepth {
		return fmt.Errorf("%s: Include nested more than %d deep", path, maxIncludeDepth)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	p := &fileParser{file: path, depth: depth}
	stack := []*config.Block{parent}
	for i, line := range logicalLines(string(data)) {
		_ = i
		p.line = line.number
		toks, err := p.tokens(line.text)
		if err != nil {
			return err
		}
		if len(toks) == 0 {
			continue
		}
		top := stack[len(stack)-1]
		first := toks[0]
		switch {
		case first.kind == tokOpen:
			b := config.Block{Key: first.text}
			for _, t := range toks[1:] {
				b.Values = append(b.Values, t.value())
			}
			top.Children = append(top.Children, b)
			stack = append(stack, &top.Children[len(top.Children)-1])
		case first.kind == tokClose:
			if len(stack) == 1 || !strings.EqualFold(stack[len(stack)-1].Key, first.text) {
				return p.errorf("</%s> closes no open <%s>", first.text, first.text)
			}
			closed := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if strings.EqualFold(closed.Key, "Include") {
				if err := p.includeBlock(stack[len(stack)-1], closed); err != nil {
					return err
				}
			}
		case first.kind == tokWord && strings.EqualFold(first.text, "Include") && len(toks) == 2:
			if err := p.include(top, toks[1].text, ""); err != nil {
				return err
			}
		case first.kind == tokWord:
			b := config.Block{Key: first.text}
			for _, t := range toks[1:] {
				b.Values = append(b.Values, t.value())
			}
			top.Children = append(top.Children, b)
		default:
			return p.errorf("a line must start with an option name or a <Block>")
		}
	}
	if len(stack) > 1 {
		return fmt.Errorf("%s: <%s> is never closed", path, stack[len(stack)-1].Key)
	}
	return nil
}

// includeBlock handles <Include "path"> Filter "*.conf" </Include>: it
// replaces the block just added to parent by the files it names.
func (p *fileParser) includeBlock(parent *config.Block, b *config.Block) error {
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
	return p.include(parent, path, filter)
}

// include reads a file, every file of a directory (sorted, as collectd
// does), or every match of a glob, relative to the including file.
func (p *fileParser) include(parent *config.Block, path, filter string) error {
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
			if err := readInto(parent, f, p.depth+1); err != nil {
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
}

func (p *fileParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.file, p.line, fmt.Sprintf(format, args...))
}

type logicalLine struct {
	number int // of its first physical line
	text   string
}

// logicalLines joins lines continued with a trailing backslash.
func logicalLines(s string) []logicalLine {
	var out []logicalLine
	var cur strings.Builder
	start := 0
	for i, l := range strings.Split(s, "\n") {
		l = strings.TrimRight(l, "\r")
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(l, "\\") && !strings.HasSuffix(stripComment(l), "\\\"") {
			cur.WriteString(strings.TrimSuffix(l, "\\"))
			continue
		}
		cur.WriteString(l)
		out = append(out, logicalLine{number: start, text: cur.String()})
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, logicalLine{number: start, text: cur.String()})
	}
	return out
}

// stripComment is only used to tell a continuation from an escaped quote.
func stripComment(l string) string { return l }

type tokKind int

const (
	tokWord   tokKind = iota // unquoted: an option name, a number, a boolean or a bare string
	tokString                // quoted
	tokOpen                  // <Name
	tokClose                 // </Name>
)

type token struct {
	kind tokKind
	text string
}

// value converts an argument token as liboconfig does: numbers and the words
// true/false/yes/no/on/off are typed, anything else is a string.
func (t token) value() config.Value {
	if t.kind == tokString {
		return config.String(t.text)
	}
	switch strings.ToLower(t.text) {
	case "true", "yes", "on":
		return config.Bool(true)
	case "false", "no", "off":
		return config.Bool(false)
	}
	if f, err := strconv.ParseFloat(t.text, 64); err == nil {
		return config.Float64(f)
	}
	if i, err := strconv.ParseInt(t.text, 0, 64); err == nil {
		return config.Float64(float64(i))
	}
	return config.String(t.text)
}

func (p *fileParser) tokens(line string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(line) {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '#':
			i = len(line)
		case c == '"':
			var b strings.Builder
			i++
			closed := false
			for i < len(line) {
				if line[i] == '\\' && i+1 < len(line) {
					b.WriteByte(line[i+1])
					i += 2
					continue
				}
				if line[i] == '"' {
					closed = true
					i++
					break
				}
				b.WriteByte(line[i])
				i++
			}
			if !closed {
				return nil, p.errorf("a quoted string is not closed")
			}
			toks = append(toks, token{tokString, b.String()})
		case c == '<':
			if len(toks) > 0 {
				return nil, p.errorf("'<' in the middle of a line")
			}
			closing := strings.HasPrefix(line[i:], "</")
			j := i + 1
			if closing {
				j++
			}
			k := j
			for k < len(line) && line[k] != ' ' && line[k] != '\t' && line[k] != '>' {
				k++
			}
			if k == j {
				return nil, p.errorf("a block without a name")
			}
			kind := tokOpen
			if closing {
				kind = tokClose
			}
			toks = append(toks, token{kind, line[j:k]})
			end := strings.LastIndexByte(line, '>')
			if end < k {
				return nil, p.errorf("<%s is not closed with '>'", line[j:k])
			}
			rest, err := p.tokens(line[k:end])
			if err != nil {
				return nil, err
			}
			if closing && len(rest) > 0 {
				return nil, p.errorf("</%s> takes no arguments", line[j:k])
			}
			toks = append(toks, rest...)
			if after, err := p.tokens(line[end+1:]); err != nil || len(after) > 0 {
				return nil, p.errorf("text after <%s...>", line[j:k])
			}
			return toks, nil
		default:
			j := i
			for j < len(line) && line[j] != ' ' && line[j] != '\t' && line[j] != '#' && line[j] != '"' {
				j++
			}
			toks = append(toks, token{tokWord, line[i:j]})
			i = j
		}
	}
	return toks, nil
}
