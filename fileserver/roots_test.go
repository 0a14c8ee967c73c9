package fileserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/api"
)

func write(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(h[:])
}

// tree builds:
//
//	base/            (reached through the symlink "link-to-base")
//	  top.sls, web/init.sls, web/files/app.conf
//	  rel-in -> web/init.sls, abs-in -> BASE/top.sls
//	  out-file -> ../secret.txt, out-abs -> /etc (absolute, outside)
//	  out-dir -> ../outside, up -> ..
//	  dangling -> nowhere, loop -> .
//	secret.txt, outside/inner.txt
func tree(t *testing.T) (Roots, string) {
	t.Helper()
	top := t.TempDir()
	base := filepath.Join(top, "base")
	write(t, filepath.Join(base, "top.sls"), "base:\n  '*':\n    - web\n")
	write(t, filepath.Join(base, "web/init.sls"), "web: {}\n")
	write(t, filepath.Join(base, "web/files/app.conf"), "port=80\n")
	write(t, filepath.Join(top, "secret.txt"), "secret\n")
	write(t, filepath.Join(top, "outside/inner.txt"), "inner\n")
	symlink(t, "web/init.sls", filepath.Join(base, "rel-in"))
	symlink(t, filepath.Join(base, "top.sls"), filepath.Join(base, "abs-in"))
	symlink(t, "../secret.txt", filepath.Join(base, "out-file"))
	symlink(t, filepath.Join(top, "secret.txt"), filepath.Join(base, "out-abs"))
	symlink(t, "../outside", filepath.Join(base, "out-dir"))
	symlink(t, "..", filepath.Join(base, "up"))
	symlink(t, "nowhere", filepath.Join(base, "dangling"))
	symlink(t, ".", filepath.Join(base, "web/loop"))
	link := filepath.Join(top, "link-to-base")
	symlink(t, base, link)
	return Roots{Envs: map[string][]string{"base": {link}}}, top
}

func TestEscapes(t *testing.T) {
	r, _ := tree(t)
	ctx := context.Background()
	cases := []struct {
		name string
		path string
		want error  // nil: served
		body string // content when served
	}{
		{"plain file", "top.sls", nil, "base:\n  '*':\n    - web\n"},
		{"nested file", "web/files/app.conf", nil, "port=80\n"},
		{"salt scheme prefix", "salt://web/init.sls", nil, "web: {}\n"},
		{"dot and double slash", "./web//init.sls", nil, "web: {}\n"},
		{"relative symlink inside", "rel-in", nil, "web: {}\n"},
		{"absolute symlink inside", "abs-in", nil, "base:\n  '*':\n    - web\n"},
		{"parent element", "../secret.txt", api.ErrPathEscapes, ""},
		{"parent element deep", "web/../../secret.txt", api.ErrPathEscapes, ""},
		{"parent element that stays inside", "web/../top.sls", api.ErrPathEscapes, ""},
		{"absolute path", "/etc/passwd", api.ErrPathEscapes, ""},
		{"absolute after scheme", "salt:///etc/passwd", api.ErrPathEscapes, ""},
		{"nul byte", "top.sls\x00.txt", api.ErrPathEscapes, ""},
		{"backslash", `web\..\..\secret.txt`, api.ErrPathEscapes, ""},
		{"symlink to file outside", "out-file", api.ErrPathEscapes, ""},
		{"absolute symlink outside", "out-abs", api.ErrPathEscapes, ""},
		{"through symlinked dir outside", "out-dir/inner.txt", api.ErrPathEscapes, ""},
		{"symlinked dir outside itself", "out-dir", api.ErrPathEscapes, ""},
		{"through symlink to parent", "up/secret.txt", api.ErrPathEscapes, ""},
		{"missing file", "nope.sls", api.ErrFileNotFound, ""},
		{"dangling symlink", "dangling", api.ErrFileNotFound, ""},
		{"below a regular file", "top.sls/x", api.ErrFileNotFound, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := r.Read(ctx, "base", tc.path)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Read(%q) error = %v, want %v", tc.path, err, tc.want)
			}
			if tc.want != nil {
				for _, m := range []struct {
					name string
					call func() error
				}{
					{"Cache", func() error { _, err := r.Cache(ctx, "base", tc.path); return err }},
					{"Stat", func() error { _, err := r.Stat(ctx, "base", tc.path); return err }},
					{"List", func() error { _, err := r.List(ctx, "base", tc.path); return err }},
				} {
					if err := m.call(); !errors.Is(err, tc.want) {
						t.Errorf("%s(%q) error = %v, want %v", m.name, tc.path, err, tc.want)
					}
				}
				return
			}
			if string(b) != tc.body {
				t.Errorf("Read(%q) = %q, want %q", tc.path, b, tc.body)
			}
			local, err := r.Cache(ctx, "base", tc.path)
			if err != nil {
				t.Fatalf("Cache(%q): %v", tc.path, err)
			}
			if onDisk, err := os.ReadFile(local); err != nil || string(onDisk) != tc.body {
				t.Errorf("Cache(%q) = %s holding %q (%v), want %q", tc.path, local, onDisk, err, tc.body)
			}
		})
	}
}

