// Package fileserver serves salt:// paths from local directories, the way
// Salt's roots backend reads file_roots. A masterless run reads through it
// directly and the master will serve minions from it, so it knows nothing
// about transports: it maps a (saltenv, path) pair to a file under one of the
// environment's roots and refuses every path that would leave them.
package fileserver

import (
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
	"sort"
	"strings"
	"syscall"

	"github.com/brine-cm/brine/api"
)

// Roots maps each saltenv to its root directories, searched in order: the
// first root holding a path wins, as with Salt's file_roots.
//
// Paths are slash-separated and relative to the root. A path is refused with
// api.ErrPathEscapes when it is absolute, has a ".." element, contains a NUL
// byte or a backslash (a separator on Windows, so refused everywhere: a tree
// must mean the same on every minion), or resolves through a symlink to a
// place outside the root it was found in. Symlinks that stay inside the root
// are followed. The check resolves symlinks before every access; whoever can
// write to the roots is trusted not to race it.
type Roots struct {
	// Envs maps a saltenv ("base") to its root directories.
	Envs map[string][]string
}

var _ api.FileClient = Roots{}

// located is a path found under one root, with symlinks resolved.
type located struct {
	rel  string // the cleaned, requested path ("" for the root itself)
	real string // absolute path with every symlink resolved
	root string // the resolved root it lies in
	info fs.FileInfo
}

// Clean checks a requested salt:// path and returns it in canonical form
// ("" for the root itself). A leading "salt://" is accepted and dropped.
func Clean(p string) (string, error) {
	p = strings.TrimPrefix(p, "salt://")
	switch {
	case strings.ContainsRune(p, 0):
		return "", fmt.Errorf("salt://%q contains a NUL byte: %w", p, api.ErrPathEscapes)
	case strings.ContainsRune(p, '\\'):
		return "", fmt.Errorf("salt://%s contains a backslash: %w", p, api.ErrPathEscapes)
	case strings.HasPrefix(p, "/"):
		return "", fmt.Errorf("salt://%s is absolute: %w", p, api.ErrPathEscapes)
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return "", fmt.Errorf("salt://%s has a '..' element: %w", p, api.ErrPathEscapes)
		}
	}
	c := path.Clean(p)
	if c == "." {
		return "", nil
	}
	return c, nil
}

func envName(saltenv string) string {
	if saltenv == "" {
		return "base"
	}
	return saltenv
}

// within reports whether real lies in root (or is root).
func within(root, real string) bool {
	if real == root {
		return true
	}
	prefix := root
	if !strings.HasSuffix(prefix, string(filepath.Separator)) {
		prefix += string(filepath.Separator)
	}
	return strings.HasPrefix(real, prefix)
}

// resolveRoot returns the root with symlinks resolved, or "" when it does not
// exist (Salt ignores missing roots too).
func resolveRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("file root %s: %w", dir, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("file root %s: %w", dir, err)
	}
	return real, nil
}

// locate finds rel under the saltenv's roots.
func (r Roots) locate(ctx context.Context, saltenv, p string) (located, error) {
	if err := ctx.Err(); err != nil {
		return located{}, err
	}
	rel, err := Clean(p)
	if err != nil {
		return located{}, err
	}
	env := envName(saltenv)
	for _, dir := range r.Envs[env] {
		root, err := resolveRoot(dir)
		if err != nil {
			return located{}, err
		}
		if root == "" {
			continue
		}
		cand := filepath.Join(root, filepath.FromSlash(rel))
		if _, err := os.Lstat(cand); err != nil {
			// A path through a regular file ("a.txt/b") is simply absent.
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				continue
			}
			return located{}, fmt.Errorf("salt://%s: %w", rel, err)
		}
		real, err := filepath.EvalSymlinks(cand)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				continue // dangling symlink
			}
			return located{}, fmt.Errorf("salt://%s: %w", rel, err)
		}
		if !within(root, real) {
			return located{}, fmt.Errorf("salt://%s resolves to %s, outside %s: %w", rel, real, root, api.ErrPathEscapes)
		}
		info, err := os.Stat(real)
		if err != nil {
			return located{}, fmt.Errorf("salt://%s: %w", rel, err)
		}
		return located{rel: rel, real: real, root: root, info: info}, nil
	}
	return located{}, fmt.Errorf("salt://%s not found in saltenv '%s': %w", rel, env, api.ErrFileNotFound)
}

