package cli

import (
	"context"
	"log/slog"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/config"
	"github.com/brine-cm/brine/grains"
)

// collectGrains gathers this host's grains with the static ones from the
// configuration merged over them.
func collectGrains(ctx context.Context, cfg *config.Minion, log *slog.Logger) map[string]any {
	return grains.Collect(ctx, grains.Options{ID: cfg.ID, Static: cfg.Grains, Log: log})
}

// compilePillar placeholder until package pillar lands.
func compilePillar(ctx context.Context, cfg *config.Minion, env *api.Env) (map[string]any, error) {
	return map[string]any{}, nil
}
