package fsx

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDiffMatchesDifflib compares Diff with what Python's difflib printed
// for the same texts (testdata/difflib.json, made by difflib-gen.py).
func TestDiffMatchesDifflib(t *testing.T) {
	b, err := os.ReadFile("testdata/difflib.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Cases map[string][2]string `json:"cases"`
		Want  map[string]string    `json:"want"`
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden.Cases) == 0 {
		t.Fatal("no cases in testdata/difflib.json")
	}
	for name, c := range golden.Cases {
		t.Run(name, func(t *testing.T) {
			if d := cmp.Diff(golden.Want[name], Diff(c[0], c[1])); d != "" {
				t.Errorf("diff differs from difflib (-python +brine):\n%s", d)
			}
		})
	}
}

func TestUnifiedDiffShapes(t *testing.T) {
	tests := []struct {
		name string
		a, b []string
		want []string
	}{
		{"equal", []string{"a"}, []string{"a"}, nil},
		// Salt's file.append joins these with "\n" (apply1.json's shape).
		{"lines without ends", []string{"line one"}, []string{"line one", "line two", "line three"},
			[]string{"--- \n", "+++ \n", "@@ -1 +1,3 @@\n", " line one", "+line two", "+line three"}},
		{"empty old", nil, []string{"x"}, []string{"--- \n", "+++ \n", "@@ -0,0 +1 @@\n", "+x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, UnifiedDiff(tc.a, tc.b)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	if got := strings.Join(UnifiedDiff([]string{"line one"}, []string{"line one", "line two", "line three"}), "\n"); got != "--- \n\n+++ \n\n@@ -1 +1,3 @@\n\n line one\n+line two\n+line three" {
		t.Errorf("append shape %q", got)
	}
	if got := Diff("a\nno end", "a\nend"); got != "--- \n+++ \n@@ -1,2 +1,2 @@\n a\n-no end\n+end\n" {
		t.Errorf("missing final newline: %q", got)
	}
}

func TestAtomicWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	mode := fs.FileMode(0o640)
	tests := []struct {
		name     string
		opt      WriteOptions
		wantMode fs.FileMode
	}{
		{"new file, umask mode", NewWriteOptions(), 0o666 &^ umask(t)},
		{"explicit mode", WriteOptions{Mode: &mode, UID: -1, GID: -1}, 0o640},
		{"existing mode kept", NewWriteOptions(), 0o640},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(fmt.Sprintf("version %d\n", i))
			if err := AtomicWrite(p, data, tc.opt); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(p)
			if string(got) != string(data) {
				t.Errorf("content %q", got)
			}
			fi, _ := os.Stat(p)
			if fi.Mode().Perm() != tc.wantMode {
				t.Errorf("mode %v, want %v", fi.Mode().Perm(), tc.wantMode)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("temporary files left: %v", entries)
			}
		})
	}
	t.Run("refuses to replace a directory", func(t *testing.T) {
		if err := AtomicWrite(dir, []byte("x"), NewWriteOptions()); err == nil {
			t.Error("wrote over a directory")
		}
	})
	t.Run("owner", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("setting an owner needs root; running as uid", os.Geteuid())
		}
		q := filepath.Join(t.TempDir(), "owned")
		if err := AtomicWrite(q, []byte("x"), WriteOptions{UID: 65534, GID: 65534}); err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(q)
		if uid, gid := Owner(fi); uid != 65534 || gid != 65534 {
			t.Errorf("owner %d:%d", uid, gid)
		}
		// Rewriting without an owner keeps the file's owner.
		if err := AtomicWrite(q, []byte("y"), NewWriteOptions()); err != nil {
			t.Fatal(err)
		}
		fi, _ = os.Stat(q)
		if uid, gid := Owner(fi); uid != 65534 || gid != 65534 {
			t.Errorf("owner after rewrite %d:%d, want it kept", uid, gid)
		}
	})
}

