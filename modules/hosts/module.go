package hosts

import (
	"context"
	"fmt"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
)

type pairArgs struct {
	IP    string `arg:"ip"`
	Alias string
}

type ipArg struct {
	IP string `arg:"ip"`
}

type aliasArg struct {
	Alias string
}

type setArgs struct {
	IP    string `arg:"ip"`
	Alias []string
}

func init() {
	read := func(env *api.Env) (*File, error) {
		if err := Check(env); err != nil {
			return nil, err
		}
		return Read(Path(env))
	}
	modules.Register(modules.Typed("hosts.list_hosts", `Every address in the hosts file with its aliases (and comment).`, nil,
		func(_ context.Context, env *api.Env, _ *struct{}) (any, error) {
			f, err := read(env)
			if err != nil {
				return nil, err
			}
			return f.List(), nil
		}))
	modules.Register(modules.Typed("hosts.get_ip", `The first address a name is listed under, "" if none.`, []string{"alias"},
		func(_ context.Context, env *api.Env, a *aliasArg) (any, error) {
			f, err := read(env)
			if err != nil {
				return nil, err
			}
			if ips := f.IPs(a.Alias); len(ips) > 0 {
				return ips[0], nil
			}
			return "", nil
		}))
	modules.Register(modules.Typed("hosts.get_alias", `The names listed for an address.`, []string{"ip"},
		func(_ context.Context, env *api.Env, a *ipArg) (any, error) {
			f, err := read(env)
			if err != nil {
				return nil, err
			}
			out := f.Aliases(a.IP)
			if out == nil {
				out = []string{}
			}
			return out, nil
		}))
	modules.Register(modules.Typed("hosts.has_pair", `True if the address lists the name.`, []string{"ip", "alias"},
		func(_ context.Context, env *api.Env, a *pairArgs) (any, error) {
			f, err := read(env)
			if err != nil {
				return nil, err
			}
			return f.Has(a.IP, a.Alias), nil
		}))
	edit := func(name, doc string, params []string, change func(f *File, a *setArgs) bool) {
		modules.Register(modules.Typed(name, doc, params, func(_ context.Context, env *api.Env, a *setArgs) (any, error) {
			if !ValidIP(a.IP) {
				return nil, fmt.Errorf("%s: '%s' is not an IP address", name, a.IP)
			}
			for _, n := range a.Alias {
				if !ValidName(n) {
					return nil, fmt.Errorf("%s: '%s' is not a host name", name, n)
				}
			}
			f, err := read(env)
			if err != nil {
				return nil, err
			}
			if change(f, a) {
				if err := Write(Path(env), f); err != nil {
					return nil, err
				}
			}
			return true, nil
		}))
	}
	edit("hosts.add_host", `List a name under an address (added to the address's first line, or a new
line): hosts.add_host 10.0.0.5 db. Other lines stay as they are.`, []string{"ip", "alias"},
		func(f *File, a *setArgs) bool {
			changed := false
			for _, n := range a.Alias {
				changed = f.Add(a.IP, n) || changed
			}
			return changed
		})
	edit("hosts.rm_host", `Take a name off an address; a line left without names goes away:
hosts.rm_host 10.0.0.5 db.`, []string{"ip", "alias"},
		func(f *File, a *setArgs) bool {
			changed := false
			for _, n := range a.Alias {
				changed = f.Remove(a.IP, n) || changed
			}
			return changed
		})
	edit("hosts.set_host", `Make these the only names of an address: hosts.set_host 10.0.0.5
'[db, db.example.com]'.`, []string{"ip", "alias"},
		func(f *File, a *setArgs) bool { return f.Set(a.IP, a.Alias) })
}
