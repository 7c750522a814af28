package cgo

// #include "shim.h"
import "C"

import (
	"sync"
	"time"
	"unsafe"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// WriteFunc receives a value list from collectd. vl and its strings point
// into collectd's memory and are valid only during the call.
type WriteFunc func(vl *detect.ValueList) error

var (
	writeFunc   WriteFunc
	writeErrors logLimited
)

// RegisterWrite registers f as the write callback called name. It is not
// collectd.org's RegisterWrite: that converts every value list into newly
// allocated Go values (about 15 allocations), this reads collectd's memory in
// place and allocates nothing.
func RegisterWrite(name string, f WriteFunc) error {
	writeFunc = f
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return status(C.anomaly_register_write(cname), "plugin_register_write")
}

// maxValues is how many data sources a value list can have without the
// scratch space growing; collectd's largest types have a dozen or so.
const maxValues = 16

type scratch struct {
	vl     detect.ValueList
	values [maxValues]detect.Value
	names  [maxValues]string
}

// scratchPool reuses conversion space across calls: collectd calls the write
// callback from several threads at once.
var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

//export goWrite
func goWrite(ds *C.data_set_t, cvl *C.value_list_t) (rc C.int) {
	defer func() {
		if r := recover(); r != nil {
			writeErrors.logf("anomaly plugin: write callback panicked: %v", r)
			rc = -1
		}
	}()
	if writeFunc == nil || ds == nil || cvl == nil {
		return -1
	}
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	if err := convertValueList(ds, cvl, s); err != nil {
		writeErrors.logf("anomaly plugin: %v", err)
		return -1
	}
	if err := writeFunc(&s.vl); err != nil {
		writeErrors.logf("anomaly plugin: %v", err)
		return -1
	}
	return 0
}

type convertError string

func (e convertError) Error() string { return string(e) }

func convertValueList(ds *C.data_set_t, cvl *C.value_list_t, s *scratch) error {
	n := int(C.anomaly_ds_num(ds))
	if n != int(cvl.values_len) {
		return convertError("value list and data set disagree on the number of values")
	}
	if n > maxValues {
		return convertError("value list has more data sources than the plugin handles")
	}
	vl := &s.vl
	vl.Host = borrow(cvl.host[:])
	vl.Plugin = borrow(cvl.plugin[:])
	vl.PluginInstance = borrow(cvl.plugin_instance[:])
	vl.Type = borrow(cvl._type[:])
	vl.TypeInstance = borrow(cvl.type_instance[:])
	vl.Time = cdtimeToTime(cvl.time)
	vl.Interval = cdtimeToDuration(cvl.interval)
	values := unsafe.Slice(cvl.values, n)
	for i := 0; i < n; i++ {
		raw := unsafe.Pointer(&values[i])
		switch C.anomaly_ds_type(ds, C.size_t(i)) {
		case C.DS_TYPE_GAUGE:
			s.values[i] = detect.GaugeValue(*(*float64)(raw))
		case C.DS_TYPE_COUNTER:
			s.values[i] = detect.CounterValue(*(*uint64)(raw))
		case C.DS_TYPE_DERIVE:
			s.values[i] = detect.DeriveValue(*(*int64)(raw))
		case C.DS_TYPE_ABSOLUTE:
			s.values[i] = detect.AbsoluteValue(*(*uint64)(raw))
		default:
			return convertError("unknown data source type")
		}
		s.names[i] = cStringBorrow(C.anomaly_ds_name(ds, C.size_t(i)))
	}
	vl.Values = s.values[:n]
	vl.DSNames = s.names[:n]
	return nil
}

// borrow views a NUL-terminated C char array as a Go string without copying.
func borrow(a []C.char) string {
	b := unsafe.Slice((*byte)(unsafe.Pointer(&a[0])), len(a))
	for i, c := range b {
		if c == 0 {
			return unsafe.String(&b[0], i)
		}
	}
	return unsafe.String(&b[0], len(b))
}

func cStringBorrow(p *C.char) string {
	if p == nil {
		return ""
	}
	return borrow(unsafe.Slice(p, C.DATA_MAX_NAME_LEN))
}

// cdtime_t counts 2^-30 seconds.
func cdtimeToTime(t C.cdtime_t) time.Time {
	sec := uint64(t) >> 30
	frac := uint64(t) & (1<<30 - 1)
	return time.Unix(int64(sec), int64((frac*1_000_000_000)>>30))
}

func cdtimeToDuration(t C.cdtime_t) time.Duration {
	sec := uint64(t) >> 30
	frac := uint64(t) & (1<<30 - 1)
	return time.Duration(sec)*time.Second + time.Duration((frac*1_000_000_000)>>30)
}

func timeToCdtime(t time.Time) C.cdtime_t {
	ns := uint64(t.UnixNano())
	sec, rem := ns/1_000_000_000, ns%1_000_000_000
	return C.cdtime_t(sec<<30 | (rem<<30)/1_000_000_000)
}