func umask(t *testing.T) fs.FileMode {
	t.Helper()
	p := filepath.Join(t.TempDir(), "probe")
	if err := os.WriteFile(p, nil, 0o777); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	return 0o777 &^ fi.Mode().Perm()
}

func TestMakeDirs(t *testing.T) {
	dir := t.TempDir()
	perm := fs.FileMode(0o750)
	created, err := MakeDirs(filepath.Join(dir, "a/b/c"), &perm, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{dir + "/a", dir + "/a/b", dir + "/a/b/c"}
	if d := cmp.Diff(want, created); d != "" {
		t.Errorf("created (-want +got):\n%s", d)
	}
	for _, d := range want {
		fi, _ := os.Stat(d)
		if fi.Mode().Perm() != 0o750 {
			t.Errorf("%s: %v", d, fi.Mode().Perm())
		}
	}
	if created, err := MakeDirs(filepath.Join(dir, "a/b/c"), &perm, -1, -1); err != nil || len(created) != 0 {
		t.Errorf("second call: %v %v", created, err)
	}
	os.WriteFile(filepath.Join(dir, "file"), nil, 0o644)
	if _, err := MakeDirs(filepath.Join(dir, "file/sub"), nil, -1, -1); err == nil {
		t.Error("made a directory below a file")
	}
}

func TestModes(t *testing.T) {
	for _, tc := range []struct {
		in   fs.FileMode
		dir  string
		octl string
	}{
		{0o640, "0750", "0640"},
		{0o644, "0755", "0644"},
		{0o600, "0700", "0600"},
		{0o604, "0705", "0604"},
		{0o755 | fs.ModeSetuid, "0755", "4755"},
	} {
		if got := OctalMode(DirModeFor(tc.in)); got != tc.dir {
			t.Errorf("DirModeFor(%v) = %s, want %s", tc.in, got, tc.dir)
		}
		if got := OctalMode(tc.in); got != tc.octl {
			t.Errorf("OctalMode(%v) = %s, want %s", tc.in, got, tc.octl)
		}
	}
}

func TestHashes(t *testing.T) {
	tests := []struct{ form, want string }{
		{"md5", "900150983cd24fb0d6963f7d28e17f72"},
		{"sha1", "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{"sha256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"SHA512", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
	}
	p := filepath.Join(t.TempDir(), "abc")
	os.WriteFile(p, []byte("abc"), 0o644)
	for _, tc := range tests {
		got, err := HashBytes(tc.form, []byte("abc"))
		if err != nil || got != tc.want {
			t.Errorf("HashBytes(%s) = %s, %v", tc.form, got, err)
		}
		if got, err := HashFile(tc.form, p); err != nil || got != tc.want {
			t.Errorf("HashFile(%s) = %s, %v", tc.form, got, err)
		}
		if f := FormForHex(tc.want); f != strings.ToLower(tc.form) {
			t.Errorf("FormForHex(%s digest) = %q", tc.form, f)
		}
	}
	if _, err := HashBytes("crc32", nil); err == nil {
		t.Error("unknown hash type accepted")
	}
	if FormForHex("xyz") != "" || FormForHex("abcd") != "" {
		t.Error("FormForHex accepted a non-digest")
	}
}

func TestOwnerLookup(t *testing.T) {
	if uid, err := LookupUID("0"); err != nil || uid != 0 {
		t.Errorf("LookupUID(0) = %d, %v", uid, err)
	}
	if uid, err := LookupUID("root"); err != nil || uid != 0 {
		t.Errorf("LookupUID(root) = %d, %v", uid, err)
	}
	if _, err := LookupUID("no-such-user-brine"); err == nil {
		t.Error("unknown user resolved")
	}
	if _, err := LookupGID("no-such-group-brine"); err == nil {
		t.Error("unknown group resolved")
	}
	if UserName(0) != "root" || GroupName(0) != "root" {
		t.Errorf("names of 0: %s %s", UserName(0), GroupName(0))
	}
	if UserName(987654) != "987654" {
		t.Errorf("unnamed uid: %s", UserName(987654))
	}
}
