package minion

import (
	"bytes"
	"context"
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

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/bus"
	"github.com/brine-cm/brine/config"
	"github.com/brine-cm/brine/master"
	_ "github.com/brine-cm/brine/modules/pillar"
	_ "github.com/brine-cm/brine/modules/saltutil"
	_ "github.com/brine-cm/brine/modules/state"
	_ "github.com/brine-cm/brine/modules/test"
	_ "github.com/brine-cm/brine/states/cmd"
	_ "github.com/brine-cm/brine/states/file"
	_ "github.com/brine-cm/brine/states/test"
)

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

// logBuf collects log lines safely across goroutines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuf) count(s string) int { return strings.Count(l.String(), s) }

type fleet struct {
	t      *testing.T
	dir    string
	cfg    *config.Master
	m      *master.Master
	admin  *nats.Conn
	mlog   *logBuf
	target string // where the managed files go
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func newFleet(t *testing.T) *fleet {
	t.Helper()
	dir := t.TempDir()
	f := &fleet{t: t, dir: dir, target: filepath.Join(dir, "managed")}
	writeTree(t, dir, map[string]string{
		"salt/top.sls":       "base:\n  '*':\n    - motd\n",
		"salt/motd.sls":      "motd:\n  file.managed:\n    - name: " + f.target + "/{{ grains['id'] }}.motd\n    - source: salt://files/motd.j2\n    - template: jinja\n    - makedirs: True\n",
		"salt/files/motd.j2": "Welcome to {{ grains['id'] }}, colour {{ pillar['colour'] }}\n",
		"pillar/top.sls":     "base:\n  '*':\n    - common\n  'web1':\n    - web\n",
		"pillar/common.sls":  "colour: blue\n",
		"pillar/web.sls":     "colour: red\nsecret: web1-only\n",
		"outside/secret.txt": "not served\n",
		"salt/files/big.bin": strings.Repeat("0123456789abcdef", 80<<10), // 1.25 MiB: several chunks
	})
	if err := os.Symlink(filepath.Join(dir, "outside", "secret.txt"), filepath.Join(dir, "salt", "files", "escape.txt")); err != nil {
		t.Fatal(err)
	}
	f.cfg = config.MasterDefaults()
	f.cfg.Listen = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	f.cfg.StateDir = filepath.Join(dir, "master")
	f.cfg.FileRoots = map[string][]string{"base": {filepath.Join(dir, "salt")}}
	f.cfg.PillarRoots = map[string][]string{"base": {filepath.Join(dir, "pillar")}}
	f.start()
	return f
}

func (f *fleet) start() {
	t := f.t
	f.mlog = &logBuf{}
	m, err := master.New(f.cfg, slog.New(slog.NewTextHandler(f.mlog, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.m = m
	t.Cleanup(m.Close)
	kp, err := bus.LoadKey(filepath.Join(f.cfg.StateDir, master.AdminKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	f.admin, err = nats.Connect(m.URL(), nats.Nkey(pub, kp.Sign), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.admin.Close)
}

func (f *fleet) api(op string, req, out any) {
	f.t.Helper()
	b, _ := json.Marshal(req)
	msg, err := f.admin.Request(bus.APISubject(op), b, 10*time.Second)
	if err != nil {
		f.t.Fatalf("API %s: %v", op, err)
	}
	if err := json.Unmarshal(msg.Data, out); err != nil {
		f.t.Fatal(err)
	}
}

type testAgent struct {
	*Agent
	log    *logBuf
	cancel context.CancelFunc
	done   chan struct{}
}

func (f *fleet) agent(id string, grains map[string]any) *testAgent {
	t := f.t
	cfg := config.Defaults()
	cfg.ID = id
	cfg.Master = strings.TrimPrefix(f.cfg.Listen, "")
	cfg.StateDir = filepath.Join(f.dir, "minions", id)
	lb := &logBuf{}
	if grains == nil {
		grains = map[string]any{"id": id, "os": "Debian"}
	}
	a, err := New(Options{Config: cfg, Log: slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Grains: grains, HelloInterval: 100 * time.Millisecond, Heartbeat: 200 * time.Millisecond, ReturnTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ta := &testAgent{Agent: a, log: lb, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(ta.done)
		if err := a.Run(ctx); err != nil {
			t.Errorf("agent %s: %v", id, err)
		}
	}()
	t.Cleanup(ta.stop)
	return ta
}

func (a *testAgent) stop() {
	a.cancel()
	<-a.done
}

// accepted starts an agent and accepts its key.
func (f *fleet) accepted(id string) *testAgent {
	f.t.Helper()
	a := f.agent(id, nil)
	checkFor(f.t, 5*time.Second, 10*time.Millisecond, func() error {
		if st, _, ok := f.m.Keys().Lookup(id); !ok || st != master.Pending {
			return fmt.Errorf("%s not pending", id)
		}
		return nil
	})
	var rep bus.KeysReply
	f.api(bus.APIKeyAccept, bus.KeysRequest{IDs: []string{id}}, &rep)
	if rep.Error != "" {
		f.t.Fatal(rep.Error)
	}
	select {
	case <-a.Ready():
	case <-time.After(10 * time.Second):
		f.t.Fatalf("%s never became ready:\n%s", id, a.log)
	}
	return a
}

// run publishes a job and collects the returns of the expected minions.
func (f *fleet) run(fun string, args []any, kwargs map[string]any, tgt bus.Target) map[string]bus.Return {
	f.t.Helper()
	var jr bus.JIDReply
	f.api(bus.APIJID, struct{}{}, &jr)
	sub, err := f.admin.SubscribeSync(bus.ReturnsOf(jr.JID))
	if err != nil {
		f.t.Fatal(err)
	}
	defer sub.Unsubscribe()
	var rep bus.PublishReply
	f.api(bus.APIPublish, bus.PublishRequest{JID: jr.JID, Fun: fun, Args: args, Kwargs: kwargs, Target: tgt}, &rep)
	if rep.Error != "" {
		f.t.Fatalf("publish %s: %s", fun, rep.Error)
	}
	out := map[string]bus.Return{}
	for len(out) < len(rep.Minions) {
		msg, err := sub.NextMsg(20 * time.Second)
		if err != nil {
			f.t.Fatalf("%s: got %d of %d returns: %v", fun, len(out), len(rep.Minions), err)
		}
		_, id, _ := bus.ParseReturn(msg.Subject)
		var r bus.Return
		if err := json.Unmarshal(msg.Data, &r); err != nil {
			f.t.Fatal(err)
		}
		out[id] = r
	}
	return out
}

func TestJobRoundTripAndCache(t *testing.T) {
	f := newFleet(t)
	f.accepted("web1")
	f.accepted("db1.example.com")

	rets := f.run("test.ping", nil, nil, bus.Target{Kind: "glob", Expr: "*"})
	for _, id := range []string{"web1", "db1.example.com"} {
		if r, ok := rets[id]; !ok || string(r.Return) != "true" || r.Retcode != 0 || !r.Success {
			t.Errorf("%s returned %+v", id, r)
		}
	}
	rets = f.run("test.echo", []any{"hi"}, nil, bus.Target{Kind: "list", Expr: "db1.example.com"})
	if len(rets) != 1 || string(rets["db1.example.com"].Return) != `"hi"` {
		t.Errorf("list target returns: %+v", rets)
	}
	var jobs bus.JobsReply
	f.api(bus.APIJobs, bus.JobsRequest{}, &jobs)
	if len(jobs.Jobs) != 2 || jobs.Jobs[0].Fun != "test.ping" || jobs.Jobs[0].Returned != 2 {
		t.Fatalf("jobs.list: %+v", jobs)
	}
	var job bus.JobReply
	f.api(bus.APIJob, bus.JobsRequest{JID: jobs.Jobs[0].JID}, &job)
	if len(job.Returns) != 2 || job.Returns[0].ID != "db1.example.com" || string(job.Returns[1].Return) != "true" {
		t.Errorf("jobs.show: %+v", job)
	}

	// Unknown functions and targets that match nobody are refused before
	// anything is published.
	var rep bus.PublishReply
	f.api(bus.APIPublish, bus.PublishRequest{Fun: "nope.nothing", Target: bus.Target{Kind: "glob", Expr: "*"}}, &rep)
	if !strings.Contains(rep.Error, "'nope.nothing' is not available") {
		t.Errorf("unknown function: %+v", rep)
	}
	f.api(bus.APIPublish, bus.PublishRequest{Fun: "test.ping", Target: bus.Target{Kind: "glob", Expr: "zzz*"}}, &rep)
	if rep.Code != master.CodeNoMinions {
		t.Errorf("target matching nobody: %+v", rep)
	}
	f.api(bus.APIPublish, bus.PublishRequest{Fun: "test.ping", Target: bus.Target{Kind: "pcre", Expr: "web(["}}, &rep)
	if !strings.Contains(rep.Error, "invalid target") {
		t.Errorf("bad regex target: %+v", rep)
	}
}

func TestRefusedJobs(t *testing.T) {
	f := newFleet(t)
	a := f.accepted("web1")
	signer, err := bus.LoadKey(filepath.Join(f.cfg.StateDir, master.SigningKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := nkeys.CreateServer()
	rets, _ := f.admin.SubscribeSync("brine.ret.>")
	now := time.Now().UTC()
	job := func(jid string, issued time.Time, kp nkeys.KeyPair) []byte {
		b, err := bus.Sign(kp, &bus.Job{JID: jid, Fun: "test.ping", Target: bus.Target{Kind: "glob", Expr: "*"}, Issued: issued, Expires: issued.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := job("20261125210000000001", now, signer)
	unsigned, _ := json.Marshal(bus.Envelope{Payload: []byte(`{"jid":"20261125210000000002","fun":"test.ping"}`)})
	var env bus.Envelope
	_ = json.Unmarshal(job("20261125210000000003", now, signer), &env)
	env.Payload = bytes.Replace(env.Payload, []byte("test.ping"), []byte("test.echo"), 1)
	tampered, _ := json.Marshal(env)

	for _, msg := range [][]byte{
		good,
		good, // replayed
		unsigned,
		tampered,
		job("20261125210000000004", now, other),
		job("20261125210000000005", now.Add(-2*time.Minute), signer), // expired
		[]byte("not json at all"),
	} {
		if err := f.admin.Publish(bus.JobFor("web1"), msg); err != nil {
			t.Fatal(err)
		}
	}
	msg, err := rets.NextMsg(5 * time.Second)
	if err != nil || !strings.Contains(msg.Subject, "20261125210000000001") {
		t.Fatalf("the valid job got no return: %v %v", msg, err)
	}
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		for _, want := range []string{bus.ErrReplayed.Error(), bus.ErrUnsigned.Error(), bus.ErrBadSignature.Error(),
			bus.ErrWrongKey.Error(), bus.ErrExpired.Error(), bus.ErrMalformed.Error()} {
			if !strings.Contains(a.log.String(), want) {
				return fmt.Errorf("no refusal logged with %q", want)
			}
		}
		return nil
	})
	if extra, err := rets.NextMsg(300 * time.Millisecond); err == nil {
		t.Errorf("a refused job was run: %s", extra.Subject)
	}
}

func TestStateApplyAcrossMinionsWithPillarAndFiles(t *testing.T) {
	f := newFleet(t)
	web := f.accepted("web1")
	f.accepted("web2")

	rets := f.run("state.apply", nil, nil, bus.Target{Kind: "glob", Expr: "web*"})
	for id, colour := range map[string]string{"web1": "red", "web2": "blue"} {
		r := rets[id]
		if r.Retcode != 0 || r.Out != "highstate" {
			t.Errorf("%s: %+v %s", id, r, r.Return)
		}
		b, err := os.ReadFile(filepath.Join(f.target, id+".motd"))
		if want := "Welcome to " + id + ", colour " + colour + "\n"; err != nil || string(b) != want {
			t.Errorf("%s motd = %q, %v; want %q", id, b, err, want)
		}
	}
	// Pillar is compiled per minion: web2 never sees web1's secret.
	rets = f.run("pillar.items", nil, nil, bus.Target{Kind: "glob", Expr: "web*"})
	if !strings.Contains(string(rets["web1"].Return), "web1-only") || strings.Contains(string(rets["web2"].Return), "web1-only") {
		t.Errorf("pillar.items: web1 %s, web2 %s", rets["web1"].Return, rets["web2"].Return)
	}
	// A second highstate fetches no file again.
	fetched := web.log.count("fetched a file")
	if fetched == 0 {
		t.Fatalf("no fetch logged on the first run:\n%s", web.log)
	}
	f.run("state.apply", nil, nil, bus.Target{Kind: "glob", Expr: "web*"})
	if n := web.log.count("fetched a file"); n != fetched {
		t.Errorf("second highstate fetched %d files again", n-fetched)
	}
	// A changed file is fetched again.
	writeTree(t, f.dir, map[string]string{"salt/files/motd.j2": "Hello {{ grains['id'] }}\n"})
	f.run("state.apply", nil, nil, bus.Target{Kind: "list", Expr: "web1"})
	if b, _ := os.ReadFile(filepath.Join(f.target, "web1.motd")); string(b) != "Hello web1\n" {
		t.Errorf("changed template not applied: %q", b)
	}
}

func TestFileClient(t *testing.T) {
	f := newFleet(t)
	a := f.accepted("web1")
	ctx := context.Background()
	fc := a.files.forJob()

	big, err := fc.Read(ctx, "base", "files/big.bin")
	if err != nil || len(big) != 16*80<<10 {
		t.Fatalf("big file: %d bytes, %v", len(big), err)
	}
	list, err := fc.List(ctx, "base", "files")
	if err != nil || len(list) != 2 { // big.bin, motd.j2; escape.txt is not served
		t.Errorf("List = %+v, %v", list, err)
	}
	for _, p := range []string{"../outside/secret.txt", "/etc/passwd", "files/escape.txt", "files/\x00x", "files/../../outside/secret.txt"} {
		t.Run(p, func(t *testing.T) {
			if _, err := fc.Read(ctx, "base", p); !errors.Is(err, api.ErrPathEscapes) {
				t.Errorf("Read(%q) = %v, want ErrPathEscapes", p, err)
			}
			// The master refuses too, when the minion's own check is skipped.
			var rep bus.FileReadReply
			err := a.request(ctx, bus.OpFileRead, bus.FileRequest{Saltenv: "base", Path: p}, &rep, 0)
			if !errors.Is(err, api.ErrPathEscapes) || len(rep.Data) > 0 {
				t.Errorf("master served %q: %v, %d bytes", p, err, len(rep.Data))
			}
		})
	}
	if _, err := fc.Read(ctx, "base", "files/missing"); !errors.Is(err, api.ErrFileNotFound) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := fc.Read(ctx, "../x", "top.sls"); !errors.Is(err, api.ErrPathEscapes) {
		t.Errorf("bad saltenv: %v", err)
	}
}

func TestStateRunsAreSerialised(t *testing.T) {
	f := newFleet(t)
	f.accepted("web1")
	first := make(chan map[string]bus.Return)
	go func() {
		first <- f.run("state.single", []any{"cmd.run"}, map[string]any{"name": "sleep 1"}, bus.Target{Kind: "glob", Expr: "*"})
	}()
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		rets := f.run("saltutil.running", nil, nil, bus.Target{Kind: "glob", Expr: "*"})
		if !strings.Contains(string(rets["web1"].Return), "state.single") {
			return errors.New("state run not running yet")
		}
		return nil
	})
	busy := f.run("state.apply", nil, nil, bus.Target{Kind: "glob", Expr: "*"})["web1"]
	if busy.Retcode != 1 || !strings.Contains(string(busy.Return), `The function \"state.single\" is running as PID`) {
		t.Errorf("concurrent state run: %+v %s", busy, busy.Return)
	}
	queued := f.run("state.single", []any{"test.succeed_without_changes"}, map[string]any{"name": "after", "queue": true}, bus.Target{Kind: "glob", Expr: "*"})["web1"]
	if queued.Retcode != 0 || !strings.Contains(string(queued.Return), "after") {
		t.Errorf("queued state run: %+v %s", queued, queued.Return)
	}
	if r := (<-first)["web1"]; r.Retcode != 0 {
		t.Errorf("first run: %+v %s", r, r.Return)
	}
}

func TestReturnsSurviveMasterRestart(t *testing.T) {
	f := newFleet(t)
	a := f.accepted("web1")
	var jr bus.JIDReply
	f.api(bus.APIJID, struct{}{}, &jr)
	var rep bus.PublishReply
	f.api(bus.APIPublish, bus.PublishRequest{JID: jr.JID, Fun: "test.sleep", Args: []any{1}, Target: bus.Target{Kind: "glob", Expr: "*"}}, &rep)
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if len(a.Running()) == 0 {
			return errors.New("job not started")
		}
		return nil
	})
	f.admin.Close()
	f.m.Close()
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if !strings.Contains(a.log.String(), "keeping it to retry") {
			return errors.New("return not spooled")
		}
		return nil
	})
	f.start()
	checkFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		var job bus.JobReply
		f.api(bus.APIJob, bus.JobsRequest{JID: jr.JID}, &job)
		if len(job.Returns) != 1 || string(job.Returns[0].Return) != "true" {
			return fmt.Errorf("job %s after restart: %+v", jr.JID, job)
		}
		return nil
	})
	if n := a.outbox.pending(); n != 0 {
		t.Errorf("%d returns still spooled", n)
	}
	// The job cache from before the restart is still there.
	var jobs bus.JobsReply
	f.api(bus.APIJobs, bus.JobsRequest{}, &jobs)
	if len(jobs.Jobs) != 1 || jobs.Jobs[0].Fun != "test.sleep" {
		t.Errorf("jobs after restart: %+v", jobs)
	}
}
