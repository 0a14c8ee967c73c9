// Package modules is the registry of execution modules: the functions that
// `brine call`, `brine TARGET FUNC` and salt['mod.fn'](...) in templates
// reach by their Salt name ("test.ping", "cmd.run"). Built-in modules
// register from init() in the sub-packages; plugins add theirs at run time.
package modules

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	"github.com/brine-cm/brine/api"
)

// Func is one execution function.
type Func struct {
	// Name is the Salt name, "module.function".
	Name string
	// Doc is the text `brine doc` prints.
	Doc string
	// Params names the positional parameters in order, so that positional
	// arguments can also be given as keywords (cmd.run 'ls' cwd=/tmp).
	Params []string
	// Run does the work. args are positional arguments, kwargs keyword ones.
	Run func(ctx context.Context, env *api.Env, args []any, kwargs map[string]any) (any, error)
}

// ErrUnknownFunction is returned when no module provides the requested name.
var ErrUnknownFunction = errors.New("function is not available")

var (
	mu    sync.RWMutex
	funcs = map[string]Func{}
)

// Register adds f to the registry. It panics on an empty, malformed or
// duplicate name: that is a programming error, found at start-up.
func Register(f Func) {
	if !validName(f.Name) {
		panic(fmt.Sprintf("modules: invalid function name %q", f.Name))
	}
	if f.Run == nil {
		panic(fmt.Sprintf("modules: %s has no Run", f.Name))
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := funcs[f.Name]; dup {
		panic(fmt.Sprintf("modules: %s registered twice", f.Name))
	}
	funcs[f.Name] = f
}

// Replace installs f whether or not the name exists; plugins use it when the
// registry reloads.
func Replace(f Func) {
	mu.Lock()
	defer mu.Unlock()
	funcs[f.Name] = f
}

// Remove drops a function (a plugin that went away).
func Remove(name string) {
	mu.Lock()
	defer mu.Unlock()
	delete(funcs, name)
}

func validName(name string) bool {
	mod, fn, ok := strings.Cut(name, ".")
	return ok && mod != "" && fn != "" && !strings.ContainsAny(name, " \t\n/")
}

// Lookup finds a function by name.
func Lookup(name string) (Func, bool) {
	mu.RLock()
	defer mu.RUnlock()
	f, ok := funcs[name]
	return f, ok
}

// Names lists every registered function, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(funcs))
	for n := range funcs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Call runs name with the given arguments. A panic inside the module becomes
// an error, so a broken module cannot take the minion down.
func Call(ctx context.Context, env *api.Env, name string, args []any, kwargs map[string]any) (out any, err error) {
	f, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("'%s' is not available: %w", name, ErrUnknownFunction)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s panicked: %v\n%s", name, r, debug.Stack())
		}
	}()
	if kwargs == nil {
		kwargs = map[string]any{}
	}
	return f.Run(ctx, env, args, kwargs)
}

// Bind merges positional arguments into kwargs by parameter name, refusing
// surplus positionals and a parameter given twice.
func Bind(name string, params []string, args []any, kwargs map[string]any) (map[string]any, error) {
	if len(args) > len(params) {
		return nil, fmt.Errorf("%s takes at most %d positional argument(s) (%s), got %d",
			name, len(params), strings.Join(params, ", "), len(args))
	}
	out := make(map[string]any, len(args)+len(kwargs))
	for k, v := range kwargs {
		if !strings.HasPrefix(k, "__") { // Salt's __pub_* and friends
			out[k] = v
		}
	}
	for i, v := range args {
		if _, dup := kwargs[params[i]]; dup {
			return nil, fmt.Errorf("%s got argument '%s' twice", name, params[i])
		}
		out[params[i]] = v
	}
	return out, nil
}

// Typed builds a Func whose arguments are bound to params and decoded
// strictly into A (see api.Decode).
func Typed[A any](name, doc string, params []string, run func(ctx context.Context, env *api.Env, a *A) (any, error)) Func {
	return Func{
		Name:   name,
		Doc:    doc,
		Params: params,
		Run: func(ctx context.Context, env *api.Env, args []any, kwargs map[string]any) (any, error) {
			m, err := Bind(name, params, args, kwargs)
			if err != nil {
				return nil, err
			}
			var a A
			if err := api.Decode(m, &a); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			return run(ctx, env, &a)
		},
	}
}
