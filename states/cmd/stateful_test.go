package cmd

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/api"
)

func TestReinterpret(t *testing.T) {
	ran := func(stdout, stderr string) api.Result {
		return api.Result{Result: api.Tri(true), Comment: `Command "x" run`,
			Changes: map[string]any{"pid": 7, "retcode": 0, "stdout": stdout, "stderr": stderr}}
	}
	tests := []struct {
		name string
		in   api.Result
		want api.Result
	}{
		{name: "no output means no changes",
			in:   ran("", ""),
			want: api.Result{Result: api.Tri(true), Comment: "", Changes: map[string]any{}}},
		{name: "stderr only becomes the comment",
			in:   ran("", "something odd"),
			want: api.Result{Result: api.Tri(true), Comment: "something odd", Changes: map[string]any{}}},
		{name: "changed=no keeps changes empty",
			in:   ran("working\nchanged=no comment='all good' extra=1", ""),
			want: api.Result{Result: api.Tri(true), Comment: "all good", Changes: map[string]any{}}},
		{name: "no changed key means no",
			in:   ran("comment=quiet", ""),
			want: api.Result{Result: api.Tri(true), Comment: "quiet", Changes: map[string]any{}}},
		{name: "changed=TRUE any case, blank lines before the last",
			in: ran("step\n\nchanged=TRUE", ""),
			want: api.Result{Result: api.Tri(true), Comment: "", Changes: map[string]any{
				"changed": "TRUE", "pid": 7, "retcode": 0, "stdout": "step\n", "stderr": ""}}},
		{name: "quoted values with spaces and escapes",
			in: ran(`changed=1 msg="a \"quoted\" word" path=/x\ y`, ""),
			want: api.Result{Result: api.Tri(true), Comment: "", Changes: map[string]any{
				"changed": "1", "msg": `a "quoted" word`, "path": "/x y",
				"pid": 7, "retcode": 0, "stdout": `changed=1 msg="a \"quoted\" word" path=/x\ `, "stderr": ""}}},
		{name: "json object",
			in: ran(`{"changed": "yes", "comment": "from json", "list": [1, 2.5], "nested": {"a": null}}`, "warn"),
			want: api.Result{Result: api.Tri(true), Comment: "from json", Changes: map[string]any{
				"changed": "yes", "list": []any{1, 2.5}, "nested": map[string]any{"a": nil},
				"pid": 7, "retcode": 0, "stdout": "", "stderr": "warn"}}},
		{name: "json keys win over the run's",
			in: ran(`{"changed": true, "retcode": "mine"}`, ""),
			want: api.Result{Result: api.Tri(true), Comment: "", Changes: map[string]any{
				"changed": true, "pid": 7, "retcode": "mine", "stdout": "", "stderr": ""}}},
		{name: "json that is not an object",
			in:   ran(`[1, 2]`, ""),
			want: api.Result{Result: api.Tri(false), Comment: "script JSON output must be a JSON object (e.g., {})!", Changes: map[string]any{}}},
		{name: "last line is not key=value",
			in: ran("all done", ""),
			want: api.Result{Result: api.Tri(false),
				Comment: "Failed parsing script output! Stdout must be JSON or a line of name=value pairs.",
				Changes: map[string]any{"pid": 7, "retcode": 0, "stdout": "all done", "stderr": ""}}},
		{name: "a=b=c is not a pair",
			in: ran("changed=yes a=b=c", ""),
			want: api.Result{Result: api.Tri(false),
				Comment: "Failed parsing script output! Stdout must be JSON or a line of name=value pairs.",
				Changes: map[string]any{"pid": 7, "retcode": 0, "stdout": "changed=yes a=b=c", "stderr": ""}}},
		{name: "unclosed quote",
			in: ran("changed=yes comment='oops", ""),
			want: api.Result{Result: api.Tri(false),
				Comment: "Failed parsing script output! Stdout must be JSON or a line of name=value pairs.",
				Changes: map[string]any{"pid": 7, "retcode": 0, "stdout": "changed=yes comment='oops", "stderr": ""}}},
		{name: "changed is not a boolean",
			in:   ran("changed=maybe", ""),
			want: api.Result{Result: api.Tri(false), Comment: "failed parsing boolean value: maybe", Changes: map[string]any{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, reinterpret(tc.in)); diff != "" {
				t.Errorf("reinterpret (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseStateful(t *testing.T) {
	tests := []struct {
		in       any
		stateful bool
		testName string
		err      bool
	}{
		{nil, false, "", false},
		{true, true, "", false},
		{"yes", true, "", false},
		{false, false, "", false},
		{[]any{map[string]any{"test_name": "check --dry-run"}}, true, "check --dry-run", false},
		{[]any{"x"}, false, "", true},
		{[]any{map[string]any{"other": 1}}, false, "", true},
		{"perhaps", false, "", true},
	}
	for _, tc := range tests {
		s, tn, err := parseStateful(tc.in)
		if s != tc.stateful || tn != tc.testName || (err != nil) != tc.err {
			t.Errorf("parseStateful(%v) = %v, %q, %v; want %v, %q, error %v", tc.in, s, tn, err, tc.stateful, tc.testName, tc.err)
		}
	}
}
