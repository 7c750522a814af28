// Command plugin is the collectd plugin "anomaly", built with
// -buildmode=c-shared into anomaly.so and loaded with LoadPlugin anomaly.
//
// It is glue only: configuration goes to package conf, value lists to the
// engine of package detect, simulated traffic comes from package simulate,
// and everything that touches C lives in package bridge.
package main

import (
	"fmt"
	"os"

	"github.com/collectd-anomaly/collectd-anomaly/bridge"
)

// The plugin registers itself when collectd loads the shared object (Go runs
// init functions then); nothing runs until a <Plugin anomaly> block arrives.
func init() {
	p := newPlugin(collectdHost{})
	if err := bridge.RegisterConfig("anomaly", p.configure); err != nil {
		if bridge.DefaultInterval() == 0 {
			// Not inside collectd (go test, say): plugin_log is missing as
			// well, and collectd.org's logging would call a NULL pointer.
			fmt.Fprintf(os.Stderr, "anomaly plugin: %v\n", err)
			return
		}
		p.host.errorf("anomaly plugin: %v", err)
	}
}

func main() {} // required by -buildmode=c-shared, never called
