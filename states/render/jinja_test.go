package render

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/api"
)

// render is Jinja with a test Env; it fails the test on error.
func render(t *testing.T, src string, c Context) string {
	t.Helper()
	out, err := Jinja(context.Background(), []byte(src), c)
	if err != nil {
		t.Fatalf("render %q: %v", src, err)
	}
	return out
}

func testGrains() map[string]any {
	return map[string]any{
		"id":        "web1",
		"os":        "Debian",
		"os_family": "Debian",
		"roles":     []any{"web", "db"},
		"site":      map[string]any{"rack": "r12", "row": 4},
	}
}

func testPillar() map[string]any {
	return map[string]any{
		"root": "/srv/root",
		"app": map[string]any{
			"port":  8443,
			"users": []any{"alice", "bob"},
			"tls":   map[string]any{"enabled": true},
		},
		"list": []any{map[string]any{"name": "first"}, map[string]any{"name": "second"}},
	}
}

func TestContextVariables(t *testing.T) {
	src := "sls={{ sls }} slspath={{ slspath }} sls_path={{ sls_path }} slsdotpath={{ slsdotpath }} " +
		"slscolonpath={{ slscolonpath }} tpldir={{ tpldir }} tplfile={{ tplfile }} tpldot={{ tpldot }} tplpath={{ tplpath }}"
	tests := []struct {
		name, path, sls, want string
	}{
		{"init file", "webapp/init.sls", "webapp",
			"sls=webapp slspath=webapp sls_path=webapp slsdotpath=webapp slscolonpath=webapp tpldir=webapp tplfile=webapp/init.sls tpldot=webapp tplpath=webapp/init.sls"},
		{"nested file", "a/b/c.sls", "a.b.c",
			"sls=a.b.c slspath=a/b sls_path=a_b slsdotpath=a.b slscolonpath=a:b tpldir=a/b tplfile=a/b/c.sls tpldot=a.b tplpath=a/b/c.sls"},
		{"nested init", "a/b/init.sls", "a.b",
			"sls=a.b slspath=a/b sls_path=a_b slsdotpath=a.b slscolonpath=a:b tpldir=a/b tplfile=a/b/init.sls tpldot=a.b tplpath=a/b/init.sls"},
		{"root file", "top_level.sls", "top_level",
			"sls=top_level slspath= sls_path= slsdotpath= slscolonpath= tpldir=. tplfile=top_level.sls tpldot= tplpath=top_level.sls"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := render(t, src, Context{Env: newEnv(nil, nil, nil), Path: tc.path, SLS: tc.sls})
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}

	t.Run("template that is not an SLS file", func(t *testing.T) {
		got := render(t, "{{ tpldir }} {{ tplfile }} {{ sls is defined }}", Context{Env: newEnv(nil, nil, nil), Path: "app/files/app.conf.j2"})
		if want := "app/files app/files/app.conf.j2 False"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})

	t.Run("host data and extra variables", func(t *testing.T) {
		env := newEnv(nil, testGrains(), testPillar())
		env.Saltenv = "dev"
		c := Context{Env: env, Vars: map[string]any{"port": 80, "names": []any{"a", "b"}}}
		got := render(t, "{{ grains['os'] }} {{ grains.site.rack }} {{ pillar.app.port }} {{ pillar['root'] }} "+
			"{{ opts.id }} {{ saltenv }} {{ port + 1 }} {{ names | join('+') }}", c)
		if want := "Debian r12 8443 /srv/root minion1 dev 81 a+b"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})

	t.Run("saltenv defaults to base", func(t *testing.T) {
		env := newEnv(nil, nil, nil)
		env.Saltenv = ""
		if got := render(t, "{{ saltenv }}", Context{Env: env}); got != "base" {
			t.Errorf("saltenv = %q, want base", got)
		}
	})

	t.Run("no Env at all", func(t *testing.T) {
		if got := render(t, "{{ grains | length }}{{ pillar | length }}", Context{}); got != "00" {
			t.Errorf("got %q", got)
		}
	})
}

func TestSaltFunctions(t *testing.T) {
	var calls []execCall
	env := newEnv(nil, testGrains(), testPillar())
	env.Exec = testExec(env, &calls)
	tests := []struct {
		name, src, want string
		call            execCall
	}{
		{"item syntax, positional", "{{ salt['pillar.get']('app:port', 1) }}", "8443",
			execCall{"pillar.get", []any{"app:port", 1}, nil}},
		{"keyword arguments arrive as kwargs", "{{ salt['test.kwargs']('a', b=[1, 2], c={'d': none}) | json }}",
			`{"args": ["a"], "kwargs": {"b": [1, 2], "c": {"d": null}}}`,
			execCall{"test.kwargs", []any{"a"}, map[string]any{"b": []any{1, 2}, "c": map[string]any{"d": nil}}}},
		{"attribute syntax", "{{ salt.test.echo('hi') }}", "hi",
			execCall{"test.echo", []any{"hi"}, nil}},
		{"default used", "{{ salt['pillar.get']('app:nope', 'fallback') }}", "fallback",
			execCall{"pillar.get", []any{"app:nope", "fallback"}, nil}},
		{"grains.filter_by with kwargs", "{{ salt['grains.filter_by']({'Debian': {'pkg': 'apt'}, 'RedHat': {'pkg': 'yum'}}, grain='os', merge={'extra': 1}) | json }}",
			`{"extra": 1, "pkg": "apt"}`,
			execCall{"grains.filter_by", []any{map[string]any{"Debian": map[string]any{"pkg": "apt"}, "RedHat": map[string]any{"pkg": "yum"}}},
				map[string]any{"grain": "os", "merge": map[string]any{"extra": 1}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls = nil
			if got := render(t, tc.src, Context{Env: env}); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if diff := cmp.Diff([]execCall{tc.call}, calls); diff != "" {
				t.Errorf("Exec calls (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("results do not alias the host's data", func(t *testing.T) {
		render(t, "{% set app = salt['pillar.get']('app') %}{% do app.update({'port': 1}) %}{% do app.users.append('eve') %}", Context{Env: env})
		if env.Pillar["app"].(map[string]any)["port"] != 8443 || len(env.Pillar["app"].(map[string]any)["users"].([]any)) != 2 {
			t.Errorf("template changed the Env's pillar: %v", env.Pillar["app"])
		}
	})
}

func TestPillarAndGrainsHelpers(t *testing.T) {
	env := newEnv(nil, testGrains(), testPillar())
	tests := []struct{ name, src, want string }{
		{"pillar.get walks a path", "{{ pillar.get('app:tls:enabled') }}", "True"},
		{"pillar.get default", "{{ pillar.get('app:nope', 'dflt') }}", "dflt"},
		{"pillar.get default keyword", "{{ pillar.get('app:nope', default='kw') }}", "kw"},
		{"pillar.get list index", "{{ pillar.get('app:users:1') }}", "bob"},
		{"pillar.get list of dicts", "{{ pillar.get('list:name') }}", "first"},
		{"pillar.get other delimiter", "{{ pillar.get('app/port', delimiter='/') }}", "8443"},
		{"pillar.get plain key", "{{ pillar.get('root') }}", "/srv/root"},
		{"grains.get path", "{{ grains.get('site:row') }}", "4"},
		{"grains.get missing", "{{ grains.get('no:such', 'x') }}", "x"},
		{"filter_by on os_family", "{{ grains.filter_by({'Debian': 'deb', 'RedHat': 'rpm'}) }}", "deb"},
		{"filter_by other grain", "{{ grains.filter_by({'web1': 'me'}, grain='id') }}", "me"},
		{"filter_by default key", "{{ grains.filter_by({'Plan9': 1, 'default': 'fallback'}) }}", "fallback"},
		{"filter_by named default", "{{ grains.filter_by({'Plan9': 1, 'RedHat': 'rh'}, default='RedHat') }}", "rh"},
		{"filter_by glob", "{{ grains.filter_by({'Deb*': 'glob'}) }}", "glob"},
		{"filter_by list grain", "{{ grains.filter_by({'db': 'database'}, grain='roles') }}", "database"},
		{"filter_by merge", "{{ grains.filter_by({'Debian': {'a': {'x': 1}}}, merge={'a': {'y': 2}}) | json }}", `{"a": {"x": 1, "y": 2}}`},
		{"filter_by base", "{{ grains.filter_by({'Debian': {'a': 1}, 'common': {'a': 0, 'b': 2}}, base='common') | json }}", `{"a": 1, "b": 2}`},
		{"filter_by nothing", "{{ grains.filter_by({'Plan9': 1}) is none }}", "True"},
		{"pillar.filter_by", "{{ pillar.filter_by({'/srv/root': 'yes'}, pillar='root') }}", "yes"},
		{"pillar is a dict", "{{ pillar is mapping }} {{ 'app' in pillar }} {{ pillar.app.keys() | list }}", "True True ['port', 'tls', 'users']"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(t, tc.src, Context{Env: env}); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFilters(t *testing.T) {
	env := newEnv(nil, testGrains(), testPillar())
	tests := []struct{ name, src, want string }{
		{"yaml flow", "{{ {'colour': 'blue', 'sizes': [1, 2]} | yaml }}", "{colour: blue, sizes: [1, 2]}"},
		{"yaml quoting", "{{ {'a': 'yes', 'b': '', 'c': 'x: y', 'd': 'a,b', 'e': none, 'f': '0644', 'g': 1.5} | yaml }}",
			"{a: 'yes', b: '', c: 'x: y', d: 'a,b', e: null, f: '0644', g: 1.5}"},
		{"yaml scalar", "{{ 'plain' | yaml }} {{ true | yaml }} {{ 'on' | yaml }}", "plain true 'on'"},
		{"yaml block", "{{ {'b': {'c': [1, {'d': 2}]}, 'a': 'x', 'e': {}} | yaml(False) }}",
			"a: x\nb:\n  c:\n  - 1\n  - d: 2\ne: {}"},
		{"yaml block keyword", "{{ [1, [2, 3]] | yaml(flow_style=False) }}", "- 1\n- - 2\n  - 3"},
		{"yaml multi-line string", "{{ ['a\nb'] | yaml }}", `["a\nb"]`},
		{"json sorted", `{{ {'b': 1, 'a': [true, none, 1.0, 'é']} | json }}`, `{"a": [true, null, 1.0, "\u00e9"], "b": 1}`},
		{"json indent", "{{ {'a': [1]} | json(indent=2) }}", "{\n  \"a\": [\n    1\n  ]\n}"},
		{"tojson", "{{ {'k': 'v'} | tojson }}", `{"k": "v"}`},
		{"json of pillar data", "{{ pillar.app.tls | json }}", `{"enabled": true}`},
		{"load_yaml", "{% set d = 'a: [1, 2]\\nb: yes' | load_yaml %}{{ d.a[1] }} {{ d.b }}", "2 yes"},
		{"load_json", `{% set d = '{"a": {"b": [1, 2.5]}}' | load_json %}{{ d.a.b }}`, "[1, 2.5]"},
		{"load_text", "{{ 'x' | load_text }}", "x"},
		{"yaml_dquote", `{{ 'say "hi"\\ é' | yaml_dquote }}`, `"say \"hi\"\\ \xE9"`},
		{"yaml_squote", `{{ "it's" | yaml_squote }}`, `'it''s'`},
		{"yaml_encode", "{{ 'text' | yaml_encode }} {{ 1 | yaml_encode }} {{ false | yaml_encode }} {{ none | yaml_encode }}", `"text" 1 false null`},
		{"indent", "{{ 'a\nb\n\nc' | indent(2) }}", "a\n  b\n\n  c"},
		{"join and default", "{{ pillar.app.users | join(', ') }} {{ nope | default('d') }} {{ '' | default('e', true) }}", "alice, bob d e"},
		{"default keeps None", "{{ none | default('d') is none }}", "True"},
		{"format", "{{ '%s:%05d %.2f %r' | format('a', 42, 3.14159, 'q') }}", "a:00042 3.14 'q'"},
		{"to_bool", "{{ 'yes' | to_bool }} {{ 'no' | to_bool }} {{ 1 | to_bool }} {{ [] | to_bool }}", "True False True False"},
		{"quote", "{{ 'a b' | quote }} {{ 'plain' | quote }}", "'a b' plain"},
		{"regex", "{{ 'abc' | regex_match('a(b)') }} {{ 'xabc' | regex_match('a') is none }} {{ 'xabc' | regex_search('a(b)(c)') }} {{ 'a1b2' | regex_replace('(\\\\d)', '<\\\\1>') }}",
			"['b'] True ['b', 'c'] a<1>b<2>"},
		{"hashes", "{{ 'x' | md5 }} {{ 'x' | sha256 }}", "9dd4e461268c8034f5c8564e155c67a6 2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"},
		{"base64", "{{ 'hi' | base64_encode }} {{ 'aGk=' | base64_decode }}", "aGk= hi"},
		{"traverse", "{{ pillar | traverse('app:tls:enabled') }} {{ pillar | traverse('x:y', 'none') }}", "True none"},
		{"python repr", `{{ {'a': [1, 'b', none, true]} | python }}`, `{'a': [1, 'b', None, True]}`},
		{"list printed as Python", "{{ [1, 'a', 2.5] }}", "[1, 'a', 2.5]"},
		{"gonja builtins", "{{ [3, 1, 2] | sort | join }} {{ 'abc' | upper }} {{ [1, 1, 2] | unique | list }} {{ {'a': 1} | dictsort }}",
			"123 ABC [1, 2] [('a', 1)]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(t, tc.src, Context{Env: env}); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestMutation covers the gonja gap brine closes: {% do %} on dicts and
// lists changes the value the template holds.
func TestMutation(t *testing.T) {
	env := newEnv(nil, testGrains(), testPillar())
	tests := []struct{ name, src, want string }{
		{"dict update", "{% set d = {'a': 1} %}{% do d.update({'b': 2}) %}{% do d.update(c=3) %}{{ d }}", "{'a': 1, 'b': 2, 'c': 3}"},
		{"list append", "{% set l = [] %}{% for i in range(3) %}{% do l.append(i * 2) %}{% endfor %}{{ l }}", "[0, 2, 4]"},
		{"nested dict", "{% set d = {'a': {}} %}{% do d.a.update({'x': 1}) %}{{ d }}", "{'a': {'x': 1}}"},
		{"nested list", "{% set d = {'l': [1]} %}{% do d.l.append(2) %}{% do d['l'].extend([3]) %}{{ d.l }}", "[1, 2, 3]"},
		{"alias shares", "{% set a = {} %}{% set b = a %}{% do b.update({'k': 1}) %}{{ a }}", "{'k': 1}"},
		{"pillar copy in template", "{% set app = pillar.app %}{% do app.update({'new': 1}) %}{{ pillar.app.new }}", "1"},
		{"setdefault then append", "{% set d = {} %}{% do d.setdefault('l', []).append(1) %}{{ d }}", "{'l': [1]}"},
		{"pop and insert", "{% set l = [1, 2, 3] %}{% do l.insert(0, 0) %}{{ l.pop() }} {{ l }}", "3 [0, 1, 2]"},
		{"namespace", "{% set ns = namespace(n=0) %}{% for i in [1, 2, 3] %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}", "6"},
		{"set item", "{% set d = {} %}{% set d['k'] = 'v' %}{{ d.k }}", "v"},
		{"dict methods", "{% set d = {'b': 2, 'a': 1} %}{{ d.items() | list }} {{ d.values() | list }} {{ d.get('z', 0) }} {{ d.pop('a') }} {{ d }}",
			"[['a', 1], ['b', 2]] [1, 2] 0 1 {'b': 2}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(t, tc.src, Context{Env: env}); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
	if _, ok := env.Pillar["app"].(map[string]any)["new"]; ok {
		t.Error("a template's change to pillar reached the Env")
	}
}

func TestTags(t *testing.T) {
	files := writeTree(t, map[string]string{
		"app/defaults.yaml":  "app:\n  port: {{ 80 + 1 }}\n  name: {{ grains.id }}\n",
		"app/defaults.json":  `{"b": [1, 2], "a": {"c": true}}`,
		"app/motd.txt":       "hello {{ grains.id }}",
		"app/map.jinja":      "{% import_yaml 'app/defaults.yaml' as defaults %}\n{% set cfg = defaults.app %}\n{% do cfg.update({'local': local_var | default('none')}) %}\n{% set other = 'o' %}\n",
		"app/macros.jinja":   "{% macro greet(name, punct='!') -%}\nhello {{ name }}{{ punct }}\n{%- endmacro %}\n{% macro grain() %}{{ grains.os }}{% endmacro %}\n",
		"app/sub/inc.jinja":  "inc({{ local_var | default('no context') }})",
		"app/rel.jinja":      "{% include './sub/inc.jinja' %}",
		"app/relfrom.jinja":  "{% from './macros.jinja' import greet %}{% set msg = greet('rel') %}",
		"app/counter.jinja":  "{% set items = [] %}{% do items.append(1) %}",
		"app/self.jinja":     "{% include 'app/self.jinja' %}",
		"app/uses_ctx.jinja": "{% set seen = local_var %}",
		"app/wrap.jinja":     "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}",
	})
	env := newEnv(files, testGrains(), testPillar())
	tests := []struct{ name, src, want string }{
		{"import_yaml renders Jinja first", "{% import_yaml 'app/defaults.yaml' as d %}{{ d.app.port }} {{ d.app.name }}", "81 web1"},
		{"import_yaml from variable", "{% set f = 'app/defaults.yaml' %}{% import_yaml f as d %}{{ d.app.port }}", "81"},
		{"import_json", "{% import_json 'app/defaults.json' as d %}{{ d.b }} {{ d.a.c }}", "[1, 2] True"},
		{"import_text", "{% import_text 'app/motd.txt' as t %}{{ t }}", "hello web1"},
		{"load_yaml block", "{% load_yaml as d %}\nkey: {{ 1 + 1 }}\nlist: [a, b]\n{% endload %}{{ d.key }} {{ d.list }}", "2 ['a', 'b']"},
		{"load_json block", `{% load_json as d %}{"k": {{ [1, 2] | json }}}{% endload %}{{ d.k }}`, "[1, 2]"},
		{"load_text block", "{% load_text as d %}x{{ 1 }}y{% endload %}{{ d }}", "x1y"},
		{"from import a set variable", "{% from 'app/map.jinja' import cfg %}{{ cfg.port }} {{ cfg.local }}", "81 none"},
		{"from import with context sees caller", "{% set local_var = 'caller' %}{% from 'app/map.jinja' import cfg with context %}{{ cfg.local }}", "caller"},
		{"from import several with alias", "{% from 'app/map.jinja' import cfg as c, other %}{{ c.name }} {{ other }}", "web1 o"},
		{"import as module", "{% import 'app/macros.jinja' as m %}{{ m.greet('bob') }} {{ m.greet('x', punct='?') }}", "hello bob! hello x?"},
		{"import module with set variables", "{% import 'app/map.jinja' as map %}{{ map.cfg.port }}", "81"},
		{"macro from another file sees Salt globals", "{% from 'app/macros.jinja' import grain %}{{ grain() }}", "Debian"},
		{"include with context", "{% set local_var = 'mine' %}{% include 'app/sub/inc.jinja' %}", "inc(mine)"},
		{"include without context", "{% set local_var = 'mine' %}{% include 'app/sub/inc.jinja' without context %}", "inc(no context)"},
		{"include relative", "{% include 'app/rel.jinja' %}", "inc(no context)"},
		{"from relative", "{% from 'app/relfrom.jinja' import msg %}{{ msg }}", "hello rel!"},
		{"include ignore missing", "a{% include 'app/nope.jinja' ignore missing %}b", "ab"},
		{"include first existing of a list", "{% include ['app/nope.jinja', 'app/motd.txt'] %}", "hello web1"},
		{"import without context is cached per render", "{% from 'app/counter.jinja' import items %}{% do items.append(2) %}{% from 'app/counter.jinja' import items as again %}{{ again }}", "[1, 2]"},
		{"salt:// prefix", "{% import_text 'salt://app/motd.txt' as t %}{{ t }}", "hello web1"},
		{"call block, local macro", "{% macro w() %}[{{ caller() }}]{% endmacro %}{% call w() %}body{% endcall %}", "[body]"},
		{"call block, imported macro", "{% from 'app/wrap.jinja' import wrap %}{% call wrap('b') %}x{{ grains.id }}{% endcall %}", "<b>xweb1</b>"},
		{"trailing commas", "{% set d = {\n  'a': [1, 2,],\n  'b': 2,\n} %}{{ d.a | length }}{{ d.b }}", "22"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(t, tc.src, Context{Env: env, Path: "top.sls"}); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}

	t.Run("include of itself fails instead of looping", func(t *testing.T) {
		_, err := Jinja(context.Background(), []byte("{% include 'app/self.jinja' %}"), Context{Env: env})
		if err == nil || !strings.Contains(err.Error(), "nested more than") {
			t.Fatalf("want a nesting error, got %v", err)
		}
	})
	t.Run("path leaving the file root", func(t *testing.T) {
		_, err := Jinja(context.Background(), []byte("{% include '../../etc/passwd' %}"), Context{Env: env, Path: "a/b.sls"})
		if !errors.Is(err, api.ErrPathEscapes) && (err == nil || !strings.Contains(err.Error(), "leaves the file root")) {
			t.Fatalf("want a path escape error, got %v", err)
		}
	})
	t.Run("extends is refused with a clear message", func(t *testing.T) {
		_, err := Jinja(context.Background(), []byte("{% extends 'app/motd.txt' %}"), Context{Env: env})
		if err == nil || !strings.Contains(err.Error(), "not supported") {
			t.Fatalf("want an extends error, got %v", err)
		}
	})
}

func TestResolvePath(t *testing.T) {
	tests := []struct {
		from, name, want string
		bad              bool
	}{
		{"a/b/init.sls", "x/map.jinja", "x/map.jinja", false},
		{"a/b/init.sls", "./map.jinja", "a/b/map.jinja", false},
		{"a/b/init.sls", "../map.jinja", "a/map.jinja", false},
		{"top.sls", "./map.jinja", "map.jinja", false},
		{"a/init.sls", "salt://x/y.jinja", "x/y.jinja", false},
		{"a/init.sls", "/x/y.jinja", "x/y.jinja", false},
		{"a/init.sls", "../../etc/passwd", "", true},
		{"a/init.sls", "x/../../y", "", true},
		{"a/init.sls", "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.from+" "+tc.name, func(t *testing.T) {
			got, err := resolvePath(tc.from, tc.name)
			if tc.bad {
				if !errors.Is(err, api.ErrPathEscapes) {
					t.Errorf("want ErrPathEscapes, got %q, %v", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestJinjaOutput(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"final newline kept as Salt does", "a\n", "a\n"},
		{"no final newline", "a", "a"},
		{"only one final newline restored", "a\n\n", "a\n\n"},
		{"whitespace control", "{%- if true -%}\n  x\n{%- endif %}\n", "x\n"},
		{"None prints empty", "[{{ none }}]", "[]"},
		{"booleans print as Python", "{{ true }} {{ false }}", "True False"},
		{"is defined", "{{ nope is defined }} {{ none is defined }} {{ grains.nope is defined }}", "False True False"},
		{"set in if is visible after", "{% if true %}{% set x = 1 %}{% endif %}{{ x }}", "1"},
		{"set in for is local", "{% for i in [1] %}{% set y = 1 %}{% endfor %}{{ y is defined }}", "False"},
		{"set block", "{% set b %}\n  text {{ 1 }}\n{% endset %}[{{ b | trim }}]", "[text 1]"},
		{"set with condition", "{% set v = 'a' if false else 'b' %}{{ v }}", "b"},
		{"raise", "{% if false %}{{ raise('never') }}{% endif %}ok", "ok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(t, tc.src, Context{Env: newEnv(nil, nil, nil)}); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCacheSharedAcrossRenders(t *testing.T) {
	files := writeTree(t, map[string]string{"m.jinja": "{% set v = grains.id %}"})
	c := Context{Env: newEnv(files, map[string]any{"id": "one"}, nil), Cache: NewCache()}
	if got := render(t, "{% from 'm.jinja' import v %}{{ v }}", c); got != "one" {
		t.Fatalf("got %q", got)
	}
	// Same text, other host: the parse is shared, the values are not.
	c.Env = newEnv(files, map[string]any{"id": "two"}, nil)
	if got := render(t, "{% from 'm.jinja' import v %}{{ v }}", c); got != "two" {
		t.Fatalf("got %q", got)
	}
	if n := len(c.Cache.m); n != 2 {
		t.Errorf("cache holds %d templates, want 2 (template and import)", n)
	}
}

// TestConcurrentRenders renders one template from several goroutines
// sharing a Cache, for the race detector.
func TestConcurrentRenders(t *testing.T) {
	files := writeTree(t, map[string]string{"m.jinja": "{% set cfg = {'id': grains.id} %}{% macro hi(n) %}hi {{ n }}{% endmacro %}"})
	cache := NewCache()
	src := "{% from 'm.jinja' import cfg, hi %}{% set l = [] %}{% for i in range(5) %}{% do l.append(i) %}{% endfor %}{{ hi(cfg.id) }} {{ l | json }}"
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func(i int) {
			id := fmt.Sprintf("m%d", i)
			out, err := Jinja(context.Background(), []byte(src), Context{Env: newEnv(files, map[string]any{"id": id}, nil), Cache: cache})
			if err == nil && out != "hi "+id+" [0, 1, 2, 3, 4]" {
				err = fmt.Errorf("render %d: got %q", i, out)
			}
			errs <- err
		}(i)
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestPercentOperator covers `%`, which gonja only knows as integer
// modulo: brine rewrites it to Python's operator (see rewriteSource).
func TestPercentOperator(t *testing.T) {
	env := newEnv(nil, testGrains(), testPillar())
	tests := []struct{ name, src, want string }{
		{"tuple", "{{ '%s-%s' % ('a', 'b') }}", "a-b"},
		{"single value", "{{ '%s' % 'x' }} {{ '%d%%' % 50 }} {{ '%05.1f' % 3.14159 }}", "x 50% 003.1"},
		{"mapping", "{{ '%(a)s/%(b)s' % {'a': 1, 'b': 2} }}", "1/2"},
		{"binds tighter than ~", "{{ 'a' ~ '%s' % grains.id ~ 'b' }}", "aweb1b"},
		{"filters bind to the operand", "{{ '%s' % pillar.app.users | join(',') }}", "alice,bob"},
		{"format string in a variable", "{% set f = '%s!' %}{{ f % 'x' }}", "x!"},
		{"modulo", "{{ 7 % 3 }} {{ -7 % 3 }} {{ 7.5 % 2 }}", "1 2 1.5"},
		{"modulo in a condition", "{% for i in range(5) %}{% if loop.index % 2 == 0 %}{{ i }}{% endif %}{% endfor %}", "13"},
		{"text is left alone", "100% sure, {'a': 1,}", "100% sure, {'a': 1,}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(t, tc.src, Context{Env: env}); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	for _, src := range []string{"{{ 1 % 0 }}", "{{ '%s %s' % 'one' }}", "{{ '%d' % 'x' }}"} {
		if _, err := Jinja(context.Background(), []byte(src), Context{Env: env}); err == nil {
			t.Errorf("%s: want an error", src)
		}
	}
}
