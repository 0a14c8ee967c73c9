package docker

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/client"
)

// TestStoppedAndStartedAgain: docker_container.stopped stops a running
// container (and is then satisfied), and running starts it again without
// replacing it.
func TestStoppedAndStartedAgain(t *testing.T) {
	c := dockerOrSkip(t)
	p := prefix(t, c)
	env, _ := saltTree(t, serverDockerfile)
	ref := buildImage(t, env, p)
	name := p + "svc"
	args := map[string]any{"image": ref, "command": "--unused-flag-is-ignored", "restart_policy": "on-failure:3", "user": "65534:65534"}
	must(t, apply(t, env, "docker_container.running", name, args, false), yes)
	id := inspect(t, c, name).Container.ID

	must(t, apply(t, env, "docker_container.stopped", name, nil, true), nil)
	if !inspect(t, c, name).Container.State.Running {
		t.Fatal("test mode stopped the container")
	}
	r := must(t, apply(t, env, "docker_container.stopped", name, map[string]any{"shutdown_timeout": 5}, false), yes)
	want := map[string]any{name: map[string]any{"result": true, "state": map[string]any{"old": "running", "new": "stopped"}}}
	if diff := cmp.Diff(want, plain(t, r.Changes)); diff != "" {
		t.Errorf("stopped changes (-want +got):\n%s", diff)
	}
	r = must(t, apply(t, env, "docker_container.stopped", name, nil, false), yes)
	if len(r.Changes) != 0 || !strings.Contains(r.Comment, "not running") {
		t.Errorf("stopped again: comment %q changes %s", r.Comment, js(r.Changes))
	}
	must(t, apply(t, env, "docker_container.stopped", p+"absent", nil, false), no)
	must(t, apply(t, env, "docker_container.stopped", p+"absent", map[string]any{"error_on_absent": false}, false), yes)

	r = must(t, apply(t, env, "docker_container.running", name, args, true), nil)
	if diff := cmp.Diff(map[string]any{"state": map[string]any{"old": "stopped", "new": "running"}}, plain(t, r.Changes)); diff != "" {
		t.Errorf("test-mode start (-want +got):\n%s", diff)
	}
	r = must(t, apply(t, env, "docker_container.running", name, args, false), yes)
	if diff := cmp.Diff(map[string]any{"state": map[string]any{"old": "stopped", "new": "running"}}, plain(t, r.Changes)); diff != "" {
		t.Errorf("start (-want +got):\n%s", diff)
	}
	if got := inspect(t, c, name).Container; got.ID != id || !got.State.Running {
		t.Errorf("after start: %s running=%v, want %s running", got.ID, got.State.Running, id)
	}

	// start: False leaves a stopped container stopped and creates without
	// starting.
	if _, err := c.ContainerStop(context.Background(), name, client.ContainerStopOptions{}); err != nil {
		t.Fatal(err)
	}
	lazy := map[string]any{"image": ref, "command": "--unused-flag-is-ignored", "restart_policy": "on-failure:3", "user": "65534:65534", "start": false}
	if r := must(t, apply(t, env, "docker_container.running", name, lazy, false), yes); len(r.Changes) != 0 {
		t.Errorf("start: False on a stopped container: changes %s", js(r.Changes))
	}
	r = must(t, apply(t, env, "docker_container.running", p+"idle", map[string]any{"image": ref, "start": false}, false), yes)
	if got := inspect(t, c, p+"idle").Container.State; got.Running {
		t.Errorf("start: False started the new container")
	}
	if diff := cmp.Diff(map[string]any{"old": nil, "new": "stopped"}, plain(t, r.Changes["state"])); diff != "" {
		t.Errorf("start: False state change (-want +got):\n%s", diff)
	}

	// absent with volumes: True takes the anonymous volume along.
	must(t, apply(t, env, "docker_container.running", p+"cache", map[string]any{"image": ref, "volumes": []any{"/cache"}}, false), yes)
	mounts := inspect(t, c, p+"cache").Container.Mounts
	if len(mounts) != 1 || mounts[0].Destination != "/cache" {
		t.Fatalf("mounts %+v, want an anonymous volume at /cache", mounts)
	}
	must(t, apply(t, env, "docker_container.absent", p+"cache", map[string]any{"force": true, "volumes": true}, false), yes)
	if _, err := c.VolumeInspect(context.Background(), mounts[0].Name, client.VolumeInspectOptions{}); err == nil {
		t.Errorf("volume %s outlived its container", mounts[0].Name)
	}
}

