package plugin

import goplugin "github.com/hashicorp/go-plugin"

// ProtocolVersion is the version of the plugin protocol this brine speaks.
// It changes only when a plugin built for the previous version could not
// work with this host; go-plugin's handshake refuses a plugin that speaks
// another one, before any call is made.
const ProtocolVersion = 1

// The magic cookie brine sets in a plugin's environment. It is not a
// security measure: it only lets a plugin binary that is run by hand say
// so instead of waiting for a host forever.
const (
	MagicCookieKey   = "BRINE_PLUGIN"
	MagicCookieValue = "c1e9f0a4-brine-module-plugin"
)

// DispenseName is the name under which a plugin serves brine's GRPCPlugin.
const DispenseName = "module"

// Handshake returns the go-plugin handshake both sides use.
func Handshake() goplugin.HandshakeConfig {
	return goplugin.HandshakeConfig{
		ProtocolVersion:  ProtocolVersion,
		MagicCookieKey:   MagicCookieKey,
		MagicCookieValue: MagicCookieValue,
	}
}
