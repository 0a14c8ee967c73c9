package cmd

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
)

// Salt's comments for the guard keywords, which the engine puts in a
// skipped state's result.
const (
	UnlessTrue   = "unless condition is true"
	UnlessFalse  = "unless condition is false"
	OnlyifFalse  = "onlyif condition is false"
	OnlyifTrue   = "onlyif condition is true"
	CreatesAll   = "All files in creates exist"
	CreatesNotAt = "Creates files not found"
)

// GuardOpts are the process options a guard command inherits from its
// state (Salt passes cwd, runas, env, shell, prepend_path, umask, timeout
// and success_retcodes of the state to its unless/onlyif commands).
type GuardOpts struct {
	Cwd   string
	Runas string
	Shell string
	// Env is the state's env argument as written: a mapping or a list of
	// single-key mappings.
	Env             any
	PrependPath     string
	Umask           *api.Mode
	Timeout         time.Duration
	SuccessRetcodes []int
}

// GuardOptsFrom picks the guard options out of a state's arguments, so the
// engine need not know which keys matter. Other keys are ignored.
func GuardOptsFrom(args map[string]any) (GuardOpts, error) {
	var o GuardOpts
	str := func(k string) (string, error) {
		v, ok := args[k]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := api.ScalarString(v)
		if !ok {
			return "", fmt.Errorf("argument '%s': expected a string", k)
		}
		return s, nil
	}
	var err error
	if o.Cwd, err = str("cwd"); err != nil {
		return o, err
	}
	if o.Runas, err = str("runas"); err != nil {
		return o, err
	}
	if o.Shell, err = str("shell"); err != nil {
		return o, err
	}
	if o.PrependPath, err = str("prepend_path"); err != nil {
		return o, err
	}
	o.Env = args["env"]
	if v, ok := args["umask"]; ok && v != nil {
		var m api.Mode
		if err := m.UnmarshalArg(v); err != nil {
			return o, fmt.Errorf("argument 'umask': %w", err)
		}
		o.Umask = &m
	}
	if v, ok := args["timeout"]; ok && v != nil {
		var secs float64
		switch x := v.(type) {
		case int:
			secs = float64(x)
		case float64:
			secs = x
		case string:
			if secs, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
				return o, fmt.Errorf("argument 'timeout': expected a number of seconds, got %q", x)
			}
		default:
			return o, fmt.Errorf("argument 'timeout': expected a number of seconds")
		}
		o.Timeout = time.Duration(secs * float64(time.Second))
	}
	if v, ok := args["success_retcodes"]; ok {
		var l IntList
		if err := l.UnmarshalArg(v); err != nil {
			return o, fmt.Errorf("argument 'success_retcodes': %w", err)
		}
		o.SuccessRetcodes = l
	}
	return o, nil
}

func (o GuardOpts) spec(command string) (Spec, error) {
	env, err := ParseEnv(o.Env)
	if err != nil {
		return Spec{}, err
	}
	s := Spec{
		Command:         command,
		Shell:           o.Shell,
		Cwd:             o.Cwd,
		Env:             env,
		PrependPath:     o.PrependPath,
		Runas:           o.Runas,
		Timeout:         o.Timeout,
		SuccessRetcodes: o.SuccessRetcodes,
	}
	if o.Umask != nil {
		m := o.Umask.Perm()
		s.Umask = &m
	}
	return s, nil
}

// Guard evaluates an `unless` or `onlyif` keyword and reports whether the
// state must be skipped, with Salt's comment. cmds is the keyword's value
// as written: one command, a list of commands, or module-function entries
// ({fun: file.file_exists, args: [...], get_return: "a:b", kw: ...}).
//
// Salt's semantics (salt/state.py _run_check_unless/_run_check_onlyif,
// and the requisites documentation):
//   - unless: the state is skipped only if EVERY command succeeds (exit 0)
//     or function returns a true value; the first failure means "run it".
//   - onlyif: the state runs only if EVERY command succeeds; the first
//     failure means "skip it".
//
// The commands run through the shell with the state's cwd, runas, env and
// shell (default: the shell grain, see ShellFor), even in test mode. Where Salt treats a command that cannot be
// started (bad cwd, unknown runas) as "skip the state", brine returns the
// error so the state fails and says why. err is also returned for a
// malformed value and when ctx ends.
func Guard(ctx context.Context, env *api.Env, kind string, cmds any, opts GuardOpts) (skip bool, comment string, err error) {
	if kind != "unless" && kind != "onlyif" {
		return false, "", fmt.Errorf("unknown guard %q (want unless or onlyif)", kind)
	}
	var entries []any
	switch x := cmds.(type) {
	case nil:
		return false, "", nil
	case []any:
		entries = x
	default:
		entries = []any{x}
	}
	unless := kind == "unless"
	for _, entry := range entries {
		ok, err := guardEntry(ctx, env, kind, entry, opts)
		if err != nil {
			return false, "", err
		}
		switch {
		case unless && !ok:
			return false, UnlessFalse, nil
		case !unless && !ok:
			return true, OnlyifFalse, nil
		}
	}
	if len(entries) == 0 {
		return false, "", nil
	}
	if unless {
		return true, UnlessTrue, nil
	}
	return false, OnlyifTrue, nil
}

