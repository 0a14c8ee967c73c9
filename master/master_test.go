package master

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/brine-cm/brine/bus"
	"github.com/brine-cm/brine/config"
	_ "github.com/brine-cm/brine/modules/test"
)

// checkFor polls fn until it returns nil or total has passed.
func checkFor(t *testing.T, total, every time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	var err error
	for time.Now().Before(deadline) {
		if err = fn(); err == nil {
			return
		}
		time.Sleep(every)
	}
	t.Fatalf("condition not met after %v: %v", total, err)
}

type testMaster struct {
	*Master
	dir string
}

func startMaster(t *testing.T, edit func(*config.Master)) *testMaster {
	t.Helper()
	dir := t.TempDir()
	cfg := config.MasterDefaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.StateDir = filepath.Join(dir, "state")
	cfg.FileRoots = map[string][]string{"base": {filepath.Join(dir, "salt")}}
	cfg.PillarRoots = map[string][]string{"base": {filepath.Join(dir, "pillar")}}
	if edit != nil {
		edit(cfg)
	}
	m, err := New(cfg, slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return &testMaster{Master: m, dir: dir}
}

// testWriter sends log lines to t.Log, so that they show only on failure.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// client is a real NATS connection holding an NKey.
type client struct {
	nc   *nats.Conn
	kp   nkeys.KeyPair
	pub  string
	mu   sync.Mutex
	errs []error
}

func (c *client) asyncErrs() []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]error(nil), c.errs...)
}

func newKey(t *testing.T) nkeys.KeyPair {
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// dial connects as minion id with kp; err is the connect error.
func dial(t *testing.T, url, id string, kp nkeys.KeyPair) (*client, error) {
	t.Helper()
	c := &client{kp: kp}
	c.pub, _ = kp.PublicKey()
	opts := []nats.Option{
		nats.Nkey(c.pub, kp.Sign), nats.Name(id), nats.MaxReconnects(-1), nats.ReconnectWait(20 * time.Millisecond),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			c.mu.Lock()
			c.errs = append(c.errs, err)
			c.mu.Unlock()
		}),
	}
	if bus.ValidateID(id) == nil {
		opts = append(opts, nats.CustomInboxPrefix(bus.Inbox(id)))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, err
	}
	c.nc = nc
	t.Cleanup(nc.Close)
	return c, nil
}

func mustDial(t *testing.T, url, id string, kp nkeys.KeyPair) *client {
	t.Helper()
	c, err := dial(t, url, id, kp)
	if err != nil {
		t.Fatalf("connect as %s: %v", id, err)
	}
	return c
}

