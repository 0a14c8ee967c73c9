package sys

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
	_ "github.com/brine-cm/brine/modules/cmd"
	_ "github.com/brine-cm/brine/modules/test"
	_ "github.com/brine-cm/brine/states/cmd"
	_ "github.com/brine-cm/brine/states/test"
)

func call(t *testing.T, fun string, args ...any) any {
	t.Helper()
	out, err := modules.Call(context.Background(), &api.Env{}, fun, args, nil)
	if err != nil {
		t.Fatalf("%s %v: %v", fun, args, err)
	}
	return out
}

func strs(t *testing.T, v any) []string {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("got %T, want a list", v)
	}
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.(string)
	}
	return out
}

func TestLists(t *testing.T) {
	tests := []struct {
		fun     string
		args    []any
		has     []string
		hasNot  []string
		onlyPfx string // every entry starts with this
	}{
		{fun: "sys.list_modules", has: []string{"cmd", "sys", "test"}},
		{fun: "sys.list_modules", args: []any{"c*"}, has: []string{"cmd"}, hasNot: []string{"sys", "test"}},
		{fun: "sys.list_functions", has: []string{"cmd.run", "cmd.run_all", "test.ping", "sys.doc", "sys.list_functions"}},
		{fun: "sys.list_functions", args: []any{"sys"}, has: []string{"sys.doc", "sys.list_modules"}, onlyPfx: "sys."},
		{fun: "sys.list_functions", args: []any{"cmd.run*"}, has: []string{"cmd.run", "cmd.run_all", "cmd.run_stdout"},
			hasNot: []string{"cmd.retcode", "cmd.script"}},
		{fun: "sys.list_functions", args: []any{"test", "cmd.which"}, has: []string{"test.ping", "cmd.which"}, hasNot: []string{"cmd.run"}},
		{fun: "sys.list_state_modules", has: []string{"cmd", "test"}},
		{fun: "sys.list_state_functions", has: []string{"cmd.run", "cmd.wait", "cmd.script", "test.nop", "test.configurable_test_state"}},
		{fun: "sys.list_state_functions", args: []any{"test"}, has: []string{"test.nop", "test.show_notification"}, onlyPfx: "test."},
		{fun: "sys.list_functions", args: []any{"nosuchmodule"}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.fun, tc.args), func(t *testing.T) {
			got := strs(t, call(t, tc.fun, tc.args...))
			if !slices.IsSorted(got) {
				t.Errorf("%s %v is not sorted: %v", tc.fun, tc.args, got)
			}
			for _, h := range tc.has {
				if !slices.Contains(got, h) {
					t.Errorf("%s %v = %v, want %s in it", tc.fun, tc.args, got, h)
				}
			}
			for _, h := range tc.hasNot {
				if slices.Contains(got, h) {
					t.Errorf("%s %v = %v, want no %s", tc.fun, tc.args, got, h)
				}
			}
			for _, g := range got {
				if tc.onlyPfx != "" && !strings.HasPrefix(g, tc.onlyPfx) {
					t.Errorf("%s %v lists %s", tc.fun, tc.args, g)
				}
			}
			if tc.has == nil && len(got) != 0 {
				t.Errorf("%s %v = %v, want nothing", tc.fun, tc.args, got)
			}
		})
	}
}

func TestDoc(t *testing.T) {
	docs := func(fun string, args ...any) map[string]any {
		t.Helper()
		m, ok := call(t, fun, args...).(map[string]any)
		if !ok {
			t.Fatalf("%s did not return a mapping", fun)
		}
		return m
	}
	one := docs("sys.doc", "cmd.run")
	if len(one) != 1 || !strings.Contains(one["cmd.run"].(string), "Run a command") {
		t.Errorf("sys.doc cmd.run = %v", one)
	}
	mod := docs("sys.doc", "test")
	if _, ok := mod["test.ping"]; !ok || len(mod) < 5 {
		t.Errorf("sys.doc test = %v, want every test.* function", mod)
	}
	for name := range mod {
		if !strings.HasPrefix(name, "test.") {
			t.Errorf("sys.doc test includes %s", name)
		}
	}
	glob := docs("sys.doc", "cmd.run_*")
	if _, ok := glob["cmd.run_all"]; !ok || len(glob) != 3 {
		t.Errorf("sys.doc cmd.run_* = %v, want run_all, run_stdout, run_stderr", glob)
	}
	all := docs("sys.doc")
	for _, name := range modules.Names() {
		if _, ok := all[name]; !ok {
			t.Errorf("sys.doc without arguments misses %s", name)
		}
	}
	for name, d := range all {
		if d == "" {
			t.Errorf("%s has no documentation", name)
		}
	}

	st := docs("sys.state_doc", "cmd.wait")
	if len(st) != 1 || !strings.Contains(st["cmd.wait"].(string), "watch") {
		t.Errorf("sys.state_doc cmd.wait = %v", st)
	}
	stMod := docs("sys.state_doc", "test")
	if _, ok := stMod["test.configurable_test_state"]; !ok {
		t.Errorf("sys.state_doc test = %v", stMod)
	}

	spec := docs("sys.argspec", "cmd.run")
	if args := spec["cmd.run"].(map[string]any)["args"].([]any); len(args) == 0 || args[0] != "cmd" {
		t.Errorf("sys.argspec cmd.run = %v", spec)
	}
	stSpec := docs("sys.state_argspec", "cmd.script")
	if args := stSpec["cmd.script"].(map[string]any)["args"].([]any); !slices.Contains(args, any("source")) {
		t.Errorf("sys.state_argspec cmd.script = %v", stSpec)
	}
}

func TestBadArguments(t *testing.T) {
	if _, err := modules.Call(context.Background(), &api.Env{}, "sys.list_functions", []any{"["}, nil); err == nil {
		t.Error("a malformed glob was accepted")
	}
	if _, err := modules.Call(context.Background(), &api.Env{}, "sys.doc", nil, map[string]any{"module": "x"}); err == nil {
		t.Error("an unknown keyword was accepted")
	}
}
