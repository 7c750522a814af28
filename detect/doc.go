// Package detect is the streaming anomaly-detection engine of collectd-anomaly.
//
// It knows nothing of collectd's C types or of e-commerce: it receives value
// lists (an Identifier, a time, typed values), routes each value to the rules
// whose selectors match it, keeps per-group state in bounded moving windows,
// and turns each rule's verdicts into alert notifications through a shared
// lifecycle (ok, warning, failure; hits, hysteresis, repeat).
//
// The engine runs on event time: windows and alert states advance with the
// value lists' own timestamps, never with the wall clock, so the same rules
// run in the collectd plugin, in tests and in replay at full speed. The only
// way the wall clock enters is Engine.Tick, which the live plugin calls so
// that silence (a series that stopped arriving) is noticed.
//
// The hot path (Engine.Observe) allocates nothing in steady state: state for a
// series is created the first time it is seen, after which routing is a map
// lookup and the work per value is O(1) amortised.
package detect