// TestModWatch: a watch replaces the container by default (even though it
// matches), restarts it with watch_action restart, and signals it with a
// signal name.
func TestModWatch(t *testing.T) {
	c := dockerOrSkip(t)
	p := prefix(t, c)
	env, _ := saltTree(t, serverDockerfile)
	ref := buildImage(t, env, p)
	name := p + "w"
	args := map[string]any{"image": ref}
	must(t, apply(t, env, "docker_container.running", name, args, false), yes)
	first := inspect(t, c, name).Container

	r := must(t, call(t, env, "docker_container.running", name, args, true, true), nil)
	if r.Changes["forced_update"] != true {
		t.Errorf("test-mode watch changes %s, want forced_update", js(r.Changes))
	}
	r = must(t, call(t, env, "docker_container.running", name, args, false, true), yes)
	second := inspect(t, c, name).Container
	if second.ID == first.ID {
		t.Fatal("watch did not replace the container")
	}
	if diff := cmp.Diff(map[string]any{"added": second.ID, "removed": []any{first.ID}}, plain(t, r.Changes["container_id"])); diff != "" {
		t.Errorf("watch container_id (-want +got):\n%s", diff)
	}

	restart := map[string]any{"image": ref, "watch_action": "restart"}
	r = must(t, call(t, env, "docker_container.running", name, restart, false, true), yes)
	third := inspect(t, c, name).Container
	if third.ID != second.ID || r.Changes["restarted"] != true || third.State.StartedAt == second.State.StartedAt {
		t.Errorf("restart watch: id %s -> %s, changes %s, started %s -> %s", second.ID, third.ID, js(r.Changes), second.State.StartedAt, third.State.StartedAt)
	}
	// The test server exits on SIGTERM, so the signal shows in its state.
	signal := map[string]any{"image": ref, "watch_action": "SIGTERM"}
	r = must(t, call(t, env, "docker_container.running", name, signal, false, true), yes)
	if r.Changes["signal"] != "SIGTERM" {
		t.Errorf("signal watch changes %s", js(r.Changes))
	}
	checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		if st := inspect(t, c, name).Container.State; st.Running {
			return fmt.Errorf("still running after SIGTERM")
		}
		return nil
	})
	// Without a watch, running brings it back.
	r = must(t, apply(t, env, "docker_container.running", name, signal, false), yes)
	if inspect(t, c, name).Container.ID != third.ID || r.Changes["state"] == nil {
		t.Errorf("restart after signal: changes %s", js(r.Changes))
	}
}

