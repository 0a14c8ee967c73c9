// Package pillar is the pillar execution module: pillar.items, pillar.item,
// pillar.get, pillar.raw and pillar.ls, reading the pillar compiled for
// this minion (api.Env.Pillar). Templates reach them as
// salt['pillar.get'](...).
package pillar

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
	core "github.com/brine-cm/brine/pillar"
	"github.com/brine-cm/brine/target"
)

func init() {
	modules.Register(modules.Typed("pillar.items", docItems, nil, items))
	modules.Register(modules.Func{Name: "pillar.item", Doc: docItem, Run: item})
	modules.Register(modules.Typed("pillar.get", docGet,
		[]string{"key", "default", "merge", "merge_nested_lists", "delimiter"}, get))
	modules.Register(modules.Typed("pillar.raw", docRaw, []string{"key"}, raw))
	modules.Register(modules.Typed("pillar.ls", docLs, nil, ls))
}

// value is an argument of any type that remembers whether it was given, so
// that `default=None` can be told apart from no default at all.
type value struct {
	set bool
	v   any
}

// UnmarshalArg implements api.ArgUnmarshaler.
func (v *value) UnmarshalArg(x any) error {
	v.set, v.v = true, x
	return nil
}

func (v value) or(def any) any {
	if v.set {
		return v.v
	}
	return def
}

func pillarOf(env *api.Env) map[string]any {
	if env == nil || env.Pillar == nil {
		return map[string]any{}
	}
	return env.Pillar
}

type noArgs struct{}

const docItems = `Return the whole pillar of this minion.

    brine call pillar.items`

func items(_ context.Context, env *api.Env, _ *noArgs) (any, error) {
	return core.Copy(pillarOf(env)), nil
}

const docItem = `Return one or more pillar keys as a mapping of key to value. Keys may
be ":"-delimited paths.

    brine call pillar.item webapp:server:port users

Keyword arguments: default ("" unless given), delimiter (":").`

type itemArgs struct {
	Default   value  `arg:"default"`
	Delimiter string `arg:"delimiter"`
}

func item(_ context.Context, env *api.Env, args []any, kwargs map[string]any) (any, error) {
	m, err := modules.Bind("pillar.item", nil, nil, kwargs)
	if err != nil {
		return nil, err
	}
	var opts itemArgs
	if err := api.Decode(m, &opts); err != nil {
		return nil, fmt.Errorf("pillar.item: %w", err)
	}
	p := pillarOf(env)
	out := make(map[string]any, len(args))
	for i, a := range args {
		key, ok := api.ScalarString(a)
		if !ok || a == nil {
			return nil, fmt.Errorf("pillar.item: argument %d: expected a key, got %T", i+1, a)
		}
		out[key] = core.Copy(core.Get(p, key, opts.Default.or(""), opts.Delimiter))
	}
	return out, nil
}

const docGet = `Return a pillar value by ":"-delimited path, or default when it is
missing ("" unless given).

With merge=True and a mapping (or list) as default, the pillar value is
merged over the default instead of replacing it: a recursive merge for
mappings (lists inside appended when merge_nested_lists=True), an append of
the missing items for lists.

    brine call pillar.get webapp:server:port default=8080
    {{ salt['pillar.get']('apache:lookup', {'port': 80}, merge=True) }}`

type getArgs struct {
	Key              string `arg:"key"`
	Default          value  `arg:"default"`
	Merge            bool   `arg:"merge"`
	MergeNestedLists bool   `arg:"merge_nested_lists"`
	Delimiter        string `arg:"delimiter"`
}

func get(_ context.Context, env *api.Env, a *getArgs) (any, error) {
	if a.Key == "" {
		return nil, fmt.Errorf("pillar.get: a key is required")
	}
	p := pillarOf(env)
	def := a.Default.or("")
	if a.Merge {
		got, found := target.Lookup(p, a.Key, a.Delimiter)
		switch d := def.(type) {
		case map[string]any:
			if gm, ok := got.(map[string]any); ok || !found {
				out := core.Copy(d).(map[string]any)
				if a.MergeNestedLists {
					core.MergeLists(out, gm)
				} else {
					core.Merge(out, gm)
				}
				return out, nil
			}
			env.Logger().Error("pillar.get: the default is a mapping but the pillar value is not; merge skipped",
				"key", a.Key, "type", fmt.Sprintf("%T", got))
		case []any:
			if gl, ok := got.([]any); ok || !found {
				out := core.Copy(d).([]any)
				for _, x := range gl {
					if !slices.ContainsFunc(out, func(y any) bool { return reflect.DeepEqual(x, y) }) {
						out = append(out, core.Copy(x))
					}
				}
				return out, nil
			}
			env.Logger().Error("pillar.get: the default is a list but the pillar value is not; merge skipped",
				"key", a.Key, "type", fmt.Sprintf("%T", got))
		default:
			env.Logger().Error("pillar.get: merge needs a mapping or a list as default; merge skipped",
				"key", a.Key, "type", fmt.Sprintf("%T", def))
		}
	}
	return core.Copy(core.Get(p, a.Key, def, a.Delimiter)), nil
}

const docRaw = `Return the pillar, or the top-level key given, as stored (no ":" paths).

    brine call pillar.raw webapp`

type rawArgs struct {
	Key string `arg:"key"`
}

func raw(_ context.Context, env *api.Env, a *rawArgs) (any, error) {
	p := pillarOf(env)
	if a.Key == "" {
		return core.Copy(p), nil
	}
	if v, ok := p[a.Key]; ok {
		return core.Copy(v), nil
	}
	return map[string]any{}, nil
}

const docLs = `Return the top-level pillar keys, sorted.

    brine call pillar.ls`

func ls(_ context.Context, env *api.Env, _ *noArgs) (any, error) {
	p := pillarOf(env)
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return out, nil
}
