package file

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/modules"
)

func call(t *testing.T, name string, args []any, kwargs map[string]any) (any, error) {
	t.Helper()
	return modules.Call(context.Background(), nil, name, args, kwargs)
}

func mustCall(t *testing.T, name string, args ...any) any {
	t.Helper()
	out, err := call(t, name, args, nil)
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return out
}

func TestWriteReadAppend(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "motd")
	if got := mustCall(t, "file.write", p, "first", 2); got != `Wrote 2 lines to "`+p+`"` {
		t.Errorf("write: %v", got)
	}
	if got := mustCall(t, "file.read", p); got != "first\n2\n" {
		t.Errorf("read: %q", got)
	}
	if err := os.WriteFile(p, []byte("no end"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := call(t, "file.append", []any{p}, map[string]any{"args": []any{"x", "y"}})
	if err != nil || out != `Wrote 2 lines to "`+p+`"` {
		t.Fatalf("append: %v %v", out, err)
	}
	if got := mustCall(t, "file.read", p); got != "no end\nx\ny\n" {
		t.Errorf("after append: %q", got)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("write changed the mode to %v", fi.Mode().Perm())
	}
	if got := mustCall(t, "file.contains", p, "end\nx"); got != true {
		t.Errorf("contains: %v", got)
	}
}

func TestPredicates(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	os.WriteFile(f, []byte("abc"), 0o644)
	os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "dangling"))
	tests := []struct {
		fun, path string
		want      bool
	}{
		{"file.exists", f, true},
		{"file.exists", dir, true},
		{"file.exists", dir + "/nope", false},
		{"file.exists", dir + "/dangling", false},
		{"file.file_exists", f, true},
		{"file.file_exists", dir, false},
		{"file.directory_exists", dir, true},
		{"file.directory_exists", f, false},
	}
	for _, tc := range tests {
		t.Run(tc.fun+" "+filepath.Base(tc.path), func(t *testing.T) {
			if got := mustCall(t, tc.fun, tc.path); got != tc.want {
				t.Errorf("%s(%s) = %v, want %v", tc.fun, tc.path, got, tc.want)
			}
		})
	}
}

func TestHashStatsMode(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	os.WriteFile(f, []byte("abc"), 0o640)
	os.Chmod(f, 0o640)
	if got := mustCall(t, "file.get_hash", f); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("sha256: %v", got)
	}
	out, err := call(t, "file.get_hash", []any{f}, map[string]any{"form": "md5"})
	if err != nil || out != "900150983cd24fb0d6963f7d28e17f72" {
		t.Errorf("md5: %v %v", out, err)
	}
	if _, err := call(t, "file.get_hash", []any{f, "crc"}, nil); err == nil {
		t.Error("unknown form accepted")
	}
	if got := mustCall(t, "file.get_mode", f); got != "0640" {
		t.Errorf("get_mode: %v", got)
	}
	link := filepath.Join(dir, "l")
	os.Symlink(f, link)
	st := mustCall(t, "file.stats", link).(map[string]any)
	for k, want := range map[string]any{"mode": "0640", "type": "file", "size": int64(3), "target": f} {
		if d := cmp.Diff(want, st[k]); d != "" {
			t.Errorf("stats[%s]: %s", k, d)
		}
	}
	for _, k := range []string{"inode", "uid", "gid", "user", "group", "atime", "mtime", "ctime"} {
		if _, ok := st[k]; !ok {
			t.Errorf("stats has no %s", k)
		}
	}
	out, err = call(t, "file.stats", []any{link}, map[string]any{"follow_symlinks": false, "hash_type": "sha1"})
	if err != nil {
		t.Fatal(err)
	}
	if st := out.(map[string]any); st["type"] != "link" {
		t.Errorf("stats without following: type %v", st["type"])
	}
	st = mustCall(t, "file.stats", f, "sha1").(map[string]any)
	if st["sum"] != "a9993e364706816aba3e25717850c26c9cd0d89d" {
		t.Errorf("sum %v", st["sum"])
	}
	if _, err := call(t, "file.stats", []any{dir + "/nope"}, nil); err == nil || !strings.Contains(err.Error(), "path not found") {
		t.Errorf("missing path: %v", err)
	}
	if got := mustCall(t, "file.readlink", link); got != f {
		t.Errorf("readlink: %v", got)
	}
}

func TestMkdirTouchRemoveChmod(t *testing.T) {
	dir := t.TempDir()
	d := filepath.Join(dir, "a", "b")
	out, err := call(t, "file.mkdir", []any{d}, map[string]any{"mode": "0700"})
	if err != nil || out != true {
		t.Fatalf("mkdir: %v %v", out, err)
	}
	for _, p := range []string{dir + "/a", d} {
		if got := mustCall(t, "file.get_mode", p); got != "0700" {
			t.Errorf("%s mode %v", p, got)
		}
	}
	f := filepath.Join(d, "t")
	if _, err := call(t, "file.touch", []any{f}, map[string]any{"mtime": 1000000000}); err != nil {
		t.Fatal(err)
	}
	if st := mustCall(t, "file.stats", f).(map[string]any); st["mtime"] != float64(1000000000) {
		t.Errorf("mtime %v", st["mtime"])
	}
	mustCall(t, "file.chmod", f, "0600")
	if got := mustCall(t, "file.get_mode", f); got != "0600" {
		t.Errorf("chmod: %v", got)
	}
	if os.Geteuid() == 0 {
		mustCall(t, "file.chown", f, 65534, 65534)
		if got := mustCall(t, "file.get_uid", f); got != 65534 {
			t.Errorf("chown: uid %v", got)
		}
	}
	if got := mustCall(t, "file.remove", dir+"/a"); got != true {
		t.Errorf("remove: %v", got)
	}
	if got := mustCall(t, "file.remove", dir+"/a"); got != false {
		t.Errorf("remove of nothing: %v", got)
	}
}

func TestBadArguments(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		fun    string
		args   []any
		kwargs map[string]any
		msg    string
	}{
		{"relative path", "file.read", []any{"etc/passwd"}, nil, "path must be absolute"},
		{"unknown kwarg", "file.exists", []any{"/tmp"}, map[string]any{"pth": 1}, "unknown argument 'pth'"},
		{"too many positionals", "file.exists", []any{"/tmp", "/x"}, nil, "at most 1 positional"},
		{"bad mode", "file.chmod", []any{dir + "/x", "rwx"}, nil, "argument 'mode'"},
		{"remove /", "file.remove", []any{"/"}, nil, "refusing to remove /"},
		{"write twice path", "file.write", []any{dir + "/x"}, map[string]any{"path": dir + "/y"}, "twice"},
		{"unknown user", "file.mkdir", []any{dir + "/never"}, map[string]any{"user": "no-such-user-brine"}, "user is not available"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(t, tc.fun, tc.args, tc.kwargs)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%s: err %v, want one mentioning %q", tc.fun, err, tc.msg)
			}
		})
	}
}
