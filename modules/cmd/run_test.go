package cmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/api"
)

func strp(s string) *string { return &s }

func TestRun(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("BRINE_TEST_INHERITED", "from-parent")
	umask := fs.FileMode(0o077)
	tests := []struct {
		name    string
		spec    Spec
		retcode int
		stdout  string
		stderr  string
	}{
		{name: "echo", spec: Spec{Command: "echo hello from cmd.run"}, stdout: "hello from cmd.run"},
		{name: "stdout and stderr apart",
			spec:   Spec{Command: `echo "greeting=$GREETING"; echo "to stderr" >&2`, Env: map[string]string{"GREETING": "bonjour"}},
			stdout: "greeting=bonjour", stderr: "to stderr"},
		{name: "stderr merged", spec: Spec{Command: "echo out; echo err >&2; echo out2", MergeStderr: true},
			stdout: "out\nerr\nout2"},
		{name: "failing command", spec: Spec{Command: "echo about to fail; echo oops >&2; exit 3"},
			retcode: 3, stdout: "about to fail", stderr: "oops"},
		{name: "success_retcodes", spec: Spec{Command: "exit 3", SuccessRetcodes: []int{2, 3}}},
		{name: "success_retcodes not matching", spec: Spec{Command: "exit 4", SuccessRetcodes: []int{2, 3}}, retcode: 4},
		{name: "success_stdout", spec: Spec{Command: "echo all is well; exit 1", SuccessStdout: []string{"is well"}},
			stdout: "all is well"},
		{name: "success_stderr", spec: Spec{Command: "echo warn: fine >&2; exit 1", SuccessStderr: []string{"fine"}},
			stderr: "warn: fine"},
		{name: "cwd", spec: Spec{Command: "pwd", Cwd: dir}, stdout: dir},
		{name: "inherits the environment", spec: Spec{Command: "echo $BRINE_TEST_INHERITED"}, stdout: "from-parent"},
		{name: "env overrides", spec: Spec{Command: "echo $BRINE_TEST_INHERITED", Env: map[string]string{"BRINE_TEST_INHERITED": "mine"}},
			stdout: "mine"},
		{name: "env is literal", spec: Spec{Command: `printf '%s' "$X"`, Env: map[string]string{"X": "$PATH"}}, stdout: "$PATH"},
		{name: "clean env", spec: Spec{Command: `echo "[$BRINE_TEST_INHERITED][$ONLY]"`, ClearEnv: true, KeepLocale: true, Env: map[string]string{"ONLY": "me"}},
			stdout: "[][me]"},
		{name: "locale defaults to C", spec: Spec{Command: "echo $LC_MESSAGES $LC_CTYPE"}, stdout: "C C"},
		{name: "locale kept when asked", spec: Spec{Command: `echo "[$LC_MESSAGES]"`, KeepLocale: true, Env: map[string]string{"LC_MESSAGES": "fr_FR.UTF-8"}},
			stdout: "[fr_FR.UTF-8]"},
		{name: "prepend_path", spec: Spec{Command: `echo "${PATH%%:*}"`, PrependPath: "/opt/brine-test/bin"}, stdout: "/opt/brine-test/bin"},
		{name: "argv runs without a shell", spec: Spec{Argv: []string{"printf", "%s|", "a b", "$HOME", "c"}}, stdout: "a b|$HOME|c|"},
		{name: "stdin", spec: Spec{Command: "tr a-z A-Z", Stdin: strp("shout\n")}, stdout: "SHOUT"},
		{name: "trailing whitespace stripped", spec: Spec{Command: `printf 'text  \n\n\t'`}, stdout: "text"},
		{name: "trailing whitespace kept", spec: Spec{Command: `printf 'text \n'`, KeepTrailingSpace: true}, stdout: "text \n"},
		{name: "hide_output", spec: Spec{Command: "echo secret; echo secret >&2; exit 2", HideOutput: true}, retcode: 2},
		{name: "umask", spec: Spec{Command: "umask", Umask: &umask}, stdout: "0077"},
		{name: "other shell", spec: Spec{Command: "echo $0", Shell: "/bin/sh"}, stdout: "/bin/sh"},
		{name: "killed by a signal", spec: Spec{Command: "kill -9 $$"}, retcode: -9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Run(context.Background(), tc.spec)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.Pid <= 0 {
				t.Errorf("pid = %d, want the child's pid", res.Pid)
			}
			got := []any{res.Retcode, res.Stdout, res.Stderr}
			want := []any{tc.retcode, tc.stdout, tc.stderr}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("retcode, stdout, stderr (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunUmaskAppliesToFiles(t *testing.T) {
	dir := t.TempDir()
	m := fs.FileMode(0o027)
	if _, err := Run(context.Background(), Spec{Command: "touch made", Cwd: dir, Umask: &m}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "made"))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o640 {
		t.Errorf("file mode = %o, want 640 under umask 027", got)
	}
}

func TestRunDefaultCwdIsHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	res, err := Run(context.Background(), Spec{Command: "pwd"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stdout != home {
		t.Errorf("default cwd = %q, want $HOME %q", res.Stdout, home)
	}

	t.Setenv("HOME", filepath.Join(home, "missing"))
	res, err = Run(context.Background(), Spec{Command: "pwd"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stdout != "/" {
		t.Errorf("cwd with an unusable home = %q, want /", res.Stdout)
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"missing shell", Spec{Command: "true", Shell: "/no/such/shell"}, "the shell /no/such/shell is not available"},
		{"relative cwd", Spec{Command: "true", Cwd: "relative/dir"}, "specified cwd 'relative/dir' either not absolute or does not exist"},
		{"missing cwd", Spec{Command: "true", Cwd: filepath.Join(dir, "nope")}, "either not absolute or does not exist"},
		{"unknown user", Spec{Command: "true", Runas: "brine-no-such-user"}, "user 'brine-no-such-user' is not available"},
		{"unknown group", Spec{Command: "true", Group: "brine-no-such-group"}, "group 'brine-no-such-group' is not available"},
		{"unknown executable", Spec{Argv: []string{"brine-no-such-binary"}}, `executable "brine-no-such-binary" not found`},
		{"nothing to run", Spec{}, "no command to run"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Run(context.Background(), tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run error = %v, want one containing %q", err, tc.want)
			}
			if res != nil {
				t.Errorf("result = %+v, want nil when nothing ran", res)
			}
		})
	}
}

func TestRunRunas(t *testing.T) {
	if os.Getuid() != 0 {
		_, err := Run(context.Background(), Spec{Command: "true", Runas: "root"})
		if !errors.Is(err, ErrRunas) {
			t.Fatalf("runas root as uid %d: error = %v, want ErrRunas", os.Getuid(), err)
		}
		return
	}
	res, err := Run(context.Background(), Spec{Command: `echo "$(id -un) $USER $HOME"`, Runas: "nobody", Cwd: "/"})
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(res.Stdout)
	if len(fields) != 3 || fields[0] != "nobody" || fields[1] != "nobody" {
		t.Errorf("runas nobody printed %q, want user and $USER nobody", res.Stdout)
	}
}

// processGone reports whether pid has exited (a zombie counts as gone: it
// runs nothing and waits only for its reaper).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z'
	}
	return false
}

// checkFor polls fn until it succeeds or total has passed.
func checkFor(t *testing.T, total, every time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(every)
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	var pid int
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err
	})
	return pid
}

