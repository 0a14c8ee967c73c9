package cmd

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
)

// dirFiles serves salt:// paths from a directory, like a masterless
// file_roots.
type dirFiles struct{ root string }

func (d dirFiles) path(p string) (string, error) {
	if strings.Contains(p, "..") || strings.HasPrefix(p, "/") {
		return "", api.ErrPathEscapes
	}
	full := filepath.Join(d.root, p)
	if _, err := os.Stat(full); err != nil {
		return "", api.ErrFileNotFound
	}
	return full, nil
}

func (d dirFiles) Read(_ context.Context, _, p string) ([]byte, error) {
	full, err := d.path(p)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(full)
}

func (d dirFiles) Cache(_ context.Context, _, p string) (string, error) { return d.path(p) }

func (d dirFiles) Stat(_ context.Context, _, p string) (api.FileInfo, error) {
	full, err := d.path(p)
	if err != nil {
		return api.FileInfo{}, err
	}
	st, err := os.Stat(full)
	if err != nil {
		return api.FileInfo{}, err
	}
	return api.FileInfo{Path: p, Mode: st.Mode(), Size: st.Size()}, nil
}

func (d dirFiles) List(context.Context, string, string) ([]api.FileInfo, error) {
	return nil, errors.New("not needed here")
}

func call(t *testing.T, env *api.Env, fun string, args []any, kwargs map[string]any) (any, error) {
	t.Helper()
	return modules.Call(context.Background(), env, fun, args, kwargs)
}

func TestExecFunctions(t *testing.T) {
	dir := t.TempDir()
	env := &api.Env{}
	mixed := "echo out; echo err >&2; exit 4"
	tests := []struct {
		name   string
		fun    string
		args   []any
		kwargs map[string]any
		want   any
	}{
		{"run merges stderr", "cmd.run", []any{mixed}, nil, "out\nerr"},
		{"shell", "cmd.shell", []any{"echo a | tr a b"}, nil, "b"},
		{"run_stdout", "cmd.run_stdout", []any{mixed}, nil, "out"},
		{"run_stderr", "cmd.run_stderr", []any{mixed}, nil, "err"},
		{"retcode", "cmd.retcode", []any{mixed}, nil, 4},
		{"retcode success_retcodes", "cmd.retcode", []any{mixed}, map[string]any{"success_retcodes": []any{4}}, 0},
		{"cwd positional", "cmd.run", []any{"pwd", dir}, nil, dir},
		{"cwd keyword", "cmd.run", []any{"pwd"}, map[string]any{"cwd": dir}, dir},
		{"env mapping", "cmd.run", []any{"echo $WHO"}, map[string]any{"env": map[string]any{"WHO": "me"}}, "me"},
		{"list runs without a shell", "cmd.run", []any{[]any{"echo", "$HOME", "a;b"}}, nil, "$HOME a;b"},
		{"stdin", "cmd.run", []any{"cat"}, map[string]any{"stdin": "fed"}, "fed"},
		{"python_shell accepted", "cmd.run", []any{"echo ok"}, map[string]any{"python_shell": true}, "ok"},
		{"which", "cmd.which", []any{"sh"}, nil, nil}, // checked below: a path
		{"which missing", "cmd.which", []any{"brine-no-such-binary"}, nil, nil},
		{"has_exec", "cmd.has_exec", []any{"sh"}, nil, true},
		{"has_exec missing", "cmd.has_exec", []any{"brine-no-such-binary"}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := call(t, env, tc.fun, tc.args, tc.kwargs)
			if err != nil {
				t.Fatalf("%s: %v", tc.fun, err)
			}
			if tc.name == "which" {
				p, _ := got.(string)
				if !strings.HasSuffix(p, "/sh") {
					t.Errorf("cmd.which sh = %v, want a path to sh", got)
				}
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.fun, diff)
			}
		})
	}
}

