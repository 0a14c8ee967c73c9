package render
import ("testing";"context")
func TestZZ(t *testing.T){
 env := newEnv(nil, map[string]any{"os_family":"Debian", "ips": []any{"1.2.3.4"}}, map[string]any{"x": 1, "d": map[string]any{"a": map[string]any{"b": "deep"}}, "l": []any{3,1,2}})
 for _, src := range []string{
   "[{{ None }}] {{ none is none }} {{ None is none }} {{ x is none }}",
   "{% if true %}{% set inif = 1 %}{% endif %}{{ inif }}",
   "{% for i in [1] %}{% set infor = 1 %}{% endfor %}{{ infor is defined }}",
   "{{ pillar.d.keys() | list }} {{ 'a' in pillar.d }} {{ 'z' in pillar.d }}",
   "{% for x in pillar.l|sort %}{{ x }}{% endfor %} {{ pillar.l | join(',') }} {{ pillar.l | sort | join('-') }}",
   "{{ pillar.d | dictsort }} {{ pillar.d.items() | list }}",
   "{{ range(3) | list }} {{ '%s-%s' | format(1,2) }}",
   "{{ pillar.l[0] }} {{ pillar.l[-1] }} {{ pillar.l[1:] }}",
   "{{ pillar.d['a']['b'] }} {{ pillar['d'].a.b }}",
   "{% set ns = namespace(x=1) %}{% set ns.x = 2 %}{{ ns.x }}",
   "{{ pillar | json }} {{ grains | yaml }}",
   "{% macro m(a, b=2) %}{{ a }}+{{ b }}{% endmacro %}{{ m(1) }} {{ m(1, b=3) }}",
   "{% for a in [1,2] %}{% for b in 'xy' %}{{ loop.index }}{{ loop.first }}{% endfor %}{{ loop.last }}{% endfor %}",
   "{{ 1 if true else 2 }} {{ 7 // 2 }} {{ 7 / 2 }} {{ 2 ** 3 }} {{ 'ab' * 2 }}",
   "{{ pillar.get('d:a:b') }} {{ pillar.get('d:a:z', 'def') }} {{ grains.get('ips:0') }}",
   "{% set d = {'a': {'b': 1}} %}{% do d.a.update({'c': 2}) %}{{ d }}",
   "{% set l = [[1]] %}{% do l[0].append(2) %}{{ l }}",
   "{% set d = pillar.d %}{% do d.update({'new': 1}) %}{{ pillar.d.new }}",
   "{{ 'a b' | quote }} {{ 'x' | sha256 }} {{ 'abc' | regex_replace('b', 'X') }} {{ 'abc' | regex_match('a(b)') }}",
   "{{ {'a': 'yes', 'b': '', 'c': 'x: y', 'd': [1, 'a,b'], 'e': none} | yaml }}",
   "{{ {'a': {'b': [1, {'c': 2}], 'e': {}}, 'z': 'q'} | yaml(False) }}",
   "{{ 'héllo \"q\"' | yaml_dquote }} {{ \"it's\" | yaml_squote }} {{ true | yaml_encode }} {{ 1.5 | yaml_encode }}",
   "{{ {'b': 'é', 'a': [1.0, 2.5, true, none]} | json }} {{ {'a': 1} | tojson }} {{ {'a': [1,2]} | json(indent=2) }}",
   "{{ '{\"a\": [1, 2.5]}' | load_json }} {{ 'a: yes' | load_yaml }}",
   "{{ [1, 2, 3] | unique | list }} {{ 'abc' | upper }} {{ '  x ' | trim }}",
   "{{ x | default('n') }} {{ pillar.x | default('n') }} {{ '' | default('n', true) }}",
   "{{ salt['pillar.get']('d:a') }} {{ salt['grains.filter_by']({'Debian': {'pkg': 'apt'}, 'default': {'pkg': 'x'}}, merge={'extra': 1}) }}",
   "{{ grains.filter_by({'Deb*': 'glob'}) }} {{ pillar.filter_by({'1': 'one'}, pillar='x') }}",
   "{% set l = [1] %}{% do l.extend([2, 3]) %}{% do l.insert(0, 0) %}{{ l.pop() }} {{ l }} {{ l.index(1) }}",
   "{% set d = {} %}{{ d.setdefault('a', []) }}{% do d.a.append(1) %}{{ d }}",
   "{{ [3,1] | max }} {{ {'a':1} | length }} {{ pillar.l | length }} {{ pillar.l | first }} {{ pillar.l | last }}",
   "{% for k in pillar.d %}{{ k }}{% endfor %} {% for k, v in pillar.d | dictsort %}{{ k }}{% endfor %}",
   "{{ opts.id }} {{ minion_id }} {{ saltenv }}",
   "{{ pillar.l | map('string') | join(',') }} {{ [{'n': 1}, {'n': 2}] | map(attribute='n') | list }}",
   "{{ [{'n': 1, 'on': true}, {'n': 2, 'on': false}] | selectattr('on') | map(attribute='n') | list }}",
   "{% set x = 'a' %}{{ x ~ 1 }} {{ x.upper() }} {{ 'a,b'.split(',') }} {{ 'abc'.startswith('a') }}",
   "{{ 5 is divisibleby 5 }} {{ [] is list }} {{ 'x' is string }} {{ pillar.d is mapping }}",
 } {
   out, err := Jinja(context.Background(), []byte(src), Context{Env: env})
   if err != nil { e := err.(*Error); t.Logf("ERR %q\n   line=%d msg=%s", src, e.Line, e.Msg) } else { t.Logf("OK %q\n   -> %q", src, out) }
 }
}
