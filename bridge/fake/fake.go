// Package fake stands in for collectd in the tests of code that talks to it
// through package bridge: a fake of the daemon's notification functions
// that records what it is given, value lists built in C memory as collectd
// builds them and passed through the bridge's write callback, and a
// Recorder of notifications. It is linked into test binaries only, never
// into the plugin.
package fake

// #cgo CPPFLAGS: -DHAVE_CONFIG_H -I/usr/include/collectd/core/daemon -I/usr/include/collectd/core -I/usr/include/collectd -I${SRCDIR}/..
// #include <stdlib.h>
// #include "fake.h"
// #include "shim.h"
// #include "utils_time.h"
// static cdtime_t fake_cdtime(uint64_t ns) { return NS_TO_CDTIME_T(ns); }
// static uint64_t fake_ns(cdtime_t t) { return CDTIME_T_TO_NS(t); }
import "C"

import (
	"sync"
	"time"
	"unsafe"

	"github.com/collectd-anomaly/collectd-anomaly/bridge"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// Recorder is a bridge.Notifier that keeps notifications in memory.
type Recorder struct {
	mu    sync.Mutex
	notes []bridge.Notification
}

// Notify records n.
func (r *Recorder) Notify(n *bridge.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := *n
	c.Meta = append([]bridge.Meta(nil), n.Meta...)
	r.notes = append(r.notes, c)
	return nil
}

// Notifications returns what was recorded so far.
func (r *Recorder) Notifications() []bridge.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bridge.Notification(nil), r.notes...)
}

// Daemon is the fake of collectd's notification functions: the bridge's
// notifications reach it as notification_t structs, copied as collectd
// copies them. Only one may be installed at a time.
type Daemon struct{}

var installed sync.Mutex

// Install replaces the daemon's functions until Uninstall.
func Install() *Daemon {
	installed.Lock()
	C.anomaly_fake_install()
	return &Daemon{}
}

// Uninstall restores the lookup of the real functions in the daemon.
func (*Daemon) Uninstall() {
	C.anomaly_fake_uninstall()
	installed.Unlock()
}

// Dispatched converts the notification_t structs received so far back to Go.
func (*Daemon) Dispatched() []bridge.Notification {
	var out []bridge.Notification
	for i := 0; i < int(C.anomaly_fake_count()); i++ {
		cn := C.anomaly_fake_get(C.int(i))
		n := bridge.Notification{
			Severity:       bridge.Severity(cn.severity),
			Time:           time.Unix(0, int64(C.fake_ns(cn.time))),
			Message:        C.GoString(&cn.message[0]),
			Host:           C.GoString(&cn.host[0]),
			Plugin:         C.GoString(&cn.plugin[0]),
			PluginInstance: C.GoString(&cn.plugin_instance[0]),
			Type:           C.GoString(&cn._type[0]),
			TypeInstance:   C.GoString(&cn.type_instance[0]),
		}
		for m := cn.meta; m != nil; m = m.next {
			entry := bridge.Meta{Key: C.GoString(&m.name[0])}
			raw := unsafe.Pointer(&m.nm_value)
			switch m._type {
			case C.NM_TYPE_STRING:
				entry.Value = C.GoString(*(**C.char)(raw))
			case C.NM_TYPE_DOUBLE:
				entry.Value = *(*float64)(raw)
			case C.NM_TYPE_SIGNED_INT:
				entry.Value = *(*int64)(raw)
			}
			n.Meta = append(n.Meta, entry)
		}
		out = append(out, n)
	}
	return out
}

// Value is one data source of a value list handed to Write.
type Value struct {
	Name  string
	Value metric.Value
}

