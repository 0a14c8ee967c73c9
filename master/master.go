// Package master is brine's master: an embedded NATS server (with
// JetStream) whose authenticator admits minions by their accepted NKeys and
// confines each to its own subjects, a key store, the job publisher (jobs
// are signed with the master's ed25519 key), the job cache (returns in a
// JetStream stream, job metadata and the minion registry in KV buckets),
// the salt:// file server and per-minion pillar over the bus, and the admin
// API the CLI talks to.
package master

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/brine-cm/brine/bus"
	"github.com/brine-cm/brine/config"
	"github.com/brine-cm/brine/fileserver"
)

// Files under the state directory.
const (
	// AdminKeyFile holds the admin NKey seed the CLI authenticates with.
	AdminKeyFile = "admin.nk"
	// SigningKeyFile holds the master's job-signing NKey seed.
	SigningKeyFile = "master.nk"
	// URLFile holds the URL the running master's bus answers on, for the
	// CLI on the same host (it also covers a port chosen at random).
	URLFile = "master.url"
	keysDir = "keys"
	jsDir   = "jetstream"
)

// Stream and bucket names in JetStream.
const (
	returnsStream = "BRINE_RETURNS"
	jobsBucket    = "BRINE_JOBS"
	minionsBucket = "BRINE_MINIONS"
)

// Master is a running master.
type Master struct {
	cfg *config.Master
	log *slog.Logger

	keys     *KeyStore
	auth     *Authenticator
	signer   nkeys.KeyPair
	signPub  string
	adminKey nkeys.KeyPair

	srv     *server.Server
	nc      *nats.Conn
	sys     *nats.Conn    // external server: the system account user
	issuer  nkeys.KeyPair // external server: signs auth callout answers
	js      jetstream.JetStream
	returns jetstream.Stream
	jobsKV  jetstream.KeyValue
	regKV   jetstream.KeyValue
	url     string

	files   fileserver.Roots
	pillars fileserver.Roots
	hashes  hashCache
	reg     registry
	jids    bus.JIDs
	work    chan struct{} // bounds concurrent request handlers

	wg   sync.WaitGroup
	subs []*nats.Subscription
}

// New prepares a master from its configuration: state directory, keys and
// the signing key. Nothing listens until Start.
func New(cfg *config.Master, log *slog.Logger) (*Master, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	m := &Master{
		cfg:     cfg,
		log:     log,
		files:   fileserver.Roots{Envs: cfg.FileRoots},
		pillars: fileserver.Roots{Envs: cfg.PillarRoots},
		work:    make(chan struct{}, 8*runtime.GOMAXPROCS(0)),
	}
	var err error
	if m.signer, err = bus.LoadOrCreateKey(filepath.Join(cfg.StateDir, SigningKeyFile), nkeys.PrefixByteServer); err != nil {
		return nil, err
	}
	m.signPub, _ = m.signer.PublicKey()
	if m.adminKey, err = bus.LoadOrCreateKey(filepath.Join(cfg.StateDir, AdminKeyFile), nkeys.PrefixByteUser); err != nil {
		return nil, err
	}
	adminPub, _ := m.adminKey.PublicKey()
	if m.keys, err = OpenKeyStore(filepath.Join(cfg.StateDir, keysDir), log); err != nil {
		return nil, err
	}
	m.auth = &Authenticator{keys: m.keys, admin: adminPub, autoAccept: cfg.AutoAccept, log: log, onPending: m.pendingEvent}
	return m, nil
}

// Start runs the embedded server, connects to it as admin, sets up the job
// cache and starts serving minions and the CLI. It returns once everything
// answers.
func (m *Master) Start(ctx context.Context) error {
	if m.cfg.Bus.URL != "" {
		if err := m.startExternal(ctx); err != nil {
			return err
		}
	} else if err := m.startEmbedded(); err != nil {
		return err
	}
	if err := m.setupStore(ctx); err != nil {
		m.Close()
		return err
	}
	if err := m.reg.load(ctx, m.regKV, m.log); err != nil {
		m.log.Warn("minion registry", "error", err)
	}
	if err := m.subscribe(); err != nil {
		m.Close()
		return err
	}
	if err := m.writeURL(); err != nil {
		m.Close()
		return err
	}
	m.log.Info("master ready", "url", m.url, "state_dir", m.cfg.StateDir,
		"signing_key", bus.Fingerprint(m.signPub), "external", m.cfg.Bus.URL != "")
	return nil
}

