package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/fileserver"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/modules/docker/engine"
)

func dockerOrSkip(t *testing.T) *client.Client {
	t.Helper()
	c, err := engine.Connect()
	if err == nil {
		err = engine.Ping(context.Background(), c)
	}
	if err != nil {
		t.Skipf("skipping: these tests need a Docker Engine and none answers (%v)", err)
	}
	return c
}

// cleanup removes everything named or tagged with p when the test ends.
func cleanup(t *testing.T, c *client.Client, p string) {
	t.Cleanup(func() {
		ctx := context.Background()
		cs, _ := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("name", p)})
		for _, ct := range cs.Items {
			_, _ = c.ContainerRemove(ctx, ct.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		}
		ns, _ := c.NetworkList(ctx, client.NetworkListOptions{Filters: client.Filters{}.Add("name", p)})
		for _, n := range ns.Items {
			_, _ = c.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{})
		}
		vs, _ := c.VolumeList(ctx, client.VolumeListOptions{Filters: client.Filters{}.Add("name", p)})
		for _, v := range vs.Items {
			_, _ = c.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true})
		}
		is, _ := c.ImageList(ctx, client.ImageListOptions{All: true, Filters: client.Filters{}.Add("label", "brine.test="+p)})
		for _, img := range is.Items {
			if _, err := c.ImageRemove(ctx, img.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil && !engine.IsNotFound(err) {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
}

func call(t *testing.T, env *api.Env, fun string, args []any, kwargs map[string]any) (any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return modules.Call(ctx, env, fun, args, kwargs)
}

func mustCall(t *testing.T, env *api.Env, fun string, args []any, kwargs map[string]any) any {
	t.Helper()
	out, err := call(t, env, fun, args, kwargs)
	if err != nil {
		t.Fatalf("%s: %v", fun, err)
	}
	return out
}

// TestModule builds an image with docker.build from salt://, runs it, and
// reads it back with the other functions.
func TestModule(t *testing.T) {
	c := dockerOrSkip(t)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	p := "brinetest-" + hex.EncodeToString(b) + "-"
	cleanup(t, c, p)

	root := t.TempDir()
	app := filepath.Join(root, "app")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(app, "server"), "../../states/docker/testdata/server")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the test server: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(app, "Dockerfile"), []byte("FROM scratch\nCOPY server /server\nENTRYPOINT [\"/server\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := &api.Env{Saltenv: "base", Files: fileserver.Roots{Envs: map[string][]string{"base": {root}}}}

	v := mustCall(t, env, "docker.version", nil, nil).(map[string]any)
	if v["Version"] == "" || v["ApiVersion"] == "" || len(v["VersionInfo"].([]any)) < 2 {
		t.Errorf("docker.version = %v", v)
	}

	out := mustCall(t, env, "docker.build", []any{"salt://app"}, map[string]any{
		"repository": p + "mod", "tag": "1", "labels": map[string]any{"brine.test": p},
	}).(map[string]any)
	if out["Image"] != p+"mod:1" || len(out["Id"].(string)) != 12 {
		t.Fatalf("docker.build = %v", out)
	}
	imgs := mustCall(t, env, "docker.images", nil, nil).(map[string]any)
	found := false
	for _, img := range imgs {
		for _, tag := range img.(map[string]any)["RepoTags"].([]any) {
			found = found || tag == p+"mod:1"
		}
	}
	if !found {
		t.Errorf("docker.images does not list %smod:1", p)
	}

	ctx := context.Background()
	name := p + "c"
	res, err := c.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: &container.Config{Image: p + "mod:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustCall(t, env, "docker.state", []any{name}, nil); got != "stopped" {
		t.Errorf("docker.state = %v, want stopped", got)
	}
	started := mustCall(t, env, "docker.start", []any{name}, nil)
	if diff := cmp.Diff(map[string]any{"result": true, "state": map[string]any{"old": "stopped", "new": "running"}}, started); diff != "" {
		t.Errorf("docker.start (-want +got):\n%s", diff)
	}
	again := mustCall(t, env, "docker.start", []any{name}, nil).(map[string]any)
	if again["result"] != false || !strings.Contains(again["comment"].(string), "already running") {
		t.Errorf("docker.start on a running container = %v", again)
	}

	ps := mustCall(t, env, "docker.ps", nil, nil).(map[string]any)
	entry, ok := ps[res.ID].(map[string]any)
	if !ok || entry["State"] != "running" || entry["Time_Created_Epoch"] == nil {
		t.Errorf("docker.ps entry for %s = %v", name, entry)
	}
	filtered := mustCall(t, env, "docker.ps", nil, map[string]any{"all": true, "filters": map[string]any{"name": name}}).(map[string]any)
	if len(filtered) != 1 {
		t.Errorf("docker.ps filtered by name: %d entries", len(filtered))
	}

	var text string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(text, "listening on :8080") {
		text = mustCall(t, env, "docker.logs", []any{name}, nil).(string)
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(text, "listening on :8080") {
		t.Errorf("docker.logs = %q", text)
	}

	for kind, ref := range map[string]string{"container": name, "image": p + "mod:1", "network": "bridge"} {
		got := mustCall(t, env, "docker.inspect", []any{ref}, nil).(map[string]any)
		if _, ok := got["Id"]; !ok {
			t.Errorf("docker.inspect %s (%s): no Id in %v", ref, kind, got)
		}
		if _, err := call(t, env, "docker.inspect_"+kind, []any{ref}, nil); err != nil {
			t.Errorf("docker.inspect_%s %s: %v", kind, ref, err)
		}
	}
	if _, err := call(t, env, "docker.inspect", []any{p + "nothing"}, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("docker.inspect of nothing: %v", err)
	}

	stopped := mustCall(t, env, "docker.restart", []any{name}, map[string]any{"timeout": 5})
	if diff := cmp.Diff(map[string]any{"result": true, "state": map[string]any{"old": "running", "new": "running"}}, stopped); diff != "" {
		t.Errorf("docker.restart (-want +got):\n%s", diff)
	}
	if _, err := call(t, env, "docker.rm", []any{name}, nil); err == nil || !strings.Contains(err.Error(), "stop=True") {
		t.Errorf("docker.rm of a running container: %v", err)
	}
	stopped = mustCall(t, env, "docker.stop", []any{name}, nil)
	if diff := cmp.Diff(map[string]any{"result": true, "state": map[string]any{"old": "running", "new": "stopped"}}, stopped); diff != "" {
		t.Errorf("docker.stop (-want +got):\n%s", diff)
	}
	removed := mustCall(t, env, "docker.rm", []any{name}, nil)
	if diff := cmp.Diff([]any{name}, removed); diff != "" {
		t.Errorf("docker.rm (-want +got):\n%s", diff)
	}
	if _, err := call(t, env, "docker.state", []any{name}, nil); !engine.IsNotFound(err) {
		t.Errorf("docker.state after rm: %v", err)
	}
	if _, err := call(t, env, "docker.build", []any{"relative/dir"}, map[string]any{"repository": p + "x"}); err == nil {
		t.Error("docker.build accepted a relative path")
	}
}
