package grains

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
)

// env is the minion of the 05-jinja reference case (minion.extra pins
// os_family, role and site:rack) plus a few list and nested grains.
func env() *api.Env {
	return &api.Env{ID: "minion", Grains: map[string]any{
		"id":        "minion",
		"os":        "CentOS Stream",
		"os_family": "RedHat",
		"role":      "web",
		"site":      map[string]any{"rack": "r12"},
		"roles":     []any{"db", "web"},
		"ip_interfaces": map[string]any{
			"eth0": []any{"10.0.0.5", "fe80::1"},
		},
		"osmajorrelease": 9,
		"virtual":        "kvm",
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
		{"top level", []any{"role"}, nil, "web"},
		{"nested", []any{"site:rack"}, nil, "r12"},
		{"list index", []any{"ip_interfaces:eth0:0"}, nil, "10.0.0.5"},
		{"mapping", []any{"site"}, nil, map[string]any{"rack": "r12"}},
		{"missing is empty string", []any{"no:such:grain"}, nil, ""},
		{"positional default", []any{"no:such:grain", "no-grain"}, nil, "no-grain"},
		{"keyword default", []any{"nope"}, map[string]any{"default": 3}, 3},
		{"default None", []any{"nope", nil}, nil, nil},
		{"default mapping", []any{"nope", map[string]any{}}, nil, map[string]any{}},
		{"present beats default", []any{"role", "none"}, nil, "web"},
		{"delimiter", []any{"site.rack"}, map[string]any{"delimiter": "."}, "r12"},
		{"key keyword", nil, map[string]any{"key": "virtual"}, "kvm"},
		{"int grain", []any{"osmajorrelease"}, nil, 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := call(t, env(), "grains.get", tc.args, tc.kwargs)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("grains.get (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGetErrors(t *testing.T) {
	tests := []struct {
		name   string
		args   []any
		kwargs map[string]any
		want   string
	}{
		{"no key", nil, nil, "key is required"},
		{"unknown keyword", []any{"os"}, map[string]any{"defualt": 1}, "unknown argument 'defualt'"},
		{"too many", []any{"os", 1, ":", true, "x"}, nil, "at most 4 positional"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(t, env(), "grains.get", tc.args, tc.kwargs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestGetReturnsCopy(t *testing.T) {
	e := env()
	got, err := call(t, e, "grains.get", []any{"site"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got.(map[string]any)["rack"] = "changed" // as {% do site.update(...) %} would
	if e.Grains["site"].(map[string]any)["rack"] != "r12" {
		t.Error("changing grains.get's result changed the grains")
	}
}

func TestItemItemsLs(t *testing.T) {
	got, err := call(t, env(), "grains.item", []any{"os", "site:rack", "nope"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"os": "CentOS Stream", "site:rack": "r12", "nope": ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("grains.item (-want +got):\n%s", diff)
	}
	got, err = call(t, env(), "grains.item", []any{"nope"}, map[string]any{"default": "x"})
	if err != nil || got.(map[string]any)["nope"] != "x" {
		t.Errorf("grains.item default: %v, %v", got, err)
	}
	if _, err := call(t, env(), "grains.item", []any{"os"}, map[string]any{"sanitise": true}); err == nil {
		t.Error("grains.item accepted an unknown keyword")
	}

	e := env()
	all, err := call(t, e, "grains.items", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(e.Grains, all); diff != "" {
		t.Errorf("grains.items (-want +got):\n%s", diff)
	}
	ls, err := call(t, env(), "grains.ls", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantLs := []any{"id", "ip_interfaces", "os", "os_family", "osmajorrelease", "role", "roles", "site", "virtual"}
	if diff := cmp.Diff(wantLs, ls); diff != "" {
		t.Errorf("grains.ls (-want +got):\n%s", diff)
	}
	for key, want := range map[string]bool{"site:rack": true, "site:row": false, "roles:1": true} {
		got, err := call(t, env(), "grains.has_value", []any{key}, nil)
		if err != nil || got != want {
			t.Errorf("grains.has_value(%s) = %v, %v; want %v", key, got, err, want)
		}
	}
}

func TestFilterBy(t *testing.T) {
	byOS := map[string]any{
		"Debian": map[string]any{"package": "webapp-deb", "conf_dir": "/etc/webapp"},
		"RedHat": map[string]any{"package": "webapp-rpm", "conf_dir": "/etc/webapp.d"},
	}
	tests := []struct {
		name    string
		grains  map[string]any
		args    []any
		kwargs  map[string]any
		want    any
		wantErr string
	}{
		{
			name:   "05-jinja by_os",
			args:   []any{byOS},
			kwargs: map[string]any{"grain": "os_family", "default": "Debian"},
			want:   map[string]any{"package": "webapp-rpm", "conf_dir": "/etc/webapp.d"},
		},
		{
			name: "05-jinja flavour falls back to the default key",
			args: []any{map[string]any{
				"Plan9":   map[string]any{"flavour": "exotic"},
				"default": map[string]any{"flavour": "plain"},
			}},
			kwargs: map[string]any{"grain": "os_family"},
			want:   map[string]any{"flavour": "plain"},
		},
		{
			name:   "named default key",
			grains: map[string]any{"os_family": "Arch"},
			args:   []any{byOS, "os_family", nil, "Debian"},
			want:   map[string]any{"package": "webapp-deb", "conf_dir": "/etc/webapp"},
		},
		{
			name: "nothing matches, no default",
			args: []any{map[string]any{"Debian": 1}},
			want: nil,
		},
		{
			name:   "other grain",
			args:   []any{map[string]any{"web": "nginx", "db": "postgres"}},
			kwargs: map[string]any{"grain": "role"},
			want:   "nginx",
		},
		{
			name: "nested grain path",
			args: []any{map[string]any{"r12": "row-a"}, "site:rack"},
			want: "row-a",
		},
		{
			name:   "glob key",
			args:   []any{map[string]any{"CentOS*": "centos", "Debian": "debian"}},
			kwargs: map[string]any{"grain": "os"},
			want:   "centos",
		},
		{
			name:   "exact key preferred over glob",
			args:   []any{map[string]any{"*": "any", "CentOS Stream": "exact", "CentOS*": "centos"}},
			kwargs: map[string]any{"grain": "os"},
			want:   "exact",
		},
		{
			name:   "list grain, first element that matches",
			args:   []any{map[string]any{"web": "nginx", "db": "postgres"}},
			kwargs: map[string]any{"grain": "roles"},
			want:   "postgres",
		},
		{
			name:   "int grain matches string key",
			args:   []any{map[string]any{"9": "el9", "8": "el8"}},
			kwargs: map[string]any{"grain": "osmajorrelease"},
			want:   "el9",
		},
		{
			name:   "merge over the result",
			args:   []any{byOS},
			kwargs: map[string]any{"merge": map[string]any{"conf_dir": "/opt/webapp"}},
			want:   map[string]any{"package": "webapp-rpm", "conf_dir": "/opt/webapp"},
		},
		{
			name:   "merge when nothing matched",
			args:   []any{map[string]any{"Debian": map[string]any{"a": 1}}},
			kwargs: map[string]any{"merge": map[string]any{"b": 2}},
			want:   map[string]any{"b": 2},
		},
		{
			name:   "empty merge does nothing",
			args:   []any{byOS},
			kwargs: map[string]any{"merge": map[string]any{}},
			want:   map[string]any{"package": "webapp-rpm", "conf_dir": "/etc/webapp.d"},
		},
		{
			name: "base under the result",
			args: []any{map[string]any{
				"common": map[string]any{"user": "www", "conf_dir": "/etc/common", "opts": map[string]any{"a": 1, "b": 1}},
				"RedHat": map[string]any{"conf_dir": "/etc/rh", "opts": map[string]any{"b": 2}},
			}},
			kwargs: map[string]any{"base": "common"},
			want:   map[string]any{"user": "www", "conf_dir": "/etc/rh", "opts": map[string]any{"a": 1, "b": 2}},
		},
		{
			name:   "base alone",
			args:   []any{map[string]any{"common": map[string]any{"user": "www"}, "Debian": map[string]any{}}},
			kwargs: map[string]any{"base": "common"},
			want:   map[string]any{"user": "www"},
		},
		{
			name:    "merge must be a mapping",
			args:    []any{byOS},
			kwargs:  map[string]any{"merge": []any{"x"}},
			wantErr: "merge must be a mapping",
		},
		{
			name:    "base and result must be mappings",
			args:    []any{map[string]any{"common": map[string]any{"a": 1}, "RedHat": "x"}},
			kwargs:  map[string]any{"base": "common"},
			wantErr: "must both be dictionaries",
		},
		{
			name:    "lookup_dict must be a mapping",
			args:    []any{[]any{"Debian"}},
			wantErr: "lookup_dict",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := env()
			if tc.grains != nil {
				e.Grains = tc.grains
			}
			got, err := call(t, e, "grains.filter_by", tc.args, tc.kwargs)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("grains.filter_by (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFilterByDoesNotShareLookup(t *testing.T) {
	lookup := map[string]any{"RedHat": map[string]any{"opts": map[string]any{"a": 1}}}
	got, err := call(t, env(), "grains.filter_by", []any{lookup}, map[string]any{"merge": map[string]any{"opts": map[string]any{"b": 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"opts": map[string]any{"a": 1, "b": 2}}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"a": 1}, lookup["RedHat"].(map[string]any)["opts"]); diff != "" {
		t.Errorf("filter_by changed its lookup table (-want +got):\n%s", diff)
	}
}
