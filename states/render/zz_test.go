package render
import ("testing";"strings";"go.yaml.in/yaml/v3")
func TestZZ(t *testing.T){
 for _, s := range []string{"broken_yaml:\n  test.succeed_without_changes:\n    - name: fine\n   - comment: [unclosed\n", "\na: {{ not jinja }}\nb: [\n", "a: 1\n---\nb: 2\n", "a: \"\\x\"", "a:\tb", "- a\nb: 1"} {
 var n yaml.Node
 err := yaml.NewDecoder(strings.NewReader(s)).Decode(&n)
 t.Logf("%q", err)
 }
}
