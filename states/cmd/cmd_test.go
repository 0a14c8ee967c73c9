package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states"
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

func (d dirFiles) Stat(context.Context, string, string) (api.FileInfo, error) {
	return api.FileInfo{}, errors.New("not needed here")
}

func (d dirFiles) List(context.Context, string, string) ([]api.FileInfo, error) {
	return nil, errors.New("not needed here")
}

// saltState is one entry of a Salt result file.
type saltState struct {
	Result  *bool          `json:"result"`
	Comment string         `json:"comment"`
	Changes map[string]any `json:"changes"`
}

func loadSalt(t *testing.T, file string) map[string]saltState {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Local map[string]saltState `json:"local"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return doc.Local
}

// normalise makes a brine result comparable with Salt's JSON: numbers as
// JSON numbers, the root path as __ROOT__, every pid 0.
func normalise(t *testing.T, r api.Result, root string) saltState {
	t.Helper()
	s := asJSON(t, r, root)
	if pid, ok := s.Changes["pid"].(float64); ok {
		if pid <= 0 {
			t.Errorf("pid = %v, want the child's real pid", pid)
		}
		s.Changes["pid"] = float64(0)
	}
	return s
}

// asJSON round-trips a result through JSON, the root path as __ROOT__.
func asJSON(t *testing.T, r api.Result, root string) saltState {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.ReplaceAll(string(b), root, "__ROOT__"))
	var s saltState
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// slsState is one cmd.* state of testdata/commands.sls, as the engine would
// hand it over (guards and requisites removed). __ROOT__ stands for the
// run's root directory.
type slsState struct {
	id, fun, name string
	args          map[string]any
	// watchFired: a watched state changed, so the engine calls mod_watch.
	watchFired bool
	// inApply/inTest: compare with salt-apply1.json / salt-test.json.
	// States skipped by the engine's unless/onlyif in a run are left out
	// of that run's comparison.
	inApply, inTest bool
}

var commandsSLS = []slsState{
	{id: "plain_run", fun: "run", name: "echo hello from cmd.run", inApply: true, inTest: true},
	// unless fails in test mode (the marker does not exist yet), so Salt
	// calls cmd.run; in apply the engine skips it.
	{id: "skipped_by_unless", fun: "run", name: "echo this should not run", inTest: true},
	{id: "runs_because_unless_fails", fun: "run", name: "echo unless was false", inApply: true, inTest: true},
	{id: "runs_because_onlyif_passes", fun: "run", name: "echo onlyif was true", inApply: true},
	{id: "build_once", fun: "run", name: "echo built > __ROOT__/work/built.txt", inApply: true, inTest: true},
	{id: "in_cwd", fun: "run", name: "pwd", args: map[string]any{"cwd": "__ROOT__/work"}, inApply: true, inTest: true},
	{id: "with_env", fun: "run", name: `echo "greeting=$GREETING"; echo "to stderr" >&2`,
		args: map[string]any{"env": []any{map[string]any{"GREETING": "bonjour"}}}, inApply: true, inTest: true},
	{id: "stateful_no_change", fun: "run", name: "echo checking\necho \"changed=no comment='already configured'\"\n",
		args: map[string]any{"stateful": true}, inApply: true, inTest: true},
	{id: "stateful_change", fun: "run", name: `echo "changed=yes comment='did a thing' extra=value"`,
		args: map[string]any{"stateful": true}, inApply: true, inTest: true},
	{id: "stateful_multiline_change", fun: "run", name: `echo "step one done"; echo "changed=yes comment='two lines'"`,
		args: map[string]any{"stateful": true}, inApply: true, inTest: true},
	{id: "stateful_json", fun: "run", name: `echo '{"changed": true, "comment": "json said so", "detail": 42}'`,
		args: map[string]any{"stateful": true}, inApply: true, inTest: true},
	{id: "wait_for_marker", fun: "wait", name: "echo marker changed", watchFired: true, inApply: true, inTest: true},
	{id: "wait_not_triggered", fun: "wait", name: "echo this should not run", inApply: true, inTest: true},
	{id: "script_from_salt", fun: "script", name: "script_from_salt",
		args:    map[string]any{"source": "salt://scripts/hello.sh", "args": `one "two words"`, "cwd": "__ROOT__/work"},
		inApply: true, inTest: true},
	{id: "failing_command", fun: "run", name: "echo about to fail; echo oops >&2; exit 3", inApply: true, inTest: true},
	{id: "after_failure", fun: "run", name: "echo independent states still run", inApply: true, inTest: true},
}

// expand replaces __ROOT__ in strings, recursively.
func expand(v any, root string) any {
	switch x := v.(type) {
	case string:
		return strings.ReplaceAll(x, "__ROOT__", root)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = expand(e, root)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = expand(e, root)
		}
		return out
	}
	return v
}

// apply runs one state the way the engine does: Validate, then Apply or
// ModWatch.
func apply(t *testing.T, ctx context.Context, st slsState, root string, env *api.Env, test bool) api.Result {
	t.Helper()
	f, ok := states.Lookup("cmd." + st.fun)
	if !ok {
		t.Fatalf("cmd.%s is not registered", st.fun)
	}
	args, _ := expand(st.args, root).(map[string]any)
	if args == nil {
		args = map[string]any{}
	}
	if err := f.Validate(args); err != nil {
		t.Fatalf("cmd.%s rejects the arguments of %s: %v", st.fun, st.id, err)
	}
	req := &states.Request{ID: st.id, Name: expand(st.name, root).(string), SLS: "commands", Args: args, Test: test, Env: env}
	if st.watchFired {
		req.Changes = map[string]map[string]any{"file_|-marker_|-" + root + "/work/marker_|-managed": {"diff": "New file"}}
		return f.ModWatch(ctx, req)
	}
	return f.Apply(ctx, req)
}

// newRoot makes a root like the reference run's: a work directory (made by
// file.directory in the SLS) and a file_roots with scripts/hello.sh.
func newRoot(t *testing.T) (root string, env *api.Env) {
	t.Helper()
	root = t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "work"), 0o755); err != nil {
		t.Fatal(err)
	}
	roots := t.TempDir()
	script, err := os.ReadFile(filepath.Join("testdata", "hello.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(roots, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(roots, "scripts", "hello.sh"), script, 0o644); err != nil {
		t.Fatal(err)
	}
	return root, &api.Env{ID: "local", Saltenv: "base", Files: dirFiles{roots}}
}

func TestMatchesSaltReference(t *testing.T) {
	for _, mode := range []struct {
		name string
		file string
		test bool
	}{
		{"apply", "salt-apply1.json", false},
		{"test mode", "salt-test.json", true},
	} {
		t.Run(mode.name, func(t *testing.T) {
			want := loadSalt(t, mode.file)
			root, env := newRoot(t)
			compared := 0
			for _, st := range commandsSLS {
				if (mode.test && !st.inTest) || (!mode.test && !st.inApply) {
					continue
				}
				t.Run(st.id, func(t *testing.T) {
					tag := api.Tag("cmd", st.id, st.name, st.fun)
					w, ok := want[tag]
					if !ok {
						t.Fatalf("no %s in %s", tag, mode.file)
					}
					got := normalise(t, apply(t, context.Background(), st, root, env, mode.test), root)
					if diff := cmp.Diff(w, got); diff != "" {
						t.Errorf("%s differs from Salt (-salt +brine):\n%s", tag, diff)
					}
				})
				compared++
			}
			if compared < 14 {
				t.Errorf("compared %d states, want every cmd state of the case", compared)
			}
			_, err := os.Stat(filepath.Join(root, "work", "built.txt"))
			if mode.test && err == nil {
				t.Error("test mode ran build_once: work/built.txt exists")
			}
			if !mode.test && err != nil {
				t.Errorf("build_once did not create work/built.txt: %v", err)
			}
		})
	}
}

func run(t *testing.T, ctx context.Context, fun, name string, args map[string]any, test bool) api.Result {
	t.Helper()
	root, env := newRoot(t)
	return apply(t, ctx, slsState{id: "t", fun: fun, name: name, args: args}, root, env, test)
}

func TestTestModeDoesNotRunTheCommand(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "marker")
	for _, fun := range []string{"run", "wait"} {
		t.Run(fun, func(t *testing.T) {
			st := slsState{id: "t", fun: fun, name: "touch " + marker, watchFired: fun == "wait"}
			root, env := newRoot(t)
			r := apply(t, context.Background(), st, root, env, true)
			if r.Result != nil {
				t.Errorf("result = %v, want None in test mode", *r.Result)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("the command ran in test mode")
			}
		})
	}
	t.Run("wait without a watch", func(t *testing.T) {
		r := run(t, context.Background(), "wait", "touch "+marker, nil, false)
		if r.Result == nil || !*r.Result || len(r.Changes) != 0 {
			t.Errorf("cmd.wait = %+v, want true without changes", r)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Fatal("cmd.wait ran its command without a watch firing")
		}
	})
}

func TestRunResults(t *testing.T) {
	tests := []struct {
		name    string
		cmd     string
		args    map[string]any
		test    bool
		result  *bool
		comment string // substring
		changes map[string]any
	}{
		{name: "success_retcodes", cmd: "exit 2", args: map[string]any{"success_retcodes": []any{2}},
			result: api.Tri(true), comment: `Command "exit 2" run`,
			changes: map[string]any{"pid": 0, "retcode": 0, "stdout": "", "stderr": ""}},
		{name: "timeout", cmd: "echo started; sleep 30", args: map[string]any{"timeout": 0.2},
			result: api.Tri(false), comment: `Command "echo started; sleep 30" run`,
			changes: map[string]any{"pid": 0, "retcode": 1, "stdout": "echo started; sleep 30 : Timed out after 0.2 seconds", "stderr": ""}},
		{name: "ignore_timeout", cmd: "sleep 30", args: map[string]any{"timeout": 0.2, "ignore_timeout": true},
			result: api.Tri(true), comment: `Command "sleep 30" run`,
			changes: map[string]any{"pid": 0, "retcode": 0, "stdout": "sleep 30 : Timed out after 0.2 seconds", "stderr": ""}},
		{name: "missing cwd", cmd: "true", args: map[string]any{"cwd": "/no/such/dir"},
			result: api.Tri(false), comment: `Desired working directory "/no/such/dir" is not available`, changes: map[string]any{}},
		{name: "missing shell", cmd: "true", args: map[string]any{"shell": "/no/such/shell"},
			result: api.Tri(false), comment: "the shell /no/such/shell is not available", changes: map[string]any{}},
		{name: "hide_output", cmd: "echo secret", args: map[string]any{"hide_output": true},
			result: api.Tri(true), comment: `Command "echo secret" run`,
			changes: map[string]any{"pid": 0, "retcode": 0, "stdout": "", "stderr": ""}},
		{name: "stateful test_name runs in test mode", cmd: "touch /should/not/run",
			args: map[string]any{"stateful": []any{map[string]any{"test_name": `echo "changed=yes comment='would change'"`}}},
			test: true, result: nil, comment: "would change",
			changes: map[string]any{"changed": "yes", "pid": 0, "retcode": 0, "stdout": "changed=yes comment='would change", "stderr": ""}},
		{name: "stateful failing command stays failed", cmd: "echo changed=no comment=broken; exit 1",
			args: map[string]any{"stateful": true}, result: api.Tri(false), comment: "broken", changes: map[string]any{}},
		{name: "stateful test mode", cmd: "echo changed=yes", args: map[string]any{"stateful": true}, test: true,
			result: nil, comment: "", changes: map[string]any{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, context.Background(), "run", tc.cmd, tc.args, tc.test)
			got := normalise(t, r, "/nonexistent-root")
			want := asJSON(t, api.Result{Result: tc.result, Comment: got.Comment, Changes: tc.changes}, "/nonexistent-root")
			if !strings.Contains(got.Comment, tc.comment) {
				t.Errorf("comment = %q, want it to contain %q", got.Comment, tc.comment)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunStateDeadlineKillsCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := run(t, ctx, "run", "echo started; sleep 30", nil, false)
	if time.Since(start) > 10*time.Second {
		t.Errorf("the state outlived its deadline by %v", time.Since(start))
	}
	if r.Result == nil || *r.Result || !strings.Contains(r.Comment, "was killed: context deadline exceeded") {
		t.Errorf("result = %v %q, want false, naming the deadline", r.Result, r.Comment)
	}
	if r.Changes["stdout"] != "started" {
		t.Errorf("changes = %v, want the output printed before the kill", r.Changes)
	}
}

func TestScriptLocal(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "setup.sh")
	body := "#!/bin/sh\necho \"args: $*\"\necho changed=yes comment=\"'set up'\"\n"
	if err := os.WriteFile(script, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		state   string
		args    map[string]any
		test    bool
		result  *bool
		comment string
		changes map[string]any
	}{
		{name: "args from the name", state: script + " first second", args: map[string]any{"cwd": dir},
			result: api.Tri(true), comment: "Command '" + script + " first second' run",
			changes: map[string]any{"pid": 0, "retcode": 0, "stdout": "args: first second\nchanged=yes comment='set up'", "stderr": ""}},
		{name: "stateful", state: "setup", args: map[string]any{"source": script, "stateful": true},
			result: api.Tri(true), comment: "set up",
			changes: map[string]any{"changed": "yes", "pid": 0, "retcode": 0, "stdout": "args: ", "stderr": ""}},
		{name: "test mode", state: "setup", args: map[string]any{"source": script}, test: true,
			result: nil, comment: "Command 'setup' would have been executed", changes: map[string]any{}},
		{name: "missing source", state: "setup", args: map[string]any{"source": filepath.Join(dir, "missing.sh")},
			result: api.Tri(false), comment: "unable to cache script " + filepath.Join(dir, "missing.sh"), changes: map[string]any{}},
		{name: "missing salt:// source", state: "setup", args: map[string]any{"source": "salt://scripts/missing.sh"},
			result: api.Tri(false), comment: "unable to cache script salt://scripts/missing.sh from saltenv 'base'", changes: map[string]any{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, context.Background(), "script", tc.state, tc.args, tc.test)
			got := normalise(t, r, "/nonexistent-root")
			if !strings.HasPrefix(got.Comment, tc.comment) {
				t.Errorf("comment = %q, want it to start with %q", got.Comment, tc.comment)
			}
			want := asJSON(t, api.Result{Result: tc.result, Comment: got.Comment, Changes: tc.changes}, "/nonexistent-root")
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		fun  string
		args map[string]any
		want string
	}{
		{"cmd.run", map[string]any{"cwdd": "/"}, "unknown argument 'cwdd'"},
		{"cmd.run", map[string]any{"env": 3}, "env"},
		{"cmd.wait", map[string]any{"timeout": "soon"}, "timeout"},
		{"cmd.script", map[string]any{"sorce": "salt://x"}, "unknown argument 'sorce'"},
		{"cmd.run", map[string]any{"cwd": "/", "runas": "root", "umask": "022", "stateful": true, "use_vt": false}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.fun+" "+tc.want, func(t *testing.T) {
			f, _ := states.Lookup(tc.fun)
			err := f.Validate(tc.args)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate error = %v, want %q", err, tc.want)
			}
		})
	}
	for _, name := range []string{"cmd.run", "cmd.wait", "cmd.watch", "cmd.script", "cmd.wait_script"} {
		f, ok := states.Lookup(name)
		if !ok || f.ModWatch == nil || f.Doc == "" {
			t.Errorf("%s: registered %v, mod_watch %v, documented %v", name, ok, f.ModWatch != nil, f.Doc != "")
		}
	}
}
