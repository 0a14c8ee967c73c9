package host

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
)

// Platform is the `_plugins/` subdirectory holding plugins built for this
// minion: "linux_amd64", "linux_arm64"...
func Platform() string { return runtime.GOOS + "_" + runtime.GOARCH }

// RemoteFile is one plugin binary a Source publishes.
type RemoteFile struct {
	// Name is the file name, without directories.
	Name string
	// SHA256 is the hex checksum of the content.
	SHA256 string
	Size   int64
}

// Source publishes plugin binaries per platform, with checksums: the
// master's file_roots `_plugins/<platform>/` over the bus for a minion,
// the local file_roots for a masterless run, any directory in tests.
type Source interface {
	// List returns the plugins published for platform.
	List(ctx context.Context, platform string) ([]RemoteFile, error)
	// Open returns the content of one of them.
	Open(ctx context.Context, platform, name string) (io.ReadCloser, error)
}

// DirSource is a local `_plugins` tree: Root/<platform>/<name>.
type DirSource struct {
	Root string
}

// List implements Source.
func (d DirSource) List(_ context.Context, platform string) ([]RemoteFile, error) {
	dir := filepath.Join(d.Root, platform)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []RemoteFile
	for _, e := range entries {
		if !validPluginFile(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		sum, err := hashFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, RemoteFile{Name: e.Name(), SHA256: sum, Size: fi.Size()})
	}
	return out, nil
}

// Open implements Source.
func (d DirSource) Open(_ context.Context, platform, name string) (io.ReadCloser, error) {
	if !validPluginFile(name) {
		return nil, fmt.Errorf("%q: %w", name, api.ErrPathEscapes)
	}
	return os.Open(filepath.Join(d.Root, platform, name))
}

// FilesSource publishes `<Dir>/<platform>/` of a salt:// file client: the
// local file_roots when masterless, the master's file server for a minion
// (whose FileClient fetches over the bus and caches by hash).
type FilesSource struct {
	Files   api.FileClient
	Saltenv string
	// Dir is the tree's root in the file server; "_plugins" when empty.
	Dir string
}

func (s FilesSource) dir(platform string) string {
	return path.Join(cmp.Or(s.Dir, "_plugins"), platform)
}

