package file

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/fileserver"
	"github.com/brine-cm/brine/states"
)

// apply runs a registered state function the way the engine does: strict
// validation of the arguments, then Apply.
func apply(t *testing.T, env *api.Env, fun, name string, args map[string]any, test bool) api.Result {
	t.Helper()
	f, ok := states.Lookup(fun)
	if !ok {
		t.Fatalf("%s is not registered", fun)
	}
	if args == nil {
		args = map[string]any{}
	}
	if err := f.Validate(args); err != nil {
		t.Fatalf("%s %s: arguments rejected: %v", fun, name, err)
	}
	return f.Apply(context.Background(), &states.Request{ID: name, Name: name, Args: args, Test: test, Env: env})
}

// plain converts a result to JSON-shaped values, as a user sees it in
// `--out json`, so it can be compared with Salt's output.
func plain(t *testing.T, r api.Result) map[string]any {
	t.Helper()
	b, err := json.Marshal(map[string]any{"result": r.Result, "comment": r.Comment, "changes": r.Changes})
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func wantResult(t *testing.T, r api.Result, want *bool) {
	t.Helper()
	switch {
	case want == nil && r.Result != nil:
		t.Errorf("result = %v, want None (comment %q)", *r.Result, r.Comment)
	case want != nil && r.Result == nil:
		t.Errorf("result = None, want %v (comment %q)", *want, r.Comment)
	case want != nil && *want != *r.Result:
		t.Errorf("result = %v, want %v (comment %q)", *r.Result, *want, r.Comment)
	}
}

var (
	yes = api.Tri(true)
	no  = api.Tri(false)
)

// snapshot records every path under dir with its type, mode, owner,
// content or link target, so tests can prove test mode touched nothing.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		desc := fmt.Sprintf("%v mtime=%d", fi.Mode(), fi.ModTime().UnixNano())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += " " + string(b)
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// writeFiles creates files (path relative to dir -> content).
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func modeOf(t *testing.T, p string) string {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%04o", fi.Mode().Perm())
}

// saltEnv serves salt:// from a fresh directory holding files.
func saltEnv(t *testing.T, files map[string]string) *api.Env {
	t.Helper()
	root := t.TempDir()
	writeFiles(t, root, files)
	return saltEnvAt(root)
}

// saltEnvAt serves salt:// from root.
func saltEnvAt(root string) *api.Env {
	return &api.Env{ID: "test-minion", Saltenv: "base", Files: fileserver.Roots{Envs: map[string][]string{"base": {root}}},
		Grains: map[string]any{"id": "test-minion"}, Pillar: map[string]any{}}
}

func umask022(t *testing.T) bool {
	t.Helper()
	p := filepath.Join(t.TempDir(), "probe")
	if err := os.WriteFile(p, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	return modeOf(t, p) == "0644"
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
