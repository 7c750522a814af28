package bridge

// #include "shim.h"
// #include "ring.h"
// #include <stdlib.h>
import "C"

import (
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// WriteFunc receives a value list from collectd. vl and its strings point
// into memory the plugin reuses and are valid only during the call.
type WriteFunc func(vl *metric.ValueList) error

// ringCapacity is how many value lists wait for the writer goroutine at most
// (6.6 MB); past it collectd's write threads wait, and collectd's own write
// queue holds what comes next: nothing is dropped. At a drain every 10 ms it
// allows 800,000 value lists a second.
const ringCapacity = 8192

// drainEvery is how long the writer goroutine lets value lists gather
// once the ring holds one, before it empties the ring: one drain per read's
// burst, not one per value list, and at most a hundred a second under load.
const drainEvery = 10 * time.Millisecond

// idleWait is how long the writer goroutine sleeps in the ring at most
// when nothing comes: an idle plugin wakes once a second, not a hundred
// times (it used to drain on a 10 ms ticker).
const idleWait = time.Second

// The writer: collectd's write threads copy each value list into a C ring
// (ring.c) and never enter Go; this goroutine hands them to writeFunc.
var (
	writeMu     sync.Mutex // one drain at a time
	writeFunc   WriteFunc
	writeErrors logLimited
	refusedSeen uint64
	scratchVL   scratch
	takeFirst   *C.anomaly_record_t // out-parameter of take: a local would escape
	writerStop  = make(chan struct{})
	writerDone  = make(chan struct{})
	writerOnce  sync.Once
)

// RegisterWrite registers the write callback called name, which copies each
// value list collectd writes into a ring, and starts the goroutine that
// hands them to f in batches. It is not collectd.org's RegisterWrite: that
// enters Go for every value list and converts it with about 15 allocations;
// this costs collectd's threads a mutex and a copy, and allocates nothing.
func RegisterWrite(name string, f WriteFunc) error {
	if err := SetWriteFunc(f); err != nil {
		return err
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	if err := status(C.anomaly_register_write(cname), "plugin_register_write"); err != nil {
		return err
	}
	go runWriter()
	return nil
}

// SetWriteFunc makes f the receiver of the ring's value lists without
// registering anything with collectd (tests drive it with fake.Write and Flush).
func SetWriteFunc(f WriteFunc) error {
	writeMu.Lock()
	defer writeMu.Unlock()
	writeFunc = f
	if C.anomaly_ring_init(ringCapacity) != 0 {
		return fmt.Errorf("cannot allocate the write ring of %d value lists", ringCapacity)
	}
	return nil
}

func runWriter() {
	defer close(writerDone)
	for {
		select {
		case <-writerStop:
			Flush()
			return
		default:
		}
		switch n := C.anomaly_ring_wait(C.long(idleWait / time.Millisecond)); {
		case n < 0: // closed and empty
			return
		case n > 0:
			if int(n) < ringCapacity/2 {
				time.Sleep(drainEvery)
			}
			Flush()
		}
	}
}

// RingStats says whether the writer goroutine keeps up: how many times a
// write thread found the ring full and waited, and the most value lists it
// held at once.
func RingStats() (fullWaits uint64, highWater int) {
	return uint64(C.anomaly_ring_full_waits()), int(C.anomaly_ring_high_water())
}

// StopWriter refuses further value lists, hands on those in the ring and
// stops the writer goroutine. The plugin calls it at shutdown, when
// collectd's write threads have stopped.
func StopWriter() {
	C.anomaly_ring_close()
	writerOnce.Do(func() { close(writerStop) })
	select {
	case <-writerDone:
	case <-time.After(5 * time.Second): // never started (tests), or stuck
	}
	Flush()
}

// Flush hands every value list in the ring to the write function now.
func Flush() {
	writeMu.Lock()
	defer writeMu.Unlock()
	for {
		n := int(C.anomaly_ring_take(&takeFirst))
		if n == 0 {
			break
		}
		records := unsafe.Slice(takeFirst, n)
		for i := range records {
			writeOne(&records[i]) // read in place, in C memory
		}
		C.anomaly_ring_release(C.size_t(n))
	}
	if refused := uint64(C.anomaly_ring_refused()); refused != refusedSeen {
		refusedSeen = refused
		writeErrors.logf("anomaly plugin: %d value lists refused so far (more than %d data sources, or a data set that does not match)", refused, maxValues)
	}
}

// writeOne hands one record on; a panic or an error costs that value list
// and a (rate-limited) log line, never the daemon.
func writeOne(r *C.anomaly_record_t) {
	defer func() {
		if p := recover(); p != nil {
			writeErrors.logf("anomaly plugin: write callback panicked: %v", p)
		}
	}()
	if writeFunc == nil {
		return
	}
	s := &scratchVL
	if err := convertValueList(r.ds, &r.vl, s); err != nil {
		writeErrors.logf("anomaly plugin: %v", err)
		return
	}
	if err := writeFunc(&s.vl); err != nil {
		writeErrors.logf("anomaly plugin: %v", err)
	}
}

// maxValues is how many data sources a value list may have (the ring's
// records have room for that many); collectd's largest types have a dozen.
const maxValues = C.ANOMALY_MAX_VALUES

type scratch struct {
	vl     metric.ValueList
	values [maxValues]metric.Value
	names  [maxValues]string
}

type convertError string

func (e convertError) Error() string { return string(e) }

// convertValueList views a ring record as a metric.ValueList. The ring took
// only value lists whose values match their data set and fit a record
// (anomaly_ring_put), so that is not checked again; the data set is read
// in place, without a cgo call per value.
func convertValueList(ds *C.data_set_t, cvl *C.value_list_t, s *scratch) error {
	n := int(cvl.values_len)
	vl := &s.vl
	vl.Host = borrow(cvl.host[:])
	vl.Plugin = borrow(cvl.plugin[:])
	vl.PluginInstance = borrow(cvl.plugin_instance[:])
	vl.Type = borrow(cvl._type[:])
	vl.TypeInstance = borrow(cvl.type_instance[:])
	vl.Time = cdtimeToTime(cvl.time)
	vl.Interval = cdtimeToDuration(cvl.interval)
	values := unsafe.Slice(cvl.values, n)
	sources := unsafe.Slice(ds.ds, n)
	for i := range n {
		raw := unsafe.Pointer(&values[i])
		switch sources[i]._type {
		case C.DS_TYPE_GAUGE:
			s.values[i] = metric.GaugeValue(*(*float64)(raw))
		case C.DS_TYPE_COUNTER:
			s.values[i] = metric.CounterValue(*(*uint64)(raw))
		case C.DS_TYPE_DERIVE:
			s.values[i] = metric.DeriveValue(*(*int64)(raw))
		case C.DS_TYPE_ABSOLUTE:
			s.values[i] = metric.AbsoluteValue(*(*uint64)(raw))
		default:
			return convertError("unknown data source type")
		}
		s.names[i] = borrow(sources[i].name[:])
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

func timeToCdtime(t time.Time) C.cdtime_t { return nanosToCdtime(uint64(t.UnixNano())) }

// durationToCdtime is 0 for durations that are not positive (collectd then
// takes the plugin's interval).
func durationToCdtime(d time.Duration) C.cdtime_t {
	if d <= 0 {
		return 0
	}
	return nanosToCdtime(uint64(d))
}

func nanosToCdtime(ns uint64) C.cdtime_t {
	sec, rem := ns/1_000_000_000, ns%1_000_000_000
	return C.cdtime_t(sec<<30 | (rem<<30)/1_000_000_000)
}

// ringRefused is the ring's count of refused value lists (for the tests).
func ringRefused() uint64 { return uint64(C.anomaly_ring_refused()) }
