package pillar

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
)

// env carries the pillar of the 05-jinja reference case.
func env() *api.Env {
	return &api.Env{ID: "minion", Pillar: map[string]any{
		"root": "/srv/root",
		"webapp": map[string]any{
			"server": map[string]any{"port": 8443},
			"users":  []any{"alice", "bob", "carol"},
		},
		"pkgs": []any{"vim", "curl"},
	}}
}

func call(t *testing.T, e *api.Env, fun string, args []any, kwargs map[string]any) (any, error) {
	t.Helper()
	return modules.Call(context.Background(), e, fun, args, kwargs)
}

func TestGet(t *testing.T) {
	tests := []struct {
		name   string
		args   []any
		kwargs map[string]any
		want   any
	}{
		// The lookups of the 05-jinja reference case.
		{"port", []any{"webapp:server:port", 8080}, nil, 8443},
		{"bind default", []any{"webapp:server:bind", "127.0.0.1"}, nil, "127.0.0.1"},
		{"deep missing", []any{"webapp:no:such:key", "fallback-value"}, nil, "fallback-value"},
		{"whole mapping", []any{"webapp", map[string]any{}}, nil, map[string]any{
			"server": map[string]any{"port": 8443}, "users": []any{"alice", "bob", "carol"},
		}},
		{"missing without default", []any{"nope"}, nil, ""},
		{"explicit None", []any{"nope"}, map[string]any{"default": nil}, nil},
		{"list index", []any{"webapp:users:1"}, nil, "bob"},
		{"delimiter", []any{"webapp/server/port"}, map[string]any{"delimiter": "/"}, 8443},
		{
			"merge mapping", []any{"webapp:server", map[string]any{"port": 80, "bind": "0.0.0.0"}},
			map[string]any{"merge": true},
			map[string]any{"port": 8443, "bind": "0.0.0.0"},
		},
		{
			"merge mapping, pillar missing", []any{"nope", map[string]any{"bind": "0.0.0.0"}},
			map[string]any{"merge": true},
			map[string]any{"bind": "0.0.0.0"},
		},
		{
			"merge lists", []any{"pkgs", []any{"curl", "git"}},
			map[string]any{"merge": true},
			[]any{"curl", "git", "vim"},
		},
		{
			"merge nested lists", []any{"webapp", map[string]any{"users": []any{"root"}}},
			map[string]any{"merge": true, "merge_nested_lists": true},
			map[string]any{"users": []any{"root", "alice", "bob", "carol"}, "server": map[string]any{"port": 8443}},
		},
		{
			"merge nested lists off replaces", []any{"webapp", map[string]any{"users": []any{"root"}}},
			map[string]any{"merge": true},
			map[string]any{"users": []any{"alice", "bob", "carol"}, "server": map[string]any{"port": 8443}},
		},
		{
			"merge with scalar default is a plain get", []any{"root", "x"},
			map[string]any{"merge": true},
			"/srv/root",
		},
		{
			"merge type mismatch is a plain get", []any{"root", map[string]any{"a": 1}},
			map[string]any{"merge": true},
			"/srv/root",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := call(t, env(), "pillar.get", tc.args, tc.kwargs)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("pillar.get (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGetIsolation(t *testing.T) {
	e := env()
	got, err := call(t, e, "pillar.get", []any{"webapp", map[string]any{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got.(map[string]any)["server"] = "changed" // as {% do app.update(...) %} would
	if _, ok := e.Pillar["webapp"].(map[string]any)["server"].(map[string]any); !ok {
		t.Error("changing pillar.get's result changed the pillar")
	}
	def := map[string]any{"port": 80}
	if _, err := call(t, e, "pillar.get", []any{"webapp:server", def}, map[string]any{"merge": true}); err != nil {
		t.Fatal(err)
	}
	if def["port"] != 80 {
		t.Error("pillar.get merge=True changed the caller's default")
	}
}

func TestGetErrors(t *testing.T) {
	for _, tc := range []struct {
		args   []any
		kwargs map[string]any
		want   string
	}{
		{nil, nil, "key is required"},
		{[]any{"a"}, map[string]any{"saltenv": "dev"}, "unknown argument 'saltenv'"},
		{[]any{"a"}, map[string]any{"merge": "sometimes"}, "argument 'merge'"},
	} {
		_, err := call(t, env(), "pillar.get", tc.args, tc.kwargs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("pillar.get(%v, %v): err = %v, want %q", tc.args, tc.kwargs, err, tc.want)
		}
	}
}

func TestItemsItemRawLs(t *testing.T) {
	e := env()
	all, err := call(t, e, "pillar.items", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(e.Pillar, all); diff != "" {
		t.Errorf("pillar.items (-want +got):\n%s", diff)
	}
	got, err := call(t, e, "pillar.item", []any{"root", "webapp:server:port", "nope"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"root": "/srv/root", "webapp:server:port": 8443, "nope": ""}, got); diff != "" {
		t.Errorf("pillar.item (-want +got):\n%s", diff)
	}
	raw, err := call(t, e, "pillar.raw", []any{"pkgs"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{"vim", "curl"}, raw); diff != "" {
		t.Errorf("pillar.raw (-want +got):\n%s", diff)
	}
	raw, err = call(t, e, "pillar.raw", []any{"webapp:server"}, nil)
	if err != nil || !cmp.Equal(map[string]any{}, raw) {
		t.Errorf("pillar.raw takes no paths: %v, %v", raw, err)
	}
	ls, err := call(t, e, "pillar.ls", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{"pkgs", "root", "webapp"}, ls); diff != "" {
		t.Errorf("pillar.ls (-want +got):\n%s", diff)
	}
	empty, err := call(t, &api.Env{}, "pillar.items", nil, nil)
	if err != nil || !cmp.Equal(map[string]any{}, empty) {
		t.Errorf("pillar.items without a pillar = %v, %v; want {}", empty, err)
	}
}