// TestNetworksInPlace: adding a network (or an alias) to a running
// container connects it without replacing it; taking one away disconnects.
func TestNetworksInPlace(t *testing.T) {
	c := dockerOrSkip(t)
	p := prefix(t, c)
	env, _ := saltTree(t, serverDockerfile)
	ref := buildImage(t, env, p)
	for _, n := range []string{"front", "back"} {
		must(t, apply(t, env, "docker_network.present", p+n, nil, false), yes)
	}
	name := p + "multi"
	decl := func(nets ...any) map[string]any { return map[string]any{"image": ref, "networks": nets} }
	must(t, apply(t, env, "docker_container.running", name, decl(p+"front"), false), yes)
	id := inspect(t, c, name).Container.ID

	both := decl(p+"front", map[string]any{p + "back": map[string]any{"aliases": []any{"db", "store"}}})
	r := must(t, apply(t, env, "docker_container.running", name, both, true), nil)
	want := map[string]any{"container": map[string]any{"Networks": map[string]any{p + "back": map[string]any{
		"IPConfiguration": map[string]any{"old": "not connected", "new": "automatic"},
		"Aliases":         map[string]any{"old": nil, "new": []any{"db", "store"}},
	}}}}
	if diff := cmp.Diff(want, plain(t, r.Changes)); diff != "" {
		t.Errorf("test-mode network change (-want +got):\n%s", diff)
	}
	r = must(t, apply(t, env, "docker_container.running", name, both, false), yes)
	if diff := cmp.Diff(want, plain(t, r.Changes)); diff != "" {
		t.Errorf("network change (-want +got):\n%s", diff)
	}
	got := inspect(t, c, name).Container
	if got.ID != id {
		t.Errorf("adding a network replaced the container")
	}
	if ep := got.NetworkSettings.Networks[p+"back"]; ep == nil || !slices.Contains(ep.Aliases, "store") {
		t.Errorf("networks after connect: %v", got.NetworkSettings.Networks)
	}
	if r := must(t, apply(t, env, "docker_container.running", name, both, false), yes); len(r.Changes) != 0 {
		t.Errorf("re-apply with two networks: %s", js(r.Changes))
	}
	r = must(t, apply(t, env, "docker_container.running", name, decl(map[string]any{p + "back": []any{map[string]any{"aliases": []any{"db", "store"}}}}), false), yes)
	if _, still := inspect(t, c, name).Container.NetworkSettings.Networks[p+"front"]; still || !strings.Contains(r.Comment, "Disconnected") {
		t.Errorf("front was not disconnected: comment %q", r.Comment)
	}

	// docker_network.present attaches containers and recreates a network
	// whose settings differ, reconnecting what was attached.
	must(t, apply(t, env, "docker_container.running", p+"side", map[string]any{"image": ref}, false), yes)
	r = must(t, apply(t, env, "docker_network.present", p+"front", map[string]any{"containers": []any{p + "side"}}, false), yes)
	if diff := cmp.Diff(map[string]any{"connected": []any{p + "side"}}, plain(t, r.Changes)); diff != "" {
		t.Errorf("network containers (-want +got):\n%s", diff)
	}
	r = must(t, apply(t, env, "docker_network.present", p+"front", map[string]any{"labels": map[string]any{"v": "2"}}, true), nil)
	if diff := cmp.Diff(map[string]any{p + "front": map[string]any{"Labels": map[string]any{"old": map[string]any{}, "new": map[string]any{"v": "2"}}}}, plain(t, r.Changes)); diff != "" {
		t.Errorf("test-mode network recreate (-want +got):\n%s", diff)
	}
	r = must(t, apply(t, env, "docker_network.present", p+"front", map[string]any{"labels": map[string]any{"v": "2"}}, false), yes)
	if r.Changes["recreated"] != true || !slices.Contains(r.Changes["reconnected"].([]any), any(p+"side")) {
		t.Errorf("network recreate changes %s", js(r.Changes))
	}
	if _, ok := inspect(t, c, p+"side").Container.NetworkSettings.Networks[p+"front"]; !ok {
		t.Error("side was not reconnected to the recreated network")
	}
	// A network with its own subnet: re-applying changes nothing, a new
	// gateway recreates it.
	b := make([]byte, 1)
	_, _ = rand.Read(b)
	subnet := fmt.Sprintf("10.199.%d.0/24", b[0])
	gw := func(last int) map[string]any {
		return map[string]any{"subnet": subnet, "gateway": fmt.Sprintf("10.199.%d.%d", b[0], last), "internal": true}
	}
	must(t, apply(t, env, "docker_network.present", p+"sub", gw(1), false), yes)
	if r := must(t, apply(t, env, "docker_network.present", p+"sub", gw(1), false), yes); len(r.Changes) != 0 {
		t.Errorf("re-apply of a subnet network: %s", js(r.Changes))
	}
	r = must(t, apply(t, env, "docker_network.present", p+"sub", gw(254), false), yes)
	if r.Changes["recreated"] != true || r.Changes[p+"sub"].(map[string]any)["IPAM"] == nil {
		t.Errorf("gateway change: %s", js(r.Changes))
	}
	n, err := c.NetworkInspect(context.Background(), p+"sub", client.NetworkInspectOptions{})
	if err != nil || !n.Network.Internal || n.Network.IPAM.Config[0].Gateway.String() != fmt.Sprintf("10.199.%d.254", b[0]) {
		t.Errorf("network after recreate: %+v %v", n.Network.IPAM, err)
	}

	r = must(t, apply(t, env, "docker_network.absent", p+"back", nil, false), yes)
	if diff := cmp.Diff(map[string]any{"removed": true, "disconnected": []any{name}}, plain(t, r.Changes)); diff != "" {
		t.Errorf("network absent (-want +got):\n%s", diff)
	}
}
