package render

import (
	"context"
	"fmt"
	"testing"
)

// benchTemplate is a typical file.managed template: pillar and grains
// lookups, a loop, filters, an imported map.
const benchTemplate = `{%- from "app/map.jinja" import app with context %}
# managed by brine for {{ grains['id'] }} ({{ grains['os_family'] }})
[server]
port = {{ salt['pillar.get']('app:port', 8080) }}
bind = {{ pillar.get('app:bind', '0.0.0.0') }}
{%- for name, user in app.users | dictsort %}
[user.{{ name }}]
uid = {{ user.uid }}
shell = {{ user.get('shell', '/bin/sh') | quote }}
{%- endfor %}
extra = {{ app.extra | json }}
`

const benchMap = `{%- set app = salt['grains.filter_by']({
  'Debian': {'pkg': 'app-deb'},
  'RedHat': {'pkg': 'app-rpm'},
}, merge=salt['pillar.get']('app', {})) %}
{%- do app.setdefault('extra', {'k': [1, 2, 3]}) %}
`

func benchEnv(b *testing.B) Context {
	files := writeTree(b, map[string]string{"app/map.jinja": benchMap})
	users := map[string]any{}
	for i := 0; i < 20; i++ {
		users[fmt.Sprintf("u%02d", i)] = map[string]any{"uid": 1000 + i}
	}
	pillar := map[string]any{"app": map[string]any{"port": 8443, "users": users}}
	for i := 0; i < 50; i++ {
		pillar[fmt.Sprintf("key%02d", i)] = map[string]any{"a": []any{1, 2, 3}, "b": "text"}
	}
	grains := map[string]any{"id": "web1", "os_family": "Debian", "ipv4": []any{"10.0.0.1"}}
	for i := 0; i < 60; i++ {
		grains[fmt.Sprintf("grain%02d", i)] = fmt.Sprintf("value %d", i)
	}
	return Context{Env: newEnv(files, grains, pillar), Path: "app/app.conf.j2"}
}

// BenchmarkJinja500 renders the template 500 times, as a run with 500
// templated file states would: with a Cache in the Context (one per run)
// and without one (the package's small shared memo).
func BenchmarkJinja500(b *testing.B) {
	for _, perRun := range []bool{false, true} {
		b.Run(fmt.Sprintf("run-cache=%v", perRun), func(b *testing.B) {
			c := benchEnv(b)
			for b.Loop() {
				if perRun {
					c.Cache = NewCache()
				}
				for i := 0; i < 500; i++ {
					if _, err := Jinja(context.Background(), []byte(benchTemplate), c); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
