package cmd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/states/render"
)

// execArgs are the arguments of the cmd.run family.
type execArgs struct {
	Cmd Command `arg:"cmd"`
	Options
	// PythonShell is accepted for Salt compatibility: brine always runs a
	// string through the shell and a list directly.
	PythonShell    *bool  `arg:"python_shell"`
	Template       string `arg:"template"`
	Saltenv        string `arg:"saltenv"`
	RaiseErr       bool   `arg:"raise_err"`
	RedirectStderr bool   `arg:"redirect_stderr"`
}

// runParams are Salt's positional parameters of cmd.run and friends.
var runParams = []string{"cmd", "cwd", "stdin", "runas", "group", "shell", "python_shell", "env"}

// spec builds the process spec, rendering the command line and cwd through
// Jinja when template=jinja, as Salt's cmdmod does.
func (a *execArgs) spec(ctx context.Context, env *api.Env) (Spec, error) {
	if a.Cmd.Line == "" && len(a.Cmd.Argv) == 0 {
		return Spec{}, errors.New("missing required argument 'cmd'")
	}
	s, err := a.Options.Spec(a.Cmd.Line)
	if err != nil {
		return Spec{}, err
	}
	s.Argv = a.Cmd.Argv
	if s.Shell == "" {
		s.Shell = ShellFor(env)
	}
	switch strings.ToLower(a.Template) {
	case "":
	case "jinja":
		rc := render.Context{Env: env, Path: "<cmd>"}
		if s.Command != "" {
			if s.Command, err = render.Jinja(ctx, []byte(s.Command), rc); err != nil {
				return Spec{}, fmt.Errorf("render command: %w", err)
			}
		}
		for i, arg := range s.Argv {
			if s.Argv[i], err = render.Jinja(ctx, []byte(arg), rc); err != nil {
				return Spec{}, fmt.Errorf("render command: %w", err)
			}
		}
		if s.Cwd != "" {
			if s.Cwd, err = render.Jinja(ctx, []byte(s.Cwd), rc); err != nil {
				return Spec{}, fmt.Errorf("render cwd: %w", err)
			}
		}
	default:
		return Spec{}, fmt.Errorf("unsupported template '%s' (brine renders jinja)", a.Template)
	}
	return s, nil
}

// runExec runs the command and applies raise_err.
func runExec(ctx context.Context, env *api.Env, a *execArgs, merge bool) (*Result, error) {
	s, err := a.spec(ctx, env)
	if err != nil {
		return nil, err
	}
	s.MergeStderr = merge
	res, err := Run(ctx, s)
	if err != nil {
		return nil, err
	}
	if res.Retcode != 0 {
		if a.RaiseErr {
			return nil, fmt.Errorf("command %q failed with return code %d: %s", s.Display(), res.Retcode,
				strings.TrimSpace(res.Stdout+"\n"+res.Stderr))
		}
		if !a.IgnoreRetcode {
			env.Logger().Error("command failed", "cmd", s.Display(), "retcode", res.Retcode)
		}
	}
	return res, nil
}

// scriptArgs are the arguments of cmd.script and cmd.script_retcode.
type scriptArgs struct {
	Source string `arg:"source"`
	// Args is a string parsed by the shell; a list is quoted item by item.
	Args any `arg:"args"`
	Options
	PythonShell *bool          `arg:"python_shell"`
	Template    string         `arg:"template"`
	Saltenv     string         `arg:"saltenv"`
	Context     map[string]any `arg:"context"`
	Defaults    map[string]any `arg:"defaults"`
}

var scriptParams = []string{"source", "args", "cwd", "stdin", "runas", "group", "shell", "python_shell", "env"}

// ScriptArgs renders a script `args` value as a shell fragment: a string is
// used as written, a list is quoted item by item.
func ScriptArgs(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case []any:
		parts := make([]string, 0, len(x))
		for _, it := range x {
			s, ok := api.ScalarString(it)
			if !ok {
				return "", fmt.Errorf("argument 'args': expected a string or a list of strings")
			}
			parts = append(parts, ShellQuote(s))
		}
		return strings.Join(parts, " "), nil
	default:
		s, ok := api.ScalarString(x)
		if !ok {
			return "", fmt.Errorf("argument 'args': expected a string or a list of strings")
		}
		return s, nil
	}
}

func runScriptExec(ctx context.Context, env *api.Env, a *scriptArgs) (*Result, error) {
	if a.Source == "" {
		return nil, errors.New("missing required argument 'source'")
	}
	args, err := ScriptArgs(a.Args)
	if err != nil {
		return nil, err
	}
	s, err := a.Options.Spec("")
	if err != nil {
		return nil, err
	}
	if s.Shell == "" {
		s.Shell = ShellFor(env)
	}
	vars := maps.Clone(a.Defaults)
	if vars == nil {
		vars = map[string]any{}
	}
	maps.Copy(vars, a.Context)
	return RunScript(ctx, env, Script{
		Source: a.Source, Args: args, Template: a.Template, Vars: vars, Saltenv: a.Saltenv,
	}, s)
}

