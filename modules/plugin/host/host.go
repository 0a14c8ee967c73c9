// Package host loads brine's plugins: it finds plugin executables in the
// plugin directories, learns what each provides (from a cache kept by the
// binary's hash, or by asking the plugin once), and registers a proxy for
// every function in the execution-module and state registries, so that
// plugin functions are reached exactly like built-ins: from SLS files,
// salt['mod.fn'] in templates, `brine call` and `brine doc`.
//
// A plugin's process starts on the first call and is reused by later ones;
// Close stops them all. A plugin that crashes, hangs past the call's
// deadline, speaks another protocol version or is not executable fails
// the call that used it, with an error naming the plugin; everything else
// carries on. Sync replaces plugins from a Source (the master's
// `_plugins/<os>_<arch>/` tree) atomically and reloads the registries.
package host

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/modules/plugin"
	"github.com/brine-cm/brine/states"
)

// Options configure a Host.
type Options struct {
	// Dirs are searched in order; every regular file in them whose name
	// does not start with "." is a plugin. When two plugins provide the
	// same function, the first one found wins.
	Dirs []string
	// CacheFile keeps plugin Info by binary hash between runs; "" turns
	// the cache off (every plugin is asked at every Load).
	CacheFile string
	// Log receives the host's messages and the plugins' own logs (each
	// with a plugin attribute); nil discards.
	Log *slog.Logger
	// StartTimeout bounds a plugin's start: handshake and Info. Default 10s.
	StartTimeout time.Duration
	// CallTimeout bounds a call whose context has no deadline. Default 1h,
	// the state engine's default.
	CallTimeout time.Duration
}

// Host owns the plugins of one brine process.
type Host struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex // serialises loads; guards plugins and regs
	plugins []*Plugin
	regs    map[regKey]*registration

	stateMu sync.RWMutex // guards closed, read on every call
	closed  bool
}

type regKey struct {
	kind plugin.Kind
	name string
}

// registration is one function the host put in a registry, with what it
// replaced (a built-in the plugin overrides, as a Salt custom module
// overrides the module of the same name), restored when the plugin goes.
type registration struct {
	plugin    *Plugin
	prevExec  *modules.Func
	prevState *states.Func
}

// New returns a host; nothing is read until Load.
func New(opts Options) *Host {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Second
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = states.DefaultStateTimeout
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Host{opts: opts, log: log, regs: map[regKey]*registration{}}
}

func (h *Host) level() slog.Level {
	for _, lv := range []slog.Level{plugin.LevelTrace, slog.LevelDebug, slog.LevelInfo, slog.LevelWarn} {
		if h.log.Enabled(context.Background(), lv) {
			return lv
		}
	}
	return slog.LevelError
}

func (h *Host) isClosed() bool {
	h.stateMu.RLock()
	defer h.stateMu.RUnlock()
	return h.closed
}

// Plugins returns the loaded plugins, in search order.
func (h *Host) Plugins() []*Plugin {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*Plugin(nil), h.plugins...)
}

// Load reads the plugin directories and registers every plugin's
// functions; calling it again reloads (what Sync does after a change).
// Unchanged plugins keep their running process; replaced or removed ones
// stop once their calls in flight are over. A plugin that cannot be
// loaded is logged and left out; the returned error joins those problems
// and is informational: the others are registered.
func (h *Host) Load(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.isClosed() {
		return ErrClosed
	}
	cache := loadCache(h.opts.CacheFile)
	found, problems := h.scan(ctx, cache)
	if err := cache.save(h.opts.CacheFile); err != nil {
		h.log.Debug("plugin info cache not saved", "error", err)
	}
	h.install(found)
	for _, err := range problems {
		h.log.Error("plugin not loaded", "error", err)
	}
	return errors.Join(problems...)
}

type candidate struct {
	path string
	fp   fingerprint
}

