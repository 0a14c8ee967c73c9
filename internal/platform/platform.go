// Package platform holds what brine's system modules (pkg, pkgrepo,
// service, user, group, cron, hosts, archive, git) share about the host they
// change: which operating systems they support, how they run the host's own
// tools (apt-get, systemctl, useradd, crontab, tar, git) and how they
// rewrite a system file. Every process goes through modules/cmd.Run, the
// one process runner in brine.
package platform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/brine-cm/brine/api"
	cmdmod "github.com/brine-cm/brine/modules/cmd"
)

// ErrUnsupported is wrapped by the error a module returns on an operating
// system it does not manage (brine's system modules speak apt, dpkg,
// systemd and sysvinit only), so that a state fails instead of reporting a
// success it did not check.
var ErrUnsupported = errors.New("not supported")

// DefaultTimeout bounds one tool invocation when the caller's context has
// no earlier deadline: apt-get on a slow mirror can take minutes, a hung
// one must not block a run forever.
const DefaultTimeout = 30 * time.Minute

// RequireDebian returns nil on a Debian-family host (Debian, Ubuntu, Mint
// ...) according to the grains, and an error naming the OS otherwise.
func RequireDebian(env *api.Env, module string) error {
	var family, osName string
	if env != nil {
		family, _ = env.Grains["os_family"].(string)
		osName, _ = env.Grains["os"].(string)
	}
	if family == "Debian" {
		return nil
	}
	switch {
	case osName != "" && family != "" && osName != family:
		osName = fmt.Sprintf("%s (os_family %s)", osName, family)
	case osName == "" && family != "":
		osName = family
	case osName == "":
		osName = "an unknown OS (no os_family grain)"
	}
	return fmt.Errorf("%s is %w on %s: brine's %s module manages Debian-family hosts (apt, dpkg, systemd or sysvinit) only",
		module, ErrUnsupported, osName, module)
}

// ToolError is a tool that ran and exited with a failure code. Its message
// is the tool's own: what it printed on stderr (or stdout when stderr is
// empty), so that a state's comment shows what apt-get or useradd said.
type ToolError struct {
	Argv    []string
	Retcode int
	Stdout  string
	Stderr  string
}

func (e *ToolError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = strings.TrimSpace(e.Stdout)
	}
	if msg == "" {
		msg = fmt.Sprintf("%s exited with code %d", strings.Join(e.Argv, " "), e.Retcode)
	}
	return msg
}

// Options adjust one tool run; the zero value runs as the current user in
// "/", with output parsed in the C locale.
type Options struct {
	// Env is set over brine's environment.
	Env map[string]string
	// Stdin feeds the tool; nil means /dev/null.
	Stdin *string
	// Runas runs the tool as this user (brine must be root).
	Runas string
	// Cwd is the working directory; "/" when empty.
	Cwd string
	// OKCodes are exit codes that count as success besides 0.
	OKCodes []int
	// Timeout overrides DefaultTimeout.
	Timeout time.Duration
	// Detach captures the tool's output through temporary files instead of
	// pipes: an init script that starts a daemon may leave it holding
	// whatever the script's stdout was, and a pipe would then never close.
	Detach bool
}

// Run runs argv (no shell) and returns its stdout, right-trimmed. An exit
// code other than 0 (or one of OKCodes) is a *ToolError.
func Run(ctx context.Context, argv []string, opt Options) (string, error) {
	res, err := RunResult(ctx, argv, opt)
	if err != nil {
		return "", err
	}
	return res.Stdout, nil
}

// RunResult is Run for callers that need the exit code and both streams
// even on success (systemctl is-active answers with its exit code).
func RunResult(ctx context.Context, argv []string, opt Options) (*cmdmod.Result, error) {
	cwd := opt.Cwd
	if cwd == "" {
		cwd = "/"
	}
	timeout := opt.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	run := argv
	var outFile, errFile string
	if opt.Detach {
		dir, err := os.MkdirTemp("", "brine-tool-")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", argv[0], err)
		}
		defer os.RemoveAll(dir)
		outFile, errFile = filepath.Join(dir, "stdout"), filepath.Join(dir, "stderr")
		run = append([]string{"/bin/sh", "-c", `o=$1 e=$2; shift 2; exec "$@" >"$o" 2>"$e" </dev/null`, "sh", outFile, errFile}, argv...)
	}
	spec := cmdmod.Spec{
		Argv:            run,
		Cwd:             cwd,
		Env:             opt.Env,
		Runas:           opt.Runas,
		Stdin:           opt.Stdin,
		Timeout:         timeout,
		SuccessRetcodes: opt.OKCodes,
	}
	res, err := cmdmod.Run(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", argv[0], err)
	}
	if opt.Detach {
		o, _ := os.ReadFile(outFile)
		e, _ := os.ReadFile(errFile)
		res.Stdout = strings.TrimRightFunc(string(o), unicode.IsSpace)
		res.Stderr = strings.TrimRightFunc(string(e), unicode.IsSpace)
	}
	if res.TimedOut {
		return res, fmt.Errorf("%s did not finish within %s", strings.Join(argv, " "), timeout)
	}
	if res.Retcode != 0 {
		return res, &ToolError{Argv: argv, Retcode: res.Retcode, Stdout: res.Stdout, Stderr: res.Stderr}
	}
	return res, nil
}

// Quiet runs argv and reports only whether it exited with 0; for probes
// such as `systemctl is-active`, where a non-zero code is an answer.
func Quiet(ctx context.Context, argv []string, opt Options) (bool, *cmdmod.Result, error) {
	res, err := RunResult(ctx, argv, opt)
	var te *ToolError
	if errors.As(err, &te) {
		return false, res, nil
	}
	if err != nil {
		return false, res, err
	}
	return true, res, nil
}
