package host

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/states"
)

// Plugin binaries built once for the whole test run from testdata/probe.
var bins = map[string]string{}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "brine-plugin-host-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for variant, ldflags := range map[string]string{
		"probe":        "",
		"probe-v2":     "-X main.version=2.0.0",
		"probe-proto2": "-X main.protocol=2",
	} {
		out := filepath.Join(dir, variant)
		cmd := exec.Command("go", "build", "-o", out, "-ldflags", ldflags, "./testdata/probe")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n", variant, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
		bins[variant] = out
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// install copies a built variant into dir under name, executable.
func install(t testing.TB, variant, dir, name string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bins[variant])
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, name)
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil { // a new inode, as a sync makes
		t.Fatal(err)
	}
	return dst
}

// logBuffer collects the host's log for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type fixture struct {
	dir    string
	cache  string
	starts string
	log    *logBuffer
}

// newFixture makes a plugin directory and a start counter; the probe
// plugin appends a line to PROBE_STARTS every time it starts.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	base := t.TempDir()
	f := &fixture{
		dir:    filepath.Join(base, "plugins"),
		cache:  filepath.Join(base, "plugin-info.json"),
		starts: filepath.Join(base, "starts"),
		log:    &logBuffer{},
	}
	t.Setenv("PROBE_STARTS", f.starts)
	return f
}

// host loads a Host over the fixture and removes everything it registered
// when the test ends, so that tests do not see each other's plugins.
func (f *fixture) host(t *testing.T, opts ...func(*Options)) *Host {
	t.Helper()
	o := Options{
		Dirs:      []string{f.dir},
		CacheFile: f.cache,
		Log:       slog.New(slog.NewTextHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, fn := range opts {
		fn(&o)
	}
	h := New(o)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("host log:\n%s", f.log)
		}
		h.Close()
		h.mu.Lock()
		h.install(nil)
		h.mu.Unlock()
	})
	return h
}

func (f *fixture) startCount(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(f.starts)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

func testEnv() *api.Env {
	env := &api.Env{
		ID:      "web1",
		Saltenv: "base",
		Grains:  map[string]any{"os": "Debian", "id": "web1"},
		Pillar:  map[string]any{"role": "web", "ports": []any{80, 443}},
		Opts:    map[string]any{},
	}
	env.Exec = func(ctx context.Context, fun string, args []any, kwargs map[string]any) (any, error) {
		return modules.Call(ctx, env, fun, args, kwargs)
	}
	return env
}

func call(t *testing.T, fun string, args []any, kwargs map[string]any) (any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	return modules.Call(ctx, testEnv(), fun, args, kwargs)
}

func lookupState(t *testing.T, name string) states.Func {
	t.Helper()
	f, ok := states.Lookup(name)
	if !ok {
		t.Fatalf("state function %s is not registered", name)
	}
	return f
}

// checkFor polls fn until it returns nil or total elapses.
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

// processAlive reports whether pid is a running (not zombie) process.
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(b))
	return len(fields) > 2 && fields[2] != "Z"
}
