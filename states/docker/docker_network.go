package docker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"sort"
	"strings"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules/docker/engine"
	"github.com/brine-cm/brine/states"
)

// networkPresentArgs are docker_network.present's arguments.
type networkPresentArgs struct {
	// Driver defaults to bridge.
	Driver     string
	DriverOpts KV `arg:"driver_opts"`
	Options    KV // alias of driver_opts
	Internal   bool
	Labels     KV
	Subnet     string
	Gateway    string
	IPRange    string `arg:"iprange"`
	EnableIPv6 bool   `arg:"enable_ipv6"`
	Attachable bool
	// Containers are attached to the network when they are not.
	Containers []string
	// Reconnect (default True) reattaches containers after the network had
	// to be recreated.
	Reconnect *bool
}

// networkAbsentArgs: docker_network.absent takes only the name.
type networkAbsentArgs struct{}

func init() {
	states.Register(states.Def[networkPresentArgs]{
		Name: "docker_network.present",
		Doc: `Ensure a network exists with the declared settings.

    appnet:
      docker_network.present:
        - driver: bridge          # the default
        - subnet: 10.20.0.0/24
        - gateway: 10.20.0.1
        - internal: True
        - labels: {app: demo}
        - containers: [web1, web2]

Other arguments: driver_opts (alias options), iprange, enable_ipv6,
attachable, reconnect (default True). The network is compared on driver,
internal, attachable, enable_ipv6, labels, the declared driver options and
the declared subnet, gateway and iprange; a difference recreates it
(attached containers are disconnected and, with reconnect, attached again).
Changes: {created: True} or {NAME: {field: {old, new}}, recreated: True},
plus connected / reconnected / disconnected container lists.`,
		Apply: networkPresent,
	})
	states.Register(states.Def[networkAbsentArgs]{
		Name: "docker_network.absent",
		Doc: `Ensure a network is absent; containers attached to it are disconnected
first. Changes: {removed: True, disconnected: [names]}.`,
		Apply: networkAbsent,
	})
}

// inspectNetwork finds a network by its exact name (the engine would also
// accept an ID prefix, which is not what a state means).
func inspectNetwork(ctx context.Context, c *client.Client, name string) (*network.Inspect, error) {
	res, err := c.NetworkInspect(ctx, name, client.NetworkInspectOptions{})
	if engine.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if res.Network.Name != name {
		return nil, nil
	}
	return &res.Network, nil
}

func (a *networkPresentArgs) createOptions() (client.NetworkCreateOptions, error) {
	driver := a.Driver
	if driver == "" {
		driver = "bridge"
	}
	opts := client.NetworkCreateOptions{
		Driver: driver, Internal: a.Internal, Attachable: a.Attachable,
		Labels: a.Labels.Map(), Options: a.DriverOpts.merge(a.Options).Map(),
	}
	if a.EnableIPv6 {
		opts.EnableIPv6 = api.Tri(true)
	}
	pool, err := a.pool()
	if err != nil {
		return opts, err
	}
	if pool != nil {
		opts.IPAM = &network.IPAM{Driver: "default", Config: []network.IPAMConfig{*pool}}
	}
	return opts, nil
}

// pool is the declared IPAM pool, nil when none is declared.
func (a *networkPresentArgs) pool() (*network.IPAMConfig, error) {
	if a.Subnet == "" && a.Gateway == "" && a.IPRange == "" {
		return nil, nil
	}
	var p network.IPAMConfig
	var err error
	if a.Subnet == "" {
		return nil, errors.New("gateway and iprange need a subnet")
	}
	if p.Subnet, err = netip.ParsePrefix(a.Subnet); err != nil {
		return nil, fmt.Errorf("subnet: %w", err)
	}
	if a.Gateway != "" {
		if p.Gateway, err = netip.ParseAddr(a.Gateway); err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
	}
	if a.IPRange != "" {
		if p.IPRange, err = netip.ParsePrefix(a.IPRange); err != nil {
			return nil, fmt.Errorf("iprange: %w", err)
		}
	}
	return &p, nil
}

