package platform

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brine-cm/brine/api"
)

func TestRequireDebian(t *testing.T) {
	tests := []struct {
		name   string
		grains map[string]any
		want   string // "" means supported
	}{
		{name: "debian", grains: map[string]any{"os": "Debian", "os_family": "Debian"}},
		{name: "ubuntu", grains: map[string]any{"os": "Ubuntu", "os_family": "Debian"}},
		{name: "fedora", grains: map[string]any{"os": "Fedora", "os_family": "RedHat"}, want: "pkg is not supported on Fedora (os_family RedHat)"},
		{name: "arch", grains: map[string]any{"os": "Arch", "os_family": "Arch"}, want: "pkg is not supported on Arch:"},
		{name: "no grains", grains: nil, want: "pkg is not supported on an unknown OS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := RequireDebian(&api.Env{Grains: tc.grains}, "pkg")
			if tc.want == "" {
				if err != nil {
					t.Fatalf("RequireDebian = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || !errors.Is(err, ErrUnsupported) {
				t.Errorf("RequireDebian = %v, want an ErrUnsupported starting %q", err, tc.want)
			}
		})
	}
	if err := RequireDebian(nil, "user"); err == nil {
		t.Error("RequireDebian(nil) = nil, want an error")
	}
}

func TestRunReportsTheToolsMessage(t *testing.T) {
	ctx := context.Background()
	out, err := Run(ctx, []string{"sh", "-c", "echo out; echo 'E: Unable to locate package nosuch' >&2; exit 100"}, Options{})
	var te *ToolError
	if !errors.As(err, &te) || te.Retcode != 100 || err.Error() != "E: Unable to locate package nosuch" || out != "" {
		t.Fatalf("Run = %q, %v; want a ToolError with apt's message", out, err)
	}
	_, err = Run(ctx, []string{"sh", "-c", "echo only stdout; exit 3"}, Options{})
	if err == nil || err.Error() != "only stdout" {
		t.Errorf("error = %v, want stdout as the message when stderr is empty", err)
	}
	_, err = Run(ctx, []string{"sh", "-c", "exit 4"}, Options{})
	if err == nil || err.Error() != "sh -c exit 4 exited with code 4" {
		t.Errorf("error = %v, want the command and its code", err)
	}
	out, err = Run(ctx, []string{"sh", "-c", "pwd; exit 1"}, Options{OKCodes: []int{1}})
	if err != nil || out != "/" {
		t.Errorf("Run with OKCodes = %q, %v; want \"/\" and no error", out, err)
	}
	ok, _, err := Quiet(ctx, []string{"false"}, Options{})
	if ok || err != nil {
		t.Errorf("Quiet(false) = %v, %v; want false, nil", ok, err)
	}
}

// TestDetachDoesNotWaitForDaemons starts a "daemon" that keeps the tool's
// output open; with Detach the call returns at once anyway.
func TestDetachDoesNotWaitForDaemons(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	script := `sleep 30 & echo $! > "$1"; echo started; echo warning >&2`
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	res, err := RunResult(ctx, []string{"sh", "-c", script, "sh", pidFile}, Options{Detach: true})
	if err != nil {
		t.Fatalf("RunResult: %v", err)
	}
	if b, err := os.ReadFile(pidFile); err == nil {
		t.Cleanup(func() {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		})
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("RunResult waited %s for the background child", time.Since(start))
	}
	if res.Stdout != "started" || res.Stderr != "warning" {
		t.Errorf("output = %q / %q, want started / warning", res.Stdout, res.Stderr)
	}
}

func TestWriteFileKeepsModeAndCreatesWithMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "hosts")
	if err := WriteFile(p, []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("new file mode = %v, want 0600", fi.Mode().Perm())
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("second\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	fi, _ := os.Stat(p)
	if string(b) != "second\n" || fi.Mode().Perm() != 0o644 {
		t.Errorf("after rewrite: %q mode %v; want second and the old 0644", b, fi.Mode().Perm())
	}
}