func (m *testMaster) admin(t *testing.T) *nats.Conn {
	t.Helper()
	kp, err := bus.LoadKey(filepath.Join(m.cfg.StateDir, AdminKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	nc, err := nats.Connect(m.URL(), nats.Nkey(pub, kp.Sign), nats.Name("admin-test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func call[R any](t *testing.T, nc *nats.Conn, op string, req any) R {
	t.Helper()
	b, _ := json.Marshal(req)
	msg, err := nc.Request(bus.APISubject(op), b, 10*time.Second)
	if err != nil {
		t.Fatalf("API %s: %v", op, err)
	}
	var r R
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		t.Fatalf("API %s reply %s: %v", op, msg.Data, err)
	}
	return r
}

// receives reports whether sub gets a message published by pub on subject.
func receives(t *testing.T, sub *nats.Subscription, pub *nats.Conn, subject string) bool {
	t.Helper()
	if err := pub.Publish(subject, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	_, err := sub.NextMsg(300 * time.Millisecond)
	return err == nil
}

func TestUnacceptedMinionGetsNothing(t *testing.T) {
	m := startMaster(t, nil)
	admin := m.admin(t)
	c := mustDial(t, m.URL(), "web1", newKey(t))

	if st, _, _ := m.keys.Lookup("web1"); st != Pending {
		t.Fatalf("new key state = %q, want pending", st)
	}
	if _, err := os.Stat(filepath.Join(m.cfg.StateDir, "keys", "pending", "web1")); err != nil {
		t.Errorf("pending key file: %v", err)
	}
	// It may announce itself...
	if err := c.nc.Publish(bus.AuthHello, []byte(`{"id":"web1"}`)); err != nil {
		t.Fatal(err)
	}
	// ...but subscribe to nothing: no job reaches it.
	for _, subject := range []string{bus.JobAll, bus.JobFor("web1"), ">"} {
		sub, err := c.nc.SubscribeSync(subject)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.nc.Flush()
		if receives(t, sub, admin, subject) {
			t.Errorf("pending minion received a message on %s", subject)
		}
	}
	// And it gets no pillar: the request is refused by the server.
	if _, err := c.nc.Request(bus.RequestSubject("web1", bus.OpPillar), []byte(`{}`), 500*time.Millisecond); err == nil {
		t.Errorf("pending minion got a pillar reply")
	}
	checkFor(t, 2*time.Second, 20*time.Millisecond, func() error {
		for _, err := range c.asyncErrs() {
			if errors.Is(err, nats.ErrPermissionViolation) {
				return nil
			}
		}
		return errors.New("no permission violation reported to the pending minion")
	})
}

func TestAcceptedMinionIsConfined(t *testing.T) {
	m := startMaster(t, nil)
	admin := m.admin(t)
	web1 := mustDial(t, m.URL(), "web1", newKey(t))
	db := mustDial(t, m.URL(), "web1.db", newKey(t))

	rep := call[bus.KeysReply](t, admin, bus.APIKeyAccept, bus.KeysRequest{All: true})
	if rep.Error != "" || len(rep.Accepted) != 2 {
		t.Fatalf("accept --all: %+v", rep)
	}
	// Accepting kicked the pending connections; they come back accepted.
	for _, c := range []*client{web1, db} {
		checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
			if c.nc.Stats().Reconnects == 0 || !c.nc.IsConnected() {
				return errors.New("not reconnected yet")
			}
			return nil
		})
	}

	// Its own subjects work.
	own, err := web1.nc.SubscribeSync(bus.JobFor("web1"))
	if err != nil {
		t.Fatal(err)
	}
	all, _ := web1.nc.SubscribeSync(bus.JobAll)
	_ = web1.nc.Flush()
	if !receives(t, own, admin, bus.JobFor("web1")) || !receives(t, all, admin, bus.JobAll) {
		t.Fatal("accepted minion does not receive its own jobs")
	}
	msg, err := web1.nc.Request(bus.RequestSubject("web1", bus.OpHello), nil, 5*time.Second)
	if err != nil {
		t.Fatalf("hello: %v", err)
	}
	var hello bus.HelloReply
	if err := json.Unmarshal(msg.Data, &hello); err != nil || hello.Master != m.SigningKey() {
		t.Fatalf("hello reply %s: %v", msg.Data, err)
	}

	// Another minion's subjects, and everything, are refused.
	for _, subject := range []string{bus.JobFor("web1.db"), ">", "brine.>", bus.ReturnsAll, "brine.req.>", bus.Inbox("web1.db") + ".>", "brine.job.m.*"} {
		sub, err := web1.nc.SubscribeSync(subject)
		if err != nil {
			t.Fatal(err)
		}
		_ = web1.nc.Flush()
		probe := subject
		switch subject {
		case ">", "brine.>", "brine.job.m.*":
			probe = bus.JobFor("web1.db")
		case bus.ReturnsAll:
			probe = bus.ReturnSubject("20261125210000000001", "web1.db")
		case "brine.req.>":
			probe = bus.RequestSubject("web1.db", bus.OpPillar)
		case bus.Inbox("web1.db") + ".>":
			probe = bus.Inbox("web1.db") + ".x"
		}
		if receives(t, sub, admin, probe) {
			t.Errorf("web1 subscribed to %s and received %s", subject, probe)
		}
		_ = sub.Unsubscribe()
	}

	// It cannot publish a job, another minion's return or request, or an
	// admin API call.
	spy, _ := admin.SubscribeSync("brine.>")
	_ = admin.Flush()
	for _, subject := range []string{
		bus.JobAll, bus.JobFor("web1.db"),
		bus.ReturnSubject("20261125210000000001", "web1.db"),
		bus.RequestSubject("web1.db", bus.OpPillar),
		bus.EventSubject("web1.db", "start"),
		bus.APISubject(bus.APIKeyAccept),
	} {
		if err := web1.nc.Publish(subject, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		_ = web1.nc.Flush()
		if msg, err := spy.NextMsg(300 * time.Millisecond); err == nil {
			t.Errorf("web1 published on %s (seen: %s)", subject, msg.Subject)
		}
	}
	// Its own return goes through.
	if err := web1.nc.Publish(bus.ReturnSubject("20261125210000000001", "web1"), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if msg, err := spy.NextMsg(2 * time.Second); err != nil || msg.Subject != bus.ReturnSubject("20261125210000000001", "web1") {
		t.Errorf("own return not delivered: %v %v", msg, err)
	}
}

func TestKeyChangesCutConnections(t *testing.T) {
	m := startMaster(t, nil)
	admin := m.admin(t)
	kp := newKey(t)
	c := mustDial(t, m.URL(), "web1", kp)
	call[bus.KeysReply](t, admin, bus.APIKeyAccept, bus.KeysRequest{IDs: []string{"web*"}})
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if !m.auth.Connected("web1") || c.nc.Stats().Reconnects == 0 {
			return errors.New("not reconnected")
		}
		return nil
	})
	sub, _ := c.nc.SubscribeSync(bus.JobFor("web1"))
	_ = c.nc.Flush()
	if !receives(t, sub, admin, bus.JobFor("web1")) {
		t.Fatal("accepted minion gets no job")
	}

	// Deleting the key cuts the connection at once; the minion comes back
	// as pending and its subscription no longer receives jobs.
	rep := call[bus.KeysReply](t, admin, bus.APIKeyDelete, bus.KeysRequest{IDs: []string{"web1"}})
	if rep.Error != "" || len(rep.Keys) != 1 {
		t.Fatalf("delete: %+v", rep)
	}
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if c.nc.Stats().Reconnects < 2 {
			return errors.New("connection not cut")
		}
		return nil
	})
	if receives(t, sub, admin, bus.JobFor("web1")) {
		t.Error("deleted minion still receives jobs")
	}
	if st, _, _ := m.keys.Lookup("web1"); st != Pending {
		t.Errorf("after delete and reconnect the key is %q, want pending", st)
	}

	// A rejected key cannot connect at all.
	call[bus.KeysReply](t, admin, bus.APIKeyReject, bus.KeysRequest{IDs: []string{"web1"}})
	if _, err := dial(t, m.URL(), "web1", kp); err == nil {
		t.Error("a rejected key connected")
	}
	if _, err := os.Stat(filepath.Join(m.cfg.StateDir, "keys", "rejected", "web1")); err != nil {
		t.Errorf("rejected key file: %v", err)
	}
}

