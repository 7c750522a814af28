package e2e

import (
	"bytes"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// `make demo` on a terminal, stopped with ^C as the README says once the
// incident's FAILURE and OKAY have scrolled by, exits 0 with a one-line
// summary and no error from make. script(1) gives make a pseudo-terminal:
// the ^C written to it is what a user's terminal receives.
func TestDemoStopsCleanlyOnCtrlC(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("script(1) (util-linux) not found: no pseudo-terminal to run the demo on")
	}
	cmd := exec.Command("script", "-qfec", "make -s -C .. demo PLUGIN="+pluginSO, "/dev/null")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})

	okay := regexp.MustCompile(`severity = OKAY, .*type_instance = web-failed-requests`)
	require.Eventually(t, func() bool { return okay.MatchString(out.String()) }, 2*time.Minute, 100*time.Millisecond,
		"the incident's OKAY; the demo printed:\n%s", &out)
	_, err = stdin.Write([]byte{0x03})
	require.NoError(t, err)
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the demo did not stop within 30 s of ^C:\n%s", out.String())
	}
	require.NoError(t, err, "make demo's exit status after ^C:\n%s", out.String())

	text := out.String()
	assert.NotContains(t, text, "make: ***")
	m := regexp.MustCompile(`demo stopped after \d+ s: (\d+) incident\(s\) simulated, (\d+) FAILURE and (\d+) OKAY notification\(s\) shown`).FindStringSubmatch(text)
	require.NotNil(t, m, "the summary line:\n%s", text)
	incidents, _ := strconv.Atoi(m[1])
	failures, _ := strconv.Atoi(m[2])
	assert.Equal(t, 1, incidents)
	assert.GreaterOrEqual(t, failures, 2, "web-failed-requests and web-server-errors")
}
