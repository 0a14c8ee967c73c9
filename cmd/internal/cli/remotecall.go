package cli

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/brine-cm/brine/config"
	"github.com/brine-cm/brine/minion"
)

// errNoMaster: brine call without --local needs a master.
var errNoMaster = errors.New("no master configured (set master in the minion configuration or pass --master HOST:PORT); run masterless with --local")

// remoteCall runs fun on this host with the master's pillar and salt://
// files, as salt-call does, under the minion's identity (its key must be
// accepted).
func remoteCall(ctx context.Context, cfg *config.Minion, fun string, args []any, kwargs map[string]any, log *slog.Logger) (any, error) {
	if cfg.Master == "" {
		return nil, errNoMaster
	}
	if cfg.StateDir == config.Defaults().StateDir && os.Geteuid() != 0 {
		cfg.StateDir = config.DefaultStateDir("minion")
	}
	a, err := minion.New(minion.Options{Config: cfg, Log: log})
	if err != nil {
		return nil, err
	}
	return a.Call(ctx, fun, args, kwargs)
}
