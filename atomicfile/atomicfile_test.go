package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteReplacesWholly(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state")
	require.NoError(t, Write(p, 0o600, func(w io.Writer) error { _, err := io.WriteString(w, "one"); return err }))
	require.NoError(t, Write(p, 0o600, func(w io.Writer) error { _, err := io.WriteString(w, "two"); return err }))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, "two", string(b))
	fi, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	// A failed write leaves the old content and no temporary file.
	err = Write(p, 0o600, func(w io.Writer) error {
		_, _ = io.WriteString(w, "half")
		return errors.New("disk on fire")
	})
	assert.EqualError(t, err, "disk on fire")
	b, err = os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, "two", string(b))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1)
}

func TestWriteIntoAMissingDirectoryFails(t *testing.T) {
	err := Write(filepath.Join(t.TempDir(), "none", "state"), 0o600, func(io.Writer) error { return nil })
	assert.Error(t, err)
}
