package bridge

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// collectd's log function is not there in tests.
	Logf = func(string, ...any) {}
	os.Exit(m.Run())
}
