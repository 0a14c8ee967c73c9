// Package host provides the host states: host.present, host.absent and
// host.only, editing /etc/hosts (or the minion's hosts.file) through
// modules/hosts, which keeps every line the state does not touch as it
// was.
package host

import (
	"context"
	"fmt"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules/hosts"
	"github.com/brine-cm/brine/states"
)

type presentArgs struct {
	// IP is one address or a list.
	IP []string `arg:"ip"`
	// Clean removes the name from addresses not listed in ip.
	Clean bool
}

type absentArgs struct {
	IP []string `arg:"ip"`
}

type onlyArgs struct {
	Hostnames []string
}

func init() {
	states.Register(states.Def[presentArgs]{
		Name: "host.present",
		Doc: `Make sure the hosts file lists the name (the state's name) under each
address in ip.

    db.internal:
      host.present:
        - ip: [10.0.0.5, fd00::5]
        - clean: True

clean: True also takes the name off addresses not in ip (otherwise they
are reported as warnings). Changes: {added: {ip: [name]}, removed: {ip:
[name]}}.`,
		Apply: present,
	})
	states.Register(states.Def[absentArgs]{
		Name:  "host.absent",
		Doc:   `Make sure the name is not listed under the addresses in ip. Changes: {host: name}.`,
		Apply: absent,
	})
	states.Register(states.Def[onlyArgs]{
		Name: "host.only",
		Doc: `Make hostnames (in order) the only names of the address that is the
state's name; an empty list removes the address. Changes: {ip: {old, new}}.`,
		Apply: only,
	})
}

func load(req *states.Request) (*hosts.File, string, error) {
	if err := hosts.Check(req.Env); err != nil {
		return nil, "", err
	}
	path := hosts.Path(req.Env)
	f, err := hosts.Read(path)
	return f, path, err
}

type pair struct{ ip, name string }

func present(_ context.Context, req *states.Request, a *presentArgs) api.Result {
	name := req.Name
	if !hosts.ValidName(name) {
		return api.Failed(fmt.Sprintf("Invalid host name %q", name))
	}
	if len(a.IP) == 0 {
		return api.Failed("No IP address given for host " + name)
	}
	for _, ip := range a.IP {
		if !hosts.ValidIP(ip) {
			return api.Failed(fmt.Sprintf("Invalid IP Address for %s (%s)", name, ip))
		}
	}
	f, path, err := load(req)
	if err != nil {
		return api.Failed(err.Error())
	}
	wanted := map[string]bool{}
	for _, ip := range a.IP {
		wanted[ip] = true
	}
	var comments, warnings []string
	var add, remove []pair
	for _, ip := range a.IP {
		if f.Has(ip, name) {
			comments = append(comments, fmt.Sprintf("Host %s (%s) already present", name, ip))
		} else {
			add = append(add, pair{ip, name})
		}
	}
	for _, ip := range f.IPs(name) {
		if wanted[ip] {
			continue
		}
		if a.Clean {
			remove = append(remove, pair{ip, name})
		} else {
			warnings = append(warnings, fmt.Sprintf("Host %s present for IP address %s. To get rid of this warning, either run this state with 'clean' set to True to remove %s from %s, or add %s to the 'ip' argument.", name, ip, name, ip, ip))
		}
	}
	changes := map[string]any{}
	record := func(kind string, p pair) {
		m, _ := changes[kind].(map[string]any)
		if m == nil {
			m = map[string]any{}
			changes[kind] = m
		}
		list, _ := m[p.ip].([]any)
		m[p.ip] = append(list, p.name)
	}
	for _, p := range add {
		f.Add(p.ip, p.name)
		record("added", p)
		if req.Test {
			comments = append(comments, fmt.Sprintf("Host %s (%s) would be added", p.name, p.ip))
		} else {
			comments = append(comments, fmt.Sprintf("Added host %s (%s)", p.name, p.ip))
		}
	}
	for _, p := range remove {
		f.Remove(p.ip, p.name)
		record("removed", p)
		if req.Test {
			comments = append(comments, fmt.Sprintf("Host %s (%s) would be removed", p.name, p.ip))
		} else {
			comments = append(comments, fmt.Sprintf("Removed host %s (%s)", p.name, p.ip))
		}
	}
	res := finish(req, path, f, strings.Join(comments, "\n"), changes)
	res.Warnings = warnings
	return res
}

// finish writes the file when something changed (not in test mode).
func finish(req *states.Request, path string, f *hosts.File, comment string, changes map[string]any) api.Result {
	switch {
	case len(changes) == 0:
		return api.Succeeded(comment, nil)
	case req.Test:
		return api.Pending(comment, changes)
	}
	if err := hosts.Write(path, f); err != nil {
		return api.Failed(err.Error())
	}
	return api.Succeeded(comment, changes)
}

func absent(_ context.Context, req *states.Request, a *absentArgs) api.Result {
	name := req.Name
	if len(a.IP) == 0 {
		return api.Failed("No IP address given for host " + name)
	}
	f, path, err := load(req)
	if err != nil {
		return api.Failed(err.Error())
	}
	var comments []string
	changes := map[string]any{}
	for _, ip := range a.IP {
		if !f.Remove(ip, name) {
			comments = append(comments, fmt.Sprintf("Host %s (%s) already absent", name, ip))
			continue
		}
		changes["host"] = name
		if req.Test {
			comments = append(comments, fmt.Sprintf("Host %s (%s) needs to be removed", name, ip))
		} else {
			comments = append(comments, fmt.Sprintf("Removed host %s (%s)", name, ip))
		}
	}
	return finish(req, path, f, strings.Join(comments, "\n"), changes)
}

func only(_ context.Context, req *states.Request, a *onlyArgs) api.Result {
	ip := req.Name
	if !hosts.ValidIP(ip) {
		return api.Failed(fmt.Sprintf("Invalid IP address %q", ip))
	}
	names := make([]string, 0, len(a.Hostnames))
	for _, n := range a.Hostnames {
		n = strings.TrimSpace(n)
		if !hosts.ValidName(n) {
			return api.Failed(fmt.Sprintf("Invalid host name %q", n))
		}
		names = append(names, n)
	}
	f, path, err := load(req)
	if err != nil {
		return api.Failed(err.Error())
	}
	old := strings.Join(f.Aliases(ip), " ")
	newNames := strings.Join(names, " ")
	if !f.Set(ip, names) {
		return api.Succeeded(fmt.Sprintf(`IP address %s already set to "%s"`, ip, newNames), nil)
	}
	changes := map[string]any{ip: map[string]any{"old": old, "new": newNames}}
	if req.Test {
		return api.Pending(fmt.Sprintf(`Would change %s from "%s" to "%s"`, ip, old, newNames), changes)
	}
	return finish(req, path, f, fmt.Sprintf(`successfully changed %s from "%s" to "%s"`, ip, old, newNames), changes)
}
