package bridge

// #include "shim.h"
// #include <stdlib.h>
import "C"

import (
	"fmt"
	"time"
	"unsafe"
)

// Severity is a collectd notification severity (NOTIF_* in plugin.h).
type Severity int

// collectd's severities.
const (
	Failure Severity = C.NOTIF_FAILURE
	Warning Severity = C.NOTIF_WARNING
	Okay    Severity = C.NOTIF_OKAY
)

func (s Severity) String() string {
	switch s {
	case Failure:
		return "FAILURE"
	case Warning:
		return "WARNING"
	case Okay:
		return "OKAY"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// Meta is one notification meta data entry; Value is a string, float64 or int64.
type Meta struct {
	Key   string
	Value any
}

// MaxMessage is the longest message collectd's notification holds, in
// bytes (NOTIF_MAX_MSG_LEN less its terminating zero).
const MaxMessage = C.NOTIF_MAX_MSG_LEN - 1

// Notification is a collectd notification. Strings longer than collectd's
// fields (127 bytes, MaxMessage for the message) are cut.
type Notification struct {
	Severity       Severity
	Time           time.Time
	Host           string
	Plugin         string
	PluginInstance string
	Type           string
	TypeInstance   string
	Message        string
	Meta           []Meta
}

// Notifier sends notifications; Collectd is the real one, Fake records them.
type Notifier interface {
	Notify(n *Notification) error
}

// Collectd dispatches notifications into the daemon's notification chain.
type Collectd struct{}

// Notify fills a notification_t and calls plugin_dispatch_notification.
func (Collectd) Notify(n *Notification) error {
	var cn C.notification_t
	cn.severity = C.int(n.Severity)
	cn.time = timeToCdtime(n.Time)
	cString(cn.message[:], n.Message)
	cString(cn.host[:], n.Host)
	cString(cn.plugin[:], n.Plugin)
	cString(cn.plugin_instance[:], n.PluginInstance)
	cString(cn._type[:], n.Type)
	cString(cn.type_instance[:], n.TypeInstance)
	defer C.anomaly_meta_free(&cn)
	for _, m := range n.Meta {
		if err := addMeta(&cn, m); err != nil {
			return err
		}
	}
	return status(C.anomaly_dispatch_notification(&cn), "plugin_dispatch_notification")
}

func addMeta(cn *C.notification_t, m Meta) error {
	key := C.CString(m.Key)
	defer C.free(unsafe.Pointer(key))
	var rc C.int
	switch v := m.Value.(type) {
	case string:
		cv := C.CString(v)
		defer C.free(unsafe.Pointer(cv))
		rc = C.anomaly_meta_add_string(cn, key, cv)
	case float64:
		rc = C.anomaly_meta_add_double(cn, key, C.double(v))
	case int64:
		rc = C.anomaly_meta_add_signed_int(cn, key, C.int64_t(v))
	default:
		return fmt.Errorf("notification meta %q: unsupported type %T", m.Key, m.Value)
	}
	return status(rc, "plugin_notification_meta_add")
}
