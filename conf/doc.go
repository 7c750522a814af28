// Package conf turns the <Plugin anomaly> block of collectd's configuration
// into engine rules, simulator settings and plugin options. The collectd
// plugin and the anomaly command both use it, so a configuration means the
// same thing to both.
//
// Option names are case-insensitive, as everywhere in collectd. Every error
// names the block, the option and the offending value: the plugin refuses to
// load on the first one rather than run half-configured.
//
// Where things are: read.go reads configuration files as collectd's
// liboconfig does; source.go keeps where each block and option was written;
// check.go checks a file as the plugin would load it and names the line of
// each error; errors.go holds the error types that carry, from block to
// block, which child an error is about, so that no position is ever read
// back out of a message. settings.go is Parse, rules.go and rule_<kind>.go
// the rule kinds, simulation.go and influxdb.go their blocks.
package conf
