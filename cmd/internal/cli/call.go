package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/config"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/output"
	"github.com/brine-cm/brine/states"
)

// callFlags are `brine call`'s options, named as salt-call's.
type callFlags struct {
	local        bool
	config       string
	fileRoots    []string
	pillarRoots  []string
	id           string
	out          string
	stateOutput  string
	stateVerbose bool
	passthrough  bool
	logLevel     string
	stateDir     string
	noColor      bool
	forceColor   bool
	master       string
}

func newCallCmd(stdout, stderr io.Writer) *cobra.Command {
	f := &callFlags{}
	cmd := &cobra.Command{
		Use:   "call [flags] FUNC [ARG...] [KEY=VALUE...]",
		Short: "Run an execution function on this host (salt-call)",
		Long: `Run an execution function on this host, as salt-call does.

Arguments follow Salt: positional values and key=value keyword arguments,
each value read as YAML (test=True is a boolean, pillar='{"a": 1}' a mapping,
mode=0644 the digits 0644). Use -- before a value that starts with "-".

  brine call --local test.ping
  brine call --local state.apply test=True
  brine call --local state.sls webserver pillar='{"port": 8080}'
  brine call --local cmd.run 'uname -a'

Without --local the function runs on this host the same way, but with the
pillar the master compiles for this minion and salt:// files from the
master (the minion's key must be accepted; its ID, master and state_dir
come from the minion configuration):

  brine call state.apply
  brine call --master 10.0.0.5:4222 pillar.items

Exit codes: 0 success; 1 usage, argument, configuration or function error,
or an SLS tree that failed to compile; 2 a state returned False.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, args, stdout, stderr)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.local, "local", false, "run masterless: states, files and pillar from this host's file_roots and pillar_roots")
	fl.StringVar(&f.master, "master", "", "HOST:PORT of the master, without --local (default from master)")
	fl.StringVarP(&f.config, "config", "c", "", "minion configuration file (default "+config.DefaultMinionPath+", optional)")
	fl.StringArrayVar(&f.fileRoots, "file-root", nil, "directory serving salt:// for saltenv base; repeat for several (replaces file_roots base)")
	fl.StringArrayVar(&f.pillarRoots, "pillar-root", nil, "pillar tree directory for saltenv base; repeat for several (replaces pillar_roots base)")
	fl.StringVar(&f.id, "id", "", "minion ID (default: id from the configuration, else the host name)")
	fl.StringVar(&f.out, "out", "", "outputter: "+strings.Join(output.Names(), ", ")+" (default highstate for state runs, nested otherwise)")
	fl.StringVar(&f.stateOutput, "state-output", "", "highstate layout: full, terse, mixed or changes (default from state_output)")
	fl.BoolVar(&f.stateVerbose, "state-verbose", true, "show states that succeeded without changes (false hides them)")
	fl.BoolVar(&f.passthrough, "retcode-passthrough", false, "accepted for salt-call compatibility: exit codes always pass through")
	fl.StringVarP(&f.logLevel, "log-level", "l", "", "log level: trace, debug, info, warning, error, critical, quiet (default warning)")
	fl.StringVar(&f.stateDir, "state-dir", "", "directory for the minion's own state (default from state_dir)")
	fl.BoolVar(&f.noColor, "no-color", false, "never colour the output")
	fl.BoolVar(&f.forceColor, "force-color", false, "colour the output even when it is not a terminal")
	return cmd
}

func usage(format string, a ...any) error {
	return &exitError{code: ExitError, err: fmt.Errorf(format, a...)}
}

func (f *callFlags) run(cmd *cobra.Command, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usage("call: no function given, e.g. brine call --local test.ping")
	}
	fun := args[0]
	if !strings.Contains(fun, ".") || strings.Contains(fun, "=") {
		return usage("call: %q is not a function name (module.function, e.g. test.ping)", fun)
	}
	posArgs, kwargs, err := parseArgs(args[1:])
	if err != nil {
		return usage("call %s: %v", fun, err)
	}
	cfg, err := f.loadConfig(cmd)
	if err != nil {
		return usage("%v", err)
	}
	if f.out != "" {
		if _, ok := output.Lookup(f.out); !ok {
			return usage("--out %s: unknown outputter (choose one of %s)", f.out, strings.Join(output.Names(), ", "))
		}
	}
	level, err := config.ParseLogLevel(cfg.LogLevel)
	if err != nil {
		return usage("%v", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	ctx := cmd.Context()
	plugins := loadPlugins(ctx, cfg, log)
	defer plugins.Close()
	if _, ok := modules.Lookup(fun); !ok {
		return usage("'%s' is not available (brine doc %s lists the module's functions)", fun, strings.SplitN(fun, ".", 2)[0])
	}
	var ret any
	var callErr error
	if f.local {
		var env *api.Env
		if env, callErr = masterlessEnv(ctx, cfg, fun, log); callErr == nil {
			ret, callErr = modules.Call(ctx, env, fun, posArgs, kwargs)
		}
	} else {
		if ret, callErr = remoteCall(ctx, cfg, fun, posArgs, kwargs, log); errors.Is(callErr, errNoMaster) {
			return usage("call: %v", callErr)
		}
	}

	opts := output.Options{
		StateOutput: cfg.StateOutput,
		HideClean:   !cfg.StateVerbose,
		Color:       (output.AutoColor(stdout) || f.forceColor) && !f.noColor,
	}
	var ce *states.CompileError
	if errors.As(callErr, &ce) {
		opts.Retcode = ExitError
		if err := output.Write(stdout, f.out, "local", ce, opts); err != nil {
			return &exitError{code: ExitError, err: err}
		}
		return &exitError{code: ExitError}
	}
	if callErr != nil {
		if strings.HasPrefix(callErr.Error(), fun+":") {
			return &exitError{code: ExitError, err: callErr}
		}
		return &exitError{code: ExitError, err: fmt.Errorf("%s: %w", fun, callErr)}
	}
	code := ExitOK
	if run, ok := ret.(*states.Run); ok && run != nil && run.Failed() {
		code = ExitStateFailed
	}
	opts.Retcode = code
	if err := output.Write(stdout, f.out, "local", ret, opts); err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("print the return of %s: %w", fun, err)}
	}
	if code != ExitOK {
		return &exitError{code: code}
	}
	return nil
}

// loadConfig reads the minion configuration and lays the flags over it.
// Directories given on the command line are relative to the working
// directory; those in the file, to the file.
func (f *callFlags) loadConfig(cmd *cobra.Command) (*config.Minion, error) {
	cfg, err := config.LoadMinion(f.config)
	if err != nil {
		return nil, err
	}
	abs := func(dirs []string) ([]string, error) {
		out := make([]string, len(dirs))
		for i, d := range dirs {
			a, err := filepath.Abs(d)
			if err != nil {
				return nil, err
			}
			out[i] = a
		}
		return out, nil
	}
	if len(f.fileRoots) > 0 {
		dirs, err := abs(f.fileRoots)
		if err != nil {
			return nil, fmt.Errorf("--file-root: %w", err)
		}
		cfg.FileRoots = cloneRoots(cfg.FileRoots)
		cfg.FileRoots["base"] = dirs
	}
	if len(f.pillarRoots) > 0 {
		dirs, err := abs(f.pillarRoots)
		if err != nil {
			return nil, fmt.Errorf("--pillar-root: %w", err)
		}
		cfg.PillarRoots = cloneRoots(cfg.PillarRoots)
		cfg.PillarRoots["base"] = dirs
	}
	fl := cmd.Flags()
	if f.id != "" {
		cfg.ID = f.id
	}
	if f.master != "" {
		cfg.Master = f.master
	}
	if f.stateDir != "" {
		cfg.StateDir = f.stateDir
	}
	if f.logLevel != "" {
		if _, err := config.ParseLogLevel(f.logLevel); err != nil {
			return nil, fmt.Errorf("--log-level: %w", err)
		}
		cfg.LogLevel = f.logLevel
	}
	if f.stateOutput != "" {
		switch strings.TrimSuffix(f.stateOutput, "_id") {
		case "full", "terse", "mixed", "changes":
		default:
			return nil, fmt.Errorf("--state-output %s: choose full, terse, mixed or changes", f.stateOutput)
		}
		cfg.StateOutput = f.stateOutput
	}
	if fl.Changed("state-verbose") {
		cfg.StateVerbose = f.stateVerbose
	}
	if cfg.ID == "" {
		return nil, fmt.Errorf("no minion ID: set id in the configuration or pass --id")
	}
	return cfg, nil
}

func cloneRoots(r map[string][]string) map[string][]string {
	out := make(map[string][]string, len(r)+1)
	for k, v := range r {
		out[k] = v
	}
	return out
}