func TestErrorsNameThePath(t *testing.T) {
	r, _ := tree(t)
	for _, p := range []string{"out-file", "no/such/file.txt", "../x"} {
		_, err := r.Read(context.Background(), "base", p)
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("Read(%q) error %v does not name the path", p, err)
		}
	}
	_, err := r.Read(context.Background(), "dev", "top.sls")
	if !errors.Is(err, api.ErrFileNotFound) || !strings.Contains(err.Error(), "'dev'") {
		t.Errorf("unknown saltenv: error %v, want a not-found naming 'dev'", err)
	}
}

func TestStat(t *testing.T) {
	r, _ := tree(t)
	ctx := context.Background()
	fi, err := r.Stat(ctx, "", "web/files/app.conf") // "" means base
	if err != nil {
		t.Fatal(err)
	}
	want := api.FileInfo{Path: "web/files/app.conf", Mode: 0o644, Hash: sum("port=80\n"), Size: 8}
	if diff := cmp.Diff(want, fi); diff != "" {
		t.Errorf("Stat file (-want +got):\n%s", diff)
	}
	fi, err = r.Stat(ctx, "base", "web")
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode.IsDir() || fi.Hash != "" || fi.Path != "web" {
		t.Errorf("Stat dir = %+v, want a directory without hash", fi)
	}
	if _, err := r.Read(ctx, "base", "web"); err == nil {
		t.Error("Read of a directory succeeded")
	}
}

func TestList(t *testing.T) {
	r, _ := tree(t)
	ctx := context.Background()
	got, err := r.List(ctx, "base", "")
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Path string
		Dir  bool
		Hash string
	}
	var paths []entry
	for _, fi := range got {
		paths = append(paths, entry{fi.Path, fi.Mode.IsDir(), fi.Hash})
	}
	top := sum("base:\n  '*':\n    - web\n")
	init := sum("web: {}\n")
	want := []entry{
		{"abs-in", false, top},
		{"rel-in", false, init},
		{"top.sls", false, top},
		{"web", true, ""},
		{"web/files", true, ""},
		{"web/files/app.conf", false, sum("port=80\n")},
		{"web/init.sls", false, init},
		// web/loop -> . is a directory inside the root; following it once
		// more would loop, so it is listed but not descended into again.
		{"web/loop", true, ""},
	}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}

	sub, err := r.List(ctx, "base", "web/files")
	if err != nil {
		t.Fatal(err)
	}
	if len(sub) != 1 || sub[0].Path != "web/files/app.conf" {
		t.Errorf("List(web/files) = %+v, want only web/files/app.conf", sub)
	}
	if _, err := r.List(ctx, "base", "top.sls"); err == nil {
		t.Error("List of a file succeeded")
	}
}

func TestMultipleRoots(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	write(t, filepath.Join(first, "common.sls"), "from first\n")
	write(t, filepath.Join(second, "common.sls"), "from second\n")
	write(t, filepath.Join(second, "only-second/x.txt"), "x\n")
	r := Roots{Envs: map[string][]string{"base": {filepath.Join(first, "missing-root"), first, second}}}
	ctx := context.Background()
	b, err := r.Read(ctx, "base", "common.sls")
	if err != nil || string(b) != "from first\n" {
		t.Errorf("Read(common.sls) = %q, %v; want the first root's file", b, err)
	}
	b, err = r.Read(ctx, "base", "only-second/x.txt")
	if err != nil || string(b) != "x\n" {
		t.Errorf("Read(only-second/x.txt) = %q, %v; want the second root's file", b, err)
	}
	list, err := r.List(ctx, "base", ".")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, fi := range list {
		got = append(got, fi.Path+" "+fi.Hash)
	}
	want := []string{"common.sls " + sum("from first\n"), "only-second ", "only-second/x.txt " + sum("x\n")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List over two roots (-want +got):\n%s", diff)
	}
}

func TestCancelled(t *testing.T) {
	r, _ := tree(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Read(ctx, "base", "top.sls"); !errors.Is(err, context.Canceled) {
		t.Errorf("Read with a cancelled context: %v", err)
	}
	if _, err := r.List(ctx, "base", ""); !errors.Is(err, context.Canceled) {
		t.Errorf("List with a cancelled context: %v", err)
	}
}