func TestRefusedConnections(t *testing.T) {
	m := startMaster(t, nil)
	mustDial(t, m.URL(), "web1", newKey(t))
	for _, tc := range []struct {
		name, id string
	}{
		{"ID bound to another key", "web1"},
		{"path characters", "../etc"},
		{"space", "web 1"},
		{"wildcard", "web*"},
		{"no name", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := dial(t, m.URL(), tc.id, newKey(t)); err == nil {
				t.Errorf("connection as %q accepted", tc.id)
			}
		})
	}
	t.Run("no key", func(t *testing.T) {
		if nc, err := nats.Connect(m.URL(), nats.Name("web2")); err == nil {
			nc.Close()
			t.Error("connection without an NKey accepted")
		}
	})
	t.Run("signature by another key", func(t *testing.T) {
		kp, other := newKey(t), newKey(t)
		pub, _ := kp.PublicKey()
		if nc, err := nats.Connect(m.URL(), nats.Name("web3"), nats.Nkey(pub, other.Sign)); err == nil {
			nc.Close()
			t.Error("connection with a forged nonce signature accepted")
		}
	})
	if _, _, ok := m.keys.Lookup("web3"); ok {
		t.Error("a forged connection recorded a key")
	}
}

func TestMalformedMessagesLeaveMasterServing(t *testing.T) {
	m := startMaster(t, nil)
	admin := m.admin(t)
	web1 := mustDial(t, m.URL(), "web1", newKey(t))
	call[bus.KeysReply](t, admin, bus.APIKeyAccept, bus.KeysRequest{IDs: []string{"web1"}})
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if web1.nc.Stats().Reconnects == 0 || !web1.nc.IsConnected() {
			return errors.New("not reconnected")
		}
		return nil
	})
	pending := mustDial(t, m.URL(), "newbie", newKey(t))

	garbage := [][]byte{nil, []byte("{"), []byte("[]"), []byte(`{"unknown": 1}`), []byte(`{"path": 5}`),
		[]byte(`{"saltenv":"base","path":"top.sls","offset":-1}`), []byte(`{"grains": "not a map"}`),
		[]byte(strings.Repeat("x", 1<<20))}
	for _, op := range []string{bus.OpHello, bus.OpPillar, bus.OpFileStat, bus.OpFileList, bus.OpFileRead, "no.such.op"} {
		for _, g := range garbage {
			msg, err := web1.nc.Request(bus.RequestSubject("web1", op), g, 5*time.Second)
			if err != nil {
				t.Fatalf("%s with %.20q: no reply: %v", op, g, err)
			}
			if op != bus.OpHello && !strings.Contains(string(msg.Data), `"error"`) {
				t.Errorf("%s with %.20q: reply %s carries no error", op, g, msg.Data)
			}
		}
	}
	for _, g := range garbage {
		_ = web1.nc.Publish(bus.EventSubject("web1", bus.OpStartTag), g)
		_ = pending.nc.Publish(bus.AuthHello, g)
		for _, op := range []string{bus.APIPublish, bus.APIKeyAccept, bus.APIJob, "nope"} {
			if _, err := admin.Request(bus.APISubject(op), g, 5*time.Second); err != nil {
				t.Fatalf("API %s with %.20q: %v", op, g, err)
			}
		}
	}
	// A message over the limit: the client library refuses to send it, and
	// a client that sends it anyway (raw protocol) is cut off by the
	// server; the master goes on serving.
	if err := web1.nc.Publish(bus.RequestSubject("web1", bus.OpPillar), make([]byte, bus.MaxPayload+1)); err == nil {
		t.Error("an oversized publish was accepted by the client library")
	}
	if reply := rawOversized(t, m.URL(), "web1", web1.kp); !strings.Contains(reply, "Maximum Payload") {
		t.Errorf("raw oversized publish: server said %q", reply)
	}
	// Still serving: a well-formed request and an API call get answers.
	msg, err := web1.nc.Request(bus.RequestSubject("web1", bus.OpHello), nil, 5*time.Second)
	if err != nil || !strings.Contains(string(msg.Data), m.SigningKey()) {
		t.Fatalf("hello after the garbage: %v %s", err, msg.Data)
	}
	if rep := call[bus.KeysReply](t, admin, bus.APIKeys, nil); len(rep.Accepted) != 1 {
		t.Errorf("keys after the garbage: %+v", rep)
	}
}

