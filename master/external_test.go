package master

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brine-cm/brine/bus"
	"github.com/brine-cm/brine/config"
)

// natsServer builds the real nats-server from its Go module (the version
// brine embeds) and starts it with the configuration brine prints for it.
func natsServer(t *testing.T, dir, stateDir string) string {
	t.Helper()
	bin := filepath.Join(dir, "nats-server")
	build := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build nats-server: %v\n%s", err, out)
	}
	snippet, err := NATSConfig(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("listen: 127.0.0.1:%d\nserver_name: ext\njetstream { store_dir: %q }\n%s",
		port, filepath.Join(dir, "js"), snippet)), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "nats.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		log.Close()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	checkFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	})
	return "nats://" + addr
}

func startExternalMaster(t *testing.T) *testMaster {
	t.Helper()
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	url := natsServer(t, dir, state)
	cfg := config.MasterDefaults()
	cfg.StateDir = state
	cfg.Bus.URL = url
	cfg.FileRoots = map[string][]string{"base": {filepath.Join(dir, "salt")}}
	cfg.PillarRoots = map[string][]string{"base": {filepath.Join(dir, "pillar")}}
	m, err := New(cfg, slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "nats.log"))
		t.Fatalf("%v\nnats-server log:\n%s", err, b)
	}
	t.Cleanup(m.Close)
	return &testMaster{Master: m, dir: dir}
}

// TestExternalServer runs the key flow and the permission checks against a
// real, separate nats-server that authenticates through brine's callout.
func TestExternalServer(t *testing.T) {
	m := startExternalMaster(t)
	admin := m.admin(t)
	web1 := mustDial(t, m.URL(), "web1", newKey(t))
	if st, _, _ := m.keys.Lookup("web1"); st != Pending {
		t.Fatalf("key state %q, want pending", st)
	}
	sub, _ := web1.nc.SubscribeSync(bus.JobAll)
	_ = web1.nc.Flush()
	if receives(t, sub, admin, bus.JobAll) {
		t.Error("a pending minion received a job")
	}
	mustDial(t, m.URL(), "web2", newKey(t))
	if rep := call[bus.KeysReply](t, admin, bus.APIKeyAccept, bus.KeysRequest{All: true}); len(rep.Accepted) != 2 {
		t.Fatalf("accept: %+v", rep)
	}
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if web1.nc.Stats().Reconnects == 0 || !web1.nc.IsConnected() {
			return errors.New("web1 was not kicked and reconnected")
		}
		return nil
	})
	own, _ := web1.nc.SubscribeSync(bus.JobFor("web1"))
	other, _ := web1.nc.SubscribeSync(bus.JobFor("web2"))
	everything, _ := web1.nc.SubscribeSync(">")
	_ = web1.nc.Flush()
	if !receives(t, own, admin, bus.JobFor("web1")) {
		t.Error("web1 gets no job of its own")
	}
	if receives(t, other, admin, bus.JobFor("web2")) || receives(t, everything, admin, bus.JobFor("web2")) {
		t.Error("web1 received web2's job")
	}
	msg, err := web1.nc.Request(bus.RequestSubject("web1", bus.OpHello), nil, 5*time.Second)
	if err != nil || !strings.Contains(string(msg.Data), m.SigningKey()) {
		t.Fatalf("hello: %v", err)
	}
	spy, _ := admin.SubscribeSync("brine.>")
	_ = admin.Flush()
	for _, subject := range []string{bus.JobAll, bus.ReturnSubject("20261125210000000001", "web2"), bus.APISubject(bus.APIKeys)} {
		_ = web1.nc.Publish(subject, []byte(`{}`))
		_ = web1.nc.Flush()
		if msg, err := spy.NextMsg(300 * time.Millisecond); err == nil {
			t.Errorf("web1 published on %s", msg.Subject)
		}
	}
	// Deleting the key cuts the connection at once, through the system
	// account; the minion comes back pending.
	reconnects := web1.nc.Stats().Reconnects
	call[bus.KeysReply](t, admin, bus.APIKeyDelete, bus.KeysRequest{IDs: []string{"web1"}})
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if web1.nc.Stats().Reconnects == reconnects {
			return errors.New("connection not cut")
		}
		if st, _, _ := m.keys.Lookup("web1"); st != Pending {
			return fmt.Errorf("key %q, want pending again", st)
		}
		return nil
	})
	if receives(t, own, admin, bus.JobFor("web1")) {
		t.Error("a deleted minion still receives jobs")
	}
	// The job cache lives in the external server's JetStream.
	if rep := call[bus.JobsReply](t, admin, bus.APIJobs, bus.JobsRequest{}); rep.Error != "" {
		t.Errorf("jobs.list: %+v", rep)
	}
	if _, err := dial(t, m.URL(), "web2", newKey(t)); err == nil {
		t.Error("a second key for web2 connected")
	}
}
