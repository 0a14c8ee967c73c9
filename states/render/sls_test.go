package render

import (
	"context"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// topKeys lists a document's top-level keys with their lines.
func topKeys(t *testing.T, doc *yaml.Node) [][2]any {
	t.Helper()
	if doc == nil || doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		t.Fatalf("not a document holding a mapping: %#v", doc)
	}
	var out [][2]any
	m := doc.Content[0]
	for i := 0; i < len(m.Content); i += 2 {
		out = append(out, [2]any{m.Content[i].Value, m.Content[i].Line})
	}
	return out
}

func TestSLSPipelines(t *testing.T) {
	env := newEnv(nil, testGrains(), testPillar())
	c := Context{Env: env, Path: "p/init.sls", SLS: "p"}
	tests := []struct {
		name string
		src  string
		keys [][2]any
		val  any
	}{
		{"default is jinja|yaml", "zeta: {{ 1 + 1 }}\nalpha: {{ grains.id }}\n",
			[][2]any{{"zeta", 1}, {"alpha", 2}}, map[string]any{"zeta": 2, "alpha": "web1"}},
		{"#!jinja|yaml", "#!jinja|yaml\nb: {{ pillar.root }}\na: 1\n",
			[][2]any{{"b", 2}, {"a", 3}}, map[string]any{"b": "/srv/root", "a": 1}},
		{"#!jinja | yaml with spaces", "#! jinja | yaml\nk: {{ 'v' }}\n",
			[][2]any{{"k", 2}}, map[string]any{"k": "v"}},
		{"#!yaml leaves braces alone", "#!yaml\nk: '{{ not rendered }}'\n",
			[][2]any{{"k", 2}}, map[string]any{"k": "{{ not rendered }}"}},
		{"#!json keeps order and lines", "#!json\n{\n  \"second\": {\"x\": [1, 2.5, true, null]},\n\t\"first\": \"\\u00e9\\/\\ud83d\\ude00\\\\/\"\n}\n",
			[][2]any{{"second", 3}, {"first", 4}}, map[string]any{"second": map[string]any{"x": []any{1, 2.5, true, nil}}, "first": "é/😀\\/"}},
		{"#!jinja|json", "#!jinja|json\n{\"port\": {{ pillar.app.port }}, \"id\": {{ grains.id | json }}}\n",
			[][2]any{{"port", 2}, {"id", 2}}, map[string]any{"port": 8443, "id": "web1"}},
		{"declaration order is kept", "c: 1\nb: 2\na: 3\nd: 4\n",
			[][2]any{{"c", 1}, {"b", 2}, {"a", 3}, {"d", 4}}, map[string]any{"a": 3, "b": 2, "c": 1, "d": 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := SLS(context.Background(), []byte(tc.src), c)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.keys, topKeys(t, doc)); diff != "" {
				t.Errorf("keys and lines (-want +got):\n%s", diff)
			}
			v, err := Value(doc)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.val, v); diff != "" {
				t.Errorf("value (-want +got):\n%s", diff)
			}
		})
	}

	empty := []struct{ name, src string }{
		{"empty file", ""},
		{"only whitespace", "\n\n  \n"},
		{"only comments", "# nothing here\n# at all\n"},
		{"template rendering to nothing", "{% if false %}\na: 1\n{% endif %}\n"},
		{"empty JSON", "#!json\n\n"},
	}
	for _, tc := range empty {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := SLS(context.Background(), []byte(tc.src), c)
			if err != nil || doc != nil {
				t.Errorf("got %v, %v; want nil, nil", doc, err)
			}
		})
	}
}

func TestValue(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want any
	}{
		{"leading zero is decimal digits", "mode: 0644", map[string]any{"mode": 644}},
		{"0o is octal", "mode: 0o755", map[string]any{"mode": 493}},
		{"hex", "n: 0x1F", map[string]any{"n": 31}},
		{"08 is an int", "n: 08", map[string]any{"n": 8}},
		{"negative", "n: -12", map[string]any{"n": -12}},
		{"quoted number stays text", "mode: '0644'", map[string]any{"mode": "0644"}},
		{"YAML 1.2 booleans", "a: true\nb: False\nc: yes\nd: off\ne: on\nf: no", map[string]any{"a": true, "b": false, "c": "yes", "d": "off", "e": "on", "f": "no"}},
		{"nulls", "a: ~\nb: null\nc:", map[string]any{"a": nil, "b": nil, "c": nil}},
		{"floats", "a: 1.5\nb: 1e3\nc: .inf", map[string]any{"a": 1.5, "b": 1000.0, "c": math.Inf(1)}},
		{"non-string keys", "1: a\ntrue: b\n0644: c\n1.5: d", map[string]any{"1": "a", "true": "b", "0644": "c", "1.5": "d"}},
		{"aliases", "base: &b {x: 1}\nuse: *b\nlist: [*b, 2]", map[string]any{"base": map[string]any{"x": 1}, "use": map[string]any{"x": 1}, "list": []any{map[string]any{"x": 1}, 2}}},
		{"merge key", "base: &b {x: 1, y: 2}\nthing:\n  <<: *b\n  y: 3", map[string]any{"base": map[string]any{"x": 1, "y": 2}, "thing": map[string]any{"x": 1, "y": 3}}},
		{"explicit key wins before the merge too", "base: &b {y: 2}\nthing:\n  y: 3\n  <<: *b", map[string]any{"base": map[string]any{"y": 2}, "thing": map[string]any{"y": 3}}},
		{"merge of a list, first wins", "a: &a {k: a, x: 1}\nb: &b {k: b, z: 2}\nc:\n  <<: [*a, *b]", map[string]any{
			"a": map[string]any{"k": "a", "x": 1}, "b": map[string]any{"k": "b", "z": 2}, "c": map[string]any{"k": "a", "x": 1, "z": 2}}},
		{"quoted << is a key", "'<<': 1", map[string]any{"<<": 1}},
		{"block text", "t: |\n  line\n  two\n", map[string]any{"t": "line\ntwo\n"}},
		{"explicit str tag", "v: !!str 12", map[string]any{"v": "12"}},
		{"timestamp stays text", "d: 2024-01-02", map[string]any{"d": "2024-01-02"}},
		{"sequence of mappings", "- a: 1\n- b", []any{map[string]any{"a": 1}, "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n yaml.Node
			if err := yaml.Unmarshal([]byte(tc.src), &n); err != nil {
				t.Fatal(err)
			}
			got, err := Value(&n)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	t.Run("nil and empty nodes", func(t *testing.T) {
		for _, n := range []*yaml.Node{nil, {}, {Kind: yaml.DocumentNode}} {
			if v, err := Value(n); v != nil || err != nil {
				t.Errorf("Value(%#v) = %v, %v", n, v, err)
			}
		}
	})

	t.Run("bad merge value", func(t *testing.T) {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte("a:\n  <<: 3\n"), &n); err != nil {
			t.Fatal(err)
		}
		if _, err := Value(&n); err == nil {
			t.Error("want an error for `<<: 3`")
		}
	})
}
