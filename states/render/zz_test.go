package render
import ("testing";"context")
func TestZZ(t *testing.T){
 files := writeTree(t, map[string]string{
   "m/macros.jinja": "{% macro bad(x) %}\nline2\n{{ nope }}\n{% endmacro %}\n{% macro good(x) %}ok {{ x }}{% endmacro %}\n",
   "m/map.jinja": "{% set a = 1 %}\n{% set b = missing.x %}\n",
   "m/syntax.jinja": "{% if %}\n",
   "m/inc.jinja": "included {{ undefined_in_include }}\n",
   "m/data.yaml": "a: [1\n",
 })
 env := newEnv(files, map[string]any{"os_family":"Debian"}, map[string]any{"x": 1})
 for _, src := range []string{
   "uses_undefined:\n  test.succeed_without_changes:\n    - comment: {{ no_such_variable }}\n",
   "{% if pillar.get('x') %}\nnever_closed:\n  test.succeed_without_changes\n",
   "{% from 'm/macros.jinja' import bad %}\n{{ bad(1) }}\n",
   "{% import 'm/macros.jinja' as m %}\n\n{{ m.bad(1) }}\n",
   "{% from 'm/map.jinja' import a %}\n",
   "{% from 'm/syntax.jinja' import a %}\n",
   "a\n{% include 'm/inc.jinja' %}\n",
   "{% include 'm/nope.jinja' %}\n",
   "{% import_yaml 'm/data.yaml' as d %}\n",
   "{{ pillar.nokey }}",
   "{{ pillar['nokey'] }}",
   "{{ salt['test.fail']() }}",
   "{{ 1 | nofilter }}",
   "{{ raise('custom failure') }}",
   "{{ [1,2] | json }} {{ 'x' | yaml_encode }} {{ none | default('d') }} {{ undefinedvar | default('d') }}",
   "{% set l = [] %}{% for i in range(3) %}{% do l.append(i) %}{% endfor %}{{ l }} {{ l | length }}",
   "{{ grains.get('os_family') }} {{ pillar.get('x') }} {{ grains.filter_by({'Debian': {'a': 1}}) }}",
   "{% set x %}\nblock {{ 1 }}\n{% endset %}{{ x | trim }}",
   "{% load_yaml as y %}\na: [1, 2]\n{% endload %}{{ y.a[1] }}",
   "{{ salt.test.kwargs(1, 'two', three=3) | json }}",
   "{% for k, v in {'b': 1, 'a': 2}.items() %}{{ k }}={{ v }} {% endfor %}",
   "{{ x is defined }} {{ pillar.x is defined }} {{ pillar.y is defined }}",
 } {
   out, err := Jinja(context.Background(), []byte(src), Context{Env: env, Path: "t/init.sls", SLS: "t"})
   if err != nil { e := err.(*Error); t.Logf("ERR %q\n   file=%s line=%d msg=%s\n%s", src, e.File, e.Line, e.Msg, e.Snippet) } else { t.Logf("OK %q -> %q", src, out) }
 }
}
