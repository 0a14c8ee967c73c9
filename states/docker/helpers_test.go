package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/fileserver"
	"github.com/brine-cm/brine/modules/docker/engine"
	"github.com/brine-cm/brine/states"
)

var (
	yes = api.Tri(true)
	no  = api.Tri(false)
)

// dockerOrSkip returns the engine client, or skips the test with a message
// saying that no daemon answers.
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

// prefix returns a name prefix unique to this test and removes every
// container, network, volume and image carrying it when the test ends,
// failed or not.
func prefix(t *testing.T, c *client.Client) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	p := "brinetest-" + hex.EncodeToString(b) + "-"
	t.Cleanup(func() { removeAll(t, c, p) })
	return p
}

func removeAll(t *testing.T, c *client.Client, p string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("name", p)})
	if err != nil {
		t.Errorf("cleanup: list containers: %v", err)
	}
	for _, ct := range cs.Items {
		if _, err := c.ContainerRemove(ctx, ct.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !engine.IsNotFound(err) {
			t.Errorf("cleanup: remove container %v: %v", ct.Names, err)
		}
	}
	ns, _ := c.NetworkList(ctx, client.NetworkListOptions{Filters: client.Filters{}.Add("name", p)})
	for _, n := range ns.Items {
		if _, err := c.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !engine.IsNotFound(err) {
			t.Errorf("cleanup: remove network %s: %v", n.Name, err)
		}
	}
	vs, _ := c.VolumeList(ctx, client.VolumeListOptions{Filters: client.Filters{}.Add("name", p)})
	for _, v := range vs.Items {
		if _, err := c.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !engine.IsNotFound(err) {
			t.Errorf("cleanup: remove volume %s: %v", v.Name, err)
		}
	}
	is, _ := c.ImageList(ctx, client.ImageListOptions{All: true})
	for _, img := range is.Items {
		for _, tag := range img.RepoTags {
			if strings.HasPrefix(tag, p) {
				if _, err := c.ImageRemove(ctx, img.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil && !engine.IsNotFound(err) {
					t.Errorf("cleanup: remove image %s: %v", tag, err)
				}
				break
			}
		}
	}
	// Images a test left untagged (rebuilt over) carry its build label.
	is, _ = c.ImageList(ctx, client.ImageListOptions{All: true, Filters: client.Filters{}.Add("label", "brine.test="+p)})
	for _, img := range is.Items {
		_, _ = c.ImageRemove(ctx, img.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	}
}

// serverBinary builds testdata/server once per test process: a static
// program for FROM scratch images, so no image comes from a registry.
var serverBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "brine-docker-server-")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "server")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./testdata/server")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build test server: %v\n%s", err, b)
	}
	return out, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if p, err := serverBinary(); err == nil {
		os.RemoveAll(filepath.Dir(p))
	}
	os.Exit(code)
}

// saltTree writes a file_roots tree holding app/Dockerfile and the server
// binary, and returns an environment serving it.
func saltTree(t *testing.T, dockerfile string) (*api.Env, string) {
	t.Helper()
	bin, err := serverBinary()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	app := filepath.Join(root, "app")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "server"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(app, "Dockerfile"), dockerfile)
	return &api.Env{ID: "docker-test", Saltenv: "base", Files: fileserver.Roots{Envs: map[string][]string{"base": {root}}}}, root
}

const serverDockerfile = "FROM scratch\nCOPY server /server\nEXPOSE 8080\nENV GREETING=default\nENTRYPOINT [\"/server\"]\n"

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// apply runs a registered state function as the engine does: strict
// validation, then Apply (or ModWatch).
func apply(t *testing.T, env *api.Env, fun, name string, args map[string]any, test bool) api.Result {
	t.Helper()
	return call(t, env, fun, name, args, test, false)
}

func call(t *testing.T, env *api.Env, fun, name string, args map[string]any, test, modWatch bool) api.Result {
	t.Helper()
	f, ok := states.Lookup(fun)
	if !ok {
		t.Fatalf("%s is not registered", fun)
	}
	if args == nil {
		args = map[string]any{}
	}
	if err := f.Validate(args); err != nil {
		t.Fatalf("%s %s: arguments rejected: %v", fun, name, err)
	}
	if env == nil {
		env = &api.Env{Saltenv: "base"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	req := &states.Request{ID: name, Name: name, Args: args, Test: test, Env: env}
	if modWatch {
		return f.ModWatch(ctx, req)
	}
	return f.Apply(ctx, req)
}

// must fails the test unless the result is want.
func must(t *testing.T, r api.Result, want *bool) api.Result {
	t.Helper()
	switch {
	case want == nil && r.Result != nil:
		t.Fatalf("result = %v, want None; comment %q; changes %s", *r.Result, r.Comment, js(r.Changes))
	case want != nil && r.Result == nil:
		t.Fatalf("result = None, want %v; comment %q; changes %s", *want, r.Comment, js(r.Changes))
	case want != nil && *want != *r.Result:
		t.Fatalf("result = %v, want %v; comment %q; changes %s", *r.Result, *want, r.Comment, js(r.Changes))
	}
	return r
}

func js(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// plain round-trips a value through JSON, as a user sees it in --out json.
func plain(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// snapshot lists what the engine holds under the test's prefix: every
// container (ID, name, state), network and volume named with it, and
// every image tagged with it or labelled by its builds. That covers
// whatever the states under test could create; other users of the same
// engine are left out of the comparison.
func snapshot(t *testing.T, c *client.Client, p string) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	cs, err := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("name", p)})
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range cs.Items {
		out = append(out, fmt.Sprintf("container %s %v %s", ct.ID, ct.Names, ct.State))
	}
	is, err := c.ImageList(ctx, client.ImageListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range is.Items {
		mine := img.Labels["brine.test"] == p
		for _, tag := range img.RepoTags {
			mine = mine || strings.HasPrefix(tag, p)
		}
		if mine {
			out = append(out, fmt.Sprintf("image %s %v", img.ID, sorted(img.RepoTags)))
		}
	}
	ns, err := c.NetworkList(ctx, client.NetworkListOptions{Filters: client.Filters{}.Add("name", p)})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns.Items {
		out = append(out, "network "+n.ID+" "+n.Name)
	}
	vs, err := c.VolumeList(ctx, client.VolumeListOptions{Filters: client.Filters{}.Add("name", p)})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs.Items {
		out = append(out, "volume "+v.Name)
	}
	sort.Strings(out)
	return out
}

// inspect returns a container's engine view; it fails the test when the
// container is missing.
func inspect(t *testing.T, c *client.Client, name string) client.ContainerInspectResult {
	t.Helper()
	res, err := c.ContainerInspect(context.Background(), name, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatalf("inspect %s: %v", name, err)
	}
	return res
}

func exists(t *testing.T, c *client.Client, name string) bool {
	t.Helper()
	_, err := c.ContainerInspect(context.Background(), name, client.ContainerInspectOptions{})
	if err != nil && !engine.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// freePort returns a TCP port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// checkFor polls fn until it returns nil or total elapses.
func checkFor(t *testing.T, total, every time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", total, err)
		}
		time.Sleep(every)
	}
}

// get fetches a URL from the test server inside a container.
func get(url string) (string, error) {
	cl := http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b)), err
}

// waitBody polls url until it answers with want.
func waitBody(t *testing.T, url, want string) {
	t.Helper()
	checkFor(t, 20*time.Second, 100*time.Millisecond, func() error {
		got, err := get(url)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("GET %s = %q, want %q", url, got, want)
		}
		return nil
	})
}
