package docker

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/api"
)

// TestTestModeTouchesNothing declares a whole stack on an empty engine in
// test mode: every state answers None with what it would do, and the
// engine's lists are the same afterwards (no image built, no volume made).
func TestTestModeTouchesNothing(t *testing.T) {
	c := dockerOrSkip(t)
	p := prefix(t, c)
	env, _ := saltTree(t, serverDockerfile)
	before := snapshot(t, c, p)
	steps := []struct {
		fun, name string
		args      map[string]any
		comment   string
		changes   map[string]any
	}{
		{"docker_image.present", p + "app", map[string]any{"tag": "1", "build": "salt://app", "labels": map[string]any{"brine.test": p}},
			"will be built", nil},
		{"docker_network.present", p + "net", nil, "Network will be created", map[string]any{"created": true}},
		{"docker_volume.present", p + "data", nil, "will be created",
			map[string]any{"created": map[string]any{"Name": p + "data", "Driver": "local", "Labels": nil, "Options": nil}}},
		{"docker_container.running", p + "web", map[string]any{"image": p + "app:1", "networks": []any{p + "net"}, "binds": []any{p + "data:/data"}},
			"would be pulled", map[string]any{"image": map[string]any{"old": nil, "new": p + "app:1"}}},
	}
	for _, s := range steps {
		t.Run(s.fun, func(t *testing.T) {
			r := must(t, apply(t, env, s.fun, s.name, s.args, true), nil)
			if !strings.Contains(r.Comment, s.comment) {
				t.Errorf("comment %q, want it to say %q", r.Comment, s.comment)
			}
			if s.changes != nil {
				if diff := cmp.Diff(s.changes, plain(t, r.Changes)); diff != "" {
					t.Errorf("changes (-want +got):\n%s", diff)
				}
			}
		})
	}
	// Absent states on things that do not exist are true without changes.
	for _, fun := range []string{"docker_container.absent", "docker_network.absent", "docker_volume.absent", "docker_image.absent"} {
		r := must(t, apply(t, env, fun, p+"nothing", nil, true), yes)
		if len(r.Changes) != 0 {
			t.Errorf("%s on nothing: changes %s", fun, js(r.Changes))
		}
	}
	if diff := cmp.Diff(before, snapshot(t, c, p)); diff != "" {
		t.Errorf("test mode changed the engine (-before +after):\n%s", diff)
	}
}

// TestFailuresChangeNothing: a missing image, a port already taken and a
// bad Dockerfile each fail their state with the engine's own message and
// leave the engine as it was.
func TestFailuresChangeNothing(t *testing.T) {
	c := dockerOrSkip(t)
	p := prefix(t, c)
	env, _ := saltTree(t, serverDockerfile)
	ref := buildImage(t, env, p)

	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	taken := held.Addr().(*net.TCPAddr).Port

	badEnv, _ := saltTree(t, "FROM scratch\nCOPY server /server\nFROBNICATE the build\n")
	cases := []struct {
		name, fun, id string
		env           *api.Env // nil: the app tree
		args          map[string]any
		want          []string // all in the comment
	}{
		{name: "missing image", fun: "docker_container.running", id: p + "ghost",
			args: map[string]any{"image": p + "missing:1"},
			want: []string{"could not be pulled", p + "missing"}},
		{name: "port taken", fun: "docker_container.running", id: p + "clash",
			args: map[string]any{"image": ref, "port_bindings": []any{fmt.Sprintf("127.0.0.1:%d:8080", taken)}},
			want: []string{"Failed to start container", "address already in use"}},
		{name: "bad Dockerfile", fun: "docker_image.present", id: p + "bad", env: badEnv,
			args: map[string]any{"tag": "1", "build": "salt://app", "labels": map[string]any{"brine.test": p}},
			want: []string{"Encountered error building salt://app", "unknown instruction", "FROBNICATE"}},
		{name: "pull without a registry", fun: "docker_image.present", id: p + "remote",
			args: map[string]any{"tag": "3"},
			want: []string{"Encountered error pulling " + p + "remote:3"}},
		{name: "unknown network", fun: "docker_container.running", id: p + "lost",
			args: map[string]any{"image": ref, "networks": []any{p + "nonet"}},
			want: []string{p + "nonet", "not found"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.env
			if e == nil {
				e = env
			}
			before := snapshot(t, c, p)
			r := must(t, apply(t, e, tc.fun, tc.id, tc.args, false), no)
			t.Logf("comment: %s", r.Comment)
			for _, w := range tc.want {
				if !strings.Contains(strings.ToLower(r.Comment), strings.ToLower(w)) {
					t.Errorf("comment %q does not say %q", r.Comment, w)
				}
			}
			if len(r.Changes) != 0 {
				t.Errorf("a failed state reports changes %s", js(r.Changes))
			}
			if diff := cmp.Diff(before, snapshot(t, c, p)); diff != "" {
				t.Errorf("the failure changed the engine (-before +after):\n%s", diff)
			}
		})
	}

	// A replacement that cannot start puts the old container back.
	t.Run("replacement cannot start", func(t *testing.T) {
		name := p + "keep"
		port := freePort(t)
		must(t, apply(t, env, "docker_container.running", name, map[string]any{
			"image": ref, "port_bindings": []any{fmt.Sprintf("127.0.0.1:%d:8080", port)},
		}, false), yes)
		old := inspect(t, c, name).Container.ID
		r := must(t, apply(t, env, "docker_container.running", name, map[string]any{
			"image": ref, "port_bindings": []any{fmt.Sprintf("127.0.0.1:%d:8080", taken)},
		}, false), no)
		if !strings.Contains(r.Comment, "address already in use") || !strings.Contains(r.Comment, "previous container was restored") {
			t.Errorf("comment %q", r.Comment)
		}
		now := inspect(t, c, name).Container
		if now.ID != old || !now.State.Running {
			t.Errorf("after the failed replacement: %s running=%v, want the old %s running", now.ID, now.State.Running, old)
		}
		if exists(t, c, name+"_brine_new") || exists(t, c, name+"_brine_old") {
			t.Error("a temporary container was left behind")
		}
		waitBody(t, fmt.Sprintf("http://127.0.0.1:%d/", port), "default")
	})
}
