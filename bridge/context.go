package bridge

// #include "shim.h"
// #include <stdlib.h>
import "C"

import (
	"fmt"
	"os"
	"time"
	"unsafe"
)

// SaveContext keeps the plugin context collectd runs the calling callback
// in (call it from the init callback), with interval as the plugin's
// interval, for everything the plugin later hands collectd from its own
// threads: notifications, derived values and log lines. Without it those
// threads have no context, and collectd's plugins that read it fail: exec's
// NotificationExec logs "plugin_get_interval: Unable to determine Interval
// from context" for every notification.
func SaveContext(interval time.Duration) error {
	return status(C.anomaly_save_ctx(durationToCdtime(interval)), "plugin_get_ctx")
}

// collectd's log levels (syslog's).
const (
	levelError   = 3
	levelWarning = 4
	levelInfo    = 6
)

// Errorf, Warningf and Infof write a line to collectd's log, in the
// plugin's context; outside collectd (tests, tools) to standard error.
func Errorf(format string, args ...any)   { logLine(levelError, format, args...) }
func Warningf(format string, args ...any) { logLine(levelWarning, format, args...) }
func Infof(format string, args ...any)    { logLine(levelInfo, format, args...) }

func logLine(level int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	cmsg := C.CString(msg)
	defer C.free(unsafe.Pointer(cmsg))
	if C.anomaly_log(C.int(level), cmsg) != 0 {
		fmt.Fprintln(os.Stderr, msg)
	}
}

// Gauge is one value the plugin dispatches into collectd (a rule's derived
// series, the plugin's own statistics).
type Gauge struct {
	Host, Plugin, PluginInstance, Type, TypeInstance string
	Time                                             time.Time
	Interval                                         time.Duration
	Value                                            float64
}

// DispatchGauge hands g to plugin_dispatch_values, in the plugin's context,
// so that every write plugin (and this plugin's own rules) receives it.
// collectd copies the value list before the call returns.
func DispatchGauge(g *Gauge) error {
	var vl C.value_list_t
	cString(vl.host[:], g.Host)
	cString(vl.plugin[:], g.Plugin)
	cString(vl.plugin_instance[:], g.PluginInstance)
	cString(vl._type[:], g.Type)
	cString(vl.type_instance[:], g.TypeInstance)
	vl.time = timeToCdtime(g.Time)
	vl.interval = durationToCdtime(g.Interval)
	return status(C.anomaly_dispatch_gauge(&vl, C.double(g.Value)), "plugin_dispatch_values")
}
