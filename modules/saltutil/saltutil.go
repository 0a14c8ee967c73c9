// Package saltutil provides the saltutil.* execution functions that talk to
// the agent running the job: refresh_pillar, running, find_job and
// sync_all. The minion agent hands itself to them through the job's context
// (WithAgent), so this package knows nothing about the transport; run
// masterless (brine call --local) they answer for this one process.
package saltutil

import (
	"context"
	"errors"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
)

// Agent is what the functions need from the minion running them.
type Agent interface {
	// RefreshPillar fetches the minion's pillar from the master again.
	RefreshPillar(ctx context.Context) error
	// Running describes the jobs running on the minion, as Salt's
	// saltutil.running: jid, fun, arg, tgt, tgt_type, pid, user.
	Running() []map[string]any
}

type agentKey struct{}

// WithAgent returns a context carrying the agent for the functions above.
func WithAgent(ctx context.Context, a Agent) context.Context {
	return context.WithValue(ctx, agentKey{}, a)
}

func agent(ctx context.Context) Agent {
	a, _ := ctx.Value(agentKey{}).(Agent)
	return a
}

type noArgs struct{}

type findArgs struct {
	JID string `arg:"jid"`
}

// ErrNoMaster is returned by functions that need a master when run
// masterless.
var ErrNoMaster = errors.New("not running under a minion agent (masterless)")

func init() {
	modules.Register(modules.Typed("saltutil.refresh_pillar",
		`Fetch this minion's pillar from the master again; the next jobs use it.
Masterless, pillar is compiled for every call anyway: returns True.`,
		nil, func(ctx context.Context, _ *api.Env, _ *noArgs) (any, error) {
			if a := agent(ctx); a != nil {
				if err := a.RefreshPillar(ctx); err != nil {
					return nil, err
				}
			}
			return true, nil
		}))
	modules.Register(modules.Typed("saltutil.running",
		`List the jobs running on this minion (jid, fun, arg, tgt, tgt_type, pid).
brine jobs active asks every minion with it.`,
		nil, func(ctx context.Context, _ *api.Env, _ *noArgs) (any, error) {
			a := agent(ctx)
			if a == nil {
				return []any{}, nil
			}
			out := []any{}
			for _, j := range a.Running() {
				out = append(out, j)
			}
			return out, nil
		}))
	modules.Register(modules.Typed("saltutil.find_job",
		`Return the data of job jid if it is running on this minion, else an empty
mapping: brine '*' saltutil.find_job 20261125211459123456`,
		[]string{"jid"}, func(ctx context.Context, _ *api.Env, a *findArgs) (any, error) {
			if ag := agent(ctx); ag != nil {
				for _, j := range ag.Running() {
					if j["jid"] == a.JID {
						return j, nil
					}
				}
			}
			return map[string]any{}, nil
		}))
	modules.Register(modules.Typed("saltutil.sync_all",
		`Synchronise what the master provides for this minion, as Salt's
saltutil.sync_all: brine's custom modules are plugins, so the "plugins" list
names the plugins fetched or replaced from the master's _plugins/<os>_<arch>/
(through saltutil.sync_plugins). Salt's other kinds are listed empty.`,
		nil, func(ctx context.Context, env *api.Env, _ *noArgs) (any, error) {
			out := map[string]any{}
			for _, k := range []string{"beacons", "clouds", "engines", "grains", "log_handlers", "matchers",
				"modules", "output", "proxymodules", "renderers", "returners", "sdb", "serializers",
				"states", "thorium", "utils", "executors", "pillar"} {
				out[k] = []any{}
			}
			out["plugins"] = []any{}
			if _, ok := modules.Lookup("saltutil.sync_plugins"); ok {
				synced, err := modules.Call(ctx, env, "saltutil.sync_plugins", nil, nil)
				if err != nil {
					return nil, err
				}
				out["plugins"] = synced
			}
			return out, nil
		}))
}
