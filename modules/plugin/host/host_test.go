package host

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
	_ "github.com/brine-cm/brine/modules/test"
	"github.com/brine-cm/brine/states"
)

func TestLoadRegistersAndCalls(t *testing.T) {
	f := newFixture(t)
	path := install(t, "probe", f.dir, "probe")
	h := f.host(t)
	if err := h.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"exec probe.ping": "probe", "exec probe.env": "probe", "exec probe.call": "probe", "exec probe.crash": "probe",
		"exec probe.hang": "probe", "exec shadow.me": "probe",
		"state probe.file": "probe", "state probe.service": "probe", "state probe.crash": "probe", "state probe.hang": "probe",
	}
	if diff := cmp.Diff(want, h.Functions()); diff != "" {
		t.Errorf("registered functions (-want +got):\n%s", diff)
	}
	if f.startCount(t) != 1 {
		t.Errorf("loading an unknown plugin started it %d times, want once (to read its info)", f.startCount(t))
	}
	if h.Plugins()[0].Running() {
		t.Errorf("the plugin kept running after its info was read")
	}

	ping, err := call(t, "probe.ping", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pid := ping.(map[string]any)["pid"]
	again, err := call(t, "probe.ping", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.(map[string]any)["pid"] != pid || f.startCount(t) != 2 {
		t.Errorf("second call: pid %v then %v, %d starts: the process was not reused", pid, again.(map[string]any)["pid"], f.startCount(t))
	}

	env, err := call(t, "probe.env", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantEnv := map[string]any{"id": "web1", "saltenv": "base",
		"grains": map[string]any{"os": "Debian", "id": "web1"},
		"pillar": map[string]any{"role": "web", "ports": []any{80, 443}}}
	if diff := cmp.Diff(wantEnv, env); diff != "" {
		t.Errorf("probe.env (-want +got):\n%s", diff)
	}
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if s := f.log.String(); !strings.Contains(s, "probe.env called") || !strings.Contains(s, "plugin=probe") {
			return errors.New("the plugin's log line did not reach the host log with its name")
		}
		return nil
	})

	echo, err := call(t, "probe.call", []any{"test.echo"}, map[string]any{"args": []any{"through the host"}})
	if err != nil || echo != "through the host" {
		t.Errorf("callback test.echo = %v, %v", echo, err)
	}
	_, err = call(t, "probe.call", []any{"no.such"}, nil)
	if !errors.Is(err, modules.ErrUnknownFunction) {
		t.Errorf("callback to a missing function: %v", err)
	}
	_, err = call(t, "probe.ping", nil, map[string]any{"bogus": 1})
	if err == nil || !strings.Contains(err.Error(), "unknown argument 'bogus'") {
		t.Errorf("unknown argument: %v", err)
	}

	fn, _ := modules.Lookup("probe.ping")
	if !strings.Contains(fn.Doc, "Provided by plugin probe 1.0.0 ("+path+")") {
		t.Errorf("doc does not say where the function comes from:\n%s", fn.Doc)
	}
}

func TestStateFunctions(t *testing.T) {
	f := newFixture(t)
	install(t, "probe", f.dir, "probe")
	h := f.host(t)
	if err := h.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	sf := lookupState(t, "probe.file")
	if diff := cmp.Diff([]string{"content", "mode"}, sf.Args); diff != "" {
		t.Errorf("state args (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"content": "x", "colour": "red"}, "unknown argument 'colour'"},
		{map[string]any{"content": []any{"a"}}, "argument 'content': expected a string, got a list"},
	} {
		if err := sf.Validate(tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%v) = %v, want %q", tc.args, err, tc.want)
		}
	}
	if err := sf.Validate(map[string]any{"content": "x", "mode": 644}); err != nil {
		t.Errorf("Validate of good arguments: %v", err)
	}
	if f.startCount(t) != 1 {
		t.Errorf("validation started the plugin")
	}

	target := filepath.Join(t.TempDir(), "motd")
	req := func(test bool) *states.Request {
		return &states.Request{ID: "motd", Name: target, SLS: "site", Args: map[string]any{"content": "hi\n", "mode": "0600"}, Test: test, Env: testEnv()}
	}
	res := sf.Apply(t.Context(), req(true))
	if res.Result != nil || !cmp.Equal(res.Changes, map[string]any{"new": "hi\n"}) {
		t.Errorf("test mode: %+v", res)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatalf("test mode created %s", target)
	}
	res = sf.Apply(t.Context(), req(false))
	if !res.OK() || res.Result == nil || res.Comment != "File "+target+" written" {
		t.Errorf("apply: %+v", res)
	}
	if fi, err := os.Stat(target); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("apply left %v, %v; want a 0600 file", fi, err)
	}
	res = sf.Apply(t.Context(), req(false))
	if res.Result == nil || !*res.Result || len(res.Changes) != 0 {
		t.Errorf("second apply changed something: %+v", res)
	}

	svc := lookupState(t, "probe.service")
	if svc.ModWatch == nil {
		t.Fatal("probe.service declares mod_watch, the proxy has none")
	}
	res = svc.ModWatch(t.Context(), &states.Request{ID: "svc", Name: "svc", Env: testEnv(),
		Changes: map[string]map[string]any{"probe_|-motd_|-/x_|-file": {"new": "hi"}}})
	if res.Comment != "Service restarted (1 watched changes)" || res.Changes["restarted"] != "svc" {
		t.Errorf("mod_watch: %+v", res)
	}
	if lookupState(t, "probe.file").ModWatch != nil {
		t.Errorf("probe.file declares no mod_watch, the proxy has one")
	}
}

