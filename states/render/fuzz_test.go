package render

import (
	"context"
	"errors"
	"testing"
	"time"
)

// FuzzSLS renders arbitrary SLS text through the whole pipeline. It must
// never panic, and a failure must always be an *Error naming the file.
func FuzzSLS(f *testing.F) {
	seeds := []string{
		"",
		"a: 1\n",
		"#!yaml\nbase: &b {x: 1}\nuse:\n  <<: *b\n",
		"#!json\n{\"a\": [1, 2, {\"b\": null}]}\n",
		"#!jinja|json\n{\"a\": {{ [1, 2] | json }}}\n",
		"{% for u in pillar.get('users', []) %}\nuser_{{ u }}:\n  user.present\n{% endfor %}\n",
		"{% set d = {'a': 1,} %}{% do d.update({'b': [1, 2]}) %}x: {{ d | yaml }}\n",
		"{% from 'lib/map.jinja' import cfg with context %}\nid: {{ cfg | json }}\n",
		"{% import 'lib/macros.jinja' as m %}{{ m.state('x') }}\n",
		"{% include 'lib/inc.jinja' %}\n",
		"{% import_yaml 'lib/data.yaml' as d %}v: {{ d.k }}\n",
		"{% load_yaml as y %}\nk: [1\n{% endload %}\n",
		"{{ grains.filter_by({'Debian': {'a': 1}}, merge={'b': 2}) }}\n",
		"{{ salt['test.echo']('x', y=1) }}\n",
		"{% if x %}\nunclosed: true\n",
		"{{ 1 % 0 }}\n",
		"{{ '%s-%s' % (1, grains.id) }} {{ loop % }}\n",
		"{{ '%s %d' | format('a') }}\n",
		"{% macro r() %}{{ r() }}{% endmacro %}{{ r() }}\n",
		"a: [unclosed\n  - b: c\n",
		"a: 1\n---\nb: 2\n",
		"#!mako\nx\n",
		"{{ {'a': undefined_thing} | json }}\n",
		"{% set l = [] %}{% do l.append(l) %}{{ l | length }}\n",
		"k: {{ 'x' | yaml_dquote }}\n{# comment #}\n{% raw %}{{ raw }}{% endraw %}\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	files := writeTree(f, map[string]string{
		"lib/map.jinja":    "{% set cfg = {'port': 80} %}{% do cfg.update(pillar.get('app', {})) %}",
		"lib/macros.jinja": "{% macro state(id) %}{{ id }}:\n  test.nop{% endmacro %}",
		"lib/inc.jinja":    "included: {{ grains.id }}\n",
		"lib/data.yaml":    "k: v\n",
	})
	env := newEnv(files, testGrains(), testPillar())
	f.Fuzz(func(t *testing.T, src string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := SLS(ctx, []byte(src), Context{Env: env, Path: "fuzz/init.sls", SLS: "fuzz"})
		if err == nil {
			return
		}
		var re *Error
		if !errors.As(err, &re) {
			t.Fatalf("error is %T, not *Error: %v", err, err)
		}
		if re.File == "" || re.Msg == "" {
			t.Fatalf("error without file or message: %#v", re)
		}
	})
}
