package states

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/brine-cm/brine/api"
)

// Request is what the engine hands a state function: one low chunk with the
// engine's own keywords (requisites, order, names, guards...) removed.
type Request struct {
	// ID is the state ID, Name the `name` argument (the ID when not given).
	ID, Name string
	// SLS is the SLS the state was declared in, for messages.
	SLS string
	// Args holds the module's own arguments, rendered, without `name`.
	Args map[string]any
	// Test is Salt's test=True: report what would change, touch nothing.
	Test bool
	// Env is the host: grains, pillar, salt:// files, other modules.
	Env *api.Env
	// Changes holds, for mod_watch, the changes of the states that fired the
	// watch, keyed by their tag; empty otherwise.
	Changes map[string]map[string]any
}

// Func is one state function, e.g. "file.managed". Built-ins are registered
// through Def; plugins build a Func directly.
type Func struct {
	// Name is "module.function".
	Name string
	// Doc is the text `brine doc` prints.
	Doc string
	// Args lists the argument names the function accepts (for docs).
	Args []string
	// Validate checks the arguments before anything runs, so that a typo
	// fails the whole run at compile time. Optional.
	Validate func(args map[string]any) error
	// Apply checks the host and, unless req.Test, changes what differs.
	Apply func(ctx context.Context, req *Request) api.Result
	// ModWatch runs instead of Apply when a watched state changed (service
	// restart, cmd.wait running). nil means "run Apply again", as Salt does
	// for states without mod_watch.
	ModWatch func(ctx context.Context, req *Request) api.Result
}

// Def declares a built-in state function with typed arguments A. Arguments
// are decoded strictly (api.Decode): an unknown or mistyped argument is a
// compile error naming it.
type Def[A any] struct {
	Name     string
	Doc      string
	Apply    func(ctx context.Context, req *Request, a *A) api.Result
	ModWatch func(ctx context.Context, req *Request, a *A) api.Result
}

// Register adds a typed state function to the registry; it panics on an
// empty or duplicate name.
func Register[A any](d Def[A]) {
	decode := func(args map[string]any) (*A, error) {
		var a A
		return &a, api.Decode(args, &a)
	}
	f := Func{
		Name: d.Name,
		Doc:  d.Doc,
		Args: api.ArgNames(new(A)),
		Validate: func(args map[string]any) error {
			_, err := decode(args)
			return err
		},
		Apply: func(ctx context.Context, req *Request) api.Result {
			a, err := decode(req.Args)
			if err != nil {
				return api.Failed(err.Error())
			}
			return d.Apply(ctx, req, a)
		},
	}
	if d.ModWatch != nil {
		f.ModWatch = func(ctx context.Context, req *Request) api.Result {
			a, err := decode(req.Args)
			if err != nil {
				return api.Failed(err.Error())
			}
			return d.ModWatch(ctx, req, a)
		}
	}
	RegisterFunc(f)
}

var (
	regMu sync.RWMutex
	funcs = map[string]Func{}
)

// RegisterFunc adds an untyped state function; it panics on an empty,
// malformed or duplicate name.
func RegisterFunc(f Func) {
	mod, fn, ok := strings.Cut(f.Name, ".")
	if !ok || mod == "" || fn == "" || f.Apply == nil {
		panic(fmt.Sprintf("states: invalid state function %q", f.Name))
	}
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := funcs[f.Name]; dup {
		panic(fmt.Sprintf("states: %s registered twice", f.Name))
	}
	funcs[f.Name] = f
}

// ReplaceFunc installs f whether or not the name exists (plugin reloads).
func ReplaceFunc(f Func) {
	regMu.Lock()
	defer regMu.Unlock()
	funcs[f.Name] = f
}

// RemoveFunc drops a state function (a plugin that went away).
func RemoveFunc(name string) {
	regMu.Lock()
	defer regMu.Unlock()
	delete(funcs, name)
}

// Lookup finds a state function by "module.function".
func Lookup(name string) (Func, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	f, ok := funcs[name]
	return f, ok
}

// Names lists the registered state functions, sorted.
func Names() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]string, 0, len(funcs))
	for n := range funcs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
