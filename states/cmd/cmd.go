// Package cmd provides the cmd.* states: cmd.run, cmd.wait (and its alias
// cmd.watch), cmd.script and cmd.wait_script. Processes are started by
// modules/cmd, the same runner the cmd.* execution functions and the
// engine's unless/onlyif guards use. unless, onlyif and creates are engine
// keywords in brine, evaluated before Apply is called, so these states never
// see them.
package cmd

import (
	"context"
	"maps"
	"os"
	"strings"

	"github.com/brine-cm/brine/api"
	cmdmod "github.com/brine-cm/brine/modules/cmd"
	"github.com/brine-cm/brine/states"
)

// runArgs are cmd.run's and cmd.wait's arguments (name is the command).
type runArgs struct {
	cmdmod.Options
	// Stateful is True/False or [{test_name: command}] (see reinterpret).
	Stateful any
	// IgnoreTimeout treats a timed-out command as a success (nohup-style
	// commands).
	IgnoreTimeout bool `arg:"ignore_timeout"`
}

// scriptArgs are cmd.script's and cmd.wait_script's arguments.
type scriptArgs struct {
	cmdmod.Options
	Source   string
	Template string
	// Args is a string parsed by the shell, or a list quoted item by item.
	Args     any
	Stateful any
	Defaults map[string]any
	Context  map[string]any
}

func init() {
	states.Register(states.Def[runArgs]{
		Name: "cmd.run",
		Doc: `Run a command (the state's name) through the shell.

The result is true when the exit code is 0 (or in success_retcodes); the
changes are {pid, retcode, stdout, stderr}. A command with no guard runs on
every apply: use unless, onlyif, creates or onchanges to make it idempotent.
In test mode the command is not run.

Arguments: cwd (default: the runas user's home), runas, group, shell, env
(mapping or list of mappings), clean_env, prepend_path, umask, timeout
(seconds), ignore_timeout, stdin, hide_output, success_retcodes,
success_stdout, success_stderr, stateful (True, or [{test_name: cmd}]).

stateful: the command reports its own state, either as a JSON object on
stdout or with a last line of key=value pairs:
    echo "changed=yes comment='did a thing' extra=value"
changed (yes/no) decides whether there are changes, comment becomes the
state's comment, other keys join the changes.`,
		Apply:    applyRun,
		ModWatch: applyRun,
	})
	wait := states.Def[runArgs]{
		Name: "cmd.wait",
		Doc: `Run a command only when a watched state changes (watch requisite).
On its own it does nothing and succeeds. Same arguments as cmd.run; prefer
cmd.run with onchanges.`,
		Apply:    noop,
		ModWatch: applyRun,
	}
	states.Register(wait)
	wait.Name = "cmd.watch"
	wait.Doc = "Alias of cmd.wait (a common misspelling in SLS files)."
	states.Register(wait)
	states.Register(states.Def[scriptArgs]{
		Name: "cmd.script",
		Doc: `Fetch a script (source: salt://path or an absolute path; default: the
first word of the name), optionally render it (template: jinja, with
defaults and context), and run it with args (a shell-quoted string, or the
rest of the name). The copy is a private temporary file (0700), removed
afterwards. Same process arguments and stateful protocol as cmd.run.`,
		Apply:    applyScript,
		ModWatch: applyScript,
	})
	states.Register(states.Def[scriptArgs]{
		Name: "cmd.wait_script",
		Doc: `Like cmd.script, but runs only when a watched state changes
(watch requisite); on its own it does nothing and succeeds.`,
		Apply:    noopScript,
		ModWatch: applyScript,
	})
}

// noop is cmd.wait's own apply: the work happens in mod_watch.
func noop(_ context.Context, _ *states.Request, _ *runArgs) api.Result {
	return api.Succeeded("", nil)
}

func noopScript(_ context.Context, _ *states.Request, _ *scriptArgs) api.Result {
	return api.Succeeded("", nil)
}

