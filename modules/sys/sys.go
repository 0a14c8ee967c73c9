// Package sys provides Salt's sys.* execution functions, which describe what
// a minion can do: the execution and state functions it has registered
// (built-in and plugins) and their documentation. `brine doc` prints the
// same text.
package sys

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/states"
)

// registry is one of the two registries, seen the same way.
type registry struct {
	names  func() []string
	doc    func(string) (string, bool)
	params func(string) ([]string, bool)
}

var execRegistry = registry{
	names: modules.Names,
	doc: func(n string) (string, bool) {
		f, ok := modules.Lookup(n)
		return f.Doc, ok
	},
	params: func(n string) ([]string, bool) {
		f, ok := modules.Lookup(n)
		return f.Params, ok
	},
}

var stateRegistry = registry{
	names: states.Names,
	doc: func(n string) (string, bool) {
		f, ok := states.Lookup(n)
		return f.Doc, ok
	},
	params: func(n string) ([]string, bool) {
		f, ok := states.Lookup(n)
		return f.Args, ok
	},
}

// patterns collects positional arguments as strings (module names, function
// names or globs).
func patterns(name string, args []any, kwargs map[string]any) ([]string, error) {
	for k := range kwargs {
		if !strings.HasPrefix(k, "__") {
			return nil, fmt.Errorf("%s: unknown argument '%s'", name, k)
		}
	}
	out := make([]string, 0, len(args))
	for _, a := range args {
		s, ok := api.ScalarString(a)
		if !ok {
			return nil, fmt.Errorf("%s: expected module or function names, got %v", name, a)
		}
		out = append(out, s)
	}
	return out, nil
}

// globMatch is Python's fnmatch on a function name (*, ?, [...]).
func globMatch(pattern, name string) (bool, error) {
	ok, err := path.Match(pattern, name)
	if err != nil {
		return false, fmt.Errorf("bad pattern %q: %w", pattern, err)
	}
	return ok, nil
}

func isGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

// moduleNames lists the distinct module parts of names, optionally
// filtered by globs.
func moduleNames(names []string, globs []string) ([]string, error) {
	seen := map[string]bool{}
	var mods []string
	for _, n := range names {
		mod, _, _ := strings.Cut(n, ".")
		if !seen[mod] {
			seen[mod] = true
			mods = append(mods, mod)
		}
	}
	slices.Sort(mods)
	if len(globs) == 0 {
		return mods, nil
	}
	var out []string
	for _, m := range mods {
		for _, g := range globs {
			ok, err := globMatch(g, m)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, m)
				break
			}
		}
	}
	return nonNil(out), nil
}

// functionNames selects functions by module name ("sys" matches sys.* but
// not sysctl.*) or by glob ("sys.list_*", "*.run"), as Salt's
// sys.list_functions does.
func functionNames(names []string, sel []string) ([]string, error) {
	if len(sel) == 0 {
		return names, nil
	}
	var out []string
	for _, n := range names {
		for _, s := range sel {
			var ok bool
			if isGlob(s) || strings.Contains(s, ".") {
				var err error
				if ok, err = globMatch(s, n); err != nil {
					return nil, err
				}
			} else {
				ok = strings.HasPrefix(n, s+".")
			}
			if ok {
				out = append(out, n)
				break
			}
		}
	}
	return nonNil(out), nil
}

// docs selects functions as sys.doc does (a module, a function, a glob)
// and returns {name: doc}.
func docs(r registry, sel []string) (map[string]any, error) {
	names := r.names()
	out := map[string]any{}
	if len(sel) == 0 {
		for _, n := range names {
			d, _ := r.doc(n)
			out[n] = d
		}
		return out, nil
	}
	for _, n := range names {
		for _, s := range sel {
			var ok bool
			if isGlob(s) {
				var err error
				if ok, err = globMatch(s, n); err != nil {
					return nil, err
				}
			} else {
				ok = n == s || strings.HasPrefix(n, strings.TrimSuffix(s, ".")+".")
			}
			if ok {
				d, _ := r.doc(n)
				out[n] = d
				break
			}
		}
	}
	return out, nil
}

// argspecs returns {name: {"args": [...]}} for the selected functions.
func argspecs(r registry, sel []string) (map[string]any, error) {
	names, err := functionNames(r.names(), sel)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, n := range names {
		ps, _ := r.params(n)
		args := make([]any, 0, len(ps))
		for _, p := range ps {
			args = append(args, p)
		}
		out[n] = map[string]any{"args": args}
	}
	return out, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// variadic registers a function taking any number of positional names.
func variadic(name, doc string, run func(sel []string) (any, error)) {
	modules.Register(modules.Func{
		Name: name,
		Doc:  doc,
		Run: func(_ context.Context, _ *api.Env, args []any, kwargs map[string]any) (any, error) {
			sel, err := patterns(name, args, kwargs)
			if err != nil {
				return nil, err
			}
			return run(sel)
		},
	})
}

func init() {
	variadic("sys.list_modules",
		`List the execution modules, optionally only those matching globs:
brine call sys.list_modules 'c*'`,
		func(sel []string) (any, error) {
			m, err := moduleNames(modules.Names(), sel)
			return toAny(m), err
		})
	variadic("sys.list_functions",
		`List the execution functions, optionally of some modules or matching
globs: brine call sys.list_functions sys 'cmd.run*'`,
		func(sel []string) (any, error) {
			f, err := functionNames(modules.Names(), sel)
			return toAny(f), err
		})
	variadic("sys.list_state_modules",
		`List the state modules, optionally only those matching globs.`,
		func(sel []string) (any, error) {
			m, err := moduleNames(states.Names(), sel)
			return toAny(m), err
		})
	variadic("sys.list_state_functions",
		`List the state functions, optionally of some state modules or matching
globs: brine call sys.list_state_functions file`,
		func(sel []string) (any, error) {
			f, err := functionNames(states.Names(), sel)
			return toAny(f), err
		})
	variadic("sys.doc",
		`Return the documentation of execution functions as {name: doc}: all of
them, a module's (sys.doc cmd), one function's (sys.doc cmd.run) or those
matching a glob (sys.doc 'test.*').`,
		func(sel []string) (any, error) { return docs(execRegistry, sel) })
	variadic("sys.state_doc",
		`Return the documentation of state functions as {name: doc}, selected like
sys.doc: sys.state_doc file.managed`,
		func(sel []string) (any, error) { return docs(stateRegistry, sel) })
	variadic("sys.argspec",
		`Return the parameters of execution functions as {name: {"args": [...]}},
selected like sys.list_functions.`,
		func(sel []string) (any, error) { return argspecs(execRegistry, sel) })
	variadic("sys.state_argspec",
		`Return the arguments of state functions as {name: {"args": [...]}},
selected like sys.list_state_functions.`,
		func(sel []string) (any, error) { return argspecs(stateRegistry, sel) })
}
