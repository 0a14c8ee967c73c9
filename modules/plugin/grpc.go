package plugin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// GRPCPlugin is brine's go-plugin plugin type. A plugin serves it with Impl
// set (package sdk does this); the host dispenses it, with Impl nil, and
// gets a *Client.
type GRPCPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	// Impl runs the plugin's functions (plugin side only).
	Impl Server
	// Log becomes api.Env.Log for the plugin's functions (plugin side
	// only); nil discards.
	Log *slog.Logger
}

var _ goplugin.GRPCPlugin = (*GRPCPlugin)(nil)

// GRPCServer registers the Base and Module services (plugin side).
func (p *GRPCPlugin) GRPCServer(broker *goplugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return errors.New("plugin: GRPCPlugin served without an implementation")
	}
	registerServer(s, &server{impl: p.Impl, log: p.Log, broker: broker})
	return nil
}

// GRPCClient returns the host's *Client for a started plugin, and serves
// the Host callback service to it over the broker.
func (p *GRPCPlugin) GRPCClient(_ context.Context, broker *goplugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return newClient(broker, conn), nil
}

// Dispense starts nothing: it asks an already started go-plugin client for
// brine's *Client, with the error a caller can show.
func Dispense(cp goplugin.ClientProtocol) (*Client, error) {
	raw, err := cp.Dispense(DispenseName)
	if err != nil {
		return nil, fmt.Errorf("dispense: %w", err)
	}
	c, ok := raw.(*Client)
	if !ok {
		return nil, fmt.Errorf("dispense: got %T, not a brine plugin client", raw)
	}
	return c, nil
}

// HostPlugins is the plugin set a host gives go-plugin's ClientConfig.
func HostPlugins() goplugin.PluginSet {
	return goplugin.PluginSet{DispenseName: &GRPCPlugin{}}
}

// ServePlugins is the plugin set a plugin gives go-plugin's ServeConfig.
func ServePlugins(impl Server, log *slog.Logger) goplugin.PluginSet {
	return goplugin.PluginSet{DispenseName: &GRPCPlugin{Impl: impl, Log: log}}
}
