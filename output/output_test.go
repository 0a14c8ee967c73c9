package output

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// golden compares got with testdata/<name>.golden, or rewrites it.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./output -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

// run is a small state run touching every branch of the highstate layout:
// changed, clean, failed with a multi-line comment, pending (test mode),
// nested changes with a list, warnings, and a name equal to the ID.
func run() *states.Run {
	ret := func(num int, id, name, sls string, result *bool, comment string, changes map[string]any, dur float64) *api.StateReturn {
		return &api.StateReturn{
			Result:    api.Result{Result: result, Comment: comment, Changes: changes},
			Name:      name,
			ID:        id,
			SLS:       sls,
			RunNum:    num,
			StartTime: "10:00:00." + strings.Repeat("0", 5) + string(rune('0'+num)),
			Duration:  dur,
		}
	}
	tr, fa := api.Tri(true), api.Tri(false)
	warned := ret(5, "old_arg", "old_arg", "web", tr, "Success!", map[string]any{}, 0.25)
	warned.Warnings = []string{"The 'onlyif' argument of test.succeed_without_changes is deprecated and will be removed in a future release; use 'unless' instead, which reads better."}
	return &states.Run{Returns: map[string]*api.StateReturn{
		"file_|-motd_|-/tmp/q/motd_|-managed": ret(0, "motd", "/tmp/q/motd", "web", tr,
			"File /tmp/q/motd updated", map[string]any{"diff": "New file", "mode": "0644"}, 3.21),
		"test_|-ping_|-ping_|-succeed_without_changes": ret(1, "ping", "ping", "web", tr,
			"Success!", map[string]any{}, 0.5),
		"cmd_|-migrate_|-false_|-run": ret(2, "migrate", "false", "web", fa,
			"Command \"false\" run\nsecond line of comment\n", map[string]any{"pid": 0, "retcode": 1, "stderr": "", "stdout": "out line 1\nout line 2"}, 12),
		"test_|-would_change_|-would_change_|-succeed_with_changes": ret(3, "would_change", "would_change", "web", nil,
			"Success!", map[string]any{"testing": map[string]any{"new": "Something pretended to change", "old": "Unchanged"}}, 1.0),
		"file_|-data_dir_|-/tmp/q/data_|-directory": ret(4, "data_dir", "/tmp/q/data", "web", tr,
			"", map[string]any{"/tmp/q/data": map[string]any{"directory": "new"}, "removed": []any{"/tmp/q/data/a", "/tmp/q/data/b"}, "user": nil}, 1000.5),
		"test_|-old_arg_|-old_arg_|-succeed_without_changes": warned,
	}}
}

func render(t *testing.T, p Printer, id string, v any, o Options) string {
	t.Helper()
	var buf bytes.Buffer
	if err := p(&buf, id, v, o); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestHighstate(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"highstate_full", Options{}},
		{"highstate_terse", Options{StateOutput: "terse"}},
		{"highstate_changes", Options{StateOutput: "changes"}},
		{"highstate_mixed", Options{StateOutput: "mixed"}},
		{"highstate_terse_id", Options{StateOutput: "terse_id"}},
		{"highstate_hide_clean", Options{HideClean: true}},
		{"highstate_color", Options{Color: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, tc.name, render(t, Highstate, "local", run(), tc.o))
		})
	}
}

