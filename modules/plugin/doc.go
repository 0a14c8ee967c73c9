// Package plugin owns the boundary between brine and its plugins: custom
// execution and state modules that run as separate executables, served
// with hashicorp/go-plugin over gRPC, so that a Salt user's `_modules/` and
// `_states/` have an answer in any language that speaks gRPC.
//
// The package holds what both sides must agree on and nothing else: the
// handshake (magic cookie and protocol version), the go-plugin GRPCPlugin
// that wires the generated services (package pluginpb), the Info a plugin
// reports about itself, the JSON encoding of values, and the two halves of
// each call: Client on the host, Server (implemented by package sdk) in the
// plugin. Loading plugins from directories and registering them with the
// module and state registries is package host's job; writing a plugin in Go
// is package sdk's.
//
// It depends only on api and the registries' sentinel errors, so a plugin
// binary built with the SDK does not carry the state engine.
package plugin