func TestRunTimeoutKillsProcessGroup(t *testing.T) {
	tests := []struct {
		name    string
		command string
	}{
		{"child sleep", `sleep 60 & echo $! > "$PIDFILE"; wait`},
		{"child ignoring SIGTERM", `sh -c 'trap "" TERM; echo $$ > "$PIDFILE"; while :; do sleep 1; done' & wait`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pidfile := filepath.Join(t.TempDir(), "child.pid")
			start := time.Now()
			res, err := Run(context.Background(), Spec{
				Command: tc.command,
				Env:     map[string]string{"PIDFILE": pidfile},
				Timeout: 300 * time.Millisecond,
			})
			if err != nil {
				t.Fatalf("Run: %v (a timeout is a result, not an error)", err)
			}
			if elapsed := time.Since(start); elapsed > 20*time.Second {
				t.Errorf("Run took %v after a 300ms timeout", elapsed)
			}
			if !res.TimedOut || res.Retcode != 1 || !strings.Contains(res.Stdout, "Timed out after 0.3 seconds") {
				t.Errorf("result = %+v, want a timeout with retcode 1", res)
			}
			child := readPid(t, pidfile)
			checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
				if !processGone(child) {
					return fmt.Errorf("child %d still runs after the timeout", child)
				}
				return nil
			})
		})
	}
}

