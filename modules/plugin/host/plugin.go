package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules/plugin"
	"github.com/brine-cm/brine/states"
)

// Errors a call through a plugin can end with, besides the function's own
// error. Each is wrapped in a message naming the plugin and its path.
var (
	// ErrNotExecutable: the plugin file lost its execute permission.
	ErrNotExecutable = errors.New("not executable")
	// ErrCrashed: the plugin process exited during a call.
	ErrCrashed = errors.New("crashed")
	// ErrTimeout: the plugin did not answer before the call's deadline.
	ErrTimeout = errors.New("did not answer in time")
	// ErrStart: the plugin could not be started or did not complete the
	// handshake (wrong protocol version, not a brine plugin).
	ErrStart = errors.New("cannot start")
	// ErrClosed: the host is shutting down.
	ErrClosed = errors.New("brine is shutting down")
)

// Plugin is one plugin binary known to the host. Its process starts on the
// first call, serves every later call (states run one after another reuse
// it) and stops when the host closes, when the plugin is replaced, or
// after it crashed (the next call starts it again).
type Plugin struct {
	host *Host
	path string
	fp   fingerprint
	sum  string
	info *plugin.Info
	log  *slog.Logger

	mu       sync.Mutex
	proc     *process
	inflight int
	retired  bool
}

// process is one running instance of a plugin.
type process struct {
	gp      *goplugin.Client
	cmd     *exec.Cmd
	client  *plugin.Client
	stderr  *stderrTail
	sockDir string
}

// Name is the name the plugin reports.
func (p *Plugin) Name() string { return p.info.Name }

// Path is the plugin's executable.
func (p *Plugin) Path() string { return p.path }

// Info is what the plugin reported about itself.
func (p *Plugin) Info() *plugin.Info { return p.info }

// Running reports whether the plugin's process is up.
func (p *Plugin) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proc != nil && !p.proc.gp.Exited()
}

func (p *Plugin) label() string {
	name := p.path
	if p.info != nil {
		name = p.info.Name
	}
	return fmt.Sprintf("plugin %s (%s)", name, p.path)
}

// acquire returns the running process, starting it if needed; release
// must be called when the call is over.
func (p *Plugin) acquire(ctx context.Context) (*process, func(), error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.host.isClosed() {
		return nil, nil, fmt.Errorf("%s: %w", p.label(), ErrClosed)
	}
	if p.proc != nil && p.proc.gp.Exited() {
		p.proc.stop()
		p.proc = nil
	}
	if p.proc == nil {
		proc, info, err := startProcess(ctx, p.host, p.path, p.log)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p.label(), err)
		}
		if info.Name != p.info.Name {
			proc.stop()
			return nil, nil, fmt.Errorf("%s: %w: the binary now reports the name %q (replaced without a sync?)", p.label(), ErrStart, info.Name)
		}
		p.proc = proc
	}
	p.inflight++
	proc := p.proc
	return proc, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.inflight--
		if p.retired && p.inflight == 0 && p.proc != nil {
			go p.proc.stop()
			p.proc = nil
		}
	}, nil
}

// retire stops the plugin once its calls in flight are over: it was
// replaced or removed.
func (p *Plugin) retire() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.retired = true
	if p.inflight == 0 && p.proc != nil {
		go p.proc.stop()
		p.proc = nil
	}
}

// shutdown stops the process now (host closing).
func (p *Plugin) shutdown() {
	p.mu.Lock()
	proc := p.proc
	p.proc = nil
	p.mu.Unlock()
	if proc != nil {
		proc.stop()
	}
}

// startProcess runs the binary, completes go-plugin's handshake and asks
// the plugin for its Info.
func startProcess(ctx context.Context, h *Host, path string, log *slog.Logger) (*process, *plugin.Info, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrStart, err)
	}
	if fi.Mode()&0o111 == 0 {
		return nil, nil, fmt.Errorf("%w (mode %04o)", ErrNotExecutable, fi.Mode().Perm())
	}
	timeout := h.opts.StartTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	// The plugin's socket goes in a directory of its own, private to
	// brine's user and removed when the plugin stops, even when it crashed
	// or was killed without cleaning up.
	sockDir, err := os.MkdirTemp("", "brine-plugin-")
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrStart, err)
	}
	cmd := exec.Command(path)
	cmd.Env = []string{
		plugin.EnvLogLevel + "=" + plugin.LevelName(h.level()),
		"PLUGIN_UNIX_SOCKET_DIR=" + sockDir,
	}
	dieWithHost(cmd)
	tail := &stderrTail{}
	gp := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  plugin.Handshake(),
		Plugins:          plugin.HostPlugins(),
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           plugin.HCLog(log),
		Stderr:           tail,
		SyncStdout:       plugin.LineLogger(log, slog.LevelDebug),
		SyncStderr:       plugin.LineLogger(log, slog.LevelInfo),
		StartTimeout:     timeout,
	})
	proc := &process{gp: gp, cmd: cmd, stderr: tail, sockDir: sockDir}
	cp, err := gp.Client()
	if err != nil {
		proc.stop()
		msg := err.Error()
		if m := incompatible.FindStringSubmatch(msg); m != nil {
			msg = fmt.Sprintf("it speaks plugin protocol version %s, brine speaks %d (rebuild it with this brine's SDK)", m[1], plugin.ProtocolVersion)
		}
		if l := tail.panicLine(); l != "" && !strings.Contains(msg, l) {
			msg += ": " + l
		}
		return nil, nil, fmt.Errorf("%w: %s", ErrStart, msg)
	}
	c, err := plugin.Dispense(cp)
	if err != nil {
		proc.stop()
		return nil, nil, fmt.Errorf("%w: %v", ErrStart, err)
	}
	proc.client = c
	ictx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	info, err := c.Info(ictx)
	if err != nil {
		proc.stop()
		return nil, nil, fmt.Errorf("%w: info: %v", ErrStart, rpcMessage(err))
	}
	return proc, info, nil
}