// networkDiff compares an existing network with the declaration.
func networkDiff(n *network.Inspect, a *networkPresentArgs, want client.NetworkCreateOptions) map[string]any {
	out := map[string]any{}
	add := func(k string, old, new any) { out[k] = map[string]any{"old": old, "new": new} }
	if n.Driver != want.Driver {
		add("Driver", n.Driver, want.Driver)
	}
	if n.Internal != want.Internal {
		add("Internal", n.Internal, want.Internal)
	}
	if n.Attachable != want.Attachable {
		add("Attachable", n.Attachable, want.Attachable)
	}
	if n.EnableIPv6 != a.EnableIPv6 {
		add("EnableIPv6", n.EnableIPv6, a.EnableIPv6)
	}
	if !maps.Equal(n.Labels, want.Labels) && len(n.Labels)+len(want.Labels) > 0 {
		add("Labels", strMap(n.Labels), strMap(want.Labels))
	}
	for k, v := range want.Options {
		if have, ok := n.Options[k]; !ok || have != v {
			m, _ := out["Options"].(map[string]any)
			if m == nil {
				m = map[string]any{}
				out["Options"] = m
			}
			var old any
			if ok {
				old = have
			}
			m[k] = map[string]any{"old": old, "new": v}
		}
	}
	if want.IPAM != nil {
		p := want.IPAM.Config[0]
		found := false
		var have []any
		for _, c := range n.IPAM.Config {
			have = append(have, poolMap(c))
			if c.Subnet == p.Subnet && (!p.Gateway.IsValid() || c.Gateway == p.Gateway) && (!p.IPRange.IsValid() || c.IPRange == p.IPRange) {
				found = true
			}
		}
		if !found {
			add("IPAM", map[string]any{"Config": have}, map[string]any{"Config": []any{poolMap(p)}})
		}
	}
	return out
}

func poolMap(c network.IPAMConfig) map[string]any {
	m := map[string]any{}
	if c.Subnet.IsValid() {
		m["Subnet"] = c.Subnet.String()
	}
	if c.Gateway.IsValid() {
		m["Gateway"] = c.Gateway.String()
	}
	if c.IPRange.IsValid() {
		m["IPRange"] = c.IPRange.String()
	}
	return m
}