// scan finds the plugins and their Info, reusing the current Plugin of an
// unchanged file (and so its process).
func (h *Host) scan(ctx context.Context, cache *infoCache) ([]*Plugin, []error) {
	var problems []error
	var cands []candidate
	seen := map[string]bool{}
	for _, dir := range h.opts.Dirs {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if errors.Is(err, fs.ErrPermission) {
			// Another user's state directory (brine call as non-root on a
			// host whose minion runs as root): no plugins of ours there.
			h.log.Debug("plugin directory not readable", "dir", dir, "error", err)
			continue
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("plugin directory: %w", err))
			continue
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			path := filepath.Join(dir, e.Name())
			if abs, err := filepath.Abs(path); err == nil {
				path = abs
			}
			if seen[path] {
				continue
			}
			fi, err := os.Stat(path) // follows a symlinked plugin
			if err != nil {
				problems = append(problems, fmt.Errorf("plugin %s: %w", path, err))
				continue
			}
			if !fi.Mode().IsRegular() {
				continue
			}
			seen[path] = true
			cands = append(cands, candidate{path: path, fp: fingerprintOf(fi)})
		}
	}
	current := map[string]*Plugin{}
	for _, p := range h.plugins {
		current[p.path] = p
	}
	out := make([]*Plugin, len(cands))
	errs := make([]error, len(cands))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	var cacheMu sync.Mutex
	for i, c := range cands {
		if p := current[c.path]; p != nil && p.fp == c.fp {
			out[i] = p
			continue
		}
		cacheMu.Lock()
		sum, err := cache.hash(c.path, c.fp)
		var info *plugin.Info
		if err == nil {
			info = cache.info(sum)
		}
		cacheMu.Unlock()
		if err != nil {
			errs[i] = fmt.Errorf("plugin %s: %w", c.path, err)
			continue
		}
		if p := current[c.path]; p != nil && p.sum == sum && info != nil {
			// Touched (chmod, copied over with the same content): same
			// plugin, keep its process.
			p.fp = c.fp
			out[i] = p
			continue
		}
		log := h.log.With("plugin", filepath.Base(c.path))
		if info != nil {
			out[i] = &Plugin{host: h, path: c.path, fp: c.fp, sum: sum, info: info, log: h.log.With("plugin", info.Name)}
			continue
		}
		wg.Add(1)
		go func(i int, c candidate, sum string) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			proc, info, err := startProcess(ctx, h, c.path, log)
			if err != nil {
				errs[i] = fmt.Errorf("plugin %s: %w", c.path, err)
				return
			}
			proc.stop() // started only to learn what it provides
			cacheMu.Lock()
			cache.put(sum, info)
			cacheMu.Unlock()
			out[i] = &Plugin{host: h, path: c.path, fp: c.fp, sum: sum, info: info, log: h.log.With("plugin", info.Name)}
		}(i, c, sum)
	}
	wg.Wait()
	cache.prune(seen)
	var plugins []*Plugin
	byName := map[string]*Plugin{}
	for i, p := range out {
		if errs[i] != nil {
			problems = append(problems, errs[i])
			continue
		}
		if p == nil {
			continue
		}
		if first := byName[p.info.Name]; first != nil {
			problems = append(problems, fmt.Errorf("plugin %s: another plugin named %s was found first (%s); this one is ignored", p.path, p.info.Name, first.path))
			continue
		}
		byName[p.info.Name] = p
		plugins = append(plugins, p)
	}
	return plugins, problems
}