func TestExecRunAll(t *testing.T) {
	got, err := call(t, &api.Env{}, "cmd.run_all", []any{"echo out; echo err >&2; exit 4"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := got.(map[string]any)
	if pid, _ := m["pid"].(int); pid <= 0 {
		t.Errorf("pid = %v, want the child's pid", m["pid"])
	}
	want := map[string]any{"retcode": 4, "stdout": "out", "stderr": "err"}
	if diff := cmp.Diff(want, m, cmpopts.IgnoreMapEntries(func(k string, _ any) bool { return k == "pid" })); diff != "" {
		t.Errorf("cmd.run_all (-want +got):\n%s", diff)
	}

	got, err = call(t, &api.Env{}, "cmd.run_all", []any{"echo out; echo err >&2"}, map[string]any{"redirect_stderr": true})
	if err != nil {
		t.Fatal(err)
	}
	if m := got.(map[string]any); m["stdout"] != "out\nerr" || m["stderr"] != "" {
		t.Errorf("redirect_stderr: %v", m)
	}
}

func TestExecErrors(t *testing.T) {
	tests := []struct {
		name   string
		fun    string
		args   []any
		kwargs map[string]any
		want   string
	}{
		{"unknown argument", "cmd.run", []any{"true"}, map[string]any{"cwdir": "/"}, "unknown argument 'cwdir'"},
		{"missing cmd", "cmd.run", nil, nil, "missing required argument 'cmd'"},
		{"raise_err", "cmd.run", []any{"echo broken; exit 2"}, map[string]any{"raise_err": true}, "failed with return code 2: broken"},
		{"bad cwd", "cmd.retcode", []any{"true"}, map[string]any{"cwd": "/no/such/dir"}, "specified cwd '/no/such/dir'"},
		{"unsupported template", "cmd.run", []any{"true"}, map[string]any{"template": "mako"}, "unsupported template 'mako'"},
		{"script without source", "cmd.script", nil, nil, "missing required argument 'source'"},
		{"script missing file", "cmd.script", []any{"/no/such/script.sh"}, nil, "unable to cache script /no/such/script.sh"},
		{"script relative source", "cmd.script", []any{"script.sh"}, nil, "source must be salt://... or an absolute path"},
		{"script salt:// without file server", "cmd.script", []any{"salt://x.sh"}, nil, "no file server configured"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(t, &api.Env{}, tc.fun, tc.args, tc.kwargs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

const helloScript = `#!/bin/sh
echo "script args: $# [$1] [$2]"
echo "script cwd: $(pwd)"
echo "script path: $0" >&2
`

func TestExecScript(t *testing.T) {
	roots := t.TempDir()
	work := t.TempDir()
	if err := os.MkdirAll(filepath.Join(roots, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(roots, "scripts", "hello.sh"), []byte(helloScript), 0o644); err != nil {
		t.Fatal(err)
	}
	env := &api.Env{Saltenv: "base", Files: dirFiles{roots}}
	tests := []struct {
		name   string
		source string
		kwargs map[string]any
		stdout string
	}{
		{"salt:// with args and cwd", "salt://scripts/hello.sh", map[string]any{"args": `one "two words"`, "cwd": work},
			"script args: 2 [one] [two words]\nscript cwd: " + work},
		{"local path", filepath.Join(roots, "scripts", "hello.sh"), map[string]any{"cwd": "/"},
			"script args: 0 [] []\nscript cwd: /"},
		{"args as a list", "salt://scripts/hello.sh", map[string]any{"args": []any{"a b", "c'd"}, "cwd": work},
			"script args: 2 [a b] [c'd]\nscript cwd: " + work},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := call(t, env, "cmd.script", []any{tc.source}, tc.kwargs)
			if err != nil {
				t.Fatal(err)
			}
			m := got.(map[string]any)
			if m["stdout"] != tc.stdout || m["retcode"] != 0 {
				t.Errorf("cmd.script = %v, want stdout %q", m, tc.stdout)
			}
			// The temporary copy is gone afterwards and was not the source.
			tmp := strings.TrimPrefix(m["stderr"].(string), "script path: ")
			if !strings.HasSuffix(tmp, ".sh") || strings.HasPrefix(tmp, roots) {
				t.Errorf("script ran from %q, want a temporary .sh copy", tmp)
			}
			if _, err := os.Stat(tmp); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("temporary script %s still exists (err %v)", tmp, err)
			}
		})
	}

	rc, err := call(t, env, "cmd.script_retcode", []any{"salt://scripts/hello.sh"}, map[string]any{"cwd": work})
	if err != nil || rc != 0 {
		t.Errorf("cmd.script_retcode = %v, %v; want 0", rc, err)
	}
	_, err = call(t, env, "cmd.script", []any{"salt://scripts/missing.sh"}, nil)
	if !errors.Is(err, ErrScriptCache) || !errors.Is(err, api.ErrFileNotFound) {
		t.Errorf("missing salt:// script: error = %v, want ErrScriptCache wrapping ErrFileNotFound", err)
	}
}

func TestShellGrain(t *testing.T) {
	dir := t.TempDir()
	shell := filepath.Join(dir, "myshell")
	if err := os.WriteFile(shell, []byte("#!/bin/sh\necho \"myshell $1 $2\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		grains map[string]any
		kwargs map[string]any
		want   string
	}{
		{"grain names the shell", map[string]any{"shell": shell}, nil, "myshell -c echo hi"},
		{"shell argument wins", map[string]any{"shell": shell}, map[string]any{"shell": "/bin/sh"}, "hi"},
		{"unusable grain falls back to /bin/sh", map[string]any{"shell": filepath.Join(dir, "missing")}, nil, "hi"},
		{"no grain", nil, nil, "hi"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := call(t, &api.Env{Grains: tc.grains}, "cmd.run", []any{"echo hi"}, tc.kwargs)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("cmd.run = %q, want %q", got, tc.want)
			}
		})
	}
	skip, _, err := Guard(context.Background(), &api.Env{Grains: map[string]any{"shell": shell}}, "unless", "false", GuardOpts{})
	if err != nil || !skip {
		t.Errorf("guard under the grain's shell (which always succeeds) = %v, %v; want skip", skip, err)
	}
}

func TestScriptTemplate(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "greet.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho '{{ greeting }}, {{ who }}'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := call(t, &api.Env{}, "cmd.script", []any{script}, map[string]any{
		"template": "jinja", "defaults": map[string]any{"greeting": "hello", "who": "nobody"},
		"context": map[string]any{"who": "world"}, "cwd": dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	if out := got.(map[string]any)["stdout"]; out != "hello, world" {
		t.Errorf("rendered script printed %q, want %q", out, "hello, world")
	}
}
