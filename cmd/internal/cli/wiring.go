package cli

import (
	"context"
	"maps"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/config"
)

// collectGrains returns the static grains with the minion ID. Placeholder
// until package grains lands.
func collectGrains(ctx context.Context, cfg *config.Minion) map[string]any {
	g := maps.Clone(cfg.Grains)
	if g == nil {
		g = map[string]any{}
	}
	g["id"] = cfg.ID
	return g
}

// compilePillar placeholder until package pillar lands.
func compilePillar(ctx context.Context, cfg *config.Minion, env *api.Env) (map[string]any, error) {
	return map[string]any{}, nil
}
