// Package grains is the grains execution module: grains.items, grains.item,
// grains.get, grains.ls, grains.has_value and grains.filter_by, reading the
// grains of the environment they run in (api.Env.Grains). Templates reach
// them as salt['grains.get'](...).
package grains

import (
	"context"
	"fmt"
	"sort"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/pillar"
	"github.com/brine-cm/brine/states/render"
	"github.com/brine-cm/brine/target"
)

func init() {
	modules.Register(modules.Typed("grains.items", docItems, nil, items))
	modules.Register(modules.Func{Name: "grains.item", Doc: docItem, Run: item})
	modules.Register(modules.Typed("grains.get", docGet, []string{"key", "default", "delimiter", "ordered"}, get))
	modules.Register(modules.Typed("grains.ls", docLs, nil, ls))
	modules.Register(modules.Typed("grains.has_value", docHasValue, []string{"key"}, hasValue))
	modules.Register(modules.Typed("grains.filter_by", docFilterBy,
		[]string{"lookup_dict", "grain", "merge", "default", "base"}, filterBy))
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

// or returns the given value, or def when none was given.
func (v value) or(def any) any {
	if v.set {
		return v.v
	}
	return def
}

func grainsOf(env *api.Env) map[string]any {
	if env == nil || env.Grains == nil {
		return map[string]any{}
	}
	return env.Grains
}

const docItems = `Return all of the minion's grains.

    brine call grains.items`

type noArgs struct{}

func items(_ context.Context, env *api.Env, _ *noArgs) (any, error) {
	return pillar.Copy(grainsOf(env)), nil
}

const docItem = `Return one or more grains as a mapping of name to value. Names may be
":"-delimited paths into nested grains.

    brine call grains.item os osrelease
    brine call grains.item ip_interfaces:eth0 default=none

Keyword arguments: default (the value of a missing grain, "" unless given),
delimiter (":").`

type itemArgs struct {
	Default   value  `arg:"default"`
	Delimiter string `arg:"delimiter"`
}

func item(_ context.Context, env *api.Env, args []any, kwargs map[string]any) (any, error) {
	keys, opts, err := keysAndOptions("grains.item", args, kwargs)
	if err != nil {
		return nil, err
	}
	g := grainsOf(env)
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		out[k] = pillar.Copy(pillar.Get(g, k, opts.Default.or(""), opts.Delimiter))
	}
	return out, nil
}

// keysAndOptions reads a variadic list of names plus strict keyword
// options, for grains.item and pillar.item.
func keysAndOptions(name string, args []any, kwargs map[string]any) ([]string, itemArgs, error) {
	var opts itemArgs
	m, err := modules.Bind(name, nil, nil, kwargs)
	if err != nil {
		return nil, opts, err
	}
	if err := api.Decode(m, &opts); err != nil {
		return nil, opts, fmt.Errorf("%s: %w", name, err)
	}
	keys := make([]string, 0, len(args))
	for i, a := range args {
		s, ok := api.ScalarString(a)
		if !ok || a == nil {
			return nil, opts, fmt.Errorf("%s: argument %d: expected a name, got %T", name, i+1, a)
		}
		keys = append(keys, s)
	}
	return keys, opts, nil
}

const docGet = `Return the value of a grain, following ":"-delimited paths into nested
mappings and lists, or default when it is missing ("" unless given).

    brine call grains.get os
    brine call grains.get ip_interfaces:eth0:0
    brine call grains.get site:rack default=unknown

In a template: {{ salt['grains.get']('site:rack', 'r0') }}`

type getArgs struct {
	Key       string `arg:"key"`
	Default   value  `arg:"default"`
	Delimiter string `arg:"delimiter"`
	// Ordered is accepted for Salt compatibility; grains have no order here.
	Ordered bool `arg:"ordered"`
}

func get(_ context.Context, env *api.Env, a *getArgs) (any, error) {
	if a.Key == "" {
		return nil, fmt.Errorf("grains.get: a key is required")
	}
	return pillar.Copy(pillar.Get(grainsOf(env), a.Key, a.Default.or(""), a.Delimiter)), nil
}

const docLs = `Return the names of all grains, sorted.

    brine call grains.ls`

func ls(_ context.Context, env *api.Env, _ *noArgs) (any, error) {
	g := grainsOf(env)
	names := make([]any, 0, len(g))
	keys := make([]string, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		names = append(names, k)
	}
	return names, nil
}

const docHasValue = `Report whether a grain (a ":"-delimited path) exists.

    brine call grains.has_value site:rack`

type hasValueArgs struct {
	Key string `arg:"key"`
}

func hasValue(_ context.Context, env *api.Env, a *hasValueArgs) (any, error) {
	if a.Key == "" {
		return nil, fmt.Errorf("grains.has_value: a key is required")
	}
	_, found := target.Lookup(grainsOf(env), a.Key, ":")
	return found, nil
}

const docFilterBy = `Pick the entry of lookup_dict whose key matches a grain (default
os_family; an exact key first, else keys as shell globs in sorted order),
fall back to the entry named by
default ("default"), merge it over the base entry if base is given, and
merge the merge mapping (typically pillar) over the result.

    {% set cfg = salt['grains.filter_by']({
        'Debian': {'pkg': 'apache2'},
        'RedHat': {'pkg': 'httpd'},
      }, grain='os_family', merge=salt['pillar.get']('apache:lookup')) %}`

type filterByArgs struct {
	LookupDict map[string]any `arg:"lookup_dict"`
	Grain      string         `arg:"grain"`
	Merge      any            `arg:"merge"`
	Default    string         `arg:"default"`
	Base       string         `arg:"base"`
}

func filterBy(_ context.Context, env *api.Env, a *filterByArgs) (any, error) {
	if a.LookupDict == nil {
		return nil, fmt.Errorf("grains.filter_by: lookup_dict is required and must be a mapping")
	}
	var merge map[string]any
	switch m := a.Merge.(type) {
	case nil:
	case map[string]any:
		if len(m) > 0 { // Salt: `if merge:`, an empty mapping does nothing
			merge = m
		}
	default:
		if !falsy(m) {
			return nil, fmt.Errorf("grains.filter_by: merge must be a mapping, got %T", a.Merge)
		}
	}
	// The template helper grains.filter_by(...) and this function share
	// one implementation, so that they cannot disagree.
	out, err := render.FilterByBase(grainsOf(env), a.LookupDict, a.Grain, merge, a.Default, a.Base)
	if err != nil {
		return nil, fmt.Errorf("grains.filter_by: %w", err)
	}
	return out, nil
}

// falsy is Python's truth test for the values a merge argument may take.
func falsy(v any) bool {
	switch x := v.(type) {
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case bool:
		return !x
	case int:
		return x == 0
	}
	return false
}
