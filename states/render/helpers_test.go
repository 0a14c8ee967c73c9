package render

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/brine-cm/brine/api"
)

// dirFiles is a test-only api.FileClient over a local directory: the
// file root of one saltenv.
type dirFiles struct{ root string }

func (d dirFiles) path(p string) (string, error) {
	if strings.Contains(p, "\x00") || filepath.IsAbs(p) {
		return "", api.ErrPathEscapes
	}
	clean := filepath.Clean(filepath.FromSlash(p))
	if clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", api.ErrPathEscapes
	}
	return filepath.Join(d.root, clean), nil
}

func (d dirFiles) Read(_ context.Context, _ string, p string) ([]byte, error) {
	full, err := d.path(p)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(full)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("salt://%s: %w", p, api.ErrFileNotFound)
	}
	return b, err
}

func (d dirFiles) Cache(_ context.Context, _ string, p string) (string, error) {
	full, err := d.path(p)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(full); err != nil {
		return "", fmt.Errorf("salt://%s: %w", p, api.ErrFileNotFound)
	}
	return full, nil
}

func (d dirFiles) Stat(_ context.Context, _ string, p string) (api.FileInfo, error) {
	full, err := d.path(p)
	if err != nil {
		return api.FileInfo{}, err
	}
	st, err := os.Stat(full)
	if err != nil {
		return api.FileInfo{}, fmt.Errorf("salt://%s: %w", p, api.ErrFileNotFound)
	}
	fi := api.FileInfo{Path: p, Mode: st.Mode(), Size: st.Size()}
	if st.Mode().IsRegular() {
		b, err := os.ReadFile(full)
		if err != nil {
			return api.FileInfo{}, err
		}
		sum := sha256.Sum256(b)
		fi.Hash = "sha256:" + hex.EncodeToString(sum[:])
	}
	return fi, nil
}

func (d dirFiles) List(ctx context.Context, env string, dir string) ([]api.FileInfo, error) {
	full, err := d.path(dir)
	if err != nil {
		return nil, err
	}
	var out []api.FileInfo
	err = filepath.WalkDir(full, func(p string, _ fs.DirEntry, err error) error {
		if err != nil || p == full {
			return err
		}
		rel, _ := filepath.Rel(d.root, p)
		fi, err := d.Stat(ctx, env, filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		out = append(out, fi)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, err
}

// writeTree writes files (slash paths relative to the root) into a fresh
// temporary directory and returns its client.
func writeTree(t testing.TB, files map[string]string) dirFiles {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dirFiles{root: root}
}

// execCall records one call of Env.Exec.
type execCall struct {
	Fun    string
	Args   []any
	Kwargs map[string]any
}

// testExec implements the execution modules templates use in tests on top
// of this package's helpers, and records every call.
func testExec(env *api.Env, calls *[]execCall) func(context.Context, string, []any, map[string]any) (any, error) {
	return func(_ context.Context, fun string, args []any, kwargs map[string]any) (any, error) {
		if calls != nil {
			*calls = append(*calls, execCall{fun, args, kwargs})
		}
		arg := func(i int, name string, def any) any {
			if v, ok := kwargs[name]; ok {
				return v
			}
			if i < len(args) {
				return args[i]
			}
			return def
		}
		switch fun {
		case "pillar.get", "grains.get":
			data := env.Pillar
			if fun == "grains.get" {
				data = env.Grains
			}
			key, _ := arg(0, "key", "").(string)
			delim, _ := arg(2, "delimiter", ":").(string)
			if v, ok := Traverse(data, key, delim); ok {
				return v, nil
			}
			return arg(1, "default", ""), nil
		case "grains.filter_by":
			lookup, ok := arg(0, "lookup_dict", nil).(map[string]any)
			if !ok {
				return nil, errors.New("filter_by: lookup_dict must be a dict")
			}
			grain, _ := arg(1, "grain", "os_family").(string)
			merge, _ := arg(2, "merge", nil).(map[string]any)
			def, _ := arg(3, "default", "default").(string)
			return FilterBy(env.Grains, lookup, grain, merge, def)
		case "test.echo":
			return arg(0, "text", ""), nil
		case "test.kwargs":
			return map[string]any{"args": args, "kwargs": kwargs}, nil
		case "test.fail":
			return nil, errors.New("this function always fails")
		}
		return nil, fmt.Errorf("'%s' is not available", fun)
	}
}

// newEnv builds an Env over files with grains and pillar, Exec included.
func newEnv(files api.FileClient, grains, pillar map[string]any) *api.Env {
	env := &api.Env{ID: "minion1", Saltenv: "base", Grains: grains, Pillar: pillar, Files: files, Opts: map[string]any{"id": "minion1"}}
	env.Exec = testExec(env, nil)
	return env
}