// Read returns a file's content.
func (r Roots) Read(ctx context.Context, saltenv, p string) ([]byte, error) {
	loc, err := r.locate(ctx, saltenv, p)
	if err != nil {
		return nil, err
	}
	if loc.info.IsDir() {
		return nil, fmt.Errorf("salt://%s is a directory", loc.rel)
	}
	b, err := os.ReadFile(loc.real)
	if err != nil {
		return nil, fmt.Errorf("read salt://%s: %w", loc.rel, err)
	}
	return b, nil
}

// Cache returns the file's real path on this host: a local file server
// needs no copy. The caller must not write to it.
func (r Roots) Cache(ctx context.Context, saltenv, p string) (string, error) {
	loc, err := r.locate(ctx, saltenv, p)
	if err != nil {
		return "", err
	}
	return loc.real, nil
}

// Stat describes one file or directory; files carry their sha256.
func (r Roots) Stat(ctx context.Context, saltenv, p string) (api.FileInfo, error) {
	loc, err := r.locate(ctx, saltenv, p)
	if err != nil {
		return api.FileInfo{}, err
	}
	return describe(loc.rel, loc.real, loc.info)
}

func describe(rel, real string, info fs.FileInfo) (api.FileInfo, error) {
	fi := api.FileInfo{Path: rel, Mode: info.Mode()}
	if info.IsDir() {
		return fi, nil
	}
	fi.Size = info.Size()
	h, err := hashFile(real)
	if err != nil {
		return api.FileInfo{}, fmt.Errorf("hash salt://%s: %w", rel, err)
	}
	fi.Hash = h
	return fi, nil
}

func hashFile(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// List returns every file and directory below dir, recursively and sorted,
// merged over the saltenv's roots (the first root holding a path wins).
// Symlinks are followed while they stay inside their root; entries that
// leave it, dangling links and directory loops are left out.
func (r Roots) List(ctx context.Context, saltenv, dir string) ([]api.FileInfo, error) {
	rel, err := Clean(dir)
	if err != nil {
		return nil, err
	}
	env := envName(saltenv)
	seen := map[string]api.FileInfo{}
	found := false
	for _, d := range r.Envs[env] {
		root, err := resolveRoot(d)
		if err != nil {
			return nil, err
		}
		if root == "" {
			continue
		}
		one := Roots{Envs: map[string][]string{env: {root}}}
		loc, err := one.locate(ctx, env, rel)
		if errors.Is(err, api.ErrFileNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !loc.info.IsDir() {
			return nil, fmt.Errorf("list salt://%s: not a directory", rel)
		}
		found = true
		w := walker{ctx: ctx, root: root, out: seen, visiting: map[string]bool{}}
		if err := w.walk(rel, loc.real); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, fmt.Errorf("salt://%s not found in saltenv '%s': %w", rel, env, api.ErrFileNotFound)
	}
	out := make([]api.FileInfo, 0, len(seen))
	for _, fi := range seen {
		out = append(out, fi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

type walker struct {
	ctx      context.Context
	root     string
	out      map[string]api.FileInfo
	visiting map[string]bool // real directories on the current path, against loops
}

func (w *walker) walk(rel, real string) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if w.visiting[real] {
		return nil
	}
	w.visiting[real] = true
	defer delete(w.visiting, real)
	entries, err := os.ReadDir(real)
	if err != nil {
		return fmt.Errorf("list salt://%s: %w", rel, err)
	}
	for _, e := range entries {
		childRel := path.Join(rel, e.Name())
		childReal := filepath.Join(real, e.Name())
		if e.Type()&fs.ModeSymlink != 0 {
			target, err := filepath.EvalSymlinks(childReal)
			if err != nil || !within(w.root, target) {
				continue // dangling or leaving the root: not served
			}
			childReal = target
		}
		info, err := os.Stat(childReal)
		if err != nil {
			return fmt.Errorf("list salt://%s: %w", childRel, err)
		}
		if !info.IsDir() && !info.Mode().IsRegular() {
			continue // sockets, devices, fifos are not files to serve
		}
		if _, dup := w.out[childRel]; dup && !info.IsDir() {
			continue // an earlier root already serves this path
		}
		if !info.IsDir() {
			fi, err := describe(childRel, childReal, info)
			if err != nil {
				return err
			}
			w.out[childRel] = fi
			continue
		}
		if prev, dup := w.out[childRel]; dup && !prev.Mode.IsDir() {
			continue // an earlier root serves a file here, not a directory
		} else if !dup {
			w.out[childRel] = api.FileInfo{Path: childRel, Mode: info.Mode()}
		}
		if err := w.walk(childRel, childReal); err != nil {
			return err
		}
	}
	return nil
}