func TestRunContextCancelKillsProcessGroup(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "child.pid")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res, err := Run(ctx, Spec{
		Command: `echo started; sleep 60 & echo $! > "$PIDFILE"; wait`,
		Env:     map[string]string{"PIDFILE": pidfile},
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want one wrapping context.DeadlineExceeded", err)
	}
	if res == nil || res.Stdout != "started" {
		t.Errorf("partial result = %+v, want the output printed before the kill", res)
	}
	child := readPid(t, pidfile)
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if !processGone(child) {
			return fmt.Errorf("child %d still runs after ctx ended", child)
		}
		return nil
	})
}

func TestOptionsSpec(t *testing.T) {
	tests := []struct {
		name string
		args map[string]any
		want string // error substring, "" for success
		chk  func(t *testing.T, s Spec)
	}{
		{name: "env list of mappings", args: map[string]any{"env": []any{map[string]any{"A": "1"}, map[string]any{"B": 2}}},
			chk: func(t *testing.T, s Spec) {
				if diff := cmp.Diff(map[string]string{"A": "1", "B": "2"}, s.Env); diff != "" {
					t.Error(diff)
				}
			}},
		{name: "env mapping with null", args: map[string]any{"env": map[string]any{"A": nil, "B": true}},
			chk: func(t *testing.T, s Spec) {
				if diff := cmp.Diff(map[string]string{"A": "", "B": "True"}, s.Env); diff != "" {
					t.Error(diff)
				}
			}},
		{name: "env KEY=VALUE", args: map[string]any{"env": "PATH=/x:$PATH"},
			chk: func(t *testing.T, s Spec) {
				if s.Env["PATH"] != "/x:$PATH" {
					t.Errorf("env = %v", s.Env)
				}
			}},
		{name: "env bad", args: map[string]any{"env": []any{[]any{"x"}}}, want: "nested list"},
		{name: "umask digits", args: map[string]any{"umask": 22},
			chk: func(t *testing.T, s Spec) {
				if s.Umask == nil || *s.Umask != 0o22 {
					t.Errorf("umask = %v, want 022", s.Umask)
				}
			}},
		{name: "umask zero", args: map[string]any{"umask": "000"}, want: "zero umask is not allowed"},
		{name: "timeout", args: map[string]any{"timeout": 1.5},
			chk: func(t *testing.T, s Spec) {
				if s.Timeout != 1500*time.Millisecond {
					t.Errorf("timeout = %v", s.Timeout)
				}
			}},
		{name: "success_retcodes string", args: map[string]any{"success_retcodes": "2, 3"},
			chk: func(t *testing.T, s Spec) {
				if diff := cmp.Diff([]int{2, 3}, s.SuccessRetcodes); diff != "" {
					t.Error(diff)
				}
			}},
		{name: "success_retcodes scalar", args: map[string]any{"success_retcodes": 2},
			chk: func(t *testing.T, s Spec) {
				if diff := cmp.Diff([]int{2}, s.SuccessRetcodes); diff != "" {
					t.Error(diff)
				}
			}},
		{name: "reset_system_locale off", args: map[string]any{"reset_system_locale": false},
			chk: func(t *testing.T, s Spec) {
				if !s.KeepLocale {
					t.Error("KeepLocale not set")
				}
			}},
		{name: "ignored compatibility arguments", args: map[string]any{"use_vt": true, "output_loglevel": "quiet"}},
		{name: "unknown argument", args: map[string]any{"cwdd": "/"}, want: "unknown argument 'cwdd'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var o Options
			err := api.Decode(tc.args, &o)
			var s Spec
			if err == nil {
				s, err = o.Spec("true")
			}
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error = %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.chk != nil {
				tc.chk(t, s)
			}
		})
	}
}

func TestRunUnreadStdinDoesNotBlock(t *testing.T) {
	big := strings.Repeat("x", 4<<20) // far more than a pipe buffer
	done := make(chan error, 1)
	go func() {
		res, err := Run(context.Background(), Spec{Command: "echo ignored my input", Stdin: &big})
		if err == nil && res.Stdout != "ignored my input" {
			err = fmt.Errorf("stdout = %q", res.Stdout)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run blocked on stdin the command never read")
	}
}

func TestRunCancelledBeforeStart(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, Spec{Command: "touch " + marker})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the command ran although ctx had ended")
	}
}