// install makes plugins the current set: it registers their functions,
// restores what departed plugins had replaced, and retires plugins that
// are no longer current.
func (h *Host) install(plugins []*Plugin) {
	want := map[regKey]*Plugin{}
	var order []regKey
	for _, p := range plugins {
		for i := range p.info.Functions {
			f := &p.info.Functions[i]
			k := regKey{f.Kind, f.Name}
			if other := want[k]; other != nil {
				h.log.Warn("plugin function provided twice; the first plugin found wins",
					"function", f.Name, "kind", string(f.Kind), "used", other.path, "ignored", p.path)
				continue
			}
			want[k] = p
			order = append(order, k)
		}
	}
	for k, reg := range h.regs {
		if want[k] == nil {
			h.restore(k, reg)
			delete(h.regs, k)
		}
	}
	for _, k := range order {
		p := want[k]
		old := h.regs[k]
		if old != nil && old.plugin == p {
			continue
		}
		reg := &registration{plugin: p}
		if old != nil {
			reg.prevExec, reg.prevState = old.prevExec, old.prevState
		} else if k.kind == plugin.KindExec {
			if f, ok := modules.Lookup(k.name); ok {
				reg.prevExec = &f
				h.log.Info("plugin overrides a built-in execution function", "function", k.name, "plugin", p.info.Name)
			}
		} else if f, ok := states.Lookup(k.name); ok {
			reg.prevState = &f
			h.log.Info("plugin overrides a built-in state function", "function", k.name, "plugin", p.info.Name)
		}
		f := p.function(k)
		if k.kind == plugin.KindExec {
			modules.Replace(p.execFunc(f))
		} else {
			states.ReplaceFunc(p.stateFunc(f))
		}
		h.regs[k] = reg
	}
	keep := map[*Plugin]bool{}
	for _, p := range plugins {
		keep[p] = true
	}
	for _, p := range h.plugins {
		if !keep[p] {
			p.retire()
		}
	}
	h.plugins = plugins
}

func (h *Host) restore(k regKey, reg *registration) {
	switch {
	case k.kind == plugin.KindExec && reg.prevExec != nil:
		modules.Replace(*reg.prevExec)
	case k.kind == plugin.KindExec:
		modules.Remove(k.name)
	case reg.prevState != nil:
		states.ReplaceFunc(*reg.prevState)
	default:
		states.RemoveFunc(k.name)
	}
}

func (p *Plugin) function(k regKey) *plugin.Function {
	for i := range p.info.Functions {
		if f := &p.info.Functions[i]; f.Kind == k.kind && f.Name == k.name {
			return f
		}
	}
	return nil
}

func (p *Plugin) doc(f *plugin.Function) string {
	doc := strings.TrimSpace(f.Doc)
	origin := fmt.Sprintf("Provided by plugin %s %s (%s).", p.info.Name, cmp.Or(p.info.Version, "(no version)"), p.path)
	if doc == "" {
		return origin
	}
	return doc + "\n\n" + origin
}

// execFunc is the registry entry that forwards an execution function.
func (p *Plugin) execFunc(f *plugin.Function) modules.Func {
	name := f.Name
	return modules.Func{
		Name:   name,
		Doc:    p.doc(f),
		Params: f.Params,
		Run: func(ctx context.Context, env *api.Env, args []any, kwargs map[string]any) (any, error) {
			return p.Exec(ctx, name, env, args, kwargs)
		},
	}
}

// stateFunc is the registry entry that forwards a state function. Its
// arguments are checked against the plugin's schema at compile time,
// without starting the plugin.
func (p *Plugin) stateFunc(f *plugin.Function) states.Func {
	name := f.Name
	fn := *f
	out := states.Func{
		Name:     name,
		Doc:      p.doc(f),
		Args:     f.ArgNames(),
		Validate: fn.CheckArgs,
		Apply: func(ctx context.Context, req *states.Request) api.Result {
			return p.State(ctx, name, req, false)
		},
	}
	if f.ModWatch {
		out.ModWatch = func(ctx context.Context, req *states.Request) api.Result {
			return p.State(ctx, name, req, true)
		}
	}
	return out
}

// Close stops every plugin process and waits for them. Calls made after
// Close fail with ErrClosed. The registries keep the proxies: a process
// that closes its host is ending.
func (h *Host) Close() {
	h.stateMu.Lock()
	h.closed = true
	h.stateMu.Unlock()
	h.mu.Lock()
	plugins := append([]*Plugin(nil), h.plugins...)
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range plugins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.shutdown()
		}()
	}
	wg.Wait()
}

// Functions maps each function the host registered, as "exec mod.fn" or
// "state mod.fn", to the name of the plugin providing it.
func (h *Host) Functions() map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]string, len(h.regs))
	for k, reg := range h.regs {
		out[string(k.kind)+" "+k.name] = reg.plugin.info.Name
	}
	return out
}
