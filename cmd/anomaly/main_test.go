package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// runCmd runs the command in-process, as its main would.
func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCtx(t, context.Background(), args...)
}

func runCtx(t *testing.T, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(ctx, &env{stdout: &out, stderr: &errOut}, args)
	return code, out.String(), errOut.String()
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to write %s", path)
	assert.Equal(t, string(want), got, "differs from %s (go test -update rewrites it)", path)
}

func TestUsage(t *testing.T) {
	code, _, stderr := runCmd(t)
	assert.Equal(t, exitUsage, code)
	for _, c := range []string{"anomaly check FILE...", "anomaly replay [flags] FILE", "anomaly eval [flags] FILE", "anomaly silence add|list|expire [flags]"} {
		assert.Contains(t, stderr, c)
	}
	code, _, stderr = runCmd(t, "frobnicate")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, `unknown command "frobnicate"`)

	// Every command explains itself with --help, and exits 0.
	for _, c := range []string{"check", "replay", "eval"} {
		code, stdout, stderr := runCmd(t, c, "--help")
		assert.Equal(t, exitOK, code, c)
		assert.Empty(t, stdout, c)
		assert.True(t, strings.HasPrefix(stderr, "Usage: anomaly "+c+" "), "%s: %s", c, stderr)
		assert.Contains(t, stderr, "Flags (-flag and --flag alike):", c)
	}
}

func TestParseDurationAndIncident(t *testing.T) {
	for s, want := range map[string]string{"90": "1m30s", "30m": "30m0s", "2d": "48h0m0s", "1.5d": "36h0m0s"} {
		d, err := parseDuration(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, d.String(), s)
	}
	_, err := parseDuration("soon")
	assert.EqualError(t, err, `duration "soon": want seconds, or a string like 90s, 30m, 6h, 2d or 1w`)

	in, err := parseIncident("name=x,start=12h,duration=30m,PageError500=0.03,a.ProviderError=0.05,expect=web-server-errors[page]")
	require.NoError(t, err)
	assert.Equal(t, "x", in.name)
	assert.True(t, in.hasStart)
	assert.Equal(t, "12h0m0s", in.start.String())
	assert.Len(t, in.changes, 2)
	assert.Equal(t, "a", in.changes[1].Provider)
	assert.Equal(t, []string{"web-server-errors[page]"}, in.expect)

	in, err = parseIncident("duration=10m,silence")
	require.NoError(t, err)
	assert.True(t, in.silence)
	assert.Equal(t, "silence", in.name)

	for spec, want := range map[string]string{
		"PageError500=0.03":             `incident "PageError500=0.03": want duration=D (30m, 2h...)`,
		"duration=1h":                   `incident "duration=1h": change at least one parameter (PageError500=0.03...), or say silence`,
		"duration=1h,PageRte=2":         `incident "duration=1h,PageRte=2": unknown parameter "PageRte" (want one of PageRate, AssetRate, SessionRate, PaymentRate, TrafficMultiplier, PageError400, PageError500, AssetError400, AssetError500, PageLatencyMean, PageLatencyStdDev, AssetLatencyMean, AssetLatencyStdDev)`,
		"duration=1h,PageError500=2":    `incident "duration=1h,PageError500=2": PageError500 = 2: must be between 0 and 1`,
		"duration=1h,PageError500=lots": `incident "duration=1h,PageError500=lots": PageError500=lots: not a number`,
		"duration=1h,a.Fraud":           `incident "duration=1h,a.Fraud": "a.Fraud" wants a value, as a.Fraud=...`,
	} {
		_, err := parseIncident(spec)
		assert.EqualError(t, err, want, spec)
	}
}