// startEmbedded runs the embedded server and connects to it in-process.
func (m *Master) startEmbedded() error {
	host, port, _ := config.SplitListen(m.cfg.Listen)
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts := &server.Options{
		ServerName:                 "brine-master",
		Host:                       host,
		Port:                       port,
		JetStream:                  true,
		StoreDir:                   filepath.Join(m.cfg.StateDir, jsDir),
		MaxPayload:                 bus.MaxPayload,
		MaxPending:                 64 << 20,
		CustomClientAuthentication: m.auth,
		AlwaysEnableNonce:          true,
		// A fleet connecting at once (a master restart) keeps the
		// authenticator busy; give each client time to finish.
		AuthTimeout: 10,
		// Every return goes to a new subject (brine.ret.<jid>.<id>), so
		// per-client subject caches only grow: about 100 KB per minion
		// after a few hundred jobs. Matching without them costs little.
		NoSublistCache:         true,
		NoSigs:                 true,
		DisableJetStreamBanner: true,
	}
	if host == "" {
		opts.Host = "0.0.0.0"
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("bus server: %w", err)
	}
	srv.SetLoggerV2(serverLog{m.log}, false, false, false)
	m.auth.mu.Lock()
	m.auth.srv = srv
	m.auth.mu.Unlock()
	m.srv = srv
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return fmt.Errorf("bus server did not start listening on %s", net.JoinHostPort(opts.Host, strconv.Itoa(port)))
	}
	m.url = clientURL(srv)
	adminPub, _ := m.adminKey.PublicKey()
	m.nc, err = nats.Connect("", nats.InProcessServer(srv), nats.Name("brine-master"),
		nats.Nkey(adminPub, m.adminKey.Sign), nats.MaxReconnects(-1),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			m.log.Warn("bus error", "error", err)
		}))
	if err != nil {
		m.Close()
		return fmt.Errorf("connect to the bus server: %w", err)
	}
	return nil
}

// clientURL is the URL a local client reaches the server on: the listen
// address with a wildcard host replaced by loopback.
func clientURL(srv *server.Server) string {
	addr, ok := srv.Addr().(*net.TCPAddr)
	if !ok {
		return srv.ClientURL()
	}
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "nats://" + net.JoinHostPort(host, strconv.Itoa(addr.Port))
}

func (m *Master) setupStore(ctx context.Context) error {
	js, err := jetstream.New(m.nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	m.js = js
	keep := time.Duration(m.cfg.KeepJobs)
	dup := 10 * time.Minute
	if dup > keep {
		dup = keep
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	m.returns, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        returnsStream,
		Description: "minion returns (the job cache)",
		Subjects:    []string{bus.ReturnsAll},
		Storage:     jetstream.FileStorage,
		MaxAge:      keep,
		Duplicates:  dup,
		MaxMsgSize:  bus.MaxPayload,
		Discard:     jetstream.DiscardOld,
	})
	if err != nil {
		return fmt.Errorf("job cache stream: %w", err)
	}
	m.jobsKV, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: jobsBucket, Description: "job metadata", TTL: keep, Storage: jetstream.FileStorage,
	})
	if err != nil {
		return fmt.Errorf("job metadata bucket: %w", err)
	}
	m.regKV, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: minionsBucket, Description: "minion registry: grains and last seen", Storage: jetstream.FileStorage,
	})
	if err != nil {
		return fmt.Errorf("minion registry bucket: %w", err)
	}
	return nil
}

// URL is where the bus server answers clients on this host.
func (m *Master) URL() string { return m.url }

// SigningKey is the master's public job-signing key.
func (m *Master) SigningKey() string { return m.signPub }

// Keys is the master's key store.
func (m *Master) Keys() *KeyStore { return m.keys }

// Server is the embedded bus server (tests use it to watch connections).
func (m *Master) Server() *server.Server { return m.srv }

// Close stops serving, waits for request handlers and shuts the server down.
func (m *Master) Close() {
	for _, s := range m.subs {
		_ = s.Unsubscribe()
	}
	m.wg.Wait()
	if m.nc != nil {
		m.nc.Close()
	}
	if m.sys != nil {
		m.sys.Close()
	}
	if m.srv != nil {
		m.srv.Shutdown()
		m.srv.WaitForShutdown()
	}
	if m.url != "" {
		_ = os.Remove(filepath.Join(m.cfg.StateDir, URLFile))
	}
}

// serverLog sends the NATS server's log lines to slog: notices at info,
// debug and trace lines at debug.
type serverLog struct{ l *slog.Logger }

func (s serverLog) Noticef(format string, v ...any) {
	s.l.Info("bus: " + fmt.Sprintf(format, v...))
}
func (s serverLog) Warnf(format string, v ...any) { s.l.Warn("bus: " + fmt.Sprintf(format, v...)) }
func (s serverLog) Fatalf(format string, v ...any) {
	s.l.Error("bus: " + fmt.Sprintf(format, v...))
}

// Errorf logs at error level, except what clients cause: refused
// connections and permission violations (a pending minion's attempts, a
// misbehaving one) are warnings about them, not errors of the master.
func (s serverLog) Errorf(format string, v ...any) {
	msg := "bus: " + fmt.Sprintf(format, v...)
	if strings.Contains(msg, "Violation") || strings.Contains(msg, "Authorization Error") || strings.Contains(msg, "authentication error") {
		s.l.Warn(msg)
		return
	}
	s.l.Error(msg)
}
func (s serverLog) Debugf(format string, v ...any) {
	s.l.Debug("bus: " + fmt.Sprintf(format, v...))
}
func (s serverLog) Tracef(format string, v ...any) {
	s.l.Debug("bus: " + fmt.Sprintf(format, v...))
}
