package cli

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/brine-cm/brine/config"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/modules/plugin/host"
)

// loadPlugins registers the plugins of cfg's plugin directories
// (plugin_dirs, then <state_dir>/plugins) next to the built-in modules, and
// saltutil.sync_plugins, which fills <state_dir>/plugins from the file
// server's _plugins/<os>_<arch>/ (the local file_roots when masterless).
// Plugins that cannot be loaded are logged with their name and left out.
// Plugin processes start on first use; the caller closes the host to stop
// them. The minion agent uses the same call.
func loadPlugins(ctx context.Context, cfg *config.Minion, log *slog.Logger) *host.Host {
	h := host.New(host.Options{
		Dirs:      cfg.PluginSearchPath(),
		CacheFile: filepath.Join(cfg.StateDir, "plugin-info.json"),
		Log:       log,
	})
	_ = h.Load(ctx) // every problem is logged, naming the plugin
	modules.Replace(host.SyncFunc(h, cfg.SyncedPluginDir()))
	return h
}

// docPlugins loads the plugins `brine doc` documents: those of the
// configuration at cfgPath (the default one, if present), with stateDir
// overriding its state_dir. Their info comes from the cache, so no plugin
// starts unless it changed since it was last seen.
func docPlugins(cmd *cobra.Command, cfgPath, stateDir string) (func(), error) {
	cfg, err := config.LoadMinion(cfgPath)
	if err != nil && cfgPath == "" {
		// The default configuration is broken: document the built-ins
		// rather than nothing, and say why plugins are missing.
		fmt.Fprintf(cmd.ErrOrStderr(), "brine: plugins not listed: %v\n", err)
		return func() {}, nil
	}
	if err != nil {
		return nil, err
	}
	if stateDir != "" {
		cfg.StateDir = stateDir
	}
	level, err := config.ParseLogLevel(cfg.LogLevel)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	h := loadPlugins(cmd.Context(), cfg, log)
	return h.Close, nil
}
