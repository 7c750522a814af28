package cgo

// #include "shim.h"
// #include "ring.h"
// #include <stdlib.h>
import "C"

import (
	"sync"
	"time"
	"unsafe"

	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// Recorder is a Notifier that keeps notifications in memory, for tests of
// code that sends them.
type Recorder struct {
	mu    sync.Mutex
	notes []Notification
}

// Notify records n.
func (r *Recorder) Notify(n *Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := *n
	c.Meta = append([]Meta(nil), n.Meta...)
	r.notes = append(r.notes, c)
	return nil
}

// Notifications returns what was recorded so far.
func (r *Recorder) Notifications() []Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Notification(nil), r.notes...)
}

// FakeDaemon stands in for collectd's notification functions with C fakes
// that copy each dispatched notification_t, so tests see exactly what the
// daemon would receive. Only one may be installed at a time.
type FakeDaemon struct{}

var fakeMu sync.Mutex

// InstallFakeDaemon replaces the daemon's functions until Uninstall.
func InstallFakeDaemon() *FakeDaemon {
	fakeMu.Lock()
	C.anomaly_fake_install()
	return &FakeDaemon{}
}

// Uninstall restores run-time lookup of the real functions.
func (*FakeDaemon) Uninstall() {
	C.anomaly_fake_uninstall()
	fakeMu.Unlock()
}

// Dispatched converts the notification_t structs received so far back to Go.
func (*FakeDaemon) Dispatched() []Notification {
	var out []Notification
	for i := 0; i < int(C.anomaly_fake_count()); i++ {
		cn := C.anomaly_fake_get(C.int(i))
		n := Notification{
			Severity:       Severity(cn.severity),
			Time:           cdtimeToTime(cn.time),
			Message:        C.GoString(&cn.message[0]),
			Host:           C.GoString(&cn.host[0]),
			Plugin:         C.GoString(&cn.plugin[0]),
			PluginInstance: C.GoString(&cn.plugin_instance[0]),
			Type:           C.GoString(&cn._type[0]),
			TypeInstance:   C.GoString(&cn.type_instance[0]),
		}
		for m := cn.meta; m != nil; m = m.next {
			entry := Meta{Key: C.GoString(&m.name[0])}
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

// FakeValue is one data source of a value list handed to FakeWrite.
type FakeValue struct {
	Name  string
	Value metric.Value
}

// FakeWrite builds a value_list_t and data_set_t in C memory, as collectd
// would, passes them through the write callback's C entry point (into the
// ring) and flushes the ring to the write function. It returns the C
// callback's status: 0, or -1 for a value list the ring refused.
func FakeWrite(id metric.Identifier, t time.Time, interval time.Duration, values ...FakeValue) int {
	cvl := (*C.value_list_t)(C.calloc(1, C.sizeof_value_list_t))
	defer C.free(unsafe.Pointer(cvl))
	ds := (*C.data_set_t)(C.calloc(1, C.sizeof_data_set_t))
	defer C.free(unsafe.Pointer(ds))
	n := len(values)
	if n > 0 {
		cvl.values = (*C.value_t)(C.calloc(C.size_t(n), C.sizeof_value_t))
		defer C.free(unsafe.Pointer(cvl.values))
		ds.ds = (*C.data_source_t)(C.calloc(C.size_t(n), C.sizeof_data_source_t))
		defer C.free(unsafe.Pointer(ds.ds))
	}
	cvl.values_len = C.size_t(n)
	ds.ds_num = C.size_t(n)
	cString(cvl.host[:], id.Host)
	cString(cvl.plugin[:], id.Plugin)
	cString(cvl.plugin_instance[:], id.PluginInstance)
	cString(cvl._type[:], id.Type)
	cString(cvl.type_instance[:], id.TypeInstance)
	cvl.time = timeToCdtime(t)
	cvl.interval = C.cdtime_t(uint64(interval/time.Second)<<30 | (uint64(interval%time.Second)<<30)/1_000_000_000)
	cvals := unsafe.Slice(cvl.values, n)
	srcs := unsafe.Slice(ds.ds, n)
	for i, v := range values {
		cString(srcs[i].name[:], v.Name)
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
	rc := int(C.anomaly_fake_call_write(ds, cvl))
	Flush()
	return rc
}

// cDataSet and cValueList name collectd's C types for the tests (which
// cannot use cgo themselves).
type (
	cDataSet   = C.data_set_t
	cValueList = C.value_list_t
)

// fakeCValueList and callWrite serve the allocation test: building the C
// structures is outside the measured call.
func fakeCValueList() (*C.data_set_t, *C.value_list_t) {
	cvl := (*C.value_list_t)(C.calloc(1, C.sizeof_value_list_t))
	ds := (*C.data_set_t)(C.calloc(1, C.sizeof_data_set_t))
	cvl.values = (*C.value_t)(C.calloc(1, C.sizeof_value_t))
	ds.ds = (*C.data_source_t)(C.calloc(1, C.sizeof_data_source_t))
	cvl.values_len, ds.ds_num = 1, 1
	cString(cvl.host[:], "host")
	cString(cvl.plugin[:], "ecommerce")
	cString(cvl._type[:], "gauge")
	cString(cvl.type_instance[:], "page-hits-total")
	cString(ds.ds.name[:], "value")
	ds.ds._type = C.DS_TYPE_GAUGE
	*(*float64)(unsafe.Pointer(cvl.values)) = 115
	return ds, cvl
}

func freeFakeCValueList(ds *C.data_set_t, cvl *C.value_list_t) {
	C.free(unsafe.Pointer(cvl.values))
	C.free(unsafe.Pointer(ds.ds))
	C.free(unsafe.Pointer(cvl))
	C.free(unsafe.Pointer(ds))
}

func callWrite(ds *C.data_set_t, cvl *C.value_list_t) int {
	rc := int(C.anomaly_fake_call_write(ds, cvl))
	Flush()
	return rc
}

// putOnly is the C callback alone: the value list goes into the ring.
func putOnly(ds *C.data_set_t, cvl *C.value_list_t) int {
	return int(C.anomaly_fake_call_write(ds, cvl))
}

// ringRefused is the ring's count of refused value lists.
func ringRefused() uint64 { return uint64(C.anomaly_ring_refused()) }
