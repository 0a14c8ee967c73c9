package cmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/api"
)

func TestGuard(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "marker")
	if err := os.WriteFile(marker, []byte("present\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		kind    string
		cmds    any
		opts    GuardOpts
		skip    bool
		comment string
	}{
		// The four cases of salt-reference/02-cmd.
		{"unless true skips", "unless", "test -f " + marker, GuardOpts{}, true, "unless condition is true"},
		{"unless false runs", "unless", "test -f " + filepath.Join(dir, "no-such-file"), GuardOpts{}, false, "unless condition is false"},
		{"onlyif false skips", "onlyif", "false", GuardOpts{}, true, "onlyif condition is false"},
		{"onlyif list all true runs", "onlyif", []any{"true", "test -d " + dir}, GuardOpts{}, false, "onlyif condition is true"},

		// Lists: unless skips only when every command succeeds; onlyif
		// skips as soon as one fails.
		{"unless list all true skips", "unless", []any{"true", "true"}, GuardOpts{}, true, "unless condition is true"},
		{"unless list one false runs", "unless", []any{"true", "false"}, GuardOpts{}, false, "unless condition is false"},
		{"unless list false first runs", "unless", []any{"false", "true"}, GuardOpts{}, false, "unless condition is false"},
		{"onlyif list one false skips", "onlyif", []any{"true", "false"}, GuardOpts{}, true, "onlyif condition is false"},

		// The state's process options reach the guard command.
		{"cwd", "onlyif", "test -f marker", GuardOpts{Cwd: dir}, false, "onlyif condition is true"},
		{"env list", "unless", `test "$MODE" = ready`, GuardOpts{Env: []any{map[string]any{"MODE": "ready"}}}, true, "unless condition is true"},
		{"success_retcodes", "unless", "exit 7", GuardOpts{SuccessRetcodes: []int{7}}, true, "unless condition is true"},
		{"nothing given", "unless", nil, GuardOpts{}, false, ""},
		{"empty list", "onlyif", []any{}, GuardOpts{}, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			skip, comment, err := Guard(context.Background(), &api.Env{}, tc.kind, tc.cmds, tc.opts)
			if err != nil {
				t.Fatalf("Guard: %v", err)
			}
			if skip != tc.skip || comment != tc.comment {
				t.Errorf("Guard = (%v, %q), want (%v, %q)", skip, comment, tc.skip, tc.comment)
			}
		})
	}
}

func TestGuardDoesNotRunAfterDecision(t *testing.T) {
	dir := t.TempDir()
	late := filepath.Join(dir, "late")
	// unless stops at the first failing command; onlyif too.
	for _, kind := range []string{"unless", "onlyif"} {
		_, _, err := Guard(context.Background(), nil, kind, []any{"false", "touch " + late}, GuardOpts{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(late); err == nil {
			t.Fatalf("%s ran the command after the first failure", kind)
		}
	}
}

func TestGuardFunctions(t *testing.T) {
	var calls []string
	env := &api.Env{Exec: func(_ context.Context, fun string, args []any, kwargs map[string]any) (any, error) {
		calls = append(calls, fun)
		switch fun {
		case "file.file_exists":
			return args[0] == "/present", nil
		case "test.arg":
			return map[string]any{"args": args, "kwargs": kwargs}, nil
		}
		return nil, errors.New("'" + fun + "' is not available")
	}}
	tests := []struct {
		name    string
		kind    string
		cmds    any
		skip    bool
		comment string
		err     string
	}{
		{name: "unless function true", kind: "unless", cmds: []any{map[string]any{"fun": "file.file_exists", "args": []any{"/present"}}},
			skip: true, comment: "unless condition is true"},
		{name: "unless function false", kind: "unless", cmds: map[string]any{"fun": "file.file_exists", "args": "/absent"},
			comment: "unless condition is false"},
		{name: "onlyif function false", kind: "onlyif", cmds: []any{map[string]any{"fun": "file.file_exists", "args": []any{"/absent"}}},
			skip: true, comment: "onlyif condition is false"},
		{name: "get_return digs into the result", kind: "onlyif",
			cmds: []any{map[string]any{"fun": "test.arg", "get_return": "kwargs:deep:flag", "deep": map[string]any{"flag": false}}},
			skip: true, comment: "onlyif condition is false"},
		{name: "mixed command and function", kind: "unless",
			cmds: []any{"true", map[string]any{"fun": "file.file_exists", "args": []any{"/present"}}},
			skip: true, comment: "unless condition is true"},
		{name: "no fun", kind: "unless", cmds: []any{map[string]any{"args": []any{"x"}}}, err: "no `fun` argument in unless"},
		{name: "unknown function", kind: "onlyif", cmds: []any{map[string]any{"fun": "nope.nope"}}, err: "'nope.nope' is not available"},
		{name: "unknown kind", kind: "creates", cmds: "true", err: `unknown guard "creates"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			skip, comment, err := Guard(context.Background(), env, tc.kind, tc.cmds, GuardOpts{})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if skip != tc.skip || comment != tc.comment {
				t.Errorf("Guard = (%v, %q), want (%v, %q)", skip, comment, tc.skip, tc.comment)
			}
		})
	}
}

func TestGuardCommandThatCannotStartFails(t *testing.T) {
	_, _, err := Guard(context.Background(), nil, "unless", "true", GuardOpts{Cwd: "/no/such/dir"})
	if err == nil || !strings.Contains(err.Error(), "/no/such/dir") {
		t.Fatalf("error = %v, want one naming the missing cwd", err)
	}
}

func TestGuardOptsFrom(t *testing.T) {
	got, err := GuardOptsFrom(map[string]any{
		"cwd": "/srv", "runas": "www", "shell": "/bin/bash", "env": []any{map[string]any{"A": "1"}},
		"umask": 22, "timeout": 5, "success_retcodes": []any{2}, "prepend_path": "/opt/bin",
		"stateful": true, "name": "ignored",
	})
	if err != nil {
		t.Fatal(err)
	}
	m := api.Mode(0o22)
	want := GuardOpts{Cwd: "/srv", Runas: "www", Shell: "/bin/bash", Env: []any{map[string]any{"A": "1"}},
		Umask: &m, Timeout: 5e9, SuccessRetcodes: []int{2}, PrependPath: "/opt/bin"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GuardOptsFrom (-want +got):\n%s", diff)
	}
	if _, err := GuardOptsFrom(map[string]any{"timeout": "soon"}); err == nil {
		t.Error("timeout: soon was accepted")
	}
}

func TestCreates(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	b := filepath.Join(dir, "b")
	if err := os.WriteFile(a, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		paths   any
		skip    bool
		comment string
	}{
		{"one path exists", a, true, a + " exists"},
		{"one path missing", b, false, "Creates files not found"},
		{"list all exist", []any{a, dir}, true, "All files in creates exist"},
		{"list one missing", []any{a, b}, false, "Creates files not found"},
		{"empty list counts as all exist, like Salt", []any{}, true, "All files in creates exist"},
		{"nothing", nil, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			skip, comment := Creates(tc.paths)
			if skip != tc.skip || comment != tc.comment {
				t.Errorf("Creates = (%v, %q), want (%v, %q)", skip, comment, tc.skip, tc.comment)
			}
		})
	}
}
