// Command gobare is the reference write plugin of BenchmarkCollectdLoad
// (e2e/load_test.go): a Go write plugin registered through collectd.org's
// plugin.RegisterWrite that does nothing with the value lists it receives. Its
// cost is what collectd.org's cgo conversion (an api.ValueList of freshly
// allocated Go strings and slices for every value list) and the Go runtime
// add to collectd.
//
// Build with -buildmode=c-shared into gobare.so and load with LoadPlugin
// gobare. The only thing it does is count the value lists (one atomic add) and,
// when collectd shuts down, write the count to the file named by the
// environment variable GOBARE_COUNT_FILE, so the benchmark can check that
// collectd handed every value list it was sent to its write plugins.
package main

import (
	"context"
	"os"
	"strconv"
	"sync/atomic"

	"collectd.org/api"
	"collectd.org/plugin"
)

type bare struct{ n atomic.Uint64 }

// Write receives every value list collectd dispatches, converted by
// collectd.org/plugin, and drops it.
func (b *bare) Write(context.Context, *api.ValueList) error {
	b.n.Add(1)
	return nil
}

// Shutdown reports the count.
func (b *bare) Shutdown(context.Context) error {
	if f := os.Getenv("GOBARE_COUNT_FILE"); f != "" {
		return os.WriteFile(f, []byte(strconv.FormatUint(b.n.Load(), 10)+"\n"), 0o644)
	}
	return nil
}

func init() {
	b := &bare{}
	if err := plugin.RegisterWrite("gobare", b); err != nil {
		plugin.Errorf("gobare plugin: %v", err)
		return
	}
	if err := plugin.RegisterShutdown("gobare", b); err != nil {
		plugin.Errorf("gobare plugin: %v", err)
	}
}

func main() {} // required by -buildmode=c-shared, never called
