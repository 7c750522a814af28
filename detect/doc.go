// Package detect is the streaming anomaly-detection engine of collectd-anomaly.
//
// It knows nothing of collectd's C types or of e-commerce: it receives value
// lists (an Identifier, a time, typed values), routes each value to the rules
// whose selectors match it, keeps per-group state in bounded moving windows,
// and turns each rule's verdicts into alert notifications through a shared
// lifecycle (ok, warning, failure; hits, hysteresis, repeat).
//
// The engine runs on event time, per host: a group's slots advance with its
// host's clock (the newest value time the host sent), never with the
// collector's wall clock, so the same rules run in the collectd plugin, in
// tests and in replay at full speed, and a host whose clock is off, or whose
// values come late or in bulk, is judged as if they had come in time
// (group.go: a slot is judged when complete, or at the allowed lateness).
// The wall clock only says how long nothing has arrived from a host
// (Engine.Tick, hostclock.go), and refuses value times far in the future.
//
// The hot path (Engine.Observe) allocates nothing in steady state: state for a
// series is created the first time it is seen, after which routing is a map
// lookup and the work per value is O(1) amortised.
package detect
