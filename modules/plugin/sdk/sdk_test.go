package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/fileserver"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/modules/plugin"
	"github.com/brine-cm/brine/modules/plugin/sdk"
	"github.com/brine-cm/brine/modules/plugin/sdk/sdktest"
)

type greetArgs struct {
	Who   string
	Times int `doc:"how many times"`
	Loud  *bool
}

type fileArgs struct {
	Path string
	Mode api.Mode
}

type watchArgs struct {
	Marker string
}

// testPlugin exercises every path through the boundary: typed arguments,
// grains and pillar, callbacks into the host, salt:// files, test mode,
// mod_watch, panics and deadlines.
func testPlugin() sdk.Plugin {
	return sdk.Plugin{
		Name:    "greeter",
		Version: "0.1.0",
		Exec: []sdk.ExecFunc{
			sdk.Typed("greet.hello", "Say hello.", []string{"who", "times"},
				func(_ context.Context, env *api.Env, a *greetArgs) (any, error) {
					s := strings.Repeat("hello "+a.Who+" ", a.Times)
					if a.Loud != nil && *a.Loud {
						s = strings.ToUpper(s)
					}
					return map[string]any{"text": strings.TrimSpace(s), "id": env.ID, "os": env.Grains["os"], "colour": env.Pillar["colour"]}, nil
				}),
			sdk.Typed("greet.echo_via_host", "Call test.echo through brine.", []string{"text"},
				func(ctx context.Context, env *api.Env, a *struct{ Text string }) (any, error) {
					return env.Exec(ctx, "test.echo", []any{a.Text}, nil)
				}),
			sdk.Typed("greet.read", "Read a salt:// file.", []string{"path"},
				func(ctx context.Context, env *api.Env, a *struct{ Path string }) (any, error) {
					b, err := env.Files.Read(ctx, "", a.Path)
					return string(b), err
				}),
			sdk.Typed("greet.wait", "Wait for the deadline.", nil,
				func(ctx context.Context, _ *api.Env, _ *struct{}) (any, error) {
					<-ctx.Done()
					return nil, ctx.Err()
				}),
			sdk.Typed("greet.panic", "Panic.", nil,
				func(context.Context, *api.Env, *struct{}) (any, error) { panic("oops") }),
		},
		States: []sdk.StateDef{
			sdk.State[fileArgs]{
				Name: "greet.file",
				Doc:  "Make sure a file says hello.",
				Apply: func(_ context.Context, req *sdk.Request, a *fileArgs) api.Result {
					want := "hello " + req.Env.ID + "\n"
					got, err := os.ReadFile(req.Name)
					if err == nil && string(got) == want {
						return api.Succeeded("File is correct", nil)
					}
					changes := map[string]any{"diff": "new"}
					if req.Test {
						return api.Pending("File would be written", changes)
					}
					if err := os.WriteFile(req.Name, []byte(want), a.Mode.Perm()); err != nil {
						return api.Failed(err.Error())
					}
					return api.Succeeded("File written", changes)
				},
			},
			sdk.State[watchArgs]{
				Name: "greet.watcher",
				Apply: func(context.Context, *sdk.Request, *watchArgs) api.Result {
					return api.Succeeded("applied", nil)
				},
				ModWatch: func(_ context.Context, req *sdk.Request, a *watchArgs) api.Result {
					var tags []string
					for tag := range req.Changes {
						tags = append(tags, tag)
					}
					return api.Succeeded("watched "+a.Marker+" "+strings.Join(tags, ","), map[string]any{"restarted": true})
				},
			},
			sdk.StateFunc{
				Name:  "greet.boom",
				Apply: func(context.Context, *sdk.Request) api.Result { panic("kaboom") },
			},
		},
	}
}

