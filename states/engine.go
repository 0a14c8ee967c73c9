package states

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/brine-cm/brine/api"
)

// Engine compiles and runs SLS trees against one host environment.
type Engine struct {
	// Env is the host; Env.Files serves the SLS tree (file_roots).
	Env *api.Env
	// StateTimeout bounds each state function; 0 means DefaultStateTimeout.
	StateTimeout time.Duration
	// Exclude lists SLS names whose states are left out (state.apply exclude=).
	Exclude []string
}

// DefaultStateTimeout bounds one state when nothing else is configured.
const DefaultStateTimeout = time.Hour

// CompileError collects everything wrong with an SLS tree before it runs:
// render and YAML errors, unknown functions or arguments, missing requisites,
// cycles, duplicate IDs. Salt prints these as a list of strings and exits 1.
type CompileError struct {
	Errors []string
}

func (e *CompileError) Error() string { return strings.Join(e.Errors, "\n") }

// Run is the return of a state run: Salt's map keyed by state tag.
type Run struct {
	// Returns holds one entry per state tag.
	Returns map[string]*api.StateReturn
}

// MarshalJSON prints the run as Salt's plain map.
func (r *Run) MarshalJSON() ([]byte, error) { return json.Marshal(r.Returns) }

// Ordered returns the state returns sorted by __run_num__.
func (r *Run) Ordered() []*api.StateReturn {
	out := make([]*api.StateReturn, 0, len(r.Returns))
	for _, v := range r.Returns {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RunNum < out[j].RunNum })
	return out
}

// Tags returns the state tags sorted by __run_num__.
func (r *Run) Tags() []string {
	tags := make([]string, 0, len(r.Returns))
	for t := range r.Returns {
		tags = append(tags, t)
	}
	sort.Slice(tags, func(i, j int) bool { return r.Returns[tags[i]].RunNum < r.Returns[tags[j]].RunNum })
	return tags
}

// Failed reports whether any state returned false (Salt's exit code 2).
func (r *Run) Failed() bool {
	for _, v := range r.Returns {
		if v.Result.Result != nil && !*v.Result.Result {
			return true
		}
	}
	return false
}

// env returns the engine's environment with defaults filled in.
func (e *Engine) env() *api.Env {
	env := e.Env
	if env == nil {
		env = &api.Env{}
		e.Env = env
	}
	if env.Saltenv == "" {
		env.Saltenv = "base"
	}
	if env.Opts == nil {
		env.Opts = map[string]any{}
	}
	if env.Exec == nil {
		env.Exec = func(context.Context, string, []any, map[string]any) (any, error) {
			return nil, errors.New("execution modules are not available in this context")
		}
	}
	return env
}

// Compile loads the named SLS files (and what they include), applies
// extend and exclude, and returns the ordered low chunks. Any problem found
// anywhere is returned together as a *CompileError, before anything runs.
func (e *Engine) Compile(ctx context.Context, mods []string) ([]*Chunk, error) {
	env := e.env()
	h := newHighstate()
	l := &loader{env: env, high: h}
	for _, m := range mods {
		l.load(ctx, m, nil)
	}
	for _, x := range e.Exclude {
		h.excludes = append(h.excludes, exclusion{SLS: x})
	}
	if len(h.errs) == 0 {
		h.applyExtends(env.Saltenv)
		h.applyExcludes()
	}
	if len(h.errs) > 0 {
		return nil, &CompileError{Errors: h.errs}
	}
	chunks, errs := compile(h, env.Saltenv)
	if len(errs) > 0 {
		return nil, &CompileError{Errors: errs}
	}
	return chunks, nil
}

// HighstateMods returns the SLS names top.sls assigns to this minion.
func (e *Engine) HighstateMods(ctx context.Context) ([]string, error) {
	top, err := e.Top(ctx)
	if err != nil {
		return nil, err
	}
	mods := top[e.env().Saltenv]
	if len(mods) == 0 {
		return nil, &CompileError{Errors: []string{"No Top file or master_tops data matches found. Please see master log for details."}}
	}
	return mods, nil
}

// Highstate applies everything top.sls assigns to this minion.
func (e *Engine) Highstate(ctx context.Context, test bool) (*Run, error) {
	mods, err := e.HighstateMods(ctx)
	if err != nil {
		return nil, err
	}
	return e.SLS(ctx, mods, test)
}

// SLS applies the named SLS files.
func (e *Engine) SLS(ctx context.Context, mods []string, test bool) (*Run, error) {
	chunks, err := e.Compile(ctx, mods)
	if err != nil {
		return nil, err
	}
	return e.run(ctx, chunks, test), nil
}

// Single runs one state function outside any SLS, as state.single does.
func (e *Engine) Single(ctx context.Context, fun, name string, args map[string]any, test bool) (*Run, error) {
	mod, fn, ok := strings.Cut(fun, ".")
	if !ok {
		return nil, &CompileError{Errors: []string{fmt.Sprintf("invalid state function '%s': expected module.function", fun)}}
	}
	c := &Chunk{ID: name, Name: name, SLS: "", Module: mod, Fun: fn, Saltenv: e.env().Saltenv,
		File: "<state.single>", Args: map[string]any{}, Keywords: map[string]any{}}
	for k, v := range args {
		if engineKeywords[k] {
			c.Keywords[k] = v
		} else {
			c.Args[k] = v
		}
	}
	if errs := validate(c); len(errs) > 0 {
		return nil, &CompileError{Errors: errs}
	}
	return e.run(ctx, []*Chunk{c}, test), nil
}

// Lowstate returns the compiled low chunks as Salt's lowstate list.
func Lowstate(chunks []*Chunk) []map[string]any {
	out := make([]map[string]any, len(chunks))
	for i, c := range chunks {
		out[i] = c.Low()
	}
	return out
}

// Highdata returns the compiled chunks folded back into Salt's high data
// shape (ID -> {module: [fun, {arg: value}...], __sls__, __env__}), as
// state.show_sls and state.show_highstate print it.
func Highdata(chunks []*Chunk) map[string]any {
	out := map[string]any{}
	for _, c := range chunks {
		decl, ok := out[c.ID].(map[string]any)
		if !ok {
			decl = map[string]any{"__sls__": c.SLS, "__env__": c.Saltenv}
			out[c.ID] = decl
		}
		if _, done := decl[c.Module]; done {
			continue
		}
		list := []any{c.Fun}
		if c.Name != c.ID {
			list = append(list, map[string]any{"name": c.Name})
		}
		for _, k := range c.argOrder {
			v, ok := c.Args[k]
			if !ok {
				v, ok = c.Keywords[k]
			}
			if ok {
				list = append(list, map[string]any{k: v})
			}
		}
		decl[c.Module] = list
	}
	return out
}
