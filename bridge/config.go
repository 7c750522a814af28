package bridge

// #include "shim.h"
// #include <stdlib.h>
import "C"

import (
	"fmt"
	"time"
	"unsafe"

	"collectd.org/config"
)

// ConfigFunc receives the plugin's configuration block. An error stops the
// plugin from loading: collectd logs it and refuses to start.
type ConfigFunc func(config.Block) error

var configFunc ConfigFunc

// RegisterConfig registers f for <Plugin name> blocks. collectd.org's
// RegisterConfig defers configuration to an init callback whose errors only
// get logged, so a mistyped option would leave the plugin running
// half-configured; a complex config callback's error reaches the daemon.
func RegisterConfig(name string, f ConfigFunc) error {
	configFunc = f
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return status(C.anomaly_register_complex_config(cname), "plugin_register_complex_config")
}

// InitFunc runs once collectd has read its whole configuration, before the
// first read; an error makes collectd unload the plugin.
type InitFunc func() error

var initFunc InitFunc

// RegisterInit registers f as the init callback called name.
func RegisterInit(name string, f InitFunc) error {
	initFunc = f
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return status(C.anomaly_register_init(cname), "plugin_register_init")
}

//export goInit
func goInit() (rc C.int) {
	defer func() {
		if r := recover(); r != nil {
			Logf("anomaly plugin: init panicked: %v", r)
			rc = -1
		}
	}()
	if initFunc == nil {
		return 0
	}
	if err := initFunc(); err != nil {
		Logf("anomaly plugin: %v", err)
		return -1
	}
	return 0
}

//export goConfig
func goConfig(ci *C.oconfig_item_t) (rc C.int) {
	defer func() {
		if r := recover(); r != nil {
			Logf("anomaly plugin: configuration panicked: %v", r)
			rc = -1
		}
	}()
	if configFunc == nil {
		return -1
	}
	block, err := convertConfig(ci)
	if err == nil {
		err = configFunc(block)
	}
	if err != nil {
		Logf("anomaly plugin: configuration error: %v", err)
		return -1
	}
	return 0
}

func convertConfig(ci *C.oconfig_item_t) (config.Block, error) {
	b := config.Block{Key: C.GoString(ci.key)}
	for i := 0; i < int(ci.values_num); i++ {
		switch C.anomaly_config_value_type(ci, C.int(i)) {
		case C.OCONFIG_TYPE_STRING:
			b.Values = append(b.Values, config.String(C.GoString(C.anomaly_config_value_string(ci, C.int(i)))))
		case C.OCONFIG_TYPE_NUMBER:
			b.Values = append(b.Values, config.Float64(float64(C.anomaly_config_value_number(ci, C.int(i)))))
		case C.OCONFIG_TYPE_BOOLEAN:
			b.Values = append(b.Values, config.Bool(C.anomaly_config_value_boolean(ci, C.int(i)) != 0))
		default:
			return b, fmt.Errorf("%s: value of unknown type", b.Key)
		}
	}
	for i := 0; i < int(ci.children_num); i++ {
		child, err := convertConfig(C.anomaly_config_child(ci, C.int(i)))
		if err != nil {
			return b, err
		}
		b.Children = append(b.Children, child)
	}
	return b, nil
}

// DefaultInterval is collectd's global Interval. A Go plugin registers its
// callbacks when the shared object is loaded, before collectd has set up the
// plugin's context, so collectd cannot tell the read callback's interval by
// itself; the plugin passes this one explicitly. Zero outside collectd.
func DefaultInterval() time.Duration {
	return cdtimeToDuration(C.anomaly_default_interval())
}

// Hostname is collectd's Hostname setting, empty outside collectd.
// plugin_dispatch_notification does not fill in an empty host the way
// plugin_dispatch_values does, so notifications that are about no single
// host (rules aggregating hosts) take this one.
func Hostname() string {
	if h := C.anomaly_hostname(); h != nil {
		return C.GoString(h)
	}
	return ""
}