func hostEnv(t *testing.T) *api.Env {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "motd"), []byte("from salt://\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := &api.Env{
		ID:      "web1",
		Saltenv: "base",
		Grains:  map[string]any{"os": "Debian", "cpus": 4},
		Pillar:  map[string]any{"colour": "blue"},
		Opts:    map[string]any{"test": false},
		Files:   fileserver.Roots{Envs: map[string][]string{"base": {root}}},
	}
	env.Exec = func(ctx context.Context, fun string, args []any, kwargs map[string]any) (any, error) {
		if fun != "test.echo" {
			return nil, fmt.Errorf("'%s' is not available: %w", fun, modules.ErrUnknownFunction)
		}
		return fmt.Sprintf("host echoes %v for %s", args[0], env.ID), nil
	}
	return env
}

func TestInfo(t *testing.T) {
	c := sdktest.Client(t, testPlugin())
	info, err := c.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "greeter" || info.Version != "0.1.0" || info.ProtocolVersion != plugin.ProtocolVersion {
		t.Errorf("info = %+v", info)
	}
	got := map[string]plugin.Function{}
	for _, f := range info.Functions {
		got[string(f.Kind)+" "+f.Name] = f
	}
	hello := got["exec greet.hello"]
	want := []plugin.Arg{{Name: "loud", Type: "bool"}, {Name: "times", Type: "int", Doc: "how many times"}, {Name: "who", Type: "string"}}
	if diff := cmp.Diff(want, hello.Args); diff != "" || hello.Doc != "Say hello." || !cmp.Equal(hello.Params, []string{"who", "times"}) {
		t.Errorf("greet.hello = %+v (args -want +got):\n%s", hello, diff)
	}
	file := got["state greet.file"]
	if diff := cmp.Diff([]plugin.Arg{{Name: "mode", Type: "any"}, {Name: "path", Type: "string"}}, file.Args); diff != "" || file.ModWatch {
		t.Errorf("greet.file = %+v:\n%s", file, diff)
	}
	if !got["state greet.watcher"].ModWatch {
		t.Errorf("greet.watcher does not declare mod_watch")
	}
}

