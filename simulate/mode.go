package simulate

import (
	"fmt"
	"strings"
)

// Mode selects how counts are reported.
type Mode int

const (
	// Gauge reports each count as the number of events in the read's interval,
	// as the original plugin did.
	Gauge Mode = iota
	// Counter reports each count as a running total since step 0, as a later
	// revision of the plugin did; latencies stay gauges.
	Counter
)

// String returns the configuration name of the mode: "gauge" or "counter".
func (m Mode) String() string {
	switch m {
	case Gauge:
		return "gauge"
	case Counter:
		return "counter"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode parses a mode's configuration name, case-insensitively.
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "gauge":
		return Gauge, nil
	case "counter":
		return Counter, nil
	}
	return 0, fmt.Errorf("unknown mode %q (want gauge or counter)", s)
}

func (m Mode) valid() bool { return m == Gauge || m == Counter }
