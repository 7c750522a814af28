package metric

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Identifiers read and print as collectd writes them; the first '-' of a
// part separates its instance.
func TestParseIdentifierRoundTrips(t *testing.T) {
	for s, want := range map[string]Identifier{
		"web1/cpu-0/cpu-idle":             {Host: "web1", Plugin: "cpu", PluginInstance: "0", Type: "cpu", TypeInstance: "idle"},
		"ecommerce/gauge-page-hits-total": {Plugin: "ecommerce", Type: "gauge", TypeInstance: "page-hits-total"},
		"h/df-root/df_complex-free":       {Host: "h", Plugin: "df", PluginInstance: "root", Type: "df_complex", TypeInstance: "free"},
	} {
		id, err := ParseIdentifier(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, id, s)
		assert.Equal(t, s, map[bool]string{true: id.String(), false: id.Series()}[id.Host != ""], s)
	}
	for _, bad := range []string{"", "a", "a/b/c/d", "/type", "plugin/"} {
		_, err := ParseIdentifier(bad)
		assert.Error(t, err, bad)
	}
}

// Clone copies the strings, so that an identifier over reused memory can
// be kept.
func TestCloneCopiesTheStrings(t *testing.T) {
	buf := []byte("hostplugin")
	id := Identifier{Host: unsafe.String(&buf[0], 4), Plugin: unsafe.String(&buf[4], 6), Type: "t"}
	c := id.Clone()
	copy(buf, "HOSTPLUGIN")
	assert.Equal(t, "HOST", id.Host, "the original shares the buffer")
	assert.Equal(t, Identifier{Host: "host", Plugin: "plugin", Type: "t"}, c)
}