func TestCacheAvoidsStarts(t *testing.T) {
	f := newFixture(t)
	install(t, "probe", f.dir, "probe")
	if err := f.host(t).Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.cache); err != nil {
		t.Fatalf("no info cache written: %v", err)
	}
	before := f.startCount(t)
	h := f.host(t) // a second brine process, same state dir
	if err := h.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, ok := modules.Lookup("probe.ping"); !ok || f.startCount(t) != before {
		t.Errorf("second load: registered %v, starts %d -> %d; want registration without a start", ok, before, f.startCount(t))
	}
	if _, err := call(t, "probe.ping", nil, nil); err != nil || f.startCount(t) != before+1 {
		t.Errorf("first call: %v, starts %d", err, f.startCount(t))
	}
}

func TestCrashFailsOnlyThatCall(t *testing.T) {
	f := newFixture(t)
	path := install(t, "probe", f.dir, "probe")
	h := f.host(t)
	if err := h.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, err := call(t, "probe.crash", nil, nil)
	for _, want := range []string{"plugin probe (" + path + ") crashed during probe.crash (exit status 2)", "panic: probe crashed on purpose"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("crash error = %v, want it to contain %q", err, want)
		}
	}
	if !errors.Is(err, ErrCrashed) {
		t.Errorf("%v is not ErrCrashed", err)
	}
	if _, err := call(t, "probe.ping", nil, nil); err != nil {
		t.Errorf("the call after a crash: %v", err)
	}

	res := lookupState(t, "probe.crash").Apply(t.Context(), &states.Request{ID: "c", Name: "c", Env: testEnv()})
	if res.Result == nil || *res.Result || !strings.Contains(res.Comment, "plugin probe ("+path+") crashed during probe.crash (exit status 3)") {
		t.Errorf("crashing state: %+v", res)
	}
	if _, err := call(t, "probe.ping", nil, nil); err != nil {
		t.Errorf("the call after a crashing state: %v", err)
	}
}

func TestHangFailsAtTheDeadline(t *testing.T) {
	f := newFixture(t)
	install(t, "probe", f.dir, "probe")
	h := f.host(t)
	if err := h.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := lookupState(t, "probe.hang").Apply(ctx, &states.Request{ID: "h", Name: "h", Env: testEnv()})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a hung state returned after %v", d)
	}
	if res.Result == nil || *res.Result || !strings.Contains(res.Comment, "plugin probe") || !strings.Contains(res.Comment, "probe.hang did not answer in time") {
		t.Errorf("hung state: %+v", res)
	}
	ctx, cancel = context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := modules.Call(ctx, testEnv(), "probe.hang", nil, nil)
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("hung execution function: %v", err)
	}
	if _, err := call(t, "probe.ping", nil, nil); err != nil {
		t.Errorf("the call after a hang: %v", err)
	}
	// Close stops the plugin even with hung calls in it.
	done := make(chan struct{})
	go func() { h.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return with a hung plugin")
	}
	if _, err := call(t, "probe.ping", nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("call after Close: %v", err)
	}
}

