// Package e2e holds the end-to-end tests: they build the plugin, start a real
// collectd (and, where needed, a real InfluxDB) on this machine, on loopback
// only - or, for a fleet of them (fleet_test.go), in network namespaces the
// test makes and removes - and check what comes out: notifications in
// collectd's log, values in its csv files. Every process a test starts is
// stopped by the test.
package e2e
