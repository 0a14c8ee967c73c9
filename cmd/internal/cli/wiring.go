package cli

import (
	"context"
	"log/slog"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/config"
	"github.com/brine-cm/brine/fileserver"
	"github.com/brine-cm/brine/grains"
	"github.com/brine-cm/brine/pillar"
)

// collectGrains gathers this host's grains with the static ones from the
// configuration merged over them.
func collectGrains(ctx context.Context, cfg *config.Minion, log *slog.Logger) map[string]any {
	return grains.Collect(ctx, grains.Options{ID: cfg.ID, Static: cfg.Grains, Log: log})
}

// compilePillar compiles this minion's pillar from pillar_roots, as the
// master will for a networked minion. Pillar given on the command line
// (pillar='{...}') is merged later by the state module.
func compilePillar(ctx context.Context, cfg *config.Minion, env *api.Env) (map[string]any, error) {
	return pillar.Compile(ctx, pillar.Options{
		Roots:  fileserver.Roots{Envs: cfg.PillarRoots},
		ID:     env.ID,
		Grains: env.Grains,
		Opts:   env.Opts,
		Log:    env.Log,
	})
}
