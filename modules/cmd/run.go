// Package cmd runs processes the way Salt's cmdmod does and registers the
// cmd.* execution functions (cmd.run, cmd.run_all, cmd.retcode, cmd.script
// ...). Run is the one place in brine that starts a command: the cmd.*
// states, the engine's unless/onlyif guards (Guard) and the execution
// functions all go through it, so cwd, env, runas, umask, timeouts and
// process-group cleanup behave the same everywhere.
package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"
)

// DefaultShell runs string commands when no shell is given. Salt uses the
// `shell` grain, which is /bin/sh on a minion started without $SHELL.
const DefaultShell = "/bin/sh"

// KillGrace is how long a process group gets between SIGTERM and SIGKILL
// when a timeout or the caller's context ends it.
const KillGrace = 2 * time.Second

// ErrRunas is returned when runas names another user but brine is not
// running as root, so it cannot switch.
var ErrRunas = errors.New("runas needs brine to run as root")

// Spec describes one process. The zero value of every field is Salt's
// default: output right-stripped, LC_* forced to C, cwd the user's home.
type Spec struct {
	// Command is a shell command line, run as `Shell -c Command`.
	Command string
	// Argv is executed directly (no shell) when Command is empty.
	Argv []string
	// Shell is the shell for Command; DefaultShell when empty.
	Shell string
	// Cwd must be an absolute directory. When empty, the home directory of
	// Runas (or of the current user) is used, or "/" if that is unreadable,
	// as Salt does.
	Cwd string
	// Env is set over the current environment (or alone with ClearEnv).
	Env map[string]string
	// ClearEnv starts from an empty environment instead of brine's own.
	ClearEnv bool
	// PrependPath is put in front of $PATH.
	PrependPath string
	// KeepLocale leaves LC_* alone. By default, like Salt's
	// reset_system_locale, LC_CTYPE, LC_MESSAGES & co. default to C so that
	// command output can be parsed.
	KeepLocale bool
	// Runas is the user to run as (name or uid); Group overrides its group.
	// Both need root, unless Runas is the current user.
	Runas, Group string
	// Umask, when set, is applied in the child before it runs.
	Umask *fs.FileMode
	// Timeout kills the process group after this long (0 = no limit). A
	// timeout is not an error: the result says "Timed out after N seconds"
	// with retcode 1, as Salt reports it.
	Timeout time.Duration
	// Stdin feeds the process; nil means /dev/null.
	Stdin *string
	// MergeStderr sends stderr to the stdout pipe (Salt's cmd.run).
	MergeStderr bool
	// KeepTrailingSpace disables Salt's rstrip of stdout and stderr.
	KeepTrailingSpace bool
	// HideOutput empties stdout and stderr in the result.
	HideOutput bool
	// SuccessRetcodes are exit codes reported as 0.
	SuccessRetcodes []int
	// SuccessStdout and SuccessStderr: if any string occurs in the
	// output, the retcode is reported as 0.
	SuccessStdout, SuccessStderr []string
}

// Result is what a finished process left behind, in Salt's run_all shape.
type Result struct {
	Pid     int
	Retcode int
	Stdout  string
	Stderr  string
	// TimedOut is set when Spec.Timeout killed the process.
	TimedOut bool
}

// Map returns the result as Salt's run_all dictionary, which is also what
// cmd.run puts in a state's changes.
func (r *Result) Map() map[string]any {
	return map[string]any{
		"pid":     r.Pid,
		"retcode": r.Retcode,
		"stdout":  r.Stdout,
		"stderr":  r.Stderr,
	}
}

// Display is the command as a person would read it in a message.
func (s *Spec) Display() string {
	if s.Command != "" {
		return s.Command
	}
	return strings.Join(s.Argv, " ")
}

