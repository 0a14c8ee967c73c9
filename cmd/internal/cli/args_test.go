package cli

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     []string
		args   []any
		kwargs map[string]any
	}{
		{"booleans", []string{"test=True", "x=false"}, nil, map[string]any{"test": true, "x": false}},
		{"numbers", []string{"1", "2.5", "port=8080"}, []any{1, 2.5}, map[string]any{"port": 8080}},
		{"mode digits", []string{"mode=0644", "other=644"}, nil, map[string]any{"mode": 644, "other": 644}},
		{"json mapping", []string{`pillar={"a": 1, "b": [true, "x"]}`}, nil,
			map[string]any{"pillar": map[string]any{"a": 1, "b": []any{true, "x"}}}},
		{"flow list", []string{"[a, b]"}, []any{[]any{"a", "b"}}, map[string]any{}},
		{"yes stays a string", []string{"yes", "v=on"}, []any{"yes"}, map[string]any{"v": "on"}},
		{"None and null", []string{"None", "x=null"}, []any{nil}, map[string]any{"x": nil}},
		{"block mapping stays text", []string{"a: b", "- c"}, []any{"a: b", "- c"}, map[string]any{}},
		{"comment keeps text", []string{"echo hi # there", "#x"}, []any{"echo hi # there", "#x"}, map[string]any{}},
		{"whitespace kept", []string{"  ", "k="}, []any{"  "}, map[string]any{"k": ""}},
		{"lone pipe and bang", []string{"|", "!"}, []any{"|", "!"}, map[string]any{}},
		{"command with equals is positional", []string{"ls -l x=1", "a==b", "1x=2", "=y"}, []any{"ls -l x=1", "a==b", "1x=2", "=y"}, map[string]any{}},
		{"value with equals", []string{"cmd=a=b"}, nil, map[string]any{"cmd": "a=b"}},
		{"dotted and dashed keys", []string{"a.b-c=1"}, nil, map[string]any{"a.b-c": 1}},
		{"unparseable plain text stays text", []string{"@foo", "a: b: c"}, []any{"@foo", "a: b: c"}, map[string]any{}},
		{"last keyword wins", []string{"x=1", "x=2"}, nil, map[string]any{"x": 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args, kwargs, err := parseArgs(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.args, args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.kwargs, kwargs); diff != "" {
				t.Errorf("kwargs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseArgsErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{`pillar={"a": 1`, "argument 'pillar'"},
		{`[a, b`, `argument 1 ([a, b): not a valid mapping or list`},
		{`x={a: [}`, "argument 'x'"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, _, err := parseArgs([]string{tc.in})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parseArgs(%q) error = %v, want one containing %q", tc.in, err, tc.want)
			}
		})
	}
}
