// Package minion is brine's minion agent: it connects to the master's bus
// with its own NKey, waits until its key is accepted, pins the master's
// job-signing key, and runs the jobs meant for it with the same engine as
// `brine call --local`, except that salt:// files come from the master
// (cached by hash) and pillar is compiled for it by the master. Returns are
// published with an acknowledgement from the job cache and spooled to disk
// while the master is away.
//
// An Agent holds no package-level state, so that a benchmark can run
// thousands of them in one process.
package minion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/brine-cm/brine/bus"
	"github.com/brine-cm/brine/config"
	"github.com/brine-cm/brine/grains"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/version"
)

// Files under the minion's state directory.
const (
	// KeyFile holds the minion's NKey seed (0600).
	KeyFile = "minion.nk"
	// MasterKeyFile holds the pinned public key of the master.
	MasterKeyFile = "master.pub"
)

// Options configure an agent.
type Options struct {
	// Config is the minion configuration: id, master, state_dir, grains.
	Config *config.Minion
	// Log receives the agent's log; nil discards.
	Log *slog.Logger
	// Key, when set, is used instead of <state dir>/minion.nk.
	Key nkeys.KeyPair
	// Grains, when set, are used instead of collecting them.
	Grains map[string]any
	// HelloInterval is how often an unaccepted minion asks again;
	// zero means 10s.
	HelloInterval time.Duration
	// Heartbeat is how often a running job is reported; zero means 2s.
	Heartbeat time.Duration
	// ReturnTimeout bounds waiting for the job cache's acknowledgement of
	// a return; zero means 5s.
	ReturnTimeout time.Duration
}

// Agent is one minion.
type Agent struct {
	opts   Options
	cfg    *config.Minion
	id     string
	log    *slog.Logger
	key    nkeys.KeyPair
	grains map[string]any
	files  *fileClient
	outbox *outbox

	nc       *nats.Conn
	ctx      context.Context // Run's context: jobs and retries end with it
	verifier *bus.Verifier
	kick     chan struct{} // wakes the handshake loop
	denied   chan struct{} // refused or disconnected: ends a hello early
	ready    chan struct{} // closed when the first handshake succeeded
	readyOne sync.Once

	trimMu    sync.Mutex
	trimTimer *time.Timer
	mu        sync.Mutex
	pinned    string
	subbed    bool
	accepted  bool
	// waitLogged: "waiting for acceptance" was logged once already.
	waitLogged bool
	announced  string // the function list last announced
	pillar     map[string]any
	running    map[string]*runningJob

	stateLock   chan struct{} // one state run at a time
	stateHolder string        // the JID holding stateLock
	wg          sync.WaitGroup
}

