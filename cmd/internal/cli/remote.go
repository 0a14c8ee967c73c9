package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/pflag"

	"github.com/brine-cm/brine/bus"
	"github.com/brine-cm/brine/config"
	"github.com/brine-cm/brine/master"
)

// Exit codes of the commands that talk to a master (brine TARGET FUNC,
// key, jobs, events), as Salt's `salt` command uses them.
const (
	// ExitNoMinions: the target matched no minion; nothing was published.
	ExitNoMinions = 2
	// ExitMinionsFailed: at least one minion did not return, or returned a
	// non-zero retcode (a function error, a compile error, a failed state).
	ExitMinionsFailed = 11
)

// masterFlags locate a master: its configuration and state directory,
// where the CLI finds the bus address and the admin credentials.
type masterFlags struct {
	config   string
	stateDir string
}

func (f *masterFlags) register(fl *pflag.FlagSet) {
	fl.StringVarP(&f.config, "config", "c", "", "master configuration file (default "+config.DefaultMasterPath+", optional)")
	fl.StringVar(&f.stateDir, "state-dir", "", "the master's state directory, holding its address and the admin credentials (default from state_dir)")
}

// load reads the master configuration with --state-dir laid over it.
func (f *masterFlags) load() (*config.Master, error) {
	cfg, err := config.LoadMaster(f.config)
	if err != nil {
		return nil, err
	}
	if f.stateDir != "" {
		abs, err := filepath.Abs(f.stateDir)
		if err != nil {
			return nil, fmt.Errorf("--state-dir: %w", err)
		}
		cfg.StateDir = abs
	}
	return cfg, nil
}

// adminClient is the CLI's connection to the master's admin API.
type adminClient struct {
	nc  *nats.Conn
	url string
}

// dialMaster connects to the master with the admin credentials from its
// state directory. The address is the one the running master wrote there,
// else the configured listen address.
func (f *masterFlags) dial(ctx context.Context) (*adminClient, error) {
	cfg, err := f.load()
	if err != nil {
		return nil, err
	}
	keyPath := filepath.Join(cfg.StateDir, master.AdminKeyFile)
	kp, err := bus.LoadKey(keyPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("no admin credentials at %s: run on the master's host with --state-dir (or --config) naming the master's state directory", keyPath)
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("cannot read the admin credentials %s: run as the master's user", keyPath)
	case err != nil:
		return nil, err
	}
	url := ""
	if b, err := os.ReadFile(filepath.Join(cfg.StateDir, master.URLFile)); err == nil {
		url = strings.TrimSpace(string(b))
	}
	if url == "" {
		host, port, err := config.SplitListen(cfg.Listen)
		if err != nil {
			return nil, err
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		url = fmt.Sprintf("nats://%s:%d", host, port)
	}
	pub, _ := kp.PublicKey()
	nc, err := nats.Connect(url, nats.Nkey(pub, kp.Sign), nats.Name("brine-cli"), nats.Timeout(5*time.Second),
		nats.MaxReconnects(5), nats.ReconnectWait(500*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("cannot reach the master at %s (is `brine master` running?): %w", url, err)
	}
	return &adminClient{nc: nc, url: url}, nil
}

func (c *adminClient) Close() { c.nc.Close() }

// call makes one admin API request and decodes the reply into out; a reply
// carrying an error is returned as *apiError.
func (c *adminClient) call(ctx context.Context, op string, req, out any) error {
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	msg, err := c.nc.RequestWithContext(ctx, bus.APISubject(op), b)
	if err != nil {
		return fmt.Errorf("master API %s: %w", op, err)
	}
	if err := json.Unmarshal(msg.Data, out); err != nil {
		return fmt.Errorf("master API %s: bad reply: %w", op, err)
	}
	var r bus.Reply
	_ = json.Unmarshal(msg.Data, &r)
	if r.Error != "" {
		return &apiError{Reply: r}
	}
	return nil
}

// apiError is a failure the master reported.
type apiError struct{ bus.Reply }

func (e *apiError) Error() string { return e.Reply.Error }