// Write builds a value_list_t and data_set_t in C memory, as collectd
// would, passes them through the bridge's write callback (into the ring)
// and flushes the ring to the write function. It returns the callback's
// status: 0, or -1 for a value list the ring refused.
func Write(id metric.Identifier, t time.Time, interval time.Duration, values ...Value) int {
	l := newValueList(len(values))
	defer l.Free()
	setString(l.vl.host[:], id.Host)
	setString(l.vl.plugin[:], id.Plugin)
	setString(l.vl.plugin_instance[:], id.PluginInstance)
	setString(l.vl._type[:], id.Type)
	setString(l.vl.type_instance[:], id.TypeInstance)
	l.vl.time = C.fake_cdtime(C.uint64_t(t.UnixNano()))
	l.vl.interval = C.fake_cdtime(C.uint64_t(max(interval, 0)))
	cvals := unsafe.Slice(l.vl.values, len(values))
	srcs := unsafe.Slice(l.ds.ds, len(values))
	for i, v := range values {
		setString(srcs[i].name[:], v.Name)
		raw := unsafe.Pointer(&cvals[i])
		switch v.Value.Kind {
		case metric.Gauge:
			srcs[i]._type = C.DS_TYPE_GAUGE
			*(*float64)(raw) = v.Value.Gauge
		case metric.Counter:
			srcs[i]._type = C.DS_TYPE_COUNTER
			*(*uint64)(raw) = v.Value.Counter
		case metric.Derive:
			srcs[i]._type = C.DS_TYPE_DERIVE
			*(*int64)(raw) = v.Value.Derive
		case metric.Absolute:
			srcs[i]._type = C.DS_TYPE_ABSOLUTE
			*(*uint64)(raw) = v.Value.Counter
		default:
			srcs[i]._type = 99
		}
	}
	return l.Write()
}

// ValueList is a value list and its data set in C memory, built once and
// written many times (the allocation test, the benchmark, producers
// filling the ring).
type ValueList struct {
	ds *C.data_set_t
	vl *C.value_list_t
}

func newValueList(n int) *ValueList {
	l := &ValueList{
		vl: (*C.value_list_t)(C.calloc(1, C.sizeof_value_list_t)),
		ds: (*C.data_set_t)(C.calloc(1, C.sizeof_data_set_t)),
	}
	if n > 0 {
		l.vl.values = (*C.value_t)(C.calloc(C.size_t(n), C.sizeof_value_t))
		l.ds.ds = (*C.data_source_t)(C.calloc(C.size_t(n), C.sizeof_data_source_t))
	}
	l.vl.values_len, l.ds.ds_num = C.size_t(n), C.size_t(n)
	return l
}

// NewGaugeList is ecommerce/gauge-page-hits-total of host "host", one
// gauge of 115.
func NewGaugeList() *ValueList {
	l := newValueList(1)
	setString(l.vl.host[:], "host")
	setString(l.vl.plugin[:], "ecommerce")
	setString(l.vl._type[:], "gauge")
	setString(l.vl.type_instance[:], "page-hits-total")
	setString(l.ds.ds.name[:], "value")
	l.ds.ds._type = C.DS_TYPE_GAUGE
	*(*float64)(unsafe.Pointer(l.vl.values)) = 115
	return l
}

// Write passes the value list through the write callback and flushes the
// ring; it returns the callback's status.
func (l *ValueList) Write() int {
	rc := l.Put()
	bridge.Flush()
	return rc
}

// Put is the write callback alone: the value list goes into the ring.
func (l *ValueList) Put() int { return int(C.anomaly_write_callback(l.ds, l.vl)) }

// Free releases the C memory; the ring must not hold the value list any
// more (it keeps a pointer to its data set, as collectd's sets live as
// long as the daemon).
func (l *ValueList) Free() {
	C.free(unsafe.Pointer(l.vl.values))
	C.free(unsafe.Pointer(l.ds.ds))
	C.free(unsafe.Pointer(l.vl))
	C.free(unsafe.Pointer(l.ds))
}

// setString copies s into a fixed C field as collectd's sstrncpy does: at
// most the field's size less one byte, then a NUL.
func setString(dst []C.char, s string) {
	n := min(len(s), len(dst)-1)
	for i := 0; i < n; i++ {
		dst[i] = C.char(s[i])
	}
	dst[n] = 0
}
