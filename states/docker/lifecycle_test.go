package docker

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules/docker/engine"
)

// imagePath is the PATH the classic builder gives a FROM scratch image;
// the container's environment merges it in.
const imagePath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// buildImage runs docker_image.present for the test's app image.
func buildImage(t *testing.T, env *api.Env, p string) string {
	t.Helper()
	ref := p + "app:1"
	r := must(t, apply(t, env, "docker_image.present", p+"app", map[string]any{
		"tag": "1", "build": "salt://app", "labels": map[string]any{"brine.test": p},
	}, false), yes)
	if r.Changes["Image"] != ref {
		t.Fatalf("build changes = %s, want Image %s", js(r.Changes), ref)
	}
	return ref
}

// webArgs declares one replica of the app.
func webArgs(ref, p string, port int, greeting string) map[string]any {
	return map[string]any{
		"image":          ref,
		"environment":    []any{map[string]any{"GREETING": greeting}},
		"port_bindings":  []any{fmt.Sprintf("127.0.0.1:%d:8080", port)},
		"binds":          []any{p + "data:/data"},
		"networks":       []any{map[string]any{p + "net": []any{map[string]any{"aliases": []any{"web"}}}}},
		"labels":         map[string]any{"tier": "web"},
		"restart_policy": "unless-stopped",
		"mem_limit":      "64m",
		"working_dir":    "/",
		// Settings whose engine defaults the comparison must get right, or
		// every re-apply would replace the container.
		"hostname":     "web",
		"command":      "-unused-argument",
		"nano_cpus":    500000000,
		"cpu_shares":   512,
		"extra_hosts":  []any{"db.local:10.0.0.9"},
		"cap_drop":     []any{"net_raw"},
		"read_only":    true,
		"stop_signal":  "SIGTERM",
		"stop_timeout": 5,
		"log_driver":   "json-file",
		"log_opt":      map[string]any{"max-size": "1m"},
	}
}

// recreateByHand replaces a container the way an operator might with the
// CLI: same name and settings, with its config edited by edit.
func recreateByHand(t *testing.T, c *client.Client, name string, edit func(*container.Config, *container.HostConfig)) string {
	t.Helper()
	ctx := context.Background()
	old := inspect(t, c, name).Container
	if _, err := c.ContainerRemove(ctx, name, client.ContainerRemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	cfg, host := *old.Config, *old.HostConfig
	edit(&cfg, &host)
	eps := map[string]*network.EndpointSettings{}
	for n, ep := range old.NetworkSettings.Networks {
		var aliases []string
		for _, a := range ep.Aliases {
			if a != engine.ShortID(old.ID) {
				aliases = append(aliases, a)
			}
		}
		eps[n] = &network.EndpointSettings{Aliases: aliases}
	}
	res, err := c.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: &cfg, HostConfig: &host,
		NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: eps}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	return res.ID
}

