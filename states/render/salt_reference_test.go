package render

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// referenceCase is the 05-jinja case of the Salt reference corpus.
const referenceCase = "../testdata/reference/05-jinja"

func caseDir(t *testing.T) string {
	t.Helper()
	dir := referenceCase
	if env := os.Getenv("BRINE_SALT_REFERENCE"); env != "" {
		dir = filepath.Join(env, "05-jinja")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("Salt reference corpus not found at %s (set BRINE_SALT_REFERENCE): %v", dir, err)
	}
	return dir
}

// readYAMLFile renders a file of the case as plain YAML data.
func readYAMLFile(t *testing.T, path string) map[string]any {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := SLS(context.Background(), src, Context{Path: filepath.Base(path)})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	v, err := Value(doc)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := v.(map[string]any)
	return m
}

// TestSaltReferenceWebapp renders webapp/init.sls of the reference case
// with the case's grains and pillar, and checks every rendered argument
// against what Salt's state.show_lowstate printed.
func TestSaltReferenceWebapp(t *testing.T) {
	dir := caseDir(t)
	grains := readYAMLFile(t, filepath.Join(dir, "minion.extra"))["grains"].(map[string]any)
	pillar := readYAMLFile(t, filepath.Join(dir, "pillar", "webapp.sls"))
	pillar["root"] = "/ROOT"
	env := newEnv(dirFiles{root: filepath.Join(dir, "states")}, grains, pillar)

	src, err := os.ReadFile(filepath.Join(dir, "states", "webapp", "init.sls"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := SLS(context.Background(), src, Context{Env: env, Path: "webapp/init.sls", SLS: "webapp"})
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	got, err := Value(doc)
	if err != nil {
		t.Fatal(err)
	}
	states := got.(map[string]any)

	raw, err := os.ReadFile(filepath.Join(dir, "lowstate.json"))
	if err != nil {
		t.Fatal(err)
	}
	var low struct {
		Local []map[string]any `json:"local"`
	}
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(raw), "__ROOT__", "/ROOT")), &low); err != nil {
		t.Fatal(err)
	}
	if len(low.Local) != len(states) {
		t.Errorf("rendered %d state IDs, Salt had %d", len(states), len(low.Local))
	}
	// IDs must come out in declaration order: the compiler relies on it.
	root := doc.Content[0]
	for i, chunk := range low.Local {
		id := chunk["__id__"].(string)
		if 2*i < len(root.Content) && root.Content[2*i].Value != id {
			t.Errorf("state %d is %q, Salt had %q", i, root.Content[2*i].Value, id)
		}
		t.Run(id, func(t *testing.T) {
			decl, ok := states[id].(map[string]any)
			if !ok {
				t.Fatalf("state %s not rendered; got IDs %v", id, keys(states))
			}
			fun := chunk["state"].(string) + "." + chunk["fun"].(string)
			args, ok := decl[fun].([]any)
			if !ok {
				t.Fatalf("%s: no %s in %v", id, fun, decl)
			}
			gotArgs := map[string]any{}
			for _, a := range args {
				for k, v := range a.(map[string]any) {
					gotArgs[k] = v
				}
			}
			want := map[string]any{}
			for k, v := range chunk {
				switch k {
				case "state", "fun", "__sls__", "__env__", "__id__", "order":
					continue
				case "name":
					if v == id {
						continue // Salt fills name from the ID
					}
				}
				want[k] = v
			}
			if diff := cmp.Diff(want, gotArgs); diff != "" {
				t.Errorf("%s arguments differ from Salt's (-salt +brine):\n%s", id, diff)
			}
		})
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
