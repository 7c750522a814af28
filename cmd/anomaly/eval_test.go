package main

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A short scenario over the shipped rule pack: server errors on the pages
// and the shop going silent, three runs of 12 hours (an hour of warm-up is
// plenty for these two rules, and an hour of grace for their recovery). Both are caught every
// time, the errors within 3 minutes (the 5-minute window passes 1% a third
// of the way in at 5% errors), the silence within a minute (3 intervals of
// timeout, judged a slot later), and neither rule cries wolf.
func TestEvalShortScenario(t *testing.T) {
	out := filepath.Join(t.TempDir(), "eval.csv")
	code, stdout, stderr := runCmd(t, "eval", "../../collectd.conf.d/anomaly.conf", "--days", "0.5", "--seeds", "3", "--warmup", "1h", "--grace", "1h",
		"--incident", "name=pages-5xx,duration=30m,PageError500=0.05,expect=web-server-errors[page]",
		"--incident", "name=shop-down,duration=10m,silence,expect=ecommerce-silent",
		"--rule", "web-server-errors,ecommerce-silent", "--csv", out)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "3 runs of 0.5 simulated days (10s interval, warm-up 1h0m0s, grace 1h0m0s), 2 incidents per run")
	assert.Contains(t, stdout, "RULE                     INCIDENT   CHANGE                     N  RECALL  DELAY p50  DELAY p95  FALSE/WEEK")
	assert.Contains(t, stderr, "1.5 simulated days in")

	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 3)
	head := map[string]int{}
	for i, h := range rows[0] {
		head[h] = i
	}
	num := func(row []string, col string) float64 {
		f, err := strconv.ParseFloat(row[head[col]], 64)
		require.NoError(t, err, "%s of %v", col, row)
		return f
	}
	bounds := map[string]float64{"pages-5xx": 180, "shop-down": 60}
	for _, row := range rows[1:] {
		inc := row[head["incident"]]
		assert.Equal(t, "3", row[head["incidents"]], row)
		assert.Equal(t, 1.0, num(row, "recall"), row)
		assert.LessOrEqual(t, num(row, "delay_p95_s"), bounds[inc], row)
		assert.LessOrEqual(t, num(row, "delay_p50_s"), num(row, "delay_p95_s"), row)
		assert.Equal(t, 0.0, num(row, "false_per_week"), row)
		assert.Equal(t, "3", row[head["runs"]])
	}
	assert.Equal(t, "web-server-errors", rows[1][head["rule"]])
	assert.Equal(t, "page", rows[1][head["group"]])
	assert.Equal(t, "ecommerce-silent", rows[2][head["rule"]])
}

func TestEvalErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"eval"}, exitUsage, "Usage: anomaly eval [flags] FILE"},
		{[]string{"eval", "testdata/web.conf", "--incident", "PageError500=0.1"}, exitUsage, "want duration=D"},
		{[]string{"eval", "testdata/web.conf", "--rule", "nope"}, exitUsage, "no rule named nope"},
		{[]string{"eval", "testdata/web.conf", "--days", "1"}, exitFailure, "9 incidents with 6h of grace do not fit in 24h after a warm-up of 12h: make the runs longer"},
	} {
		code, _, stderr := runCmd(t, tc.args...)
		assert.Equal(t, tc.code, code, tc.args)
		assert.Contains(t, stderr, tc.want, tc.args)
	}
}

// ^C: the table holds the runs completed, and the status says so.
func TestEvalInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, stdout, stderr := runCtx(t, ctx, "eval", "../../collectd.conf.d/anomaly.conf", "--seeds", "50")
	assert.Equal(t, exitInterrupted, code)
	assert.True(t, strings.HasPrefix(stdout, "0 runs of 7 simulated days"), stdout)
	assert.Contains(t, stderr, "interrupted: the table is of the 0 runs completed")
}
