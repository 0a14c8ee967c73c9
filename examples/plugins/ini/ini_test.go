package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules/plugin"
	"github.com/brine-cm/brine/modules/plugin/sdk/sdktest"
)

const phpINI = `; PHP settings
[PHP]
engine = On
memory_limit = 128M   
; keep this comment
max_execution_time=30

[Date]
;date.timezone =
`

func write(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "php.ini")
	if err := os.WriteFile(p, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	return p
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func state(t *testing.T, c *plugin.Client, fun, name string, test bool, args map[string]any) api.Result {
	t.Helper()
	res, err := c.State(t.Context(), &plugin.StateCall{Function: fun, ID: "ini", Name: name, Args: args, Test: test, Env: &api.Env{ID: "web1"}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestOptionsPresent(t *testing.T) {
	c := sdktest.Client(t, declaration())
	p := write(t, phpINI)
	args := map[string]any{"sections": map[string]any{
		"PHP":               map[string]any{"memory_limit": "256M", "max_execution_time": 30, "upload_max_filesize": "64M"},
		"Date":              map[string]any{"date.timezone": "UTC"},
		"opcache":           map[string]any{"opcache.enable": 1},
		"user_ini.filename": "",
	}}
	wantChanges := map[string]any{
		"PHP": map[string]any{
			"memory_limit":        map[string]any{"before": "128M", "after": "256M"},
			"upload_max_filesize": map[string]any{"before": nil, "after": "64M"},
		},
		"Date":              map[string]any{"date.timezone": map[string]any{"before": nil, "after": "UTC"}},
		"opcache":           map[string]any{"opcache.enable": map[string]any{"before": nil, "after": "1"}},
		"user_ini.filename": map[string]any{"before": nil, "after": ""},
	}

	res := state(t, c, "ini.options_present", p, true, args)
	if res.Result != nil {
		t.Errorf("test mode result = %v, want None", *res.Result)
	}
	if diff := cmp.Diff(wantChanges, res.Changes); diff != "" {
		t.Errorf("test mode changes (-want +got):\n%s", diff)
	}
	if read(t, p) != phpINI {
		t.Fatalf("test mode changed the file")
	}

	res = state(t, c, "ini.options_present", p, false, args)
	if res.Result == nil || !*res.Result {
		t.Fatalf("apply: %+v", res)
	}
	if diff := cmp.Diff(wantChanges, res.Changes); diff != "" {
		t.Errorf("apply changes (-want +got):\n%s", diff)
	}
	want := `user_ini.filename = 
; PHP settings
[PHP]
engine = On
memory_limit = 256M
; keep this comment
max_execution_time=30
upload_max_filesize = 64M

[Date]
;date.timezone =
date.timezone = UTC

[opcache]
opcache.enable = 1
`
	if diff := cmp.Diff(want, read(t, p)); diff != "" {
		t.Errorf("file after apply (-want +got):\n%s", diff)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode changed to %v", fi.Mode().Perm())
	}

	res = state(t, c, "ini.options_present", p, false, args)
	if res.Result == nil || !*res.Result || len(res.Changes) != 0 || res.Comment != "No anomaly detected" {
		t.Errorf("second apply: %+v", res)
	}
}

func TestOptionsPresentStrictAndNewFile(t *testing.T) {
	c := sdktest.Client(t, declaration())
	p := write(t, phpINI)
	res := state(t, c, "ini.options_present", p, false, map[string]any{"strict": true, "sections": map[string]any{
		"PHP": map[string]any{"engine": "On"},
	}})
	want := map[string]any{"PHP": map[string]any{
		"memory_limit":       map[string]any{"before": "128M", "after": nil},
		"max_execution_time": map[string]any{"before": "30", "after": nil},
	}}
	if diff := cmp.Diff(want, res.Changes); diff != "" {
		t.Errorf("strict changes (-want +got):\n%s", diff)
	}

	fresh := filepath.Join(t.TempDir(), "app.ini")
	res = state(t, c, "ini.options_present", fresh, true, map[string]any{"sections": map[string]any{"server": map[string]any{"port": 8080}}})
	if res.Result != nil {
		t.Errorf("test mode on a missing file: %+v", res)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Fatalf("test mode created %s", fresh)
	}
	state(t, c, "ini.options_present", fresh, false, map[string]any{"separator": ":", "sections": map[string]any{"server": map[string]any{"port": 8080}}})
	if got := read(t, fresh); got != "[server]\nport : 8080\n" {
		t.Errorf("new file:\n%q", got)
	}
}

func TestOptionsAbsent(t *testing.T) {
	c := sdktest.Client(t, declaration())
	p := write(t, phpINI)
	res := state(t, c, "ini.options_absent", p, false, map[string]any{"sections": map[string]any{"PHP": []any{"memory_limit", "nope"}}})
	want := map[string]any{"PHP": map[string]any{"memory_limit": map[string]any{"before": "128M", "after": nil}}}
	if diff := cmp.Diff(want, res.Changes); diff != "" || res.Result == nil || !*res.Result {
		t.Errorf("absent: %+v\n%s", res, diff)
	}
	res = state(t, c, "ini.options_absent", p, false, map[string]any{"sections": map[string]any{"PHP": []any{"memory_limit"}}})
	if len(res.Changes) != 0 || res.Comment != "No anomaly detected" {
		t.Errorf("second absent: %+v", res)
	}
}

func TestExecFunctions(t *testing.T) {
	c := sdktest.Client(t, declaration())
	p := write(t, phpINI)
	exec := func(fun string, args ...any) any {
		t.Helper()
		got, err := c.Exec(t.Context(), &plugin.ExecCall{Function: fun, Env: &api.Env{}, Args: args})
		if err != nil {
			t.Fatalf("%s: %v", fun, err)
		}
		return got
	}
	if got := exec("ini.get_option", p, "PHP", "memory_limit"); got != "128M" {
		t.Errorf("get_option = %v", got)
	}
	if got := exec("ini.get_option", p, "PHP", "nope"); got != nil {
		t.Errorf("get_option of a missing option = %v", got)
	}
	if diff := cmp.Diff(map[string]any{"engine": "On", "memory_limit": "128M", "max_execution_time": "30"}, exec("ini.get_section", p, "PHP")); diff != "" {
		t.Errorf("get_section (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"PHP": map[string]any{"engine": "On", "memory_limit": "128M", "max_execution_time": "30"}, "Date": map[string]any{}},
		exec("ini.get_ini", p)); diff != "" {
		t.Errorf("get_ini (-want +got):\n%s", diff)
	}
	got := exec("ini.set_option", p, map[string]any{"PHP": map[string]any{"engine": "Off"}})
	if diff := cmp.Diff(map[string]any{"PHP": map[string]any{"engine": map[string]any{"before": "On", "after": "Off"}}}, got); diff != "" {
		t.Errorf("set_option (-want +got):\n%s", diff)
	}
	if got := exec("ini.remove_option", p, "PHP", "engine"); got != "Off" {
		t.Errorf("remove_option = %v", got)
	}
	if _, err := c.Exec(t.Context(), &plugin.ExecCall{Function: "ini.get_option", Env: &api.Env{}, Args: []any{p + ".missing", "a", "b"}}); err == nil {
		t.Errorf("get_option of a missing file succeeded")
	}
}