// List implements Source.
func (s FilesSource) List(ctx context.Context, platform string) ([]RemoteFile, error) {
	dir := s.dir(platform)
	list, err := s.Files.List(ctx, cmp.Or(s.Saltenv, "base"), dir)
	if errors.Is(err, api.ErrFileNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []RemoteFile
	for _, f := range list {
		rel := strings.TrimPrefix(f.Path, dir+"/")
		if rel == f.Path || strings.Contains(rel, "/") || !f.Mode.IsRegular() || !validPluginFile(rel) {
			continue // the directory itself, subdirectories, hidden files
		}
		sum, ok := strings.CutPrefix(f.Hash, "sha256:")
		if !ok {
			return nil, fmt.Errorf("salt://%s: no sha256 checksum from the file server (%q)", f.Path, f.Hash)
		}
		out = append(out, RemoteFile{Name: rel, SHA256: sum, Size: f.Size})
	}
	return out, nil
}

// Open implements Source.
func (s FilesSource) Open(ctx context.Context, platform, name string) (io.ReadCloser, error) {
	if !validPluginFile(name) {
		return nil, fmt.Errorf("%q: %w", name, api.ErrPathEscapes)
	}
	local, err := s.Files.Cache(ctx, cmp.Or(s.Saltenv, "base"), path.Join(s.dir(platform), name))
	if err != nil {
		return nil, err
	}
	return os.Open(local)
}

func validPluginFile(name string) bool {
	return name != "" && !strings.HasPrefix(name, ".") && !strings.ContainsAny(name, "/\\\x00") && name != ".."
}

// SyncResult lists what a sync changed, by file name.
type SyncResult struct {
	Added, Updated, Removed []string
}

// Changed reports whether the sync changed anything.
func (r SyncResult) Changed() bool {
	return len(r.Added)+len(r.Updated)+len(r.Removed) > 0
}

// Names lists the changes as Salt's saltutil.sync_* do: "plugins.<name>",
// sorted.
func (r SyncResult) Names() []string {
	var out []string
	for _, l := range [][]string{r.Added, r.Updated, r.Removed} {
		for _, n := range l {
			out = append(out, "plugins."+n)
		}
	}
	sort.Strings(out)
	return out
}

// ErrChecksum is returned when fetched content does not match the checksum
// the source published; the installed plugin is left as it was.
var ErrChecksum = errors.New("checksum mismatch")

// Sync makes dest hold exactly the plugins src publishes for platform.
// A plugin whose checksum differs is fetched to a hidden temporary file in
// dest, checked against the checksum, made executable and renamed over
// the old one, so that a plugin is never seen half-written; plugins src no
// longer publishes are removed. Hidden files in dest are left alone (the
// host never loads them).
func Sync(ctx context.Context, src Source, platform, dest string) (SyncResult, error) {
	var res SyncResult
	remote, err := src.List(ctx, platform)
	if err != nil {
		return res, fmt.Errorf("list plugins for %s: %w", platform, err)
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return res, fmt.Errorf("plugin directory: %w", err)
	}
	local := map[string]string{}
	entries, err := os.ReadDir(dest)
	if err != nil {
		return res, fmt.Errorf("plugin directory: %w", err)
	}
	for _, e := range entries {
		if !validPluginFile(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		sum, err := hashFile(filepath.Join(dest, e.Name()))
		if err != nil {
			return res, fmt.Errorf("plugin directory: %w", err)
		}
		local[e.Name()] = sum
	}
	published := map[string]bool{}
	var errs []error
	for _, rf := range remote {
		if !validPluginFile(rf.Name) {
			errs = append(errs, fmt.Errorf("plugin %q: invalid file name", rf.Name))
			continue
		}
		published[rf.Name] = true
		have, exists := local[rf.Name]
		if exists && strings.EqualFold(have, rf.SHA256) {
			continue
		}
		if err := fetch(ctx, src, platform, rf, dest); err != nil {
			errs = append(errs, err)
			continue
		}
		if exists {
			res.Updated = append(res.Updated, rf.Name)
		} else {
			res.Added = append(res.Added, rf.Name)
		}
	}
	for name := range local {
		if published[name] {
			continue
		}
		if err := os.Remove(filepath.Join(dest, name)); err != nil {
			errs = append(errs, fmt.Errorf("remove plugin %s: %w", name, err))
			continue
		}
		res.Removed = append(res.Removed, name)
	}
	sort.Strings(res.Added)
	sort.Strings(res.Updated)
	sort.Strings(res.Removed)
	return res, errors.Join(errs...)
}

func fetch(ctx context.Context, src Source, platform string, rf RemoteFile, dest string) error {
	r, err := src.Open(ctx, platform, rf.Name)
	if err != nil {
		return fmt.Errorf("fetch plugin %s: %w", rf.Name, err)
	}
	defer r.Close()
	tmp, err := os.CreateTemp(dest, "."+rf.Name+".sync-*")
	if err != nil {
		return fmt.Errorf("fetch plugin %s: %w", rf.Name, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), r); err != nil {
		return fmt.Errorf("fetch plugin %s: %w", rf.Name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, rf.SHA256) {
		return fmt.Errorf("fetch plugin %s: %w: published %s, received %s", rf.Name, ErrChecksum, rf.SHA256, got)
	}
	if err := tmp.Chmod(0o755); err != nil {
		return fmt.Errorf("fetch plugin %s: %w", rf.Name, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("fetch plugin %s: %w", rf.Name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("fetch plugin %s: %w", rf.Name, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dest, rf.Name)); err != nil {
		return fmt.Errorf("install plugin %s: %w", rf.Name, err)
	}
	done = true
	return nil
}

// Sync replaces the plugins in dest from src (see the Sync function) and,
// when something changed, reloads the registries without a restart. A
// synced plugin that cannot be loaded is logged by Load, as at start-up;
// the error reports only what the sync itself could not do.
func (h *Host) Sync(ctx context.Context, src Source, dest string) (SyncResult, error) {
	res, err := Sync(ctx, src, Platform(), dest)
	if res.Changed() {
		_ = h.Load(ctx) // problems are logged with the plugin's name
	}
	return res, err
}

type syncArgs struct {
	Saltenv string
	Refresh *bool
	// Salt's sync functions take these; brine syncs every plugin.
	ExtmodWhitelist any `arg:"extmod_whitelist"`
	ExtmodBlacklist any `arg:"extmod_blacklist"`
}

// SyncFunc is saltutil.sync_plugins for this host: it syncs dest (the
// minion's `<state dir>/plugins`) from `_plugins/<os>_<arch>/` of the
// caller's file server and reloads the registries. The minion registers it
// with modules.Replace once its Host is loaded; masterless `brine call`
// does the same, so the local file_roots play the master's part.
func SyncFunc(h *Host, dest string) modules.Func {
	return modules.Typed("saltutil.sync_plugins",
		`Sync plugins from the file server's _plugins/<os>_<arch>/ directory
(salt://_plugins/linux_amd64/ on a 64-bit x86 Linux minion) into the
minion's plugin directory, checking every file's sha256 checksum, and
reload them without a restart. Plugins no longer published are removed.
Returns the changed plugins as "plugins.<name>".

    brine call --local saltutil.sync_plugins
    brine '*' saltutil.sync_plugins saltenv=base

refresh=False syncs the files without reloading the registries.`,
		[]string{"saltenv"},
		func(ctx context.Context, env *api.Env, a *syncArgs) (any, error) {
			if env.Files == nil {
				return nil, errors.New("no file server to sync plugins from")
			}
			saltenv := cmp.Or(a.Saltenv, cmp.Or(env.Saltenv, "base"))
			src := FilesSource{Files: env.Files, Saltenv: saltenv}
			var res SyncResult
			var err error
			if a.Refresh != nil && !*a.Refresh {
				res, err = Sync(ctx, src, Platform(), dest)
			} else {
				res, err = h.Sync(ctx, src, dest)
			}
			names := res.Names()
			if names == nil {
				names = []string{}
			}
			return names, err
		})
}
