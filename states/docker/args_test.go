package docker

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states"
)

func TestKVForms(t *testing.T) {
	cases := []struct {
		name string
		in   any
		keys []string
		vals map[string]string
	}{
		{"mapping", map[string]any{"B": 2, "A": "x", "C": true, "D": nil}, []string{"A", "B", "C", "D"},
			map[string]string{"A": "x", "B": "2", "C": "True", "D": ""}},
		{"KEY=value list", []any{"A=1", "B=two=2", "BARE"}, []string{"A", "B", "BARE"},
			map[string]string{"A": "1", "B": "two=2", "BARE": ""}},
		{"one-key mappings", []any{map[string]any{"A": 1}, map[string]any{"A": 3}}, []string{"A"}, map[string]string{"A": "3"}},
		{"comma string", "A=1, B=2", []string{"A", "B"}, map[string]string{"A": "1", "B": "2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var kv KV
			if err := kv.UnmarshalArg(tc.in); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.keys, kv.Keys); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.vals, kv.Vals); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
	var kv KV
	if err := kv.UnmarshalArg([]any{map[string]any{"A": 1, "B": 2}}); err == nil {
		t.Error("a two-key list item was accepted")
	}
}

func TestShellSplit(t *testing.T) {
	cases := map[string][]string{
		`/server --port 8080`:        {"/server", "--port", "8080"},
		`sh -c 'echo "hi there"'`:    {"sh", "-c", `echo "hi there"`},
		`a "b c" d\ e`:               {"a", "b c", "d e"},
		`x "quote \" inside" ''`:     {"x", `quote " inside`, ""},
		"  spaced\tout\n":            {"spaced", "out"},
		`--flag="value with spaces"`: {"--flag=value with spaces"},
	}
	for in, want := range cases {
		got, err := shellSplit(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", in, diff)
		}
	}
	for _, bad := range []string{`echo 'open`, `echo "open`} {
		if _, err := shellSplit(bad); err == nil {
			t.Errorf("%q: no error for an unterminated quote", bad)
		}
	}
}

func TestParseBindings(t *testing.T) {
	cases := []struct {
		in   []string
		want map[string]any
		err  string
	}{
		{in: []string{"8080:80"}, want: map[string]any{"80/tcp": []any{map[string]any{"HostIp": "", "HostPort": "8080"}}}},
		{in: []string{"127.0.0.1:8080:80/udp"}, want: map[string]any{"80/udp": []any{map[string]any{"HostIp": "127.0.0.1", "HostPort": "8080"}}}},
		{in: []string{"127.0.0.1::80"}, want: map[string]any{"80/tcp": []any{map[string]any{"HostIp": "127.0.0.1", "HostPort": ""}}}},
		{in: []string{"80"}, want: map[string]any{"80/tcp": []any{map[string]any{"HostIp": "", "HostPort": ""}}}},
		{in: []string{"[::1]:8080:80"}, want: map[string]any{"80/tcp": []any{map[string]any{"HostIp": "::1", "HostPort": "8080"}}}},
		{in: []string{"9000-9001:80-81"}, want: map[string]any{
			"80/tcp": []any{map[string]any{"HostIp": "", "HostPort": "9000"}},
			"81/tcp": []any{map[string]any{"HostIp": "", "HostPort": "9001"}},
		}},
		{in: []string{"8080:80", "8081:80"}, want: map[string]any{"80/tcp": []any{
			map[string]any{"HostIp": "", "HostPort": "8080"}, map[string]any{"HostIp": "", "HostPort": "8081"},
		}}},
		{in: []string{"a:b:c:d"}, err: "expected"},
		{in: []string{"notaport"}, err: "invalid"},
		{in: []string{"999.1.1.1:80:80"}, err: "ParseAddr"},
		{in: []string{"9000-9002:80-81"}, err: "differ in length"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.in, ","), func(t *testing.T) {
			pm, err := parseBindings(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, portMap(pm)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRestart(t *testing.T) {
	for in, want := range map[string]container.RestartPolicy{
		"":               {Name: "no"},
		"always":         {Name: "always"},
		"on-failure:5":   {Name: "on-failure", MaximumRetryCount: 5},
		"unless-stopped": {Name: "unless-stopped"},
	} {
		got, err := parseRestart(in)
		if err != nil || got != want {
			t.Errorf("%q = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"sometimes", "always:3", "on-failure:x"} {
		if _, err := parseRestart(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestArgumentsAreStrict: the registry's validation rejects what Salt's
// running would not understand, naming the argument, before anything runs.
func TestArgumentsAreStrict(t *testing.T) {
	f, _ := states.Lookup("docker_container.running")
	cases := []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"image": "x", "skip_translate": "ports"}, "unknown argument 'skip_translate'"},
		{map[string]any{"image": "x", "networks": []any{map[string]any{"n": map[string]any{"alias": "web"}}}}, "unknown argument 'alias'"},
		{map[string]any{"image": "x", "mem_limit": "lots"}, "mem_limit"},
		{map[string]any{"image": "x", "privileged": "maybe"}, "privileged"},
	}
	for _, tc := range cases {
		err := f.Validate(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
	for _, tc := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{}, "'image' argument is required"},
		{map[string]any{"image": "x", "binds": []any{"relative"}}, "binds"},
		{map[string]any{"image": "x", "networks": []any{"a"}, "network_mode": "host"}, "cannot both"},
		{map[string]any{"image": "x", "working_dir": "srv"}, "absolute"},
		{map[string]any{"image": "x", "dns": []any{"resolver"}}, "dns"},
		{map[string]any{"image": "x", "restart_policy": "often"}, "restart_policy"},
	} {
		r := f.Apply(t.Context(), &states.Request{ID: "c", Name: "c", Args: tc.args, Env: &api.Env{}})
		if r.Result == nil || *r.Result || !strings.Contains(r.Comment, tc.want) {
			t.Errorf("%v: %v %q, want a failure mentioning %q", tc.args, r.Result, r.Comment, tc.want)
		}
	}
}

// TestDiffMergesImageDefaults: the comparison expects what the engine
// makes of a declaration on a given image, so a container created from
// the declaration compares equal, and each kind of drift is named.
func TestDiffMergesImageDefaults(t *testing.T) {
	img := &dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{
		Env: []string{"PATH=/bin", "MODE=image"}, Cmd: []string{"serve"}, Entrypoint: []string{"/app"},
		WorkingDir: "/srv", User: "app", Labels: map[string]string{"from": "image"},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}}, Volumes: map[string]struct{}{"/cache": {}},
	}}
	args := &runningArgs{Image: "app:1"}
	mustArg(t, &args.Environment, map[string]any{"MODE": "prod", "EXTRA": "1"})
	mustArg(t, &args.Labels, map[string]any{"tier": "web"})
	args.PortBindings = []string{"9090:8080"}
	s, err := buildSpec(args)
	if err != nil {
		t.Fatal(err)
	}
	// What the engine shows for a container created from s on img.
	match := func() *container.InspectResponse {
		return &container.InspectResponse{
			ID: "0123456789abcdef",
			Config: &container.Config{
				Hostname: "0123456789ab", Env: []string{"MODE=prod", "EXTRA=1", "PATH=/bin"}, Cmd: []string{"serve"},
				Entrypoint: []string{"/app"}, WorkingDir: "/srv", User: "app",
				Labels:       map[string]string{"from": "image", "tier": "web"},
				ExposedPorts: network.PortSet{network.MustParsePort("8080/tcp"): {}},
				Volumes:      map[string]struct{}{"/cache": {}},
			},
			HostConfig: &container.HostConfig{
				NetworkMode:   "default",
				RestartPolicy: container.RestartPolicy{Name: "no"},
				PortBindings:  s.host.PortBindings,
				Resources:     container.Resources{},
			},
		}
	}
	if d := diff(match(), s, img); len(d) != 0 {
		t.Fatalf("a matching container differs: %s", js(d))
	}
	cases := []struct {
		name  string
		drift func(*container.InspectResponse)
		field string
	}{
		{"env", func(c *container.InspectResponse) { c.Config.Env[0] = "MODE=dev" }, "Config.Env"},
		{"image default env dropped", func(c *container.InspectResponse) { c.Config.Env = c.Config.Env[:2] }, "Config.Env"},
		{"cmd", func(c *container.InspectResponse) { c.Config.Cmd = []string{"other"} }, "Config.Cmd"},
		{"label added by hand", func(c *container.InspectResponse) { c.Config.Labels["x"] = "y" }, "Config.Labels"},
		{"user", func(c *container.InspectResponse) { c.Config.User = "root" }, "Config.User"},
		{"port", func(c *container.InspectResponse) { c.HostConfig.PortBindings = nil }, "HostConfig.PortBindings"},
		{"restart", func(c *container.InspectResponse) { c.HostConfig.RestartPolicy.Name = "always" }, "HostConfig.RestartPolicy"},
		{"memory", func(c *container.InspectResponse) { c.HostConfig.Memory = 1 << 20 }, "HostConfig.Memory"},
		{"network mode", func(c *container.InspectResponse) { c.HostConfig.NetworkMode = "host" }, "HostConfig.NetworkMode"},
		{"privileged", func(c *container.InspectResponse) { c.HostConfig.Privileged = true }, "HostConfig.Privileged"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cur := match()
			tc.drift(cur)
			d := diff(cur, s, img)
			section, field, _ := strings.Cut(tc.field, ".")
			sec, _ := d[section].(map[string]any)
			if len(d) != 1 || len(sec) != 1 || sec[field] == nil {
				t.Errorf("diff = %s, want exactly %s", js(d), tc.field)
			}
		})
	}
	// A declared entrypoint drops the image's command, as the engine does.
	mustArg(t, &args.Entrypoint, "/other --flag")
	s, err = buildSpec(args)
	if err != nil {
		t.Fatal(err)
	}
	cur := match()
	cur.Config.Entrypoint, cur.Config.Cmd = []string{"/other", "--flag"}, nil
	if d := diff(cur, s, img); len(d) != 0 {
		t.Errorf("entrypoint without command: %s", js(d))
	}
}

func mustArg(t *testing.T, u api.ArgUnmarshaler, v any) {
	t.Helper()
	if err := u.UnmarshalArg(v); err != nil {
		t.Fatal(err)
	}
}

func TestNetworksForms(t *testing.T) {
	var n Networks
	mustArg(t, &n, []any{
		"plain",
		map[string]any{"listed": []any{map[string]any{"aliases": []any{"a", "b"}}, map[string]any{"ipv4_address": "10.0.0.5"}}},
		map[string]any{"mapped": map[string]any{"aliases": "c"}},
		map[string]any{"empty": nil},
	})
	want := []NetSpec{
		{Name: "plain"},
		{Name: "listed", Aliases: []string{"a", "b"}, IPv4Address: "10.0.0.5"},
		{Name: "mapped", Aliases: []string{"c"}},
		{Name: "empty"},
	}
	if diff := cmp.Diff(want, n.Nets); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if err := n.UnmarshalArg([]any{"a", "a"}); err == nil {
		t.Error("a network given twice was accepted")
	}
}