// Run starts the process described by s, waits for it and returns its
// output. The process gets its own process group; when s.Timeout expires or
// ctx ends, the whole group receives SIGTERM, then SIGKILL after KillGrace,
// so no child is left behind. A timeout yields a Result (retcode 1); an
// ended ctx yields an error wrapping ctx.Err() together with the partial
// Result. Failing to start at all (missing shell, bad cwd, unknown user) is
// an error with a nil Result.
func Run(ctx context.Context, s Spec) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("command %q not started: %w", s.Display(), err)
	}
	c, err := prepare(s)
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	defer outR.Close()
	c.Stdout = outW
	var errR, errW *os.File
	if s.MergeStderr {
		c.Stderr = outW
	} else {
		errR, errW, err = os.Pipe()
		if err != nil {
			outW.Close()
			return nil, fmt.Errorf("stderr pipe: %w", err)
		}
		defer errR.Close()
		c.Stderr = errW
	}
	var inR, inW *os.File
	if s.Stdin != nil {
		if inR, inW, err = os.Pipe(); err != nil {
			outW.Close()
			if errW != nil {
				errW.Close()
			}
			return nil, fmt.Errorf("stdin pipe: %w", err)
		}
		defer inW.Close() // unblocks the writer if nobody reads
		c.Stdin = inR
	}
	// All three pipes are *os.File, so exec copies nothing itself and Wait
	// returns as soon as the leader exits; we feed and drain the pipes
	// ourselves and can stop if an escaped grandchild keeps them open.
	startErr := c.Start()
	outW.Close()
	if errW != nil {
		errW.Close()
	}
	if inR != nil {
		inR.Close()
	}
	if startErr != nil {
		return nil, fmt.Errorf("run %s: %w", s.Display(), startErr)
	}
	if inW != nil {
		go func() {
			_, _ = io.WriteString(inW, *s.Stdin)
			inW.Close()
		}()
	}

	var stdout, stderr bytes.Buffer
	var readers sync.WaitGroup
	drain := func(dst *bytes.Buffer, src io.Reader) {
		readers.Add(1)
		go func() {
			defer readers.Done()
			_, _ = io.Copy(dst, src)
		}()
	}
	drain(&stdout, outR)
	if errR != nil {
		drain(&stderr, errR)
	}
	exited := make(chan error, 1)
	go func() { exited <- c.Wait() }()
	drained := make(chan struct{})
	go func() { readers.Wait(); close(drained) }()

	var timeout <-chan time.Time
	if s.Timeout > 0 {
		t := time.NewTimer(s.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	pid := c.Process.Pid
	exitSeen, drainSeen := false, false
	var stopped error // why we killed it: errTimeout or ctx.Err()
	for !(exitSeen && drainSeen) && stopped == nil {
		select {
		case <-exited:
			exitSeen, exited = true, nil
		case <-drained:
			drainSeen, drained = true, nil
		case <-timeout:
			stopped = errTimeout
		case <-ctx.Done():
			stopped = ctx.Err()
		}
	}
	if stopped != nil {
		killGroup(pid, exited, exitSeen)
		if !drainSeen {
			// Everything in the group is gone; whatever still holds the
			// pipes escaped it (setsid). Give it a moment, then stop
			// reading.
			select {
			case <-drained:
			case <-time.After(time.Second):
				outR.Close()
				if errR != nil {
					errR.Close()
				}
				<-drained
			}
		}
	}

	res := &Result{Pid: pid, Stdout: clean(stdout.Bytes(), s), Stderr: clean(stderr.Bytes(), s)}
	switch {
	case stopped == errTimeout:
		// Salt reports a timeout in stdout with retcode 1 (cmdmod._run).
		res.TimedOut = true
		res.Retcode = 1
		res.Stdout = fmt.Sprintf("%s : Timed out after %s seconds", s.Display(),
			strconv.FormatFloat(s.Timeout.Seconds(), 'f', -1, 64))
		res.Stderr = ""
		return res, nil
	case stopped != nil:
		res.Retcode = exitCode(c.ProcessState)
		return res, fmt.Errorf("command %q was killed: %w", s.Display(), stopped)
	}
	res.Retcode = exitCode(c.ProcessState)
	if slices.Contains(s.SuccessRetcodes, res.Retcode) {
		res.Retcode = 0
	}
	for _, want := range s.SuccessStdout {
		if strings.Contains(res.Stdout, want) {
			res.Retcode = 0
		}
	}
	for _, want := range s.SuccessStderr {
		if strings.Contains(res.Stderr, want) {
			res.Retcode = 0
		}
	}
	if s.HideOutput {
		res.Stdout, res.Stderr = "", ""
	}
	return res, nil
}

var errTimeout = errors.New("timed out")

// killGroup ends the process group led by pid: SIGTERM, then SIGKILL if the
// leader has not exited after KillGrace. It returns once the leader is
// reaped. Members that outlive the leader get the SIGKILL as well.
func killGroup(pid int, exited <-chan error, exitSeen bool) {
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	if !exitSeen {
		select {
		case <-exited:
			exitSeen = true
		case <-time.After(KillGrace):
		}
	}
	// SIGKILL the group even when the leader obeyed SIGTERM: a child that
	// ignores SIGTERM must not survive its shell.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	if !exitSeen {
		<-exited
	}
}

