// Package conftest builds collectd configuration blocks as collectd hands
// them to a plugin, for the tests of conf and of the plugin.
package conftest

import "collectd.org/config"

// Opt is an option line: Key value...
func Opt(key string, values ...any) config.Block {
	return config.Block{Key: key, Values: config.Values(values...)}
}

// Named is a block with a name: <Key "name"> children </Key>.
func Named(key, name string, children ...config.Block) config.Block {
	return config.Block{Key: key, Values: config.Values(name), Children: children}
}

// Bare is a block without arguments: <Key> children </Key>.
func Bare(key string, children ...config.Block) config.Block {
	return config.Block{Key: key, Children: children}
}

// PluginBlock is <Plugin anomaly> children </Plugin>.
func PluginBlock(children ...config.Block) config.Block {
	return Named("Plugin", "anomaly", children...)
}