func TestRequestRepliesOnlyToOwnInbox(t *testing.T) {
	m := startMaster(t, nil)
	admin := m.admin(t)
	web1 := mustDial(t, m.URL(), "web1", newKey(t))
	mustDial(t, m.URL(), "web2", newKey(t))
	call[bus.KeysReply](t, admin, bus.APIKeyAccept, bus.KeysRequest{All: true})
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if web1.nc.Stats().Reconnects == 0 || !web1.nc.IsConnected() {
			return errors.New("not reconnected")
		}
		return nil
	})
	// web1 asks for its pillar but names web2's inbox (or a job subject)
	// as the reply subject: the master must not answer there.
	spy, _ := admin.SubscribeSync(">")
	_ = admin.Flush()
	for _, reply := range []string{bus.Inbox("web2") + ".x", bus.JobFor("web2"), bus.JobAll} {
		if err := web1.nc.PublishRequest(bus.RequestSubject("web1", bus.OpPillar), reply, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	_ = web1.nc.Flush()
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		msg, err := spy.NextMsg(100 * time.Millisecond)
		if err != nil {
			continue
		}
		if !strings.HasPrefix(msg.Subject, "brine.req.") {
			t.Errorf("the master replied on %s", msg.Subject)
		}
	}
}

// rawOversized speaks the NATS protocol by hand as minion id, publishes a
// message larger than the server's max_payload and returns the server's
// answer.
func rawOversized(t *testing.T, url, id string, kp nkeys.KeyPair) string {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "INFO ") {
		t.Fatalf("no INFO: %q %v", line, err)
	}
	var info struct {
		Nonce string `json:"nonce"`
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "INFO ")), &info); err != nil {
		t.Fatal(err)
	}
	sig, _ := kp.Sign([]byte(info.Nonce))
	pub, _ := kp.PublicKey()
	connect, _ := json.Marshal(map[string]any{"verbose": false, "pedantic": false, "nkey": pub,
		"sig": base64.RawURLEncoding.EncodeToString(sig), "name": id, "protocol": 1})
	fmt.Fprintf(conn, "CONNECT %s\r\nPING\r\n", connect)
	if line, _ = r.ReadString('\n'); !strings.HasPrefix(line, "PONG") {
		t.Fatalf("not connected: %q", line)
	}
	fmt.Fprintf(conn, "PUB %s %d\r\n", bus.RequestSubject(id, bus.OpPillar), bus.MaxPayload+1)
	_, _ = conn.Write(make([]byte, 1024))
	for {
		line, err = r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "INFO ") && !strings.HasPrefix(line, "PING") {
			return line
		}
	}
}
