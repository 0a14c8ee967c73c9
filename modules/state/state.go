// Package state is the `state` execution module: state.apply, state.sls,
// state.highstate, state.single and the show_* functions. It builds a
// states.Engine over the caller's environment; the engine does the rest.
package state

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/pillar"
	"github.com/brine-cm/brine/states"
)

func init() {
	reg := func(name, doc string, params []string, run func(ctx context.Context, env *api.Env, o *options) (any, error)) {
		modules.Register(modules.Func{
			Name: name, Doc: doc, Params: params,
			Run: func(ctx context.Context, env *api.Env, args []any, kwargs map[string]any) (any, error) {
				o, err := parseOptions(name, params, env, args, kwargs)
				if err != nil {
					return nil, err
				}
				return run(ctx, o.env, o)
			},
		})
	}
	reg("state.apply", `Apply states. With no SLS names, apply the highstate (top.sls); with
names (comma separated or a list), apply those SLS files.

    brine call --local state.apply
    brine call --local state.apply nginx,users test=True
    brine call --local state.apply pillar='{"motd": "hi"}'

Options: test=True (report, change nothing), pillar={...} (merged over the
compiled pillar), saltenv=base, exclude=sls1,sls2.`, []string{"mods"}, apply)
	reg("state.highstate", "Apply everything top.sls assigns to this minion. Options as state.apply.", nil,
		func(ctx context.Context, env *api.Env, o *options) (any, error) {
			return o.engine().Highstate(ctx, o.test)
		})
	reg("state.sls", "Apply the named SLS files (comma separated or a list). Options as state.apply.", []string{"mods"},
		func(ctx context.Context, env *api.Env, o *options) (any, error) {
			if len(o.mods) == 0 {
				return nil, fmt.Errorf("state.sls: no SLS names given")
			}
			return o.engine().SLS(ctx, o.mods, o.test)
		})
	reg("state.test", "Apply states in test mode: state.apply with test=True.", []string{"mods"},
		func(ctx context.Context, env *api.Env, o *options) (any, error) {
			o.test = true
			return apply(ctx, env, o)
		})
	modules.Register(modules.Func{
		Name: "state.single",
		Doc: `Run one state function without an SLS file:

    brine call --local state.single file.managed /tmp/x contents=hello`,
		Params: []string{"fun", "name"},
		Run: func(ctx context.Context, env *api.Env, args []any, kwargs map[string]any) (any, error) {
			m, err := modules.Bind("state.single", []string{"fun", "name"}, args, kwargs)
			if err != nil {
				return nil, err
			}
			fun, _ := api.ScalarString(m["fun"])
			name, _ := api.ScalarString(m["name"])
			if fun == "" || name == "" {
				return nil, fmt.Errorf("state.single: need a state function and a name, e.g. state.single file.touch /tmp/x")
			}
			delete(m, "fun")
			delete(m, "name")
			o, err := parseOptions("state.single", nil, env, nil, m)
			if err != nil {
				return nil, err
			}
			return o.engine().Single(ctx, fun, name, o.rest, o.test)
		},
	})
	reg("state.show_top", "Show the SLS names top.sls assigns to this minion, per environment.", nil,
		func(ctx context.Context, env *api.Env, o *options) (any, error) {
			return o.engine().Top(ctx)
		})
	reg("state.show_sls", "Show the compiled high data of the named SLS files.", []string{"mods"},
		func(ctx context.Context, env *api.Env, o *options) (any, error) {
			chunks, err := o.engine().Compile(ctx, o.mods)
			if err != nil {
				return nil, err
			}
			return states.Highdata(chunks), nil
		})
	reg("state.show_low_sls", "Show the low chunks of the named SLS files.", []string{"mods"},
		func(ctx context.Context, env *api.Env, o *options) (any, error) {
			chunks, err := o.engine().Compile(ctx, o.mods)
			if err != nil {
				return nil, err
			}
			return states.Lowstate(chunks), nil
		})
	reg("state.show_highstate", "Show the compiled high data of the highstate.", nil,
		func(ctx context.Context, env *api.Env, o *options) (any, error) {
			chunks, err := o.highstateChunks(ctx)
			if err != nil {
				return nil, err
			}
			return states.Highdata(chunks), nil
		})
	reg("state.show_lowstate", "Show the low chunks of the highstate, in run order, with their order numbers.", nil,
		func(ctx context.Context, env *api.Env, o *options) (any, error) {
			chunks, err := o.highstateChunks(ctx)
			if err != nil {
				return nil, err
			}
			return states.Lowstate(chunks), nil
		})
	reg("state.sls_exists", "Report whether the named SLS files exist and compile.", []string{"mods"},
		func(ctx context.Context, env *api.Env, o *options) (any, error) {
			_, err := o.engine().Compile(ctx, o.mods)
			return err == nil, nil
		})
}

func apply(ctx context.Context, env *api.Env, o *options) (any, error) {
	if len(o.mods) == 0 {
		return o.engine().Highstate(ctx, o.test)
	}
	return o.engine().SLS(ctx, o.mods, o.test)
}

// options are the keyword arguments every state.* function understands.
type options struct {
	env     *api.Env
	mods    []string
	test    bool
	exclude []string
	rest    map[string]any
}

func parseOptions(name string, params []string, env *api.Env, args []any, kwargs map[string]any) (*options, error) {
	m, err := modules.Bind(name, params, args, kwargs)
	if err != nil {
		return nil, err
	}
	o := &options{rest: map[string]any{}}
	local := *env
	o.env = &local
	if t, ok := env.Opts["test"]; ok {
		o.test, _ = api.Bool(t)
	}
	for k, v := range m {
		switch k {
		case "mods":
			o.mods = splitList(v)
		case "test":
			b, ok := api.Bool(v)
			if !ok {
				return nil, fmt.Errorf("%s: test must be True or False, got %v", name, v)
			}
			o.test = b
		case "pillar":
			over, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: pillar must be a mapping, e.g. pillar='{\"key\": \"value\"}'", name)
			}
			merged := maps.Clone(env.Pillar)
			if merged == nil {
				merged = map[string]any{}
			}
			pillar.Merge(merged, over)
			o.env.Pillar = merged
		case "saltenv":
			s, _ := api.ScalarString(v)
			o.env.Saltenv = s
		case "exclude":
			o.exclude = splitList(v)
		case "queue", "concurrent", "pillarenv", "localconfig":
			// Accepted for Salt compatibility; runs are serialised by the caller.
		default:
			if params == nil && name == "state.single" {
				o.rest[k] = v
				continue
			}
			return nil, fmt.Errorf("%s: unknown argument '%s'", name, k)
		}
	}
	return o, nil
}

func (o *options) engine() *states.Engine {
	e := &states.Engine{Env: o.env}
	if s, ok := o.env.Opts["state_timeout"].(string); ok {
		if d, err := time.ParseDuration(s); err == nil {
			e.StateTimeout = d
		}
	}
	if len(o.exclude) > 0 {
		e.Exclude = o.exclude
	}
	return e
}

func (o *options) highstateChunks(ctx context.Context) ([]*states.Chunk, error) {
	e := o.engine()
	mods, err := e.HighstateMods(ctx)
	if err != nil {
		return nil, err
	}
	return e.Compile(ctx, mods)
}

func splitList(v any) []string {
	var out []string
	for _, item := range toList(v) {
		s, _ := api.ScalarString(item)
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

func toList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}