func applyRun(ctx context.Context, req *states.Request, a *runArgs) api.Result {
	name := req.Name
	stateful, testName, err := parseStateful(a.Stateful)
	if err != nil {
		return api.Failed(err.Error())
	}
	if req.Test && testName != "" {
		name = testName
	}
	if req.Test && testName == "" {
		r := api.Pending(`Command "`+name+`" would have been executed`, map[string]any{"cmd": name})
		if stateful {
			r = reinterpret(r)
		}
		return r
	}
	if strings.TrimSpace(name) == "" {
		return api.Failed("no command to run: the state's name is empty")
	}
	spec, err := a.Options.Spec(name)
	if err != nil {
		return api.Failed(err.Error())
	}
	if spec.Shell == "" {
		spec.Shell = cmdmod.ShellFor(req.Env)
	}
	if !cwdAvailable(a.Cwd) {
		return api.Failed(`Desired working directory "` + a.Cwd + `" is not available`)
	}
	res, err := cmdmod.Run(ctx, spec)
	if err != nil {
		return failed(err, res)
	}
	r := api.Result{Result: api.Tri(res.Retcode == 0), Comment: `Command "` + name + `" run`, Changes: res.Map()}
	if a.IgnoreTimeout && res.TimedOut {
		r.Changes["retcode"] = 0
		r.Result = api.Tri(true)
	}
	return finish(req, r, stateful)
}

func applyScript(ctx context.Context, req *states.Request, a *scriptArgs) api.Result {
	name := req.Name
	stateful, testName, err := parseStateful(a.Stateful)
	if err != nil {
		return api.Failed(err.Error())
	}
	if req.Test && testName != "" {
		name = testName
	}
	args, err := cmdmod.ScriptArgs(a.Args)
	if err != nil {
		return api.Failed(err.Error())
	}
	source := a.Source
	fields := strings.Fields(name)
	if source == "" && len(fields) > 0 {
		source = fields[0]
	}
	// Like Salt, "script arg1 arg2" as the name supplies args when the
	// args argument is not given.
	if args == "" && len(fields) > 1 {
		_, args, _ = strings.Cut(strings.TrimSpace(name), " ")
	}
	if req.Test && testName == "" {
		r := api.Pending("Command '"+name+"' would have been executed", nil)
		if stateful {
			r = reinterpret(r)
		}
		return r
	}
	spec, err := a.Options.Spec("")
	if err != nil {
		return api.Failed(err.Error())
	}
	if spec.Shell == "" {
		spec.Shell = cmdmod.ShellFor(req.Env)
	}
	if !cwdAvailable(a.Cwd) {
		return api.Failed(`Desired working directory "` + a.Cwd + `" is not available`)
	}
	vars := maps.Clone(a.Defaults)
	if vars == nil {
		vars = map[string]any{}
	}
	maps.Copy(vars, a.Context)
	sc := cmdmod.Script{Source: source, Args: args, Template: a.Template, Vars: vars}
	if req.Env != nil {
		sc.Saltenv = req.Env.Saltenv
	}
	res, err := cmdmod.RunScript(ctx, req.Env, sc, spec)
	if err != nil {
		return failed(err, res)
	}
	r := api.Result{Result: api.Tri(res.Retcode == 0), Comment: "Command '" + name + "' run", Changes: res.Map()}
	return finish(req, r, stateful)
}

// finish applies the stateful protocol and, for a test_name command run in
// test mode, reports would-be changes as None.
func finish(req *states.Request, r api.Result, stateful bool) api.Result {
	retcode, _ := r.Changes["retcode"].(int)
	if stateful {
		r = reinterpret(r)
	}
	if req.Test && retcode == 0 && len(r.Changes) > 0 {
		r.Result = nil
	}
	return r
}

// failed reports a command that could not run or was killed, keeping what
// it printed before that.
func failed(err error, res *cmdmod.Result) api.Result {
	if res != nil {
		return api.FailedWith(err.Error(), res.Map())
	}
	return api.Failed(err.Error())
}

func cwdAvailable(cwd string) bool {
	if cwd == "" {
		return true
	}
	st, err := os.Stat(cwd)
	return err == nil && st.IsDir()
}