// exitCode reports a signal death as minus the signal number, as Python's
// subprocess (and therefore Salt) does.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -int(ws.Signal())
	}
	return ps.ExitCode()
}

// clean decodes output the way Salt does: invalid UTF-8 replaced, trailing
// whitespace stripped unless asked not to.
func clean(b []byte, s Spec) string {
	out := string(b)
	if !utf8.ValidString(out) {
		out = strings.ToValidUTF8(out, "\uFFFD")
	}
	if !s.KeepTrailingSpace {
		out = strings.TrimRightFunc(out, unicode.IsSpace)
	}
	return out
}

// localeVars are the variables Salt's reset_system_locale defaults to C.
var localeVars = []string{
	"LC_CTYPE", "LC_NUMERIC", "LC_TIME", "LC_COLLATE", "LC_MONETARY",
	"LC_MESSAGES", "LC_PAPER", "LC_NAME", "LC_ADDRESS", "LC_TELEPHONE",
	"LC_MEASUREMENT", "LC_IDENTIFICATION", "LANGUAGE",
}

// prepare checks the spec and builds the exec.Cmd, without starting it.
func prepare(s Spec) (*exec.Cmd, error) {
	var argv []string
	switch {
	case s.Command != "":
		shell := s.Shell
		if shell == "" {
			shell = DefaultShell
		}
		if !executable(shell) {
			return nil, fmt.Errorf("the shell %s is not available", shell)
		}
		argv = []string{shell, "-c", s.Command}
	case len(s.Argv) > 0 && s.Argv[0] != "":
		argv = slices.Clone(s.Argv)
	default:
		return nil, errors.New("no command to run")
	}

	cred, runUser, err := credential(s.Runas, s.Group)
	if err != nil {
		return nil, err
	}

	cwd := s.Cwd
	if cwd == "" {
		cwd = defaultCwd(runUser)
	} else if st, err := os.Stat(cwd); !strings.HasPrefix(cwd, "/") || err != nil || !st.IsDir() {
		return nil, fmt.Errorf("specified cwd '%s' either not absolute or does not exist", cwd)
	}

	env := map[string]string{}
	if !s.ClearEnv {
		for _, kv := range os.Environ() {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
	}
	if runUser != nil {
		env["HOME"] = runUser.HomeDir
		env["USER"] = runUser.Username
		env["LOGNAME"] = runUser.Username
	}
	override := map[string]string{}
	if !s.KeepLocale {
		for _, k := range localeVars {
			override[k] = "C"
		}
	}
	for k, v := range s.Env {
		override[k] = v
	}
	for k, v := range override {
		env[k] = v
	}
	if s.PrependPath != "" {
		env["PATH"] = strings.TrimRight(s.PrependPath, ":") + ":" + env["PATH"]
	}
	if _, own := s.Env["NOTIFY_SOCKET"]; !own {
		delete(env, "NOTIFY_SOCKET") // systemd's socket is the minion's, not the command's
	}

	if s.Umask != nil {
		// Go cannot set a umask between fork and exec, and syscall.Umask is
		// process-wide; a tiny sh wrapper sets it in the child instead and
		// then execs the real command, keeping the same pid.
		mask := fmt.Sprintf("%04o", uint32(*s.Umask)&0o777)
		argv = append([]string{"/bin/sh", "-c", "umask " + mask + ` && exec "$@"`, "sh"}, argv...)
	}

	c := exec.Command(argv[0], argv[1:]...)
	if !strings.Contains(argv[0], "/") {
		// exec.Command resolved the name against brine's PATH; resolve it
		// against the command's own PATH instead (env or prepend_path).
		c.Path = argv[0]
		if p, err := lookPathIn(argv[0], env["PATH"]); err == nil {
			c.Path = p
		} else {
			return nil, fmt.Errorf("run %s: %w", argv[0], err)
		}
		c.Err = nil
	}
	c.Dir = cwd
	c.Env = make([]string, 0, len(env))
	for k, v := range env {
		c.Env = append(c.Env, k+"="+v)
	}
	slices.Sort(c.Env)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	return c, nil
}

// lookPathIn finds an executable in a PATH string.
func lookPathIn(name, pathEnv string) (string, error) {
	for _, dir := range strings.Split(pathEnv, ":") {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + name
		if executable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("executable %q not found in PATH", name)
}

func executable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// credential resolves runas/group into process credentials. It returns a
// nil credential when no switch is needed (no runas, or runas is the current
// user with no group change).
func credential(runas, group string) (*syscall.Credential, *user.User, error) {
	if runas == "" && group == "" {
		return nil, nil, nil
	}
	var u *user.User
	var err error
	if runas != "" {
		u, err = user.Lookup(runas)
		if err != nil {
			if _, numErr := strconv.Atoi(runas); numErr == nil {
				u, err = user.LookupId(runas)
			}
		}
		if err != nil {
			return nil, nil, fmt.Errorf("user '%s' is not available", runas)
		}
	} else {
		u, err = user.LookupId(strconv.Itoa(os.Getuid()))
		if err != nil {
			return nil, nil, fmt.Errorf("look up current user: %w", err)
		}
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			if g, err = user.LookupGroupId(group); err != nil {
				return nil, nil, fmt.Errorf("group '%s' is not available", group)
			}
		}
		gid, _ = strconv.ParseUint(g.Gid, 10, 32)
	}
	self := os.Getuid()
	if self != 0 {
		if int(uid) == self && (group == "" || int(gid) == os.Getgid()) {
			return nil, u, nil
		}
		who := "runas '" + runas + "'"
		if runas == "" {
			who = "group '" + group + "'"
		}
		return nil, nil, fmt.Errorf("%s: %w (running as uid %d)", who, ErrRunas, self)
	}
	var groups []uint32
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if n, err := strconv.ParseUint(id, 10, 32); err == nil {
				groups = append(groups, uint32(n))
			}
		}
	}
	if group != "" && !slices.Contains(groups, uint32(gid)) {
		groups = append(groups, uint32(gid))
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups}, u, nil
}

// defaultCwd is Salt's default working directory: the home of the runas
// user (or of the user brine runs as), or "/" when that is not readable.
func defaultCwd(u *user.User) string {
	home := ""
	if u != nil {
		home = u.HomeDir
	} else if h, err := os.UserHomeDir(); err == nil {
		home = h
	} else if cur, err := user.Current(); err == nil {
		home = cur.HomeDir
	}
	if home == "" || syscall.Access(home, 4 /* R_OK */) != nil {
		return "/"
	}
	if st, err := os.Stat(home); err != nil || !st.IsDir() {
		return "/"
	}
	return home
}