// New prepares an agent: it validates the ID and loads (or makes) the key.
func New(opts Options) (*Agent, error) {
	cfg := opts.Config
	if cfg == nil {
		return nil, errors.New("minion: no configuration")
	}
	if err := bus.ValidateID(cfg.ID); err != nil {
		return nil, fmt.Errorf("minion id: %w", err)
	}
	if cfg.Master == "" {
		return nil, errors.New("minion: no master address: set master in the configuration or pass --master HOST:PORT")
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Agent{
		opts: opts, cfg: cfg, id: cfg.ID, log: log,
		kick:      make(chan struct{}, 1),
		denied:    make(chan struct{}, 1),
		ready:     make(chan struct{}),
		running:   map[string]*runningJob{},
		stateLock: make(chan struct{}, 1),
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("minion state dir: %w", err)
	}
	a.key = opts.Key
	if a.key == nil {
		kp, err := bus.LoadOrCreateKey(filepath.Join(cfg.StateDir, KeyFile), nkeys.PrefixByteUser)
		if err != nil {
			return nil, err
		}
		a.key = kp
	}
	if b, err := os.ReadFile(filepath.Join(cfg.StateDir, MasterKeyFile)); err == nil {
		a.pinned = strings.TrimSpace(string(b))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("pinned master key: %w", err)
	}
	a.files = &fileClient{a: a, dir: filepath.Join(cfg.StateDir, "cache", "files")}
	a.outbox = &outbox{a: a, dir: filepath.Join(cfg.StateDir, "returns"), max: 1000}
	return a, nil
}

// ID is the minion ID.
func (a *Agent) ID() string { return a.id }

// PublicKey is the minion's public NKey, which the master's operator
// accepts.
func (a *Agent) PublicKey() string {
	pub, _ := a.key.PublicKey()
	return pub
}

// Ready is closed once the agent is accepted and subscribed to its jobs.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// masterURL turns the configured master address into a NATS URL.
func masterURL(addr string) string {
	if strings.Contains(addr, "://") {
		return addr
	}
	if !strings.Contains(addr, ":") || strings.HasSuffix(addr, "]") {
		addr = fmt.Sprintf("%s:%d", addr, config.DefaultPort)
	}
	return "nats://" + addr
}

// Run connects and serves jobs until ctx is cancelled. It retries the
// connection for ever, as a minion should: a master that is down, a key not
// yet accepted, a rejected key all end in waiting and trying again.
func (a *Agent) Run(ctx context.Context) error {
	a.ctx = ctx
	if a.opts.Grains != nil {
		a.grains = a.opts.Grains
	} else {
		a.grains = grains.Collect(ctx, grains.Options{ID: a.id, Static: a.cfg.Grains, Log: a.log})
	}
	a.log.Info("minion starting", "id", a.id, "master", a.cfg.Master, "fingerprint", bus.Fingerprint(a.PublicKey()))
	if err := a.outbox.load(); err != nil {
		a.log.Warn("return spool", "error", err)
	}
	pub := a.PublicKey()
	nc, err := nats.Connect(masterURL(a.cfg.Master),
		nats.Name(a.id),
		nats.Nkey(pub, a.key.Sign),
		nats.CustomInboxPrefix(bus.Inbox(a.id)),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.IgnoreAuthErrorAbort(),
		nats.ReconnectBufSize(-1), // returns are spooled by the agent, not buffered blindly
		nats.CustomReconnectDelay(func(attempts int) time.Duration {
			d := time.Duration(attempts) * 250 * time.Millisecond
			if d > 5*time.Second {
				d = 5 * time.Second
			}
			return d + time.Duration(rand.Int64N(int64(250*time.Millisecond)))
		}),
		nats.PingInterval(20*time.Second),
		nats.ConnectHandler(func(*nats.Conn) { a.wake() }),
		nats.ReconnectHandler(func(*nats.Conn) { a.wake() }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			select { // a hello in flight will get no answer on this connection
			case a.denied <- struct{}{}:
			default:
			}
			if err != nil {
				a.log.Info("disconnected from the master", "error", err)
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrPermissionViolation) {
				select {
				case a.denied <- struct{}{}:
				default:
				}
			}
			a.log.Debug("bus error", "error", err)
		}),
	)
	if err != nil {
		return fmt.Errorf("minion: %w", err)
	}
	a.nc = nc
	defer func() {
		a.wg.Wait()
		nc.Close()
	}()
	if nc.IsConnected() {
		a.wake()
	}
	interval := a.opts.HelloInterval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-a.kick:
		case <-retry.C:
		}
		if !nc.IsConnected() {
			// The connect handler will wake us; look again soon in case
			// it fired before the connection counted as up.
			retry.Reset(time.Second)
			continue
		}
		if ok := a.handshake(ctx); !ok {
			retry.Reset(interval)
			continue
		}
		retry.Reset(time.Hour)
		a.idle()
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.outbox.flush(ctx)
			if a.outbox.pending() > 0 {
				a.outbox.retry(ctx)
			}
		}()
	}
}

// idle schedules trimImage for when the minion has been without a job for
// a moment, so bursts of jobs do not fault the same pages in and out.
func (a *Agent) idle() {
	a.trimMu.Lock()
	defer a.trimMu.Unlock()
	if a.trimTimer != nil {
		a.trimTimer.Stop()
	}
	a.trimTimer = time.AfterFunc(2*time.Second, func() {
		a.mu.Lock()
		busy := len(a.running) > 0
		a.mu.Unlock()
		if !busy {
			trimImage(a.log)
		}
	})
}