type whichArgs struct {
	Cmd string `arg:"cmd"`
}

type whichBinArgs struct {
	Cmds []string `arg:"cmds"`
}

func init() {
	modules.Register(modules.Typed("cmd.run",
		`Run a command and return its output, stderr merged into stdout.

A string runs through the shell (shell=, else the shell grain, else
/bin/sh); a list is executed directly. Options: cwd (default: the runas user's home), runas,
group, env (mapping or list of mappings), clean_env, prepend_path, umask,
timeout (seconds), stdin, rstrip, hide_output, ignore_retcode, raise_err,
success_retcodes, success_stdout, success_stderr, template=jinja.

    brine call cmd.run 'ls -l /etc' cwd=/tmp`,
		runParams, func(ctx context.Context, env *api.Env, a *execArgs) (any, error) {
			res, err := runExec(ctx, env, a, true)
			if err != nil {
				return nil, err
			}
			return res.Stdout, nil
		}))
	modules.Register(modules.Typed("cmd.shell",
		`Run a command through the shell and return its output (stderr merged).
Same options as cmd.run.`,
		runParams, func(ctx context.Context, env *api.Env, a *execArgs) (any, error) {
			res, err := runExec(ctx, env, a, true)
			if err != nil {
				return nil, err
			}
			return res.Stdout, nil
		}))
	modules.Register(modules.Typed("cmd.run_stdout",
		`Run a command and return only its standard output. Same options as cmd.run.`,
		runParams, func(ctx context.Context, env *api.Env, a *execArgs) (any, error) {
			res, err := runExec(ctx, env, a, false)
			if err != nil {
				return nil, err
			}
			return res.Stdout, nil
		}))
	modules.Register(modules.Typed("cmd.run_stderr",
		`Run a command and return only its standard error. Same options as cmd.run.`,
		runParams, func(ctx context.Context, env *api.Env, a *execArgs) (any, error) {
			res, err := runExec(ctx, env, a, false)
			if err != nil {
				return nil, err
			}
			return res.Stderr, nil
		}))
	modules.Register(modules.Typed("cmd.run_all",
		`Run a command and return {pid, retcode, stdout, stderr}.
redirect_stderr=True merges stderr into stdout. Same options as cmd.run.`,
		runParams, func(ctx context.Context, env *api.Env, a *execArgs) (any, error) {
			res, err := runExec(ctx, env, a, a.RedirectStderr)
			if err != nil {
				return nil, err
			}
			return res.Map(), nil
		}))
	modules.Register(modules.Typed("cmd.retcode",
		`Run a command and return its exit code. Same options as cmd.run.`,
		runParams, func(ctx context.Context, env *api.Env, a *execArgs) (any, error) {
			res, err := runExec(ctx, env, a, false)
			if err != nil {
				return nil, err
			}
			return res.Retcode, nil
		}))
	modules.Register(modules.Typed("cmd.script",
		`Fetch a script (salt://path or an absolute local path), optionally render it
(template=jinja, with defaults and context), run it with args and return
{pid, retcode, stdout, stderr}. The copy is a private temporary file,
removed afterwards. Same process options as cmd.run.

    brine call cmd.script salt://scripts/setup.sh args='one "two words"'`,
		scriptParams, func(ctx context.Context, env *api.Env, a *scriptArgs) (any, error) {
			res, err := runScriptExec(ctx, env, a)
			if err != nil {
				return nil, err
			}
			return res.Map(), nil
		}))
	modules.Register(modules.Typed("cmd.script_retcode",
		`Like cmd.script, but return only the exit code.`,
		scriptParams, func(ctx context.Context, env *api.Env, a *scriptArgs) (any, error) {
			res, err := runScriptExec(ctx, env, a)
			if err != nil {
				return nil, err
			}
			return res.Retcode, nil
		}))
	modules.Register(modules.Typed("cmd.which",
		`Return the full path of an executable found in PATH, or None.`,
		[]string{"cmd"}, func(ctx context.Context, env *api.Env, a *whichArgs) (any, error) {
			if p, err := exec.LookPath(a.Cmd); err == nil {
				return p, nil
			}
			return nil, nil
		}))
	modules.Register(modules.Typed("cmd.which_bin",
		`Return the path of the first of several executables found in PATH, or None.`,
		[]string{"cmds"}, func(ctx context.Context, env *api.Env, a *whichBinArgs) (any, error) {
			for _, c := range a.Cmds {
				if p, err := exec.LookPath(c); err == nil {
					return p, nil
				}
			}
			return nil, nil
		}))
	modules.Register(modules.Typed("cmd.has_exec",
		`Return True if the executable is found in PATH (or is an executable path).`,
		[]string{"cmd"}, func(ctx context.Context, env *api.Env, a *whichArgs) (any, error) {
			_, err := exec.LookPath(a.Cmd)
			return err == nil, nil
		}))
}