// guardEntry runs one guard entry and reports whether it held (exit code 0
// or a true function result).
func guardEntry(ctx context.Context, env *api.Env, kind string, entry any, opts GuardOpts) (bool, error) {
	switch x := entry.(type) {
	case map[string]any:
		return guardFunc(ctx, env, kind, x)
	case []any:
		return false, fmt.Errorf("%s: expected a command or a list of commands, got a nested list", kind)
	}
	line, ok := api.ScalarString(entry)
	if !ok || strings.TrimSpace(line) == "" {
		return false, fmt.Errorf("%s: expected a command, got %v", kind, entry)
	}
	s, err := opts.spec(line)
	if err != nil {
		return false, fmt.Errorf("%s: %w", kind, err)
	}
	if s.Shell == "" {
		s.Shell = ShellFor(env)
	}
	res, err := Run(ctx, s)
	if err != nil {
		return false, fmt.Errorf("%s command %q: %w", kind, line, err)
	}
	env.Logger().Debug("guard command ran", "guard", kind, "cmd", line, "retcode", res.Retcode)
	return res.Retcode == 0, nil
}

// guardFunc calls an execution function entry and tests its return's truth.
func guardFunc(ctx context.Context, env *api.Env, kind string, entry map[string]any) (bool, error) {
	kwargs := make(map[string]any, len(entry))
	for k, v := range entry {
		kwargs[k] = v
	}
	fun, _ := kwargs["fun"].(string)
	if fun == "" {
		return false, fmt.Errorf("no `fun` argument in %s: %v", kind, entry)
	}
	delete(kwargs, "fun")
	var args []any
	if a, ok := kwargs["args"]; ok {
		if list, isList := a.([]any); isList {
			args = list
		} else {
			args = []any{a}
		}
		delete(kwargs, "args")
	}
	getReturn, _ := kwargs["get_return"].(string)
	delete(kwargs, "get_return")
	var out any
	var err error
	if env != nil && env.Exec != nil {
		out, err = env.Exec(ctx, fun, args, kwargs)
	} else {
		out, err = modules.Call(ctx, env, fun, args, kwargs)
	}
	if err != nil {
		return false, fmt.Errorf("%s function %s: %w", kind, fun, err)
	}
	if getReturn != "" {
		out = traverse(out, getReturn)
	}
	return truthy(out), nil
}

// traverse follows a colon-delimited path through maps and lists, as
// Salt's traverse_dict_and_list does; a missing step yields nil.
func traverse(v any, path string) any {
	for _, step := range strings.Split(path, ":") {
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[step]
			if !ok {
				return nil
			}
			v = next
		case []any:
			i, err := strconv.Atoi(step)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// truthy is Python's truth test for the values modules return.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case int:
		return x != 0
	case int64:
		return x != 0
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case []string:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// Creates evaluates a `creates` keyword (one path or a list of paths): the
// state is skipped when every path exists. Comments follow Salt:
// "<path> exists" for one path, "All files in creates exist" for a list,
// "Creates files not found" when the state must run. As in Salt, an empty
// list counts as "all exist".
func Creates(paths any) (skip bool, comment string) {
	exists := func(p string) bool {
		_, err := os.Stat(p)
		return err == nil
	}
	switch x := paths.(type) {
	case nil:
		return false, ""
	case []any:
		for _, it := range x {
			p, ok := api.ScalarString(it)
			if !ok || !exists(p) {
				return false, CreatesNotAt
			}
		}
		return true, CreatesAll
	default:
		p, ok := api.ScalarString(x)
		if ok && p != "" && exists(p) {
			return true, p + " exists"
		}
		return false, CreatesNotAt
	}
}
