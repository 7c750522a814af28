package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/collectd-anomaly/collectd-anomaly/silence"
)

// add, list, expire: what an operator does around a deploy, on the file
// the plugin reads.
func TestSilenceAddListExpire(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state", "silences")
	code, stdout, stderr := runCmd(t, "silence", "add", "--file", file, "--host", "web*", "--for", "1h", "--reason", "deploy 4711", "--by", "anna")
	require.Equal(t, exitOK, code, stderr)
	assert.True(t, strings.HasPrefix(stdout, "s1 (host web*, rule *, group *) until "), stdout)
	assert.Contains(t, stdout, ": deploy 4711 (by anna)")

	code, _, stderr = runCmd(t, "silence", "add", "--file", file, "--rule", "payment-drop", "--group", "visa",
		"--starts", time.Now().Add(2*time.Hour).UTC().Format(time.RFC3339), "--for", "30m", "--reason", "PSP maintenance")
	require.Equal(t, exitOK, code, stderr)

	list, err := silence.Load(file)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "web*", list[0].Host)
	assert.InDelta(t, time.Hour.Seconds(), list[0].Ends.Sub(list[0].Starts).Seconds(), 0)
	assert.WithinDuration(t, time.Now(), list[0].Starts, 2*time.Second)
	assert.Equal(t, "s2", list[1].ID)

	code, stdout, _ = runCmd(t, "silence", "list", "--file", file)
	require.Equal(t, exitOK, code)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 3, stdout)
	assert.Regexp(t, `^ID\s+STATE\s+HOST\s+RULE\s+GROUP\s+STARTS\s+ENDS\s+BY\s+REASON$`, lines[0])
	assert.Regexp(t, `^s1\s+active\s+web\*\s+\*\s+\*\s+\S+\s+\S+\s+anna\s+deploy 4711$`, lines[1])
	assert.Regexp(t, `^s2\s+pending\s+\*\s+payment-drop\s+visa\s`, lines[2])

	// Expiring the active one ends it now; the pending one is dropped.
	code, stdout, stderr = runCmd(t, "silence", "expire", "--file", file, "s1", "s2")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "expired s1, s2\n", stdout)
	list, err = silence.Load(file)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.False(t, list[0].ActiveAt(time.Now()))

	code, stdout, _ = runCmd(t, "silence", "list", "--file", file)
	require.Equal(t, exitOK, code)
	assert.Len(t, strings.Split(strings.TrimSpace(stdout), "\n"), 1, "ended silences are not listed")
	code, stdout, _ = runCmd(t, "silence", "list", "--file", file, "--all")
	require.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "s1  ")
	assert.Contains(t, stdout, "ended")

	// A new silence does not take the id of one still in the file.
	code, stdout, _ = runCmd(t, "silence", "add", "--file", file, "--rule", "*", "--for", "5m", "--reason", "x")
	require.Equal(t, exitOK, code)
	assert.True(t, strings.HasPrefix(stdout, "s2 "), stdout)
}

func TestSilenceRefusesWhatWouldSurprise(t *testing.T) {
	file := filepath.Join(t.TempDir(), "silences")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"add", "--for", "1h", "--reason", "x"}, "say what to silence: --host, --rule or --group"},
		{[]string{"add", "--host", "web1", "--for", "1h"}, "--reason is required"},
		{[]string{"add", "--host", "web1", "--reason", "x"}, "give one of --for and --until"},
		{[]string{"add", "--host", "web1", "--reason", "x", "--for", "1h", "--until", "2030-01-01"}, "give one of --for and --until"},
		{[]string{"add", "--host", "web1", "--reason", "x", "--until", "2001-01-01"}, "in the past"},
		{[]string{"add", "--host", "web1", "--reason", "x", "--until", "tomorrow"}, "--until:"},
		{[]string{"add", "--host", "web[", "--reason", "x", "--for", "1h"}, `host "web["`},
		{[]string{"expire"}, "name the silences to end"},
		{[]string{"frobnicate"}, `unknown subcommand "frobnicate"`},
	} {
		args := append([]string{"silence"}, tc.args...)
		if tc.args[0] != "frobnicate" {
			args = append(args, "--file", file)
		}
		code, _, stderr := runCmd(t, args...)
		assert.NotEqual(t, exitOK, code, tc.args)
		assert.Contains(t, stderr, tc.want, tc.args)
	}
	_, err := os.Stat(file)
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing refused was written")

	code, _, stderr := runCmd(t, "silence", "expire", "--file", file, "s9")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "no silence s9 in "+file)

	code, _, stderr = runCmd(t, "silence", "add", "--help")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stderr, "Usage: anomaly silence add [flags]")
	assert.Contains(t, stderr, "-reason")
}