func TestWrongProtocolVersion(t *testing.T) {
	f := newFixture(t)
	bad := install(t, "probe-proto2", f.dir, "probe")
	h := f.host(t)
	err := h.Load(t.Context())
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "it speaks plugin protocol version 2, brine speaks 1") {
		t.Errorf("loading a plugin of another protocol version: %v", err)
	}
	if _, ok := modules.Lookup("probe.ping"); ok {
		t.Errorf("the functions of a plugin that failed the handshake were registered")
	}
	if !strings.Contains(f.log.String(), "plugin not loaded") {
		t.Errorf("the failure was not logged:\n%s", f.log)
	}

	// A plugin replaced behind the host's back by a build for another
	// protocol: the call that starts it fails, naming it.
	good := newFixture(t)
	path := install(t, "probe", good.dir, "probe")
	h = good.host(t)
	if err := h.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	install(t, "probe-proto2", good.dir, "probe")
	res := lookupState(t, "probe.file").Apply(t.Context(), &states.Request{ID: "x", Name: filepath.Join(t.TempDir(), "x"), Args: map[string]any{"content": "x"}, Env: testEnv()})
	if res.Result == nil || *res.Result || !strings.Contains(res.Comment, "plugin probe ("+path+"): cannot start: it speaks plugin protocol version 2") {
		t.Errorf("state of a replaced plugin: %+v", res)
	}
}

func TestNotExecutable(t *testing.T) {
	f := newFixture(t)
	path := install(t, "probe", f.dir, "probe")
	h := f.host(t)
	if err := h.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	want := "plugin probe (" + path + "): not executable (mode 0644)"
	res := lookupState(t, "probe.file").Apply(t.Context(), &states.Request{ID: "x", Name: "x", Args: map[string]any{"content": "x"}, Env: testEnv()})
	if res.Result == nil || *res.Result || res.Comment != want {
		t.Errorf("state of a plugin that is not executable: %+v, want comment %q", res, want)
	}
	// A later brine process knows the plugin from the info cache: its
	// functions are still there, and fail the same clear way.
	h2 := f.host(t)
	if err := h2.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, err := call(t, "probe.ping", nil, nil)
	if !errors.Is(err, ErrNotExecutable) || !strings.Contains(err.Error(), want) {
		t.Errorf("call after a reload from the cache: %v", err)
	}
	// Without the cache, the plugin cannot say what it provides: the load
	// reports it by path.
	os.Remove(f.cache)
	h3 := f.host(t)
	if err := h3.Load(t.Context()); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not executable") {
		t.Errorf("uncached load of a plugin that is not executable: %v", err)
	}
}

func TestOverrideAndRestoreBuiltin(t *testing.T) {
	builtin := modules.Func{Name: "shadow.me", Run: func(context.Context, *api.Env, []any, map[string]any) (any, error) {
		return "built in", nil
	}}
	modules.Replace(builtin)
	t.Cleanup(func() { modules.Remove("shadow.me") })

	f := newFixture(t)
	path := install(t, "probe", f.dir, "probe")
	h := f.host(t)
	if err := h.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, err := call(t, "shadow.me", nil, nil); got != "from the plugin" {
		t.Errorf("with the plugin: %v, %v", got, err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := h.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, err := call(t, "shadow.me", nil, nil); got != "built in" {
		t.Errorf("after the plugin went: %v, %v", got, err)
	}
	if _, ok := modules.Lookup("probe.ping"); ok {
		t.Errorf("probe.ping is still registered after its plugin went")
	}
	if _, ok := states.Lookup("probe.file"); ok {
		t.Errorf("probe.file is still registered after its plugin went")
	}
}

func TestFirstDirectoryWins(t *testing.T) {
	f := newFixture(t)
	other := filepath.Join(t.TempDir(), "more")
	first := install(t, "probe", f.dir, "probe")
	install(t, "probe-v2", other, "probe")
	h := f.host(t, func(o *Options) { o.Dirs = []string{f.dir, other} })
	err := h.Load(t.Context())
	if err == nil || !strings.Contains(err.Error(), "another plugin named probe was found first ("+first+")") {
		t.Errorf("two plugins of the same name: %v", err)
	}
	ping, _ := call(t, "probe.ping", nil, nil)
	if v, _ := ping.(map[string]any); v["version"] != "1.0.0" {
		t.Errorf("probe.ping came from %v, want the first directory's plugin", ping)
	}
}

func TestIgnoresHiddenFilesAndDirectories(t *testing.T) {
	f := newFixture(t)
	install(t, "probe", f.dir, ".probe.sync-123")
	if err := os.MkdirAll(filepath.Join(f.dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := f.host(t, func(o *Options) { o.Dirs = []string{f.dir, filepath.Join(t.TempDir(), "missing")} })
	if err := h.Load(t.Context()); err != nil {
		t.Errorf("load: %v", err)
	}
	if n := len(h.Plugins()); n != 0 {
		t.Errorf("loaded %d plugins from hidden files and directories", n)
	}
}
