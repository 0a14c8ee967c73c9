package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/api/types/container"

	"github.com/brine-cm/brine/fileserver"
)

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func tarNames(t *testing.T, bc *BuildContext) map[string]string {
	t.Helper()
	var buf bytes.Buffer
	if err := bc.Tar(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = string(b)
	}
}

// TestContextHash: the hash follows content, names and modes, not
// modification times or ignored files, and salt:// and local contexts of
// the same tree agree.
func TestContextHash(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	writeTree(t, app, map[string]string{
		"Dockerfile": "FROM scratch\n", "bin/server": "binary", ".dockerignore": "*.log\n**/tmp\n!keep.log\n",
		"debug.log": "noise", "keep.log": "kept", "sub/tmp/x": "noise",
	})
	local, err := LocalContext(app, "")
	if err != nil {
		t.Fatal(err)
	}
	roots := fileserver.Roots{Envs: map[string][]string{"base": {dir}}}
	salt, err := SaltContext(context.Background(), roots, "base", "salt://app", "")
	if err != nil {
		t.Fatal(err)
	}
	if local.Hash != salt.Hash {
		t.Errorf("local %s != salt:// %s for the same tree", local.Hash, salt.Hash)
	}
	want := map[string]string{".dockerignore": "*.log\n**/tmp\n!keep.log\n", "Dockerfile": "FROM scratch\n",
		"bin/": "", "bin/server": "binary", "keep.log": "kept", "sub/": ""}
	for name, bc := range map[string]*BuildContext{"local": local, "salt": salt} {
		if diff := cmp.Diff(want, tarNames(t, bc)); diff != "" {
			t.Errorf("%s archive (-want +got):\n%s", name, diff)
		}
	}

	rehash := func() string {
		t.Helper()
		bc, err := LocalContext(app, "")
		if err != nil {
			t.Fatal(err)
		}
		return bc.Hash
	}
	base := rehash()
	steps := []struct {
		name   string
		do     func()
		change bool
	}{
		{"touch only", func() { _ = os.Chtimes(filepath.Join(app, "bin/server"), fixed, fixed) }, false},
		{"ignored file", func() { writeTree(t, app, map[string]string{"more.log": "x"}) }, false},
		{"content", func() { writeTree(t, app, map[string]string{"bin/server": "binary2"}) }, true},
		{"mode", func() { _ = os.Chmod(filepath.Join(app, "bin/server"), 0o755) }, true},
		{"new file", func() { writeTree(t, app, map[string]string{"conf/app.ini": "a=1"}) }, true},
	}
	for _, s := range steps {
		s.do()
		h := rehash()
		if (h != base) != s.change {
			t.Errorf("%s: hash changed = %v, want %v", s.name, h != base, s.change)
		}
		base = h
	}
}

var fixed = mustTime("2001-02-03T04:05:06Z")

func TestBuildOptionsHash(t *testing.T) {
	bc := &BuildContext{Hash: "sha256:abc"}
	base := BuildOptions{Tags: []string{"a:1"}, BuildArgs: map[string]string{"V": "1"}}.Hash(bc)
	for name, o := range map[string]BuildOptions{
		"build arg": {BuildArgs: map[string]string{"V": "2"}},
		"label":     {BuildArgs: map[string]string{"V": "1"}, Labels: map[string]string{"x": "y"}},
		"target":    {BuildArgs: map[string]string{"V": "1"}, Target: "prod"},
		"file":      {BuildArgs: map[string]string{"V": "1"}, Dockerfile: "Other"},
	} {
		if o.Hash(bc) == base {
			t.Errorf("%s does not change the hash", name)
		}
	}
	same := BuildOptions{Tags: []string{"other:2"}, NoCache: true, Dockerfile: "Dockerfile", BuildArgs: map[string]string{"V": "1"}}
	if same.Hash(bc) != base {
		t.Error("tags, nocache or the default Dockerfile name changed the hash")
	}
}

func TestIgnoreRules(t *testing.T) {
	rules, err := parseIgnore([]byte("# comment\n*.md\n!README.md\ndocs\n/build/*\n**/*.tmp\ntest?.txt\n[abc].go\n"))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{
		"NOTES.md": true, "README.md": false, "docs": true, "docs/a/b.txt": true, "build/x": true, "build": false,
		"a/b/c.tmp": true, "c.tmp": true, "test1.txt": true, "test12.txt": false, "a.go": true, "d.go": false,
		"sub/NOTES.md": false, "main.go": false,
	} {
		if got := rules.excluded(path); got != want {
			t.Errorf("%s excluded = %v, want %v", path, got, want)
		}
	}
	if _, err := parseIgnore([]byte("[unterminated\n")); err == nil {
		t.Error("a bad pattern was accepted")
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{
		"app": "app:latest", "app:1": "app:1", "reg:5000/app": "reg:5000/app:latest",
		"reg:5000/app:2": "reg:5000/app:2", "app@sha256:ab": "app@sha256:ab",
	} {
		if got := NormalizeRef(in); got != want {
			t.Errorf("NormalizeRef(%q) = %q, want %q", in, got, want)
		}
	}
	for s, want := range map[*container.State]string{
		nil: "stopped", {Running: true}: "running", {Running: true, Paused: true}: "paused",
		{Status: "exited"}: "stopped", {Restarting: true}: "running",
	} {
		if got := State(s); got != want {
			t.Errorf("State(%+v) = %s, want %s", s, got, want)
		}
	}
	if got := ShortID("sha256:0123456789abcdef"); got != "0123456789ab" {
		t.Errorf("ShortID = %s", got)
	}
}

func mustTime(s string) time.Time {
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return ts
}
