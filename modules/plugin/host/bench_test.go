package host

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/grains"
	"github.com/brine-cm/brine/states"
)

// The cost of the plugin boundary, against the same state built in:
//
//	go test ./modules/plugin/host -run '^$' -bench . -benchtime 2000x
//
// BenchmarkStateCall/builtin and /plugin run the same check (read a file,
// compare it with the declared content, report no change) with a real
// host's grains and a small pillar; the plugin's process is already
// running, as it is for every state after the first. BenchmarkStart is a
// plugin's start up to its first answer (handshake and Info).

type benchFileArgs struct {
	Content string
	Mode    api.Mode
}

var registerBench = func() func() {
	states.Register(states.Def[benchFileArgs]{
		Name: "bench.file",
		Apply: func(_ context.Context, req *states.Request, a *benchFileArgs) api.Result {
			old, err := os.ReadFile(req.Name)
			if err == nil && string(old) == a.Content {
				return api.Succeeded("File "+req.Name+" is in the correct state", nil)
			}
			return api.Failed("the benchmark expects an unchanged file")
		},
	})
	return func() {}
}()

func benchEnv(b *testing.B) *api.Env {
	env := testEnv()
	env.Grains = grains.Collect(b.Context(), grains.Options{ID: "bench"})
	env.Pillar = map[string]any{"app": map[string]any{"port": 8080, "users": []any{"alice", "bob"}, "motd": "welcome"}}
	return env
}

func BenchmarkStateCall(b *testing.B) {
	target := filepath.Join(b.TempDir(), "motd")
	if err := os.WriteFile(target, []byte("hello\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	env := benchEnv(b)
	args := map[string]any{"content": "hello\n", "mode": "0644"}
	run := func(b *testing.B, fun string) {
		f, ok := states.Lookup(fun)
		if !ok {
			b.Fatalf("%s is not registered", fun)
		}
		req := &states.Request{ID: "motd", Name: target, Args: args, Env: env}
		if res := f.Apply(b.Context(), req); res.Result == nil || !*res.Result { // starts the plugin
			b.Fatalf("%s: %+v", fun, res)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if res := f.Apply(b.Context(), req); res.Result == nil || !*res.Result {
				b.Fatalf("%s: %+v", fun, res)
			}
		}
	}
	b.Run("builtin", func(b *testing.B) { run(b, "bench.file") })
	b.Run("plugin", func(b *testing.B) {
		f := newBenchFixture(b)
		h := New(Options{Dirs: []string{f}, CacheFile: ""})
		defer func() {
			h.Close()
			h.mu.Lock()
			h.install(nil)
			h.mu.Unlock()
		}()
		if err := h.Load(b.Context()); err != nil {
			b.Fatal(err)
		}
		run(b, "probe.file")
	})
}

func BenchmarkExecCall(b *testing.B) {
	f := newBenchFixture(b)
	h := New(Options{Dirs: []string{f}})
	defer func() {
		h.Close()
		h.mu.Lock()
		h.install(nil)
		h.mu.Unlock()
	}()
	if err := h.Load(b.Context()); err != nil {
		b.Fatal(err)
	}
	p := h.Plugins()[0]
	env := benchEnv(b)
	if _, err := p.Exec(b.Context(), "probe.ping", env, nil, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Exec(b.Context(), "probe.ping", env, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStart(b *testing.B) {
	path := filepath.Join(newBenchFixture(b), "probe")
	h := New(Options{})
	for b.Loop() {
		proc, _, err := startProcess(b.Context(), h, path, h.log)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		proc.stop()
		b.StartTimer()
	}
}

func newBenchFixture(b *testing.B) string {
	dir := filepath.Join(b.TempDir(), "plugins")
	install(b, "probe", dir, "probe")
	return dir
}
