package service

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
)

type nameArg struct {
	Name string
}

type statusArg struct {
	Name string
	Sig  string
}

func init() {
	act := func(fun, doc string, do func(Backend, context.Context, string) error) {
		modules.Register(modules.Typed("service."+fun, doc, []string{"name"},
			func(ctx context.Context, env *api.Env, a *nameArg) (any, error) {
				b, err := For(env)
				if err != nil {
					return nil, err
				}
				if err := do(b, ctx, a.Name); err != nil {
					return false, fmt.Errorf("failed to %s %s: %w", fun, a.Name, err)
				}
				return true, nil
			}))
	}
	act("start", "Start a service. True on success; an error carries the init system's message.", Backend.Start)
	act("stop", "Stop a service.", Backend.Stop)
	act("restart", "Restart a service.", Backend.Restart)
	act("reload", "Reload a service's configuration without a restart.", Backend.Reload)
	act("enable", "Make a service start at boot (systemctl enable, or update-rc.d).", Backend.Enable)
	act("disable", "Stop a service from starting at boot.", Backend.Disable)

	ask := func(fun, doc string, q func(Backend, context.Context, string) (bool, error)) {
		modules.Register(modules.Typed("service."+fun, doc, []string{"name"},
			func(ctx context.Context, env *api.Env, a *nameArg) (any, error) {
				b, err := For(env)
				if err != nil {
					return nil, err
				}
				return q(b, ctx, a.Name)
			}))
	}
	ask("enabled", "True when the service starts at boot.", Backend.Enabled)
	ask("available", "True when the service exists.", Backend.Available)
	ask("disabled", "True when the service does not start at boot.", func(b Backend, ctx context.Context, n string) (bool, error) {
		on, err := b.Enabled(ctx, n)
		return !on, err
	})
	ask("missing", "True when the service does not exist (the inverse of service.available).", func(b Backend, ctx context.Context, n string) (bool, error) {
		ok, err := b.Available(ctx, n)
		return !ok, err
	})
	modules.Register(modules.Typed("service.status", `True when the service is running. With sig, look for a running process
whose command line contains sig instead of asking the init system.`, []string{"name", "sig"},
		func(ctx context.Context, env *api.Env, a *statusArg) (any, error) {
			b, err := For(env)
			if err != nil {
				return nil, err
			}
			return Running(ctx, b, a.Name, a.Sig)
		}))
	modules.Register(modules.Typed("service.get_all", "Every service the init system knows, sorted.", nil,
		func(ctx context.Context, env *api.Env, _ *struct{}) (any, error) {
			b, err := For(env)
			if err != nil {
				return nil, err
			}
			return b.All(ctx)
		}))
}

// Running answers service.status: the init system's answer, or with sig,
// whether a process whose command line contains sig runs (Salt's way for
// services whose init script has no reliable status).
func Running(ctx context.Context, b Backend, name, sig string) (bool, error) {
	if sig == "" {
		return b.Status(ctx, name)
	}
	return ProcessRunning("/proc", sig), nil
}

// ProcessRunning reports whether any process under procDir (/proc) has a
// command line containing sig.
func ProcessRunning(procDir, sig string) bool {
	entries, err := os.ReadDir(procDir)
	if err != nil {
		return false
	}
	self := fmt.Sprint(os.Getpid())
	for _, e := range entries {
		n := e.Name()
		if n == self || n == "" || n[0] < '0' || n[0] > '9' {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procDir, n, "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		if strings.Contains(strings.TrimRight(strings.ReplaceAll(string(b), "\x00", " "), " "), sig) {
			return true
		}
	}
	return false
}
