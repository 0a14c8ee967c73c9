// Package sdktest runs a plugin in-process for its author's tests: the
// plugin's Server and brine's Client talk over go-plugin's in-memory gRPC
// connection (plugin.TestPluginGRPCConn), broker and callbacks included,
// so a test exercises exactly what brine will send.
package sdktest

import (
	"testing"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/brine-cm/brine/modules/plugin"
	"github.com/brine-cm/brine/modules/plugin/sdk"
)

// Client serves p in-process and returns the host-side client, after the
// Info call brine always makes first. Everything is closed when the test
// ends.
func Client(t testing.TB, p sdk.Plugin) *plugin.Client {
	t.Helper()
	srv, err := sdk.NewServer(p)
	if err != nil {
		t.Fatal(err)
	}
	return ServerClient(t, srv)
}

// ServerClient is Client for any plugin.Server.
func ServerClient(t testing.TB, srv plugin.Server) *plugin.Client {
	t.Helper()
	gc, _ := goplugin.TestPluginGRPCConn(t, false, goplugin.PluginSet{
		plugin.DispenseName: &plugin.GRPCPlugin{Impl: srv},
	})
	t.Cleanup(func() {
		// Close asks the server to stop through go-plugin's controller;
		// stopping it here as well would race with that.
		gc.Close()
	})
	c, err := plugin.Dispense(gc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if _, err := c.Info(t.Context()); err != nil {
		t.Fatalf("plugin info: %v", err)
	}
	return c
}