// TestLifecycle follows the scenario end to end: build an image
// from salt://, run two replicas on a network with a volume, re-apply with
// no changes, change one container by hand, see test mode report exactly
// that difference without touching the engine, re-apply to replace exactly
// that container, then remove everything with the absent states.
func TestLifecycle(t *testing.T) {
	c := dockerOrSkip(t)
	p := prefix(t, c)
	env, root := saltTree(t, serverDockerfile)

	ref := buildImage(t, env, p)
	r := must(t, apply(t, env, "docker_image.present", p+"app", map[string]any{
		"tag": "1", "build": "salt://app", "labels": map[string]any{"brine.test": p},
	}, false), yes)
	if len(r.Changes) != 0 || !strings.Contains(r.Comment, "already present") {
		t.Errorf("re-apply of the image: comment %q changes %s, want already present and no changes", r.Comment, js(r.Changes))
	}

	must(t, apply(t, env, "docker_network.present", p+"net", map[string]any{"labels": map[string]any{"app": "demo"}}, false), yes)
	must(t, apply(t, env, "docker_volume.present", p+"data", map[string]any{"labels": map[string]any{"app": "demo"}}, false), yes)

	ports := []int{freePort(t), freePort(t)}
	names := []string{p + "web1", p + "web2"}
	ids := map[string]string{}
	for i, name := range names {
		r := must(t, apply(t, env, "docker_container.running", name, webArgs(ref, p, ports[i], "hello"), false), yes)
		got := plain(t, r.Changes).(map[string]any)
		id := inspect(t, c, name).Container.ID
		want := map[string]any{"container_id": map[string]any{"added": id}, "state": map[string]any{"old": nil, "new": "running"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("create %s changes (-want +got):\n%s", name, diff)
		}
		ids[name] = id
		waitBody(t, fmt.Sprintf("http://127.0.0.1:%d/", ports[i]), "hello")
	}
	ci := inspect(t, c, names[0]).Container
	if ep := ci.NetworkSettings.Networks[p+"net"]; ep == nil || !slices.Contains(ep.Aliases, "web") {
		t.Errorf("web1 networks = %v, want %snet with alias web", ci.NetworkSettings.Networks, p)
	}
	if len(ci.Mounts) != 1 || ci.Mounts[0].Name != p+"data" || ci.Mounts[0].Destination != "/data" {
		t.Errorf("web1 mounts = %+v, want volume %sdata at /data", ci.Mounts, p)
	}
	if _, err := get(fmt.Sprintf("http://127.0.0.1:%d/write?name=probe", ports[0])); err != nil {
		t.Errorf("write to the volume: %v", err)
	}

	// Re-applying changes nothing.
	for i, name := range names {
		r := must(t, apply(t, env, "docker_container.running", name, webArgs(ref, p, ports[i], "hello"), false), yes)
		if len(r.Changes) != 0 {
			t.Fatalf("re-apply %s: changes %s, want none (comment %q)", name, js(r.Changes), r.Comment)
		}
		if !strings.Contains(r.Comment, "already configured as specified") {
			t.Errorf("re-apply %s: comment %q", name, r.Comment)
		}
	}

	// Change web1's environment by hand.
	recreateByHand(t, c, names[0], func(cfg *container.Config, _ *container.HostConfig) {
		for i, e := range cfg.Env {
			if strings.HasPrefix(e, "GREETING=") {
				cfg.Env[i] = "GREETING=changed by hand"
			}
		}
	})
	waitBody(t, fmt.Sprintf("http://127.0.0.1:%d/", ports[0]), "changed by hand")

	// Test mode names exactly the difference and changes nothing.
	before := snapshot(t, c, p)
	r = must(t, apply(t, env, "docker_container.running", names[0], webArgs(ref, p, ports[0], "hello"), true), nil)
	wantEnv := map[string]any{"container": map[string]any{"Config": map[string]any{"Env": map[string]any{
		"old": []any{"GREETING=changed by hand", imagePath},
		"new": []any{"GREETING=hello", imagePath},
	}}}}
	if diff := cmp.Diff(wantEnv, plain(t, r.Changes)); diff != "" {
		t.Errorf("test-mode changes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, snapshot(t, c, p)); diff != "" {
		t.Errorf("test mode changed the engine (-before +after):\n%s", diff)
	}

	// A real run replaces exactly that container.
	handID := inspect(t, c, names[0]).Container.ID
	r = must(t, apply(t, env, "docker_container.running", names[0], webArgs(ref, p, ports[0], "hello"), false), yes)
	newID := inspect(t, c, names[0]).Container.ID
	if diff := cmp.Diff(map[string]any{"added": newID, "removed": []any{handID}}, plain(t, r.Changes["container_id"])); diff != "" {
		t.Errorf("container_id changes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantEnv["container"], plain(t, r.Changes["container"])); diff != "" {
		t.Errorf("replace changes (-want +got):\n%s", diff)
	}
	waitBody(t, fmt.Sprintf("http://127.0.0.1:%d/", ports[0]), "hello")
	if got := inspect(t, c, names[1]).Container.ID; got != ids[names[1]] {
		t.Errorf("web2 was recreated (%s -> %s); only web1 differed", ids[names[1]], got)
	}
	for i, name := range names {
		r := must(t, apply(t, env, "docker_container.running", name, webArgs(ref, p, ports[i], "hello"), false), yes)
		if len(r.Changes) != 0 {
			t.Errorf("after the fix, %s: changes %s, want none", name, js(r.Changes))
		}
	}
	if exists(t, c, names[0]+"_brine_old") || exists(t, c, names[0]+"_brine_new") {
		t.Error("a temporary container was left behind")
	}

	// Change web2's published port by hand: only web2 is replaced.
	other := freePort(t)
	recreateByHand(t, c, names[1], func(_ *container.Config, host *container.HostConfig) {
		for port, bs := range host.PortBindings {
			for i := range bs {
				bs[i].HostPort = fmt.Sprint(other)
			}
			host.PortBindings[port] = bs
		}
	})
	web1 := inspect(t, c, names[0]).Container.ID
	r = must(t, apply(t, env, "docker_container.running", names[1], webArgs(ref, p, ports[1], "hello"), false), yes)
	wantPorts := map[string]any{"HostConfig": map[string]any{"PortBindings": map[string]any{
		"old": map[string]any{"8080/tcp": []any{map[string]any{"HostIp": "127.0.0.1", "HostPort": fmt.Sprint(other)}}},
		"new": map[string]any{"8080/tcp": []any{map[string]any{"HostIp": "127.0.0.1", "HostPort": fmt.Sprint(ports[1])}}},
	}}}
	if diff := cmp.Diff(wantPorts, plain(t, r.Changes["container"])); diff != "" {
		t.Errorf("port change (-want +got):\n%s", diff)
	}
	waitBody(t, fmt.Sprintf("http://127.0.0.1:%d/", ports[1]), "hello")
	if got := inspect(t, c, names[0]).Container.ID; got != web1 {
		t.Errorf("web1 was recreated by web2's state")
	}

	// The image's context changes: test mode says it would rebuild, the
	// real run rebuilds, and the containers follow the new image.
	write(t, filepath.Join(root, "app", "VERSION"), "2\n")
	before = snapshot(t, c, p)
	r = must(t, apply(t, env, "docker_image.present", p+"app", map[string]any{
		"tag": "1", "build": "salt://app", "labels": map[string]any{"brine.test": p},
	}, true), nil)
	if ch, _ := r.Changes["context_hash"].(map[string]any); ch == nil || ch["old"] == ch["new"] {
		t.Errorf("test-mode rebuild changes = %s, want a context_hash change", js(r.Changes))
	}
	if diff := cmp.Diff(before, snapshot(t, c, p)); diff != "" {
		t.Errorf("test mode built something (-before +after):\n%s", diff)
	}
	oldImage := inspect(t, c, names[0]).Container.Image
	r = must(t, apply(t, env, "docker_image.present", p+"app", map[string]any{
		"tag": "1", "build": "salt://app", "labels": map[string]any{"brine.test": p},
	}, false), yes)
	if r.Changes["Id"] == nil || r.Changes["Id"] == engine.ShortID(oldImage) {
		t.Errorf("rebuild changes = %s, want a new Id", js(r.Changes))
	}
	r = must(t, apply(t, env, "docker_container.running", names[0], webArgs(ref, p, ports[0], "hello"), false), yes)
	if img, _ := r.Changes["image"].(map[string]any); img == nil || img["old"] != oldImage {
		t.Errorf("container on a rebuilt image: changes %s, want image old %s", js(r.Changes), oldImage)
	}

	// absent removes the containers, then the network, volume and image.
	for _, name := range names {
		r := must(t, apply(t, env, "docker_container.absent", name, nil, false), no)
		if !strings.Contains(r.Comment, "force") {
			t.Errorf("absent without force on a running container: %q", r.Comment)
		}
		r = must(t, apply(t, env, "docker_container.absent", name, map[string]any{"force": true}, false), yes)
		if diff := cmp.Diff(map[string]any{"removed": []any{name}}, plain(t, r.Changes)); diff != "" {
			t.Errorf("absent changes (-want +got):\n%s", diff)
		}
		if exists(t, c, name) {
			t.Errorf("%s still exists", name)
		}
		must(t, apply(t, env, "docker_container.absent", name, nil, false), yes)
	}
	r = must(t, apply(t, env, "docker_network.absent", p+"net", nil, false), yes)
	if r.Changes["removed"] != true {
		t.Errorf("network absent changes = %s", js(r.Changes))
	}
	r = must(t, apply(t, env, "docker_volume.absent", p+"data", nil, false), yes)
	if r.Changes["removed"] != true {
		t.Errorf("volume absent changes = %s", js(r.Changes))
	}
	r = must(t, apply(t, env, "docker_image.absent", ref, nil, false), yes)
	if tags, _ := r.Changes["Tags"].([]any); !slices.Contains(tags, any(ref)) {
		t.Errorf("image absent changes = %s, want Tags with %s", js(r.Changes), ref)
	}
	for _, fun := range []string{"docker_network.absent", "docker_volume.absent", "docker_image.absent"} {
		name := map[string]string{"docker_network.absent": p + "net", "docker_volume.absent": p + "data", "docker_image.absent": ref}[fun]
		if r := must(t, apply(t, env, fun, name, nil, false), yes); len(r.Changes) != 0 {
			t.Errorf("%s again: changes %s", fun, js(r.Changes))
		}
	}
}
