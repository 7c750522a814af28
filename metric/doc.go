// Package metric is collectd's data model as the rest of the project speaks
// it: identifiers (host/plugin-instance/type-instance), values of the four
// data-source types and value lists. It imports nothing of the project, so
// that the C bridge, the InfluxDB writer, replay and the engine share it
// without depending on one another.
package metric
