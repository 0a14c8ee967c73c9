package render

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// renderErr renders src as an SLS and returns the *Error it must fail with.
func renderErr(t *testing.T, src string, c Context) *Error {
	t.Helper()
	_, err := SLS(context.Background(), []byte(src), c)
	if err == nil {
		t.Fatalf("render of %q succeeded, want an error", src)
	}
	var re *Error
	if !errors.As(err, &re) {
		t.Fatalf("error is %T, want *render.Error: %v", err, err)
	}
	return re
}

func TestErrors(t *testing.T) {
	files := writeTree(t, map[string]string{
		"lib/macros.jinja": "{% macro fine(x) %}{{ x }}{% endmacro %}\n" +
			"{% macro broken(x) %}\n" +
			"  line three\n" +
			"  {{ undefined_in_macro }}\n" +
			"{% endmacro %}\n",
		"lib/map.jinja":     "{% set ok = 1 %}\n\n{% set bad = missing_in_map %}\n",
		"lib/syntax.jinja":  "line one\n{% for %}\n",
		"lib/open.jinja":    "{% if x %}\n",
		"lib/include.jinja": "first\nsecond {{ nope_in_include }}\n",
		"lib/data.yaml":     "key: [1, 2\nother: 3\n",
		"lib/outer.jinja":   "{% from 'lib/macros.jinja' import broken %}\n{% macro outer() %}\n{{ broken(1) }}\n{% endmacro %}\n",
		"lib/calls.jinja":   "\n{% set v = salt['test.fail']() %}\n",
	})
	env := newEnv(files, testGrains(), testPillar())
	c := Context{Env: env, Path: "site/init.sls", SLS: "site"}

	tests := []struct {
		name    string
		src     string
		file    string
		line    int
		msg     string // the whole message
		snippet string // a line the snippet must hold, with the marker
	}{
		{
			name: "undefined variable (Salt's bad_jinja case)",
			src:  "uses_undefined:\n  test.succeed_without_changes:\n    - comment: {{ no_such_variable }}\n",
			file: "site/init.sls", line: 3,
			msg:     "Jinja variable 'no_such_variable' is undefined",
			snippet: "    - comment: {{ no_such_variable }}" + marker,
		},
		{
			name: "unclosed block (Salt's jinja_syntax case)",
			src:  "{% if pillar.get('x') %}\nnever_closed:\n  test.succeed_without_changes\n",
			file: "site/init.sls", line: 1,
			msg:     "Jinja syntax error: Unexpected end of template. Jinja was looking for the following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'.",
			snippet: "{% if pillar.get('x') %}" + marker,
		},
		{
			name: "missing attribute",
			src:  "a: {{ pillar.app.nope }}\n",
			file: "site/init.sls", line: 1,
			msg: "Jinja variable 'dict object' has no attribute 'nope'",
		},
		{
			name: "missing item",
			src:  "\n\na: {{ grains['nope'] }}\n",
			file: "site/init.sls", line: 3,
			msg: "Jinja variable 'dict object' has no attribute 'nope'",
		},
		{
			name: "unknown filter",
			src:  "a: {{ 1 | no_such_filter }}\n",
			file: "site/init.sls", line: 1,
			msg: "Jinja error: filter 'no_such_filter' not found",
		},
		{
			name: "execution module failure",
			src:  "\na: {{ salt['test.fail']() }}\n",
			file: "site/init.sls", line: 2,
			msg: "Problem running salt function in Jinja template: test.fail: this function always fails",
		},
		{
			name: "raise()",
			src:  "{{ raise('stop right here') }}\n",
			file: "site/init.sls", line: 1,
			msg: "Jinja error: stop right here",
		},
		{
			name: "error in a macro of an imported file names that file",
			src:  "{% from 'lib/macros.jinja' import broken %}\n\nid: {{ broken(1) }}\n",
			file: "lib/macros.jinja", line: 4,
			msg:     "Jinja variable 'undefined_in_macro' is undefined",
			snippet: "  {{ undefined_in_macro }}" + marker,
		},
		{
			name: "error in a macro called through a module",
			src:  "{% import 'lib/macros.jinja' as m %}\n{{ m.broken(1) }}\n",
			file: "lib/macros.jinja", line: 4,
			msg: "Jinja variable 'undefined_in_macro' is undefined",
		},
		{
			name: "error two macros deep names the innermost file",
			src:  "{% from 'lib/outer.jinja' import outer %}\n{{ outer() }}\n",
			file: "lib/macros.jinja", line: 4,
			msg: "Jinja variable 'undefined_in_macro' is undefined",
		},
		{
			name: "error at the top of an imported file",
			src:  "{% from 'lib/map.jinja' import ok %}\n",
			file: "lib/map.jinja", line: 3,
			msg:     "Jinja variable 'missing_in_map' is undefined",
			snippet: "{% set bad = missing_in_map %}" + marker,
		},
		{
			name: "execution module failure in an imported file",
			src:  "{% from 'lib/calls.jinja' import v %}\n",
			file: "lib/calls.jinja", line: 2,
			msg: "Problem running salt function in Jinja template: test.fail: this function always fails",
		},
		{
			name: "syntax error in an imported file",
			src:  "{% import 'lib/syntax.jinja' as s %}\n",
			file: "lib/syntax.jinja", line: 2,
			msg: "Jinja syntax error: Expected an key identifier as first argument for 'for'-tag",
		},
		{
			name: "unclosed block in an imported file",
			src:  "\n{% import 'lib/open.jinja' as s %}\n",
			file: "lib/open.jinja", line: 1,
			msg: "Jinja syntax error: Unexpected end of template. Jinja was looking for the following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'.",
		},
		{
			name: "error in an included file",
			src:  "a: 1\n{% include 'lib/include.jinja' %}\n",
			file: "lib/include.jinja", line: 2,
			msg:     "Jinja variable 'nope_in_include' is undefined",
			snippet: "second {{ nope_in_include }}" + marker,
		},
		{
			name: "YAML error in an import_yaml file",
			src:  "{% import_yaml 'lib/data.yaml' as d %}\n",
			file: "lib/data.yaml", line: 1,
			msg: "Jinja error: lib/data.yaml is not valid YAML: did not find expected ',' or ']'",
		},
		{
			name: "missing import",
			src:  "\n{% from 'lib/none.jinja' import x %}\n",
			file: "site/init.sls", line: 2,
			msg: "Jinja error: template not found: lib/none.jinja (saltenv base)",
		},
		{
			name: "name not exported",
			src:  "{% from 'lib/macros.jinja' import absent %}\n",
			file: "site/init.sls", line: 1,
			msg: "Jinja error: the template 'lib/macros.jinja' (imported on line 1) does not export the requested name 'absent'",
		},
		{
			name: "YAML error (Salt's bad_yaml case)",
			src:  "broken_yaml:\n  test.succeed_without_changes:\n    - name: fine\n   - comment: [unclosed\n",
			file: "site/init.sls", line: 4,
			msg:     "did not find expected key",
			snippet: "   - comment: [unclosed" + marker,
		},
		{
			name: "YAML error with #!yaml",
			src:  "#!yaml\na: {{ not jinja }}\nb: [\n",
			file: "site/init.sls", line: 3,
		},
		{
			name: "conflicting IDs in one file",
			src:  "same:\n  test.nop\nother:\n  test.nop\nsame:\n  test.nop\n",
			file: "site/init.sls", line: 5,
			msg: "found conflicting ID 'same' (first defined on line 1)",
		},
		{
			name: "two YAML documents",
			src:  "a: 1\n---\nb: 2\n",
			file: "site/init.sls", line: 2,
			msg: "expected a single document in the stream, but found another document",
		},
		{
			name: "unknown renderer",
			src:  "#!mako|yaml\na: 1\n",
			file: "site/init.sls", line: 1,
			msg: "unknown renderer 'mako' in shebang '#!mako|yaml' (supported: jinja, yaml, json)",
		},
		{
			name: "pipeline without a data renderer",
			src:  "#!jinja\na: 1\n",
			file: "site/init.sls", line: 1,
		},
		{
			name: "bad JSON",
			src:  "#!json\n{\n  \"a\": 1,\n  \"b\": \n}\n",
			file: "site/init.sls", line: 5,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := renderErr(t, tc.src, c)
			if e.File != tc.file || e.Line != tc.line {
				t.Errorf("error at %s:%d, want %s:%d (%v)", e.File, e.Line, tc.file, tc.line, e)
			}
			if tc.msg != "" && e.Msg != tc.msg {
				t.Errorf("message\n got: %s\nwant: %s", e.Msg, tc.msg)
			}
			if tc.snippet != "" && !strings.Contains("\n"+e.Snippet+"\n", "\n"+tc.snippet+"\n") {
				t.Errorf("snippet does not mark %q:\n%s", tc.snippet, e.Snippet)
			}
			if want := e.File + ":"; !strings.HasPrefix(e.Error(), want) {
				t.Errorf("Error() = %q, want it to start with %q", e.Error(), want)
			}
		})
	}
}

func TestSnippet(t *testing.T) {
	src := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n"
	got := snippet(src, 8)
	want := "[...]\n3\n4\n5\n6\n7\n8" + marker + "\n9\n10\n11\n12\n13"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := snippet(src, 99); got != "" {
		t.Errorf("out of range line gave %q", got)
	}
	if got, want := snippet("only\n", 1), "only"+marker; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
