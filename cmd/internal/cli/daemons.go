package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/brine-cm/brine/config"
	"github.com/brine-cm/brine/master"
	"github.com/brine-cm/brine/minion"
)

// newLogger writes Salt-levelled text logs to w.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	l, err := config.ParseLogLevel(level)
	if err != nil {
		return nil, err
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

func newMasterCmd(stderr io.Writer) *cobra.Command {
	var (
		mf          masterFlags
		listen      string
		logLevel    string
		autoAccept  bool
		printConfig bool
	)
	cmd := &cobra.Command{
		Use:   "master",
		Short: "Run the master: the bus, keys, jobs, files and pillar (salt-master)",
		Long: `Run the master until interrupted. It embeds a NATS server with JetStream
(data under the state directory), serves salt:// files from file_roots and
pillar from pillar_roots to accepted minions, signs every job, and keeps
returns for keep_jobs.

Configuration: /etc/brine/master.yaml or --config (listen, file_roots,
pillar_roots, nodegroups, keep_jobs, job_ttl, auto_accept, state_dir,
log_level, bus.url); flags override it.

With bus.url the master uses an external NATS server or cluster instead:
brine master --print-nats-config prints the block that server's
configuration needs (accounts, the auth callout the master serves).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := mf.load()
			if err != nil {
				return usage("%v", err)
			}
			if listen != "" {
				cfg.Listen = listen
			}
			if logLevel != "" {
				cfg.LogLevel = logLevel
			}
			if cmd.Flags().Changed("auto-accept") {
				cfg.AutoAccept = autoAccept
			}
			if printConfig {
				conf, err := master.NATSConfig(cfg.StateDir)
				if err != nil {
					return &exitError{code: ExitError, err: err}
				}
				_, err = io.WriteString(cmd.OutOrStdout(), conf)
				return err
			}
			if err := cfg.Validate(); err != nil {
				return usage("%v", err)
			}
			log, err := newLogger(stderr, cfg.LogLevel)
			if err != nil {
				return usage("%v", err)
			}
			m, err := master.New(cfg, log)
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			if err := m.Start(cmd.Context()); err != nil {
				return &exitError{code: ExitError, err: err}
			}
			<-cmd.Context().Done()
			log.Info("master stopping")
			m.Close()
			return nil
		},
	}
	fl := cmd.Flags()
	mf.register(fl)
	fl.StringVar(&listen, "listen", "", fmt.Sprintf("HOST:PORT the bus listens on (default from listen, 0.0.0.0:%d)", config.DefaultPort))
	fl.StringVarP(&logLevel, "log-level", "l", "", "log level: trace, debug, info, warning, error, critical, quiet (default info)")
	fl.BoolVar(&autoAccept, "auto-accept", false, "accept every new minion key (labs only; default from auto_accept)")
	fl.BoolVar(&printConfig, "print-nats-config", false, "print the configuration an external NATS server needs for this master (bus.url), then exit")
	return cmd
}

func newMinionCmd(stderr io.Writer) *cobra.Command {
	var cfgPath, id, masterAddr, stateDir, logLevel string
	cmd := &cobra.Command{
		Use:   "minion",
		Short: "Run the minion agent (salt-minion)",
		Long: `Run the minion agent until interrupted. On first start it makes its NKey
(<state dir>/minion.nk); the master's operator accepts it with
brine key accept ID. Until then the minion waits and asks again. It pins
the master's job-signing key on first contact.

Configuration: /etc/brine/minion.yaml or --config (id, master, grains,
state_dir, log_level, ...); flags override it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.LoadMinion(cfgPath)
			if err != nil {
				return usage("%v", err)
			}
			if id != "" {
				cfg.ID = id
			}
			if masterAddr != "" {
				cfg.Master = masterAddr
			}
			if cfg.Master == "" {
				cfg.Master = "salt" // Salt's default master name
			}
			switch {
			case stateDir != "":
				if cfg.StateDir, err = filepath.Abs(stateDir); err != nil {
					return usage("--state-dir: %v", err)
				}
			case cfg.StateDir == config.Defaults().StateDir && os.Geteuid() != 0:
				cfg.StateDir = config.DefaultStateDir("minion")
			}
			level := cfg.LogLevel
			if logLevel != "" {
				level = logLevel
			}
			log, err := newLogger(stderr, level)
			if err != nil {
				return usage("%v", err)
			}
			a, err := minion.New(minion.Options{Config: cfg, Log: log})
			if err != nil {
				return usage("%v", err)
			}
			// Plugins (and saltutil.sync_plugins, which fetches them from
			// the master's _plugins/ over the bus) as for brine call.
			plugins := loadPlugins(cmd.Context(), cfg, log)
			defer plugins.Close()
			return a.Run(cmd.Context())
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&cfgPath, "config", "c", "", "minion configuration file (default "+config.DefaultMinionPath+", optional)")
	fl.StringVar(&id, "id", "", "minion ID (default: id from the configuration, else the host name)")
	fl.StringVar(&masterAddr, "master", "", fmt.Sprintf("HOST:PORT of the master (default from master, else salt:%d)", config.DefaultPort))
	fl.StringVar(&stateDir, "state-dir", "", "the minion's state directory: key, pinned master key, file cache, return spool")
	fl.StringVarP(&logLevel, "log-level", "l", "", "log level: trace, debug, info, warning, error, critical, quiet (default from log_level, warning)")
	return cmd
}
