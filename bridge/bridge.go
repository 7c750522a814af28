// Package bridge is the plugin's edge with collectd's C API: the C shims
// that collectd.org/plugin lacks - a write callback that reads collectd's
// value lists without copying or allocating,
// a configuration callback whose error stops the plugin from loading, and
// everything the plugin hands collectd from its own threads - notifications,
// derived values, log lines - in the plugin's context (context.go). It
// converts between C and Go once, here, so that no other package touches C
// types.
//
// Daemon functions are resolved with dlsym at run time, so the package links
// and its tests run without collectd; package bridge/fake, linked into
// tests only, replaces the notification functions with a recorder.
package bridge

// #cgo CPPFLAGS: -DHAVE_CONFIG_H -I/usr/include/collectd/core/daemon -I/usr/include/collectd/core -I/usr/include/collectd
// #cgo LDFLAGS: -ldl
// #include "shim.h"
import "C"

import (
	"fmt"
	"sync/atomic"
	"unicode/utf8"
)

// Logf reports errors of callbacks; it is collectd's log unless a test replaces it.
var Logf = Errorf

// logLimited logs at most every n-th of a repeated kind of error, so that a
// stream of bad value lists costs log lines, not the daemon's disk.
type logLimited struct{ seen atomic.Uint64 }

func (l *logLimited) logf(format string, args ...any) {
	n := l.seen.Add(1)
	if n&(n-1) == 0 { // 1st, 2nd, 4th, 8th...: fewer and fewer lines
		Logf(format+" (%d such errors so far)", append(args, n)...)
	}
}

func status(rc C.int, what string) error {
	switch rc {
	case 0:
		return nil
	case -2:
		return fmt.Errorf("%s: collectd's function is not available (not running inside collectd?)", what)
	default:
		return fmt.Errorf("%s failed with status %d", what, int(rc))
	}
}

// cString copies s into the fixed-size C array dst, truncating, NUL-terminated.
// A cut falls before a UTF-8 character that would not fit whole: collectd
// cuts bytes, and a message or host name ending in half a character is
// invalid UTF-8 to every JSON consumer of notifications (fuzzing found it
// with a host of 100 "é").
func cString(dst []C.char, s string) {
	n := min(len(s), len(dst)-1)
	for k := 0; n < len(s) && k < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(s[n]); k++ {
		n--
	}
	for i := 0; i < n; i++ {
		dst[i] = C.char(s[i])
	}
	dst[n] = 0
}
