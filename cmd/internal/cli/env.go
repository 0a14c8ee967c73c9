package cli

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/config"
	"github.com/brine-cm/brine/fileserver"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/states"
)

// Modules whose functions never read pillar or grains. Everything else gets
// both, so that a plugin or a module added later is never handed an empty
// pillar by mistake; these are only the ones known to be safe to skip, which
// keeps `brine call --local test.ping` instant.
var (
	noPillar = map[string]bool{"test": true, "cmd": true, "grains": true, "file": true, "sys": true}
	noGrains = map[string]bool{"test": true, "sys": true}
)

// masterlessEnv builds the host environment for one `brine call --local`:
// the file server over file_roots, grains, pillar compiled from
// pillar_roots, and modules.Call for salt['mod.fn'].
func masterlessEnv(ctx context.Context, cfg *config.Minion, fun string, log *slog.Logger) (*api.Env, error) {
	mod, _, _ := strings.Cut(fun, ".")
	env := &api.Env{
		ID:      cfg.ID,
		Saltenv: cfg.Saltenv,
		Opts:    cfg.Opts(),
		Files:   fileserver.Roots{Envs: cfg.FileRoots},
		Log:     log,
		Pillar:  map[string]any{},
	}
	env.Opts["local"] = true
	env.Exec = func(ctx context.Context, fun string, args []any, kwargs map[string]any) (any, error) {
		return modules.Call(ctx, env, fun, args, kwargs)
	}
	if noGrains[mod] {
		env.Grains = maps.Clone(cfg.Grains)
		if env.Grains == nil {
			env.Grains = map[string]any{}
		}
		env.Grains["id"] = cfg.ID
	} else {
		env.Grains = collectGrains(ctx, cfg, log)
	}
	if !noPillar[mod] {
		p, err := compilePillar(ctx, cfg, env)
		if err != nil && mod == "state" {
			// Salt reports a broken pillar as the state run's compile error.
			return nil, &states.CompileError{Errors: []string{"Pillar failed to render with the following messages:", err.Error()}}
		}
		if err != nil {
			return nil, fmt.Errorf("pillar: %w", err)
		}
		env.Pillar = p
	}
	return env, nil
}
