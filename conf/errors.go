package conf

import (
	"fmt"

	"collectd.org/config"
)

// childError is an error about one child of a block: each block that Parse
// descends into wraps the error of a child in one, with the child's index,
// so that Source.Locate follows the indexes down to the line the child is
// written on instead of reading the message. Its text names the block:
// `<Ratio "r">: option Window "x": want one duration`.
type childError struct {
	block string // where(block), or "" for Parse's list of plugin blocks
	index int    // the child's index among the block's children
	err   error
}

func (e *childError) Error() string {
	if e.block == "" {
		return e.err.Error()
	}
	return e.block + ": " + e.err.Error()
}

func (e *childError) Unwrap() error { return e.err }

// inChild says that err is about b.Children[i].
func inChild(b config.Block, i int, err error) error {
	return &childError{block: where(b), index: i, err: err}
}

// inBlock says that err is about b itself (or about a child it names with an
// optionError or a detect.SettingError).
func inBlock(b config.Block, err error) error {
	return fmt.Errorf("%s: %w", where(b), err)
}

// optionErr is the error of one option, naming it and its values; it keeps
// the option so that an error found after reading a block's options (a
// BufferLimit less than the BatchSize) points at the option it names.
type optionErr struct {
	option config.Block
	text   string
}

func (e *optionErr) Error() string { return e.text }

// optionError names the option and its values.
func optionError(c config.Block, format string, args ...any) error {
	name := c.Key
	if len(c.Values) > 0 {
		name += " " + valuesText(c.Values)
	}
	return &optionErr{option: c, text: fmt.Sprintf("option %s: %s", name, fmt.Sprintf(format, args...))}
}
