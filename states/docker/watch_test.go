package docker

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states"
	_ "github.com/brine-cm/brine/states/file"
)

// TestWatchThroughTheEngine runs an SLS tree through the state engine: a
// file.managed config bound into a container that watches it. The first
// run creates both, the second changes nothing, and a changed config
// replaces the container through mod_watch.
func TestWatchThroughTheEngine(t *testing.T) {
	c := dockerOrSkip(t)
	p := prefix(t, c)
	env, root := saltTree(t, serverDockerfile)
	conf := filepath.Join(t.TempDir(), "app.conf")
	sls := fmt.Sprintf(`
image:
  docker_image.present:
    - name: %[1]sapp
    - tag: "1"
    - build: salt://app
    - labels:
        brine.test: %[1]s

config:
  file.managed:
    - name: %[2]s
    - source: salt://app.conf

web:
  docker_container.running:
    - name: %[1]sweb
    - image: %[1]sapp:1
    - binds:
      - %[2]s:/etc/app.conf:ro
    - require:
      - docker_image: image
    - watch:
      - file: config
`, p, conf)
	write(t, filepath.Join(root, "watch.sls"), sls)
	write(t, filepath.Join(root, "app.conf"), "level=1\n")
	eng := &states.Engine{Env: &api.Env{ID: "docker-test", Saltenv: "base", Files: env.Files, Pillar: map[string]any{}, Grains: map[string]any{}}}
	run := func(test bool) map[string]*api.StateReturn {
		t.Helper()
		r, err := eng.SLS(context.Background(), []string{"watch"}, test)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*api.StateReturn{}
		for _, ret := range r.Ordered() {
			if ret.Result.Result != nil && !*ret.Result.Result {
				t.Fatalf("%s failed: %s", ret.ID, ret.Comment)
			}
			out[ret.ID] = ret
		}
		return out
	}
	first := run(false)
	if first["web"].Changes["container_id"] == nil {
		t.Fatalf("first run: web changes %s", js(first["web"].Changes))
	}
	id := inspect(t, c, p+"web").Container.ID
	for name, ret := range run(false) {
		if len(ret.Changes) != 0 {
			t.Errorf("second run: %s changed %s", name, js(ret.Changes))
		}
	}
	write(t, filepath.Join(root, "app.conf"), "level=2\n")
	if ret := run(true)["web"]; ret.Result.Result != nil {
		t.Errorf("test mode with a changed config: web result %v (%s)", *ret.Result.Result, ret.Comment)
	}
	if got := inspect(t, c, p+"web").Container.ID; got != id {
		t.Fatal("test mode replaced the container")
	}
	third := run(false)
	newID := inspect(t, c, p+"web").Container.ID
	if newID == id || !strings.Contains(third["web"].Comment, "Replaced") {
		t.Errorf("a changed watched file did not replace the container: %s (%s)", third["web"].Comment, js(third["web"].Changes))
	}
	if third["config"].Changes["diff"] == nil {
		t.Errorf("config changes %s", js(third["config"].Changes))
	}
}
