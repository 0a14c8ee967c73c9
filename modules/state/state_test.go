package state_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/fileserver"
	"github.com/brine-cm/brine/modules"
	_ "github.com/brine-cm/brine/modules/state"
	"github.com/brine-cm/brine/states"
	_ "github.com/brine-cm/brine/states/file"
	_ "github.com/brine-cm/brine/states/test"
)

// tree writes an SLS tree and returns an environment serving it.
func tree(t *testing.T, files map[string]string) (*api.Env, string) {
	t.Helper()
	root := t.TempDir()
	out := t.TempDir()
	for p, src := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(strings.ReplaceAll(src, "OUT", out)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := &api.Env{
		ID:      "m1",
		Saltenv: "base",
		Grains:  map[string]any{"id": "m1", "os_family": "Debian"},
		Pillar:  map[string]any{"motd": "from pillar"},
		Opts:    map[string]any{},
		Files:   fileserver.Roots{Envs: map[string][]string{"base": {root}}},
	}
	env.Exec = func(ctx context.Context, fun string, args []any, kwargs map[string]any) (any, error) {
		return modules.Call(ctx, env, fun, args, kwargs)
	}
	return env, out
}

var sls = map[string]string{
	"top.sls":   "base:\n  '*':\n    - motd\n",
	"motd.sls":  "motd:\n  file.managed:\n    - name: OUT/motd\n    - contents: {{ pillar['motd'] }}\n",
	"other.sls": "other:\n  test.succeed_with_changes\n",
}

func call(t *testing.T, env *api.Env, fun string, args []any, kwargs map[string]any) (any, error) {
	t.Helper()
	return modules.Call(context.Background(), env, fun, args, kwargs)
}

func TestApplyHighstateWithPillarOverride(t *testing.T) {
	env, out := tree(t, sls)
	got, err := call(t, env, "state.apply", nil, map[string]any{"pillar": map[string]any{"motd": "overridden"}})
	if err != nil {
		t.Fatal(err)
	}
	run := got.(*states.Run)
	if run.Failed() || len(run.Returns) != 1 {
		t.Fatalf("want one successful state, got %v", run.Returns)
	}
	content, err := os.ReadFile(filepath.Join(out, "motd"))
	if err != nil || string(content) != "overridden\n" {
		t.Fatalf("motd = %q, %v; want the pillar given on the command line", content, err)
	}
	if env.Pillar["motd"] != "from pillar" {
		t.Errorf("the caller's pillar was changed: %v", env.Pillar)
	}
}

func TestApplyTestModeTouchesNothing(t *testing.T) {
	env, out := tree(t, sls)
	got, err := call(t, env, "state.apply", []any{"motd"}, map[string]any{"test": "True"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ret := range got.(*states.Run).Returns {
		if ret.Result.Result != nil {
			t.Errorf("test mode: want result None, got %v", *ret.Result.Result)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "motd")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("test mode created the file (stat: %v)", err)
	}
}

func TestSLSListAndExclude(t *testing.T) {
	env, _ := tree(t, sls)
	got, err := call(t, env, "state.sls", []any{"motd,other"}, map[string]any{"exclude": "motd", "test": true})
	if err != nil {
		t.Fatal(err)
	}
	run := got.(*states.Run)
	if len(run.Returns) != 1 || run.Returns["test_|-other_|-other_|-succeed_with_changes"] == nil {
		t.Fatalf("exclude=motd: want only the other state, got %v", run.Tags())
	}
}

func TestShowFunctions(t *testing.T) {
	env, _ := tree(t, sls)
	top, err := call(t, env, "state.show_top", nil, nil)
	if err != nil || strings.Join(top.(map[string][]string)["base"], ",") != "motd" {
		t.Fatalf("show_top = %v, %v", top, err)
	}
	low, err := call(t, env, "state.show_lowstate", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	chunks := low.([]map[string]any)
	if len(chunks) != 1 || chunks[0]["state"] != "file" || chunks[0]["fun"] != "managed" || chunks[0]["order"] != 10000 {
		t.Fatalf("show_lowstate = %v", chunks)
	}
	high, err := call(t, env, "state.show_sls", []any{"other"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := high.(map[string]any)["other"]; !ok {
		t.Fatalf("show_sls = %v", high)
	}
}

func TestSingleAndBadArguments(t *testing.T) {
	env, out := tree(t, sls)
	target := filepath.Join(out, "single")
	got, err := call(t, env, "state.single", []any{"file.managed", target}, map[string]any{"contents": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if got.(*states.Run).Failed() {
		t.Fatalf("state.single failed: %v", got.(*states.Run).Returns)
	}
	if _, err := os.Stat(target); err != nil {
		t.Fatal(err)
	}
	if _, err := call(t, env, "state.apply", nil, map[string]any{"tset": true}); err == nil || !strings.Contains(err.Error(), "tset") {
		t.Errorf("unknown keyword: want an error naming it, got %v", err)
	}
	if _, err := call(t, env, "state.apply", nil, map[string]any{"pillar": "nope"}); err == nil || !strings.Contains(err.Error(), "pillar") {
		t.Errorf("pillar not a mapping: want an error naming it, got %v", err)
	}
	_, err = call(t, env, "state.single", []any{"file.managed", target}, map[string]any{"contnts": "x"})
	var ce *states.CompileError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "contnts") {
		t.Errorf("state.single with a typo: want a compile error naming the argument, got %v", err)
	}
}
