// Package conf turns the <Plugin anomaly> block of collectd's configuration
// into engine rules, simulator settings and plugin options. The collectd
// plugin and the anomaly command both use it, so a configuration means the
// same thing to both.
//
// Option names are case-insensitive, as everywhere in collectd. Every error
// names the block, the option and the offending value: the plugin refuses to
// load on the first one rather than run half-configured.
package conf