func TestHighstateShape(t *testing.T) {
	out := render(t, Highstate, "local", run(), Options{})
	for _, want := range []string{
		"local:\n----------\n          ID: motd\n    Function: file.managed\n        Name: /tmp/q/motd\n      Result: True\n",
		"     Changes:   \n              ----------\n              diff:\n                  New file\n",
		"Summary for local\n------------\nSucceeded: 5 (unchanged=1, changed=4)\nFailed:    1\nWarnings:  1\n------------\nTotal states run:     6\n",
		"Total run time:   1.017 s", // 1017.46 ms
	} {
		if !strings.Contains(out, want) {
			t.Errorf("highstate output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\033[") {
		t.Error("colour codes with colour off")
	}
	if n := strings.Count(out, "        Name: "); n != 3 {
		t.Errorf("Name: printed %d times, want 3 (only where it differs from the ID)", n)
	}
}

func TestCompileError(t *testing.T) {
	ce := &states.CompileError{Errors: []string{
		"Rendering SLS 'base:bad_yaml' failed: did not find expected key; line 4",
		"State 'file.no_such_function' was not found in SLS 'unknown_function'",
	}}
	golden(t, "highstate_compile_error", render(t, Highstate, "local", ce, Options{}))
	golden(t, "json_compile_error", render(t, JSON, "local", ce, Options{}))
	// A compile error arriving as decoded JSON prints the same way.
	var decoded map[string]any
	if err := json.Unmarshal([]byte(render(t, JSON, "local", ce, Options{})), &decoded); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(render(t, Highstate, "local", ce, Options{}), render(t, Highstate, "local", decoded["local"], Options{})); diff != "" {
		t.Errorf("compile error from JSON (-direct +decoded):\n%s", diff)
	}
}

func TestJSON(t *testing.T) {
	out := render(t, JSON, "local", run(), Options{})
	golden(t, "json_run", out)
	var doc map[string]map[string]map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("json output does not parse: %v\n%s", err, out)
	}
	got := doc["local"]["file_|-motd_|-/tmp/q/motd_|-managed"]
	for _, k := range []string{"result", "comment", "changes", "name", "__id__", "__sls__", "__run_num__", "start_time", "duration"} {
		if _, ok := got[k]; !ok {
			t.Errorf("state return lacks %q: %v", k, got)
		}
	}
	if !strings.HasPrefix(out, "{\n    \"local\": {\n        \"") {
		t.Errorf("json output is not indented by four spaces:\n%s", out)
	}
	golden(t, "json_scalar", render(t, JSON, "local", true, Options{}))
}

// A run that went through JSON (the network transport) prints exactly as
// the original.
func TestStateReturnsFromJSON(t *testing.T) {
	var doc map[string]any
	dec := json.NewDecoder(strings.NewReader(render(t, JSON, "web1", run(), Options{})))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	rets, err := StateReturns(doc["web1"])
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []Options{{}, {StateOutput: "terse"}, {Color: true}} {
		direct := render(t, Highstate, "web1", run(), o)
		if diff := cmp.Diff(direct, render(t, Highstate, "web1", rets, o)); diff != "" {
			t.Errorf("StateReturns round trip %+v (-direct +converted):\n%s", o, diff)
		}
		if diff := cmp.Diff(direct, render(t, Highstate, "web1", doc["web1"], o)); diff != "" {
			t.Errorf("highstate of a decoded map %+v (-direct +decoded):\n%s", o, diff)
		}
	}
	for _, bad := range []any{"text", map[string]any{"a": 1}, map[string]any{"a": map[string]any{"comment": "no result"}}} {
		if _, err := StateReturns(bad); err == nil {
			t.Errorf("StateReturns(%v) accepted a value that is not a state run", bad)
		}
	}
}

// grains is a return shaped like grains.items: nested maps, lists of
// scalars and of maps, numbers, booleans, None, a multi-line string.
func grains() map[string]any {
	return map[string]any{
		"os":         "Debian",
		"osrelease":  "12",
		"num_cpus":   2,
		"mem_total":  1.5,
		"virtual":    nil,
		"selinux":    false,
		"ipv4":       []any{"10.0.0.2", "127.0.0.1"},
		"disks":      []any{map[string]any{"name": "sda", "size": 100}, []any{"x", "y"}},
		"motd":       "line one\nline two\n",
		"empty":      "",
		"empty_map":  map[string]any{},
		"locale":     map[string]any{"defaultencoding": "utf-8", "detectedencoding": "utf-8"},
		"big":        1e20,
		"html <tag>": "a & b",
	}
}

func TestNested(t *testing.T) {
	golden(t, "nested_map", render(t, Nested, "local", grains(), Options{}))
	for _, tc := range []struct {
		name  string
		value any
		want  string
	}{
		{"bool", true, "local:\n    True\n"},
		{"none", nil, "local:\n    None\n"},
		{"int", 42, "local:\n    42\n"},
		{"float", 2.0, "local:\n    2.0\n"},
		{"string", "hello", "local:\n    hello\n"},
		{"multi-line string", "a\nb", "local:\n    a\n    b\n"},
		{"empty string", "", "local:\n"},
		{"list", []any{"a", 1}, "local:\n    - a\n    - 1\n"},
		{"list of strings", []string{"x"}, "local:\n    - x\n"},
		{"map", map[string]any{"b": 1, "a": "x"}, "local:\n    ----------\n    a:\n        x\n    b:\n        1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, render(t, Nested, "local", tc.value, Options{})); diff != "" {
				t.Errorf("nested (-want +got):\n%s", diff)
			}
		})
	}
	colored := render(t, Nested, "local", map[string]any{"a": "x"}, Options{Color: true, Retcode: 1})
	if !strings.Contains(colored, "\033[0;31m") {
		t.Errorf("nested with a failed retcode is not red: %q", colored)
	}
}

func TestTxtAndYAML(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     Printer
		value any
		want  string
	}{
		{"txt string", Txt, "a\nb", "local: a\nlocal: b\n"},
		{"txt bool", Txt, true, "local: True\n"},
		{"txt map", Txt, map[string]any{"b": []any{1, "it's"}, "a": nil}, "local: {'a': None, 'b': [1, \"it's\"]}\n"},
		{"yaml map", YAML, map[string]any{"b": []any{1, "x"}, "a": "yes"}, "local:\n  a: \"yes\"\n  b:\n    - 1\n    - x\n"},
		{"yaml bool", YAML, true, "local: true\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, render(t, tc.p, "local", tc.value, Options{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	golden(t, "yaml_run", render(t, YAML, "local", run(), Options{}))
}

func TestWrite(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, "", "local", run(), Options{}); err != nil || !strings.Contains(buf.String(), "Summary for local") {
		t.Errorf("default format for a state run is not highstate: %v\n%s", err, buf.String())
	}
	buf.Reset()
	if err := Write(&buf, "", "local", true, Options{}); err != nil || buf.String() != "local:\n    True\n" {
		t.Errorf("default format for a plain value is not nested: %v %q", err, buf.String())
	}
	if err := Write(&buf, "fancy", "local", true, Options{}); err == nil || !strings.Contains(err.Error(), "fancy") {
		t.Errorf("unknown outputter: %v", err)
	}
	buf.Reset()
	if err := Write(&buf, "highstate", "local", map[string]any{"a": 1}, Options{}); err != nil || buf.String() != "local:\n    ----------\n    a:\n        1\n" {
		t.Errorf("highstate of non-state data should fall back to nested: %v %q", err, buf.String())
	}
}

func TestAutoColor(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if AutoColor(f) {
		t.Error("colour on for a regular file")
	}
	if AutoColor(&bytes.Buffer{}) {
		t.Error("colour on for a buffer")
	}
}
