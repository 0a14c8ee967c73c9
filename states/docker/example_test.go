package docker

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/fileserver"
	"github.com/brine-cm/brine/pillar"
	"github.com/brine-cm/brine/states"
)

// TestExampleTree compiles examples/docker as a minion with the grain
// roles:docker would, and runs it in test mode against the engine: every
// state answers, none fails, and the engine is left as it was.
func TestExampleTree(t *testing.T) {
	ctx := context.Background()
	grains := map[string]any{"id": "docker1", "roles": []any{"docker"}}
	pil, err := pillar.Compile(ctx, pillar.Options{
		Roots: fileserver.Roots{Envs: map[string][]string{"base": {"../../examples/docker/pillar"}}},
		ID:    "docker1", Grains: grains,
	})
	if err != nil {
		t.Fatal(err)
	}
	files := fileserver.Roots{Envs: map[string][]string{"base": {"../../examples/docker/salt"}}}
	eng := &states.Engine{Env: &api.Env{ID: "docker1", Saltenv: "base", Files: files, Grains: grains, Pillar: pil}}
	mods, err := eng.HighstateMods(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"app"}, mods); diff != "" {
		t.Fatalf("top file for roles:docker (-want +got):\n%s", diff)
	}
	chunks, err := eng.Compile(ctx, []string{"app", "app.absent"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range chunks {
		ids = append(ids, c.ID)
	}
	want := []string{"app-image", "app-net", "app-data", "app-1", "app-2",
		"app-1-absent", "app-2-absent", "app-net-absent", "app-data-absent", "app-image-absent"}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("compiled states (-want +got):\n%s", diff)
	}

	c := dockerOrSkip(t)
	before := snapshot(t, c, "brine-demo")
	run, err := eng.Highstate(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Returns) != 5 {
		t.Errorf("%d states ran, want 5", len(run.Returns))
	}
	for _, ret := range run.Ordered() {
		if !ret.Result.OK() {
			t.Errorf("%s failed in test mode: %s", ret.ID, ret.Comment)
		}
	}
	if diff := cmp.Diff(before, snapshot(t, c, "brine-demo")); diff != "" {
		t.Errorf("test mode changed the engine (-before +after):\n%s", diff)
	}
}