func TestExec(t *testing.T) {
	c := sdktest.Client(t, testPlugin())
	env := hostEnv(t)
	for _, tc := range []struct {
		name    string
		fun     string
		args    []any
		kwargs  map[string]any
		want    any
		wantErr string
	}{
		{"positional and keyword", "greet.hello", []any{"bob"}, map[string]any{"times": 2, "loud": "yes"},
			map[string]any{"text": "HELLO BOB HELLO BOB", "id": "web1", "os": "Debian", "colour": "blue"}, ""},
		{"unknown argument", "greet.hello", nil, map[string]any{"colour": "red"}, nil, "unknown argument 'colour'"},
		{"callback", "greet.echo_via_host", []any{"hi"}, nil, "host echoes hi for web1", ""},
		{"salt file", "greet.read", []any{"motd"}, nil, "from salt://\n", ""},
		{"missing salt file", "greet.read", []any{"nope"}, nil, nil, "not found"},
		{"panic", "greet.panic", nil, nil, nil, "greet.panic panicked: oops"},
		{"unknown function", "greet.nope", nil, nil, nil, "'greet.nope' is not provided by plugin greeter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Exec(t.Context(), &plugin.ExecCall{Function: tc.fun, Env: env, Args: tc.args, Kwargs: tc.kwargs})
			if tc.wantErr != "" {
				var fe *plugin.FuncError
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &fe) {
					t.Fatalf("error = %v, want a function error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("return (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSentinelsCrossTheBoundary(t *testing.T) {
	c := sdktest.Client(t, testPlugin())
	env := hostEnv(t)
	_, err := c.Exec(t.Context(), &plugin.ExecCall{Function: "greet.read", Env: env, Args: []any{"nope"}})
	if !errors.Is(err, api.ErrFileNotFound) {
		t.Errorf("missing file: %v is not api.ErrFileNotFound", err)
	}
	_, err = c.Exec(t.Context(), &plugin.ExecCall{Function: "greet.read", Env: env, Args: []any{"../etc/passwd"}})
	if !errors.Is(err, api.ErrPathEscapes) {
		t.Errorf("escaping path: %v is not api.ErrPathEscapes", err)
	}
	_, err = c.Exec(t.Context(), &plugin.ExecCall{Function: "greet.nope", Env: env})
	if !errors.Is(err, modules.ErrUnknownFunction) {
		t.Errorf("unknown function: %v is not modules.ErrUnknownFunction", err)
	}
}

func TestDeadline(t *testing.T) {
	c := sdktest.Client(t, testPlugin())
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Exec(ctx, &plugin.ExecCall{Function: "greet.wait", Env: hostEnv(t)})
	if err == nil {
		t.Fatal("greet.wait returned without error")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the deadline did not reach the plugin: returned after %v", d)
	}
}

func TestState(t *testing.T) {
	c := sdktest.Client(t, testPlugin())
	env := hostEnv(t)
	path := filepath.Join(t.TempDir(), "hello")
	state := func(test bool, args map[string]any) api.Result {
		t.Helper()
		res, err := c.State(t.Context(), &plugin.StateCall{Function: "greet.file", ID: "hello", Name: path, SLS: "greet", Args: args, Test: test, Env: env})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := state(true, map[string]any{"mode": 600})
	if res.Result != nil || res.Comment != "File would be written" || !cmp.Equal(res.Changes, map[string]any{"diff": "new"}) {
		t.Errorf("test mode: %+v", res)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("test mode wrote %s", path)
	}
	res = state(false, map[string]any{"mode": "0600"})
	if res.Result == nil || !*res.Result || res.Comment != "File written" {
		t.Errorf("apply: %+v", res)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("apply did not write %s with mode 0600: %v %v", path, fi, err)
	}
	res = state(false, map[string]any{"mode": "0600"})
	if res.Result == nil || !*res.Result || len(res.Changes) != 0 {
		t.Errorf("second apply: %+v", res)
	}
	res = state(false, map[string]any{"mode": "rw"})
	if res.Result == nil || *res.Result || !strings.Contains(res.Comment, "argument 'mode'") {
		t.Errorf("bad mode: %+v", res)
	}
}

func TestModWatchAndPanic(t *testing.T) {
	c := sdktest.Client(t, testPlugin())
	env := hostEnv(t)
	res, err := c.State(t.Context(), &plugin.StateCall{
		Function: "greet.watcher", ID: "svc", Name: "svc", Args: map[string]any{"marker": "m1"}, Env: env,
		ModWatch: true, Changes: map[string]map[string]any{"file_|-conf_|-/etc/x_|-managed": {"diff": "x"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Comment != "watched m1 file_|-conf_|-/etc/x_|-managed" || res.Changes["restarted"] != true {
		t.Errorf("mod_watch: %+v", res)
	}
	res, err = c.State(t.Context(), &plugin.StateCall{Function: "greet.boom", ID: "b", Name: "b", Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if res.Result == nil || *res.Result || !strings.Contains(res.Comment, "kaboom") {
		t.Errorf("panicking state: %+v", res)
	}
	_, err = c.State(t.Context(), &plugin.StateCall{Function: "greet.nope", ID: "b", Name: "b", Env: env})
	if !errors.Is(err, modules.ErrUnknownFunction) {
		t.Errorf("unknown state: %v", err)
	}
}

func TestNewServerRefusesBadDeclarations(t *testing.T) {
	ok := func(context.Context, *api.Env, *struct{}) (any, error) { return nil, nil }
	for _, tc := range []struct {
		name string
		p    sdk.Plugin
		want string
	}{
		{"no name", sdk.Plugin{}, "invalid plugin name"},
		{"bad function name", sdk.Plugin{Name: "x", Exec: []sdk.ExecFunc{sdk.Typed("nodot", "", nil, ok)}}, "invalid function name"},
		{"duplicate", sdk.Plugin{Name: "x", Exec: []sdk.ExecFunc{sdk.Typed("a.b", "", nil, ok), sdk.Typed("a.b", "", nil, ok)}}, "declared twice"},
		{"state without apply", sdk.Plugin{Name: "x", States: []sdk.StateDef{sdk.StateFunc{Name: "a.b"}}}, "no Apply"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sdk.NewServer(tc.p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewServer error = %v, want %q", err, tc.want)
			}
		})
	}
}
