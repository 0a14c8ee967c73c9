// Package api holds the small set of types that cross brine's layers: a state
// result, the host environment a module runs in, the salt:// file client
// interface and the strict argument decoder. Nothing here knows about NATS,
// the SLS language or any particular module, so the engine, the modules, the
// transport and plugins can all depend on it without an import cycle.
package api
