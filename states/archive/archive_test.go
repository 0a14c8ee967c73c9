package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/fileserver"
	"github.com/brine-cm/brine/states"
	"github.com/google/go-cmp/cmp"
)

// tarGz builds a gzip-compressed tar of regular files and directories
// (names ending in "/").
func tarGz(t *testing.T, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, n := range names {
		h := &tar.Header{Name: n, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(n))}
		if strings.HasSuffix(n, "/") {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type fixture struct {
	root string // file root (salt://)
	env  *api.Env
}

func newFixture(t *testing.T) *fixture {
	root := t.TempDir()
	return &fixture{root: root, env: &api.Env{
		Saltenv: "base",
		Grains:  map[string]any{"os": "Debian", "os_family": "Debian"},
		Files:   fileserver.Roots{Envs: map[string][]string{"base": {root}}},
	}}
}

func (f *fixture) put(t *testing.T, rel string, data []byte) string {
	t.Helper()
	p := filepath.Join(f.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// apply runs archive.extracted the way the engine does and returns the
// result as JSON values.
func (f *fixture) apply(t *testing.T, name string, args map[string]any, test bool) map[string]any {
	t.Helper()
	fn, ok := states.Lookup("archive.extracted")
	if !ok {
		t.Fatal("archive.extracted is not registered")
	}
	if err := fn.Validate(args); err != nil {
		t.Fatalf("arguments rejected: %v", err)
	}
	r := fn.Apply(context.Background(), &states.Request{ID: name, Name: name, Args: args, Test: test, Env: f.env})
	b, _ := json.Marshal(map[string]any{"result": r.Result, "comment": r.Comment, "changes": r.Changes})
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestExtracted(t *testing.T) {
	f := newFixture(t)
	data := tarGz(t, "app/", "app/bin/", "app/bin/run", "app/README")
	f.put(t, "app.tar.gz", data)
	dest := filepath.Join(t.TempDir(), "opt")
	args := map[string]any{"source": "salt://app.tar.gz", "source_hash": "sha256=" + sha(data)}
	files := []any{"app", "app/bin", "app/bin/run", "app/README"}

	got := f.apply(t, dest, args, true)
	want := map[string]any{"result": nil, "comment": "Archive salt://app.tar.gz would be extracted to " + dest,
		"changes": map[string]any{"extracted_files": files, "directories_created": []any{dest}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("test mode (-want +got):\n%s", d)
	}
	if _, err := os.Stat(dest); err == nil {
		t.Fatal("test mode created the destination")
	}

	got = f.apply(t, dest, args, false)
	want = map[string]any{"result": true, "comment": "salt://app.tar.gz extracted to " + dest,
		"changes": map[string]any{"extracted_files": files, "directories_created": []any{dest}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("extract (-want +got):\n%s", d)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "app/bin/run")); err != nil || string(b) != "app/bin/run" {
		t.Errorf("extracted file = %q, %v", b, err)
	}

	got = f.apply(t, dest, args, false)
	want = map[string]any{"result": true, "comment": "All files in archive are already present", "changes": map[string]any{}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("second run (-want +got):\n%s", d)
	}

	if err := os.Remove(filepath.Join(dest, "app/README")); err != nil {
		t.Fatal(err)
	}
	got = f.apply(t, dest, args, false)
	if got["result"] != true || got["changes"].(map[string]any)["extracted_files"] == nil {
		t.Errorf("a missing file did not trigger extraction: %v", got)
	}

	got = f.apply(t, dest, map[string]any{"source": "salt://app.tar.gz", "overwrite": true, "trim_output": 1}, false)
	if d := cmp.Diff(map[string]any{"extracted_files": []any{"app"}}, got["changes"]); d != "" {
		t.Errorf("overwrite with trim_output (-want +got):\n%s", d)
	}
}

func TestExtractedBadInput(t *testing.T) {
	f := newFixture(t)
	good := tarGz(t, "app/", "app/run")
	f.put(t, "app.tar.gz", good)
	f.put(t, "bomb.tar.gz", tarGz(t, "README", "bin/run"))
	f.put(t, "escape.tar.gz", tarGz(t, "app/", "../escape"))
	local := f.put(t, "local/app.tar.gz", good)
	hashes := f.put(t, "SHA256SUMS", []byte(sha(good)+"  app.tar.gz\n"))

	tests := []struct {
		name    string
		args    map[string]any
		ok      bool
		comment string
	}{
		{"hash mismatch", map[string]any{"source": "salt://app.tar.gz", "source_hash": "sha256=" + strings.Repeat("0", 64)}, false,
			"salt://app.tar.gz does not match the desired source_hash " + strings.Repeat("0", 64)},
		{"tarbomb", map[string]any{"source": "salt://bomb.tar.gz"}, false, "Archive does not have a single top-level directory"},
		{"tarbomb allowed", map[string]any{"source": "salt://bomb.tar.gz", "enforce_toplevel": false}, true, "salt://bomb.tar.gz extracted to"},
		{"escaping member", map[string]any{"source": "salt://escape.tar.gz"}, false, "Refusing to extract salt://escape.tar.gz"},
		{"missing source", map[string]any{"source": "salt://nope.tar.gz"}, false, "salt://nope.tar.gz"},
		{"remote without hash", map[string]any{"source": "https://example.invalid/a.tar.gz"}, false, "Unable to verify upstream hash"},
		{"local path with a hash file", map[string]any{"source": local, "source_hash": hashes}, true, local + " extracted to"},
		{"unknown user", map[string]any{"source": "salt://app.tar.gz", "user": "brine-no-such-user"}, false, "User brine-no-such-user does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "dest")
			got := f.apply(t, dest, tc.args, false)
			if got["result"] != tc.ok || !strings.HasPrefix(got["comment"].(string), tc.comment) {
				t.Errorf("result %v comment %q; want %v, %q...", got["result"], got["comment"], tc.ok, tc.comment)
			}
			if _, err := os.Stat(dest); !tc.ok && err == nil {
				t.Error("a failed state created the destination")
			}
		})
	}
}

func TestExtractedIfMissingAndWrongType(t *testing.T) {
	f := newFixture(t)
	f.put(t, "app.tar.gz", tarGz(t, "app/", "app/conf/", "app/conf/x"))
	dir := t.TempDir()
	marker := filepath.Join(dir, "installed")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "dest")
	got := f.apply(t, dest, map[string]any{"source": "salt://app.tar.gz", "if_missing": marker}, false)
	if got["result"] != true || got["comment"] != marker+" exists" {
		t.Errorf("if_missing: %v", got)
	}
	if err := os.MkdirAll(filepath.Join(dest, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dest, "app/conf"), []byte("a file"), 0o644); err != nil {
		t.Fatal(err)
	}
	got = f.apply(t, dest, map[string]any{"source": "salt://app.tar.gz"}, false)
	if got["result"] != false || !strings.Contains(got["comment"].(string), "exist, but are the incorrect type") {
		t.Errorf("wrong type: %v", got)
	}
	got = f.apply(t, dest, map[string]any{"source": "salt://app.tar.gz", "force": true}, false)
	if got["result"] != true {
		t.Errorf("force: %v", got)
	}
	if fi, err := os.Stat(filepath.Join(dest, "app/conf")); err != nil || !fi.IsDir() {
		t.Errorf("app/conf after force: %v, %v", fi, err)
	}
}

func TestExtractedRefusesOtherOS(t *testing.T) {
	f := newFixture(t)
	f.env.Grains = map[string]any{"os": "FreeBSD", "os_family": "FreeBSD"}
	got := f.apply(t, filepath.Join(t.TempDir(), "d"), map[string]any{"source": "salt://x.tar.gz"}, false)
	if got["result"] != false || !strings.Contains(got["comment"].(string), "not supported on FreeBSD") {
		t.Errorf("FreeBSD: %v", got)
	}
}