func (a *Agent) wake() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// handshake asks the master for its signing key. A minion whose key is not
// accepted cannot make the request (the server refuses it) and announces
// itself instead. On the first answer the key is pinned; afterwards a
// different key is refused.
func (a *Agent) handshake(ctx context.Context) bool {
	select { // forget refusals from before this attempt
	case <-a.denied:
	default:
	}
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-a.denied:
			cancel()
		case <-hctx.Done():
		}
	}()
	var hello bus.HelloReply
	if err := a.request(hctx, bus.OpHello, nil, &hello, 5*time.Second); err != nil {
		a.mu.Lock()
		was := a.accepted
		a.accepted = false
		a.mu.Unlock()
		a.mu.Lock()
		logged := a.waitLogged
		a.waitLogged = true
		a.mu.Unlock()
		switch {
		case was:
			a.log.Warn("the master no longer answers this minion: its key may have been deleted or rejected", "error", err)
		case !logged:
			a.log.Warn("waiting for the master to accept this minion's key (brine key accept "+a.id+" on the master)",
				"fingerprint", bus.Fingerprint(a.PublicKey()))
		default:
			a.log.Debug("still waiting for key acceptance", "error", err)
		}
		b, _ := json.Marshal(bus.Announce{ID: a.id, Key: a.PublicKey()})
		_ = a.nc.Publish(bus.AuthHello, b)
		if logged {
			// Permissions are fixed when a connection is made: connect
			// again, so that a key accepted meanwhile takes effect even if
			// the master's kick was missed.
			_ = a.nc.ForceReconnect()
		}
		return false
	}
	if !nkeys.IsValidPublicServerKey(hello.Master) {
		a.log.Error("the master sent an invalid signing key", "key", hello.Master)
		return false
	}
	a.mu.Lock()
	pinned := a.pinned
	a.mu.Unlock()
	if pinned == "" {
		if err := os.WriteFile(filepath.Join(a.cfg.StateDir, MasterKeyFile), []byte(hello.Master+"\n"), 0o644); err != nil {
			a.log.Error("cannot pin the master key", "error", err)
			return false
		}
		pinned = hello.Master
		a.log.Info("pinned the master's key", "fingerprint", bus.Fingerprint(pinned))
	} else if pinned != hello.Master {
		a.log.Error("the master's signing key differs from the pinned one; refusing its jobs (remove "+
			filepath.Join(a.cfg.StateDir, MasterKeyFile)+" if the master was re-keyed on purpose)",
			"pinned", bus.Fingerprint(pinned), "offered", bus.Fingerprint(hello.Master))
	}
	a.mu.Lock()
	a.pinned = pinned
	if a.verifier == nil {
		a.verifier = &bus.Verifier{Master: pinned, MaxSkew: time.Minute}
	}
	subbed := a.subbed
	a.accepted = true
	a.waitLogged = false
	a.mu.Unlock()
	if !subbed {
		for _, subject := range []string{bus.JobAll, bus.JobFor(a.id)} {
			if _, err := a.nc.Subscribe(subject, a.onJob); err != nil {
				a.log.Error("subscribe to jobs", "subject", subject, "error", err)
				return false
			}
		}
		a.mu.Lock()
		a.subbed = true
		a.mu.Unlock()
	}
	if err := a.nc.Flush(); err != nil {
		return false
	}
	a.announce(true)
	a.log.Info("connected to the master and ready for jobs", "url", a.nc.ConnectedUrlRedacted())
	a.readyOne.Do(func() { close(a.ready) })
	return true
}

// announce publishes the start event: grains, version and the functions
// this minion offers. Unless force is set it is sent only when the
// functions changed since the last one (a plugin sync adds some).
func (a *Agent) announce(force bool) {
	names := modules.Names()
	sig := strings.Join(names, ",")
	a.mu.Lock()
	same := sig == a.announced
	a.announced = sig
	a.mu.Unlock()
	if same && !force {
		return
	}
	ev, _ := json.Marshal(bus.StartEvent{Grains: a.grains, Version: version.Version, Functions: names})
	_ = a.nc.Publish(bus.EventSubject(a.id, bus.OpStartTag), ev)
}

// request sends op to the master and decodes the reply into out, whose
// embedded bus.Reply is turned into an error.
func (a *Agent) request(ctx context.Context, op string, req, out any, timeout time.Duration) error {
	var data []byte
	if req != nil {
		b, err := json.Marshal(req)
		if err != nil {
			return fmt.Errorf("%s request: %w", op, err)
		}
		data = b
	} else {
		data = []byte("{}")
	}
	if _, ok := ctx.Deadline(); !ok || timeout > 0 {
		if timeout <= 0 {
			timeout = 30 * time.Second
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	msg, err := a.nc.RequestWithContext(ctx, bus.RequestSubject(a.id, op), data)
	if err != nil {
		return fmt.Errorf("%s request to the master: %w", op, err)
	}
	if err := bus.Unmarshal(msg.Data, out, false); err != nil {
		return fmt.Errorf("%s reply from the master: %w", op, err)
	}
	if r, ok := out.(interface{ Err() error }); ok {
		return r.Err()
	}
	return nil
}
