package metric

import (
	"fmt"
	"strings"
)

// Identifier names a collectd value list: host/plugin[-plugin_instance]/type[-type_instance].
type Identifier struct {
	Host           string
	Plugin         string
	PluginInstance string
	Type           string
	TypeInstance   string
}

// String formats the identifier the way collectd does, host first.
func (id Identifier) String() string {
	return id.Host + "/" + id.Series()
}

// Series formats the identifier without its host: plugin[-instance]/type[-instance].
// Rules match their selectors against this form, so that the same rule applies
// to every host.
func (id Identifier) Series() string {
	var b strings.Builder
	b.Grow(len(id.Plugin) + len(id.PluginInstance) + len(id.Type) + len(id.TypeInstance) + 3)
	b.WriteString(id.Plugin)
	if id.PluginInstance != "" {
		b.WriteByte('-')
		b.WriteString(id.PluginInstance)
	}
	b.WriteByte('/')
	b.WriteString(id.Type)
	if id.TypeInstance != "" {
		b.WriteByte('-')
		b.WriteString(id.TypeInstance)
	}
	return b.String()
}

// Clone copies every field, so that an Identifier built on memory the caller
// reuses (the plugin's borrowed C strings) can be kept.
func (id Identifier) Clone() Identifier {
	return Identifier{
		Host:           strings.Clone(id.Host),
		Plugin:         strings.Clone(id.Plugin),
		PluginInstance: strings.Clone(id.PluginInstance),
		Type:           strings.Clone(id.Type),
		TypeInstance:   strings.Clone(id.TypeInstance),
	}
}

// ParseIdentifier reads "[host/]plugin[-instance]/type[-instance]" as collectd
// writes it: the first '-' of each part separates the instance.
func ParseIdentifier(s string) (Identifier, error) {
	parts := strings.Split(s, "/")
	var id Identifier
	switch len(parts) {
	case 2:
	case 3:
		id.Host = parts[0]
		parts = parts[1:]
	default:
		return Identifier{}, fmt.Errorf("identifier %q: want [host/]plugin[-instance]/type[-instance]", s)
	}
	id.Plugin, id.PluginInstance, _ = strings.Cut(parts[0], "-")
	id.Type, id.TypeInstance, _ = strings.Cut(parts[1], "-")
	if id.Plugin == "" || id.Type == "" {
		return Identifier{}, fmt.Errorf("identifier %q: plugin and type must not be empty", s)
	}
	return id, nil
}