func networkPresent(ctx context.Context, req *states.Request, a *networkPresentArgs) api.Result {
	name := req.Name
	want, err := a.createOptions()
	if err != nil {
		return api.Failed(err.Error())
	}
	ctx, cancel, c, err := session(ctx)
	if err != nil {
		return api.Failed(err.Error())
	}
	defer cancel()
	n, err := inspectNetwork(ctx, c, name)
	if err != nil {
		return engineFailure(fmt.Sprintf("Failed to inspect network '%s'", name), err)
	}
	// The containers to attach, by ID, checked before anything changes.
	wanted := map[string]string{}
	for _, cn := range splitList(a.Containers) {
		cur, err := inspectContainer(ctx, c, cn)
		if err != nil {
			return engineFailure(fmt.Sprintf("Failed to inspect container '%s'", cn), err)
		}
		if cur == nil {
			if req.Test {
				continue // may be created by a state that runs before this one
			}
			return api.Failed(fmt.Sprintf("Container '%s' does not exist", cn))
		}
		wanted[cur.ID] = cn
	}
	changes := map[string]any{}
	var comments []string
	attached := map[string]string{} // ID -> name, before any change
	if n != nil {
		for id, ep := range n.Containers {
			attached[id] = ep.Name
		}
	}
	reconnectIDs := map[string]string{}
	switch {
	case n == nil:
		if req.Test {
			changes["created"] = true
			comments = append(comments, "Network will be created")
			break
		}
		if _, err := c.NetworkCreate(ctx, name, want); err != nil {
			return engineFailure(fmt.Sprintf("Failed to create network '%s'", name), err)
		}
		changes["created"] = true
		comments = append(comments, fmt.Sprintf("Network '%s' created", name))
	default:
		d := networkDiff(n, a, want)
		if len(d) == 0 {
			comments = append(comments, fmt.Sprintf("Network '%s' already exists, and is configured as specified", name))
			break
		}
		changes[name] = d
		if req.Test {
			comments = append(comments, "Network would be recreated with new config")
			break
		}
		for id := range attached {
			if _, err := c.NetworkDisconnect(ctx, name, client.NetworkDisconnectOptions{Container: id, Force: true}); err != nil {
				return api.FailedWith(fmt.Sprintf("Failed to disconnect container '%s' from network '%s': %s", attached[id], name, engine.Message(err)), changes)
			}
		}
		if _, err := c.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil {
			return api.FailedWith(fmt.Sprintf("Failed to remove network '%s': %s", name, engine.Message(err)), changes)
		}
		if _, err := c.NetworkCreate(ctx, name, want); err != nil {
			return api.FailedWith(fmt.Sprintf("Failed to create network '%s': %s", name, engine.Message(err)), changes)
		}
		changes["recreated"] = true
		comments = append(comments, fmt.Sprintf("Network '%s' was replaced with updated config", name))
		if len(a.Containers) == 0 && (a.Reconnect == nil || *a.Reconnect) {
			maps.Copy(reconnectIDs, attached)
		}
		attached = map[string]string{}
	}
	var connected, reconnected, errs []string
	toConnect := maps.Clone(wanted)
	maps.Copy(toConnect, reconnectIDs)
	for _, id := range sortedIDs(toConnect) {
		if _, ok := attached[id]; ok {
			continue
		}
		cn := strings.TrimPrefix(toConnect[id], "/")
		if !req.Test {
			if _, err := c.NetworkConnect(ctx, name, client.NetworkConnectOptions{Container: id}); err != nil {
				errs = append(errs, fmt.Sprintf("Failed to connect container '%s': %s", cn, engine.Message(err)))
				continue
			}
		}
		if _, was := reconnectIDs[id]; was {
			reconnected = append(reconnected, cn)
		} else {
			connected = append(connected, cn)
		}
	}
	if len(connected) > 0 {
		changes["connected"] = strs(connected)
	}
	if len(reconnected) > 0 {
		changes["reconnected"] = strs(reconnected)
	}
	if n != nil && changes["recreated"] == true {
		var dropped []string
		for id, cn := range n.Containers {
			if _, ok := toConnect[id]; !ok {
				dropped = append(dropped, cn.Name)
			}
		}
		if len(dropped) > 0 {
			sort.Strings(dropped)
			changes["disconnected"] = strs(dropped)
		}
	}
	if len(errs) > 0 {
		return api.FailedWith(strings.Join(append(comments, errs...), ". "), changes)
	}
	if req.Test && len(changes) > 0 {
		if len(connected) > 0 {
			comments = append(comments, "Container(s) would be connected: "+strings.Join(connected, ", "))
		}
		return api.Pending(strings.Join(comments, ". "), changes)
	}
	if len(connected) > 0 {
		comments = append(comments, "Connected container(s): "+strings.Join(connected, ", "))
	}
	return api.Succeeded(strings.Join(comments, ". "), changes)
}

func sortedIDs(m map[string]string) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return m[ids[i]] < m[ids[j]] })
	return ids
}

func networkAbsent(ctx context.Context, req *states.Request, _ *networkAbsentArgs) api.Result {
	name := req.Name
	ctx, cancel, c, err := session(ctx)
	if err != nil {
		return api.Failed(err.Error())
	}
	defer cancel()
	n, err := inspectNetwork(ctx, c, name)
	if err != nil {
		return engineFailure(fmt.Sprintf("Failed to inspect network '%s'", name), err)
	}
	if n == nil {
		return api.Succeeded(fmt.Sprintf("Network '%s' already absent", name), nil)
	}
	var names []string
	for _, ep := range n.Containers {
		names = append(names, ep.Name)
	}
	sort.Strings(names)
	if req.Test {
		return api.Pending(fmt.Sprintf("Network '%s' will be removed", name), nil)
	}
	changes := map[string]any{}
	for id, ep := range n.Containers {
		if _, err := c.NetworkDisconnect(ctx, n.ID, client.NetworkDisconnectOptions{Container: id, Force: true}); err != nil {
			return api.FailedWith(fmt.Sprintf("Failed to disconnect container '%s': %s", ep.Name, engine.Message(err)), changes)
		}
	}
	if len(names) > 0 {
		changes["disconnected"] = strs(names)
	}
	if _, err := c.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil {
		return api.FailedWith(fmt.Sprintf("Failed to remove network '%s': %s", name, engine.Message(err)), changes)
	}
	changes["removed"] = true
	return api.Succeeded(fmt.Sprintf("Removed network '%s'", name), changes)
}