// incompatible matches go-plugin's message for a handshake on another
// protocol version.
var incompatible = regexp.MustCompile(`(?i)incompatible API version with plugin\. Plugin version: (\d+)`)

// stop ends the process: go-plugin asks it to exit and kills it if it
// does not within two seconds.
func (proc *process) stop() {
	if proc.client != nil {
		proc.client.Close()
	}
	proc.gp.Kill()
	os.RemoveAll(proc.sockDir)
}

// exitStatus waits briefly for a process whose connection broke to be
// reaped, and describes how it ended; "" if it is still running.
func (proc *process) exitStatus(wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for !proc.gp.Exited() {
		if time.Now().After(deadline) {
			return ""
		}
		time.Sleep(5 * time.Millisecond)
	}
	if proc.cmd.ProcessState == nil {
		return "exited"
	}
	return proc.cmd.ProcessState.String()
}

func rpcMessage(err error) string {
	if s, ok := status.FromError(err); ok {
		return s.Message()
	}
	return err.Error()
}

// callContext applies the host's default limit to a call without deadline.
func (p *Plugin) callContext(ctx context.Context) (context.Context, context.CancelFunc, time.Duration) {
	if dl, ok := ctx.Deadline(); ok {
		ctx, cancel := context.WithCancel(ctx)
		return ctx, cancel, time.Until(dl)
	}
	ctx, cancel := context.WithTimeout(ctx, p.host.opts.CallTimeout)
	return ctx, cancel, p.host.opts.CallTimeout
}

// callError turns a failed RPC into an error that names the plugin and
// says what happened: a crash (with the exit status and the panic), a
// deadline, a cancellation.
func (p *Plugin) callError(ctx context.Context, proc *process, fun string, limit time.Duration, err error) error {
	code := status.Code(err)
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || code == codes.DeadlineExceeded:
		return fmt.Errorf("%s: %s %w (limit %s)", p.label(), fun, ErrTimeout, limit.Round(time.Millisecond))
	case errors.Is(ctx.Err(), context.Canceled) || code == codes.Canceled:
		return fmt.Errorf("%s: %s was cancelled", p.label(), fun)
	}
	if st := proc.exitStatus(2 * time.Second); st != "" {
		var quote string
		if l := proc.stderr.panicLine(); l != "" {
			quote = ": " + l
		}
		p.mu.Lock()
		if p.proc == proc {
			p.proc = nil
		}
		p.mu.Unlock()
		go proc.stop()
		return fmt.Errorf("%s %w during %s (%s)%s", p.label(), ErrCrashed, fun, st, quote)
	}
	return fmt.Errorf("%s: %s: %s", p.label(), fun, rpcMessage(err))
}

// Exec runs an execution function in the plugin for env.
func (p *Plugin) Exec(ctx context.Context, fun string, env *api.Env, args []any, kwargs map[string]any) (any, error) {
	ctx, cancel, limit := p.callContext(ctx)
	defer cancel()
	proc, release, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	ret, err := proc.client.Exec(ctx, &plugin.ExecCall{Function: fun, Env: env, Args: args, Kwargs: kwargs})
	if err == nil {
		return ret, nil
	}
	var fe *plugin.FuncError
	if errors.As(err, &fe) {
		return nil, err
	}
	return nil, p.callError(ctx, proc, fun, limit, err)
}

// State runs a state function (or its mod_watch) in the plugin. Every
// failure, the plugin's included, is a false result naming the plugin.
func (p *Plugin) State(ctx context.Context, fun string, req *states.Request, modWatch bool) api.Result {
	ctx, cancel, limit := p.callContext(ctx)
	defer cancel()
	proc, release, err := p.acquire(ctx)
	if err != nil {
		return api.Failed(err.Error())
	}
	defer release()
	res, err := proc.client.State(ctx, &plugin.StateCall{
		Function: fun, ID: req.ID, Name: req.Name, SLS: req.SLS, Args: req.Args,
		Test: req.Test, ModWatch: modWatch, Changes: req.Changes, Env: req.Env,
	})
	if err == nil {
		return res
	}
	var fe *plugin.FuncError
	if errors.As(err, &fe) {
		return api.Failed(fmt.Sprintf("%s: %s", p.label(), fe.Msg))
	}
	return api.Failed(p.callError(ctx, proc, fun, limit, err).Error())
}
