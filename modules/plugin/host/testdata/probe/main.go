// Command probe is the plugin the host tests build and run: it reports
// what it receives and misbehaves on demand (crash, hang). Build flags
// make variants: -X main.version=2.0.0 for an update, -X main.protocol=2
// for a plugin that speaks another protocol version.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules/plugin/sdk"
)

var (
	version  = "1.0.0"
	protocol = "1"
)

type none struct{}

type fileArgs struct {
	Content string
	Mode    api.Mode
}

type callArgs struct {
	Fun    string
	Args   []any
	Kwargs map[string]any
}

func main() {
	if f := os.Getenv("PROBE_STARTS"); f != "" {
		// Tests count starts to see that plugins start lazily and are reused.
		if w, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			fmt.Fprintf(w, "%d %s\n", os.Getpid(), version)
			w.Close()
		}
	}
	cfg, err := sdk.ServeConfig(sdk.Plugin{
		Name:    "probe",
		Version: version,
		Exec: []sdk.ExecFunc{
			sdk.Typed("probe.ping", "Return pong and the plugin's pid.", nil,
				func(context.Context, *api.Env, *none) (any, error) {
					return map[string]any{"pong": true, "pid": os.Getpid(), "version": version}, nil
				}),
			sdk.Typed("probe.env", "Return what the plugin sees of the minion.", nil,
				func(_ context.Context, env *api.Env, _ *none) (any, error) {
					env.Log.Warn("probe.env called", "minion", env.ID)
					return map[string]any{"id": env.ID, "saltenv": env.Saltenv, "grains": env.Grains, "pillar": env.Pillar}, nil
				}),
			sdk.Typed("probe.call", "Call an execution function through brine.", []string{"fun"},
				func(ctx context.Context, env *api.Env, a *callArgs) (any, error) {
					return env.Exec(ctx, a.Fun, a.Args, a.Kwargs)
				}),
			sdk.Typed("probe.crash", "Crash the plugin process.", nil,
				func(context.Context, *api.Env, *none) (any, error) {
					done := make(chan struct{})
					go func() { panic("probe crashed on purpose") }()
					<-done
					return nil, nil
				}),
			sdk.Typed("probe.hang", "Never answer, ignoring the deadline.", nil,
				func(context.Context, *api.Env, *none) (any, error) {
					select {}
				}),
			sdk.Typed("shadow.me", "Override a built-in of the same name.", nil,
				func(context.Context, *api.Env, *none) (any, error) { return "from the plugin", nil }),
		},
		States: []sdk.StateDef{
			sdk.State[fileArgs]{
				Name: "probe.file",
				Doc:  "Make sure a file has the given content.",
				Apply: func(_ context.Context, req *sdk.Request, a *fileArgs) api.Result {
					old, err := os.ReadFile(req.Name)
					if err == nil && string(old) == a.Content {
						return api.Succeeded("File "+req.Name+" is in the correct state", nil)
					}
					changes := map[string]any{"new": a.Content}
					if req.Test {
						return api.Pending("File "+req.Name+" would be written", changes)
					}
					mode := a.Mode.Perm()
					if mode == 0 {
						mode = 0o644
					}
					if err := os.WriteFile(req.Name, []byte(a.Content), mode); err != nil {
						return api.Failed(err.Error())
					}
					return api.Succeeded("File "+req.Name+" written", changes)
				},
			},
			sdk.State[none]{
				Name: "probe.service",
				Doc:  "A service that restarts when a watched state changes.",
				Apply: func(context.Context, *sdk.Request, *none) api.Result {
					return api.Succeeded("Service is running", nil)
				},
				ModWatch: func(_ context.Context, req *sdk.Request, _ *none) api.Result {
					return api.Succeeded(fmt.Sprintf("Service restarted (%d watched changes)", len(req.Changes)), map[string]any{"restarted": req.Name})
				},
			},
			sdk.State[none]{
				Name: "probe.crash",
				Apply: func(context.Context, *sdk.Request, *none) api.Result {
					os.Exit(3)
					return api.Result{}
				},
			},
			sdk.State[none]{
				Name: "probe.hang",
				Apply: func(context.Context, *sdk.Request, *none) api.Result {
					select {}
				},
			},
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if n, err := strconv.Atoi(protocol); err == nil {
		cfg.HandshakeConfig.ProtocolVersion = uint(n)
	}
	goplugin.Serve(cfg)
}
