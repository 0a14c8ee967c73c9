package file

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/states"
)

func sha256hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestManagedLifecycle applies each case on a fresh directory: test mode
// first (nothing may change), then a real run, then a second run that must
// report no changes, then checks the file.
func TestManagedLifecycle(t *testing.T) {
	env := saltEnv(t, map[string]string{
		"conf/app.conf":   "from salt\n",
		"conf/other.conf": "other\n",
		"SHA256SUMS":      sha256hex("from salt\n") + "  app.conf\n" + sha256hex("x") + "  unrelated\n",
	})
	env.Pillar = map[string]any{"app": map[string]any{"banner": "hello\nworld"}, "list": []any{"a", "b"}}
	env.Grains = map[string]any{"os": "Debian"}
	local := filepath.Join(t.TempDir(), "local.src")
	writeFiles(t, filepath.Dir(local), map[string]string{"local.src": "local source\n"})

	tests := []struct {
		name        string
		args        map[string]any
		seed        map[string]string // relative to the work dir
		path        string            // managed file, relative
		wantChanges map[string]any    // of the first real run
		wantTest    map[string]any
		wantContent string
		wantMode    string
	}{
		{
			name: "contents string gets a trailing newline", path: "a.txt",
			args:        map[string]any{"contents": "one\ntwo"},
			wantChanges: map[string]any{"diff": "New file"}, wantTest: map[string]any{"newfile": "{dir}/a.txt"},
			wantContent: "one\ntwo\n",
		},
		{
			name: "contents list, each item a line", path: "a.txt",
			args:        map[string]any{"contents": []any{"one", 2, true}, "mode": "0604"},
			wantChanges: map[string]any{"diff": "New file", "mode": "0604"}, wantTest: map[string]any{"newfile": "{dir}/a.txt"},
			wantContent: "one\n2\nTrue\n", wantMode: "0604",
		},
		{
			// Salt creates files 0600 and reports only a chmod that changed
			// something (03-requisites and 08-names-extend in the corpus).
			name: "mode 0600 on a new file is not reported", path: "a.txt",
			args:        map[string]any{"contents": "secret", "mode": "0600"},
			wantChanges: map[string]any{"diff": "New file"}, wantTest: map[string]any{"newfile": "{dir}/a.txt"},
			wantContent: "secret\n", wantMode: "0600",
		},
		{
			name: "contents_newline False", path: "a.txt",
			args:        map[string]any{"contents": "no newline\n\n", "contents_newline": false},
			wantChanges: map[string]any{"diff": "New file"}, wantTest: map[string]any{"newfile": "{dir}/a.txt"},
			wantContent: "no newline",
		},
		{
			name: "content change shows Salt's diff", path: "a.txt", seed: map[string]string{"a.txt": "host = x\nport = 80\n"},
			args:        map[string]any{"contents": "host = x\nport = 8080\n"},
			wantChanges: map[string]any{"diff": "--- \n+++ \n@@ -1,2 +1,2 @@\n host = x\n-port = 80\n+port = 8080\n"},
			wantTest:    map[string]any{"diff": "--- \n+++ \n@@ -1,2 +1,2 @@\n host = x\n-port = 80\n+port = 8080\n"},
			wantContent: "host = x\nport = 8080\n",
		},
		{
			name: "mode only", path: "a.txt", seed: map[string]string{"a.txt": "same\n"},
			args:        map[string]any{"contents": "same", "mode": 600},
			wantChanges: map[string]any{"mode": "0600"}, wantTest: map[string]any{"mode": "0600"},
			wantContent: "same\n", wantMode: "0600",
		},
		{
			name: "show_changes False hides the diff", path: "a.txt", seed: map[string]string{"a.txt": "secret 1\n"},
			args:        map[string]any{"contents": "secret 2", "show_changes": false},
			wantChanges: map[string]any{"diff": "<show_changes=False>"}, wantTest: map[string]any{"diff": "<show_changes=False>"},
			wantContent: "secret 2\n",
		},
		{
			name: "replace False leaves content, fixes mode", path: "a.txt", seed: map[string]string{"a.txt": "mine\n"},
			args:        map[string]any{"contents": "theirs", "replace": false, "mode": "0640"},
			wantChanges: map[string]any{"mode": "0640"}, wantTest: map[string]any{"mode": "0640"},
			wantContent: "mine\n", wantMode: "0640",
		},
		{
			name: "makedirs derives the directory mode", path: "x/y/a.txt",
			args:        map[string]any{"contents": "deep", "makedirs": true, "mode": "0640"},
			wantChanges: map[string]any{"diff": "New file", "mode": "0640"}, wantTest: map[string]any{"newfile": "{dir}/x/y/a.txt"},
			wantContent: "deep\n", wantMode: "0640",
		},
		{
			name: "salt:// source", path: "app.conf",
			args:        map[string]any{"source": "salt://conf/app.conf"},
			wantChanges: map[string]any{"diff": "New file"}, wantTest: map[string]any{"newfile": "{dir}/app.conf"},
			wantContent: "from salt\n",
		},
		{
			name: "first existing of a source list", path: "app.conf",
			args:        map[string]any{"source": []any{"salt://conf/missing.conf", map[string]any{"salt://conf/other.conf": "sha256=" + sha256hex("other\n")}}},
			wantChanges: map[string]any{"diff": "New file"}, wantTest: map[string]any{"newfile": "{dir}/app.conf"},
			wantContent: "other\n",
		},
		{
			name: "local source with bare md5 hash", path: "copy",
			args:        map[string]any{"source": local, "source_hash": md5hex("local source\n")},
			wantChanges: map[string]any{"diff": "New file"}, wantTest: map[string]any{"newfile": "{dir}/copy"},
			wantContent: "local source\n",
		},
		{
			name: "source_hash from a hash file", path: "app.conf",
			args:        map[string]any{"source": "salt://conf/app.conf", "source_hash": "salt://SHA256SUMS"},
			wantChanges: map[string]any{"diff": "New file"}, wantTest: map[string]any{"newfile": "{dir}/app.conf"},
			wantContent: "from salt\n",
		},
		{
			name: "contents_pillar with a nested key", path: "motd",
			args:        map[string]any{"contents_pillar": "app:banner"},
			wantChanges: map[string]any{"diff": "New file"}, wantTest: map[string]any{"newfile": "{dir}/motd"},
			wantContent: "hello\nworld\n",
		},
		{
			name: "contents_grains", path: "os",
			args:        map[string]any{"contents_grains": "os"},
			wantChanges: map[string]any{"diff": "New file"}, wantTest: map[string]any{"newfile": "{dir}/os"},
			wantContent: "Debian\n",
		},
		{
			name: "no content: an empty file", path: "empty",
			args:        map[string]any{"mode": "0640"},
			wantChanges: map[string]any{"new": "file {dir}/empty created", "mode": "0640"}, wantTest: map[string]any{"newfile": "{dir}/empty"},
			wantContent: "", wantMode: "0640",
		},
		{
			name: "numeric owner as root", path: "owned",
			args:        map[string]any{"contents": "x", "user": 65534, "group": "65534"},
			wantChanges: map[string]any{"diff": "New file", "user": "65534", "group": "65534"}, wantTest: map[string]any{"newfile": "{dir}/owned"},
			wantContent: "x\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := tc.args["user"]; ok && os.Geteuid() != 0 {
				t.Skip("changing a file's owner needs root; this test runs as uid", os.Geteuid())
			}
			dir := t.TempDir()
			writeFiles(t, dir, tc.seed)
			name := filepath.Join(dir, tc.path)
			fix := func(m map[string]any) map[string]any {
				out := map[string]any{}
				for k, v := range m {
					if s, ok := v.(string); ok {
						v = strings.ReplaceAll(s, "{dir}", dir)
					}
					out[k] = v
				}
				return out
			}

			before := snapshot(t, dir)
			res := apply(t, env, "file.managed", name, tc.args, true)
			wantResult(t, res, nil)
			if d := cmp.Diff(fix(tc.wantTest), res.Changes); d != "" {
				t.Errorf("test-mode changes (-want +got):\n%s", d)
			}
			if d := cmp.Diff(before, snapshot(t, dir)); d != "" {
				t.Fatalf("test mode touched the directory:\n%s", d)
			}

			res = apply(t, env, "file.managed", name, tc.args, false)
			wantResult(t, res, yes)
			if d := cmp.Diff(fix(tc.wantChanges), res.Changes); d != "" {
				t.Errorf("changes (-want +got):\n%s", d)
			}
			if got := readFile(t, name); got != tc.wantContent {
				t.Errorf("content = %q, want %q", got, tc.wantContent)
			}
			if tc.wantMode != "" {
				if got := modeOf(t, name); got != tc.wantMode {
					t.Errorf("mode = %s, want %s", got, tc.wantMode)
				}
			}

			res = apply(t, env, "file.managed", name, tc.args, false)
			wantResult(t, res, yes)
			if len(res.Changes) != 0 {
				t.Errorf("second run changed %v (%s)", res.Changes, res.Comment)
			}
			res = apply(t, env, "file.managed", name, tc.args, true)
			wantResult(t, res, yes)
		})
	}
}

func TestManagedMakedirsModes(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "a", "b", "f")
	res := apply(t, nil, "file.managed", name, map[string]any{"contents": "x", "makedirs": true, "mode": "0640"}, false)
	wantResult(t, res, yes)
	for _, d := range []string{"a", "a/b"} {
		if got := modeOf(t, filepath.Join(dir, d)); got != "0750" {
			t.Errorf("%s: mode %s, want 0750 (file mode 0640 plus search bits)", d, got)
		}
	}
	name = filepath.Join(dir, "c", "f")
	res = apply(t, nil, "file.managed", name, map[string]any{"contents": "x", "makedirs": true, "mode": "0640", "dir_mode": "0700"}, false)
	wantResult(t, res, yes)
	if got := modeOf(t, filepath.Join(dir, "c")); got != "0700" {
		t.Errorf("dir_mode: got %s, want 0700", got)
	}
}

func TestManagedFailures(t *testing.T) {
	env := saltEnv(t, map[string]string{"f.txt": "content\n"})
	dir := t.TempDir()
	tests := []struct {
		name    string
		path    string
		args    map[string]any
		comment string // substring
		exact   bool   // comment must be exactly that
	}{
		{"relative path", "rel/path", map[string]any{"contents": "x"}, "Specified file rel/path is not an absolute path", false},
		{"missing salt source", "@/a", map[string]any{"source": "salt://no/such/file.txt"}, "Source file salt://no/such/file.txt not found in saltenv 'base'", true},
		{"missing local source", "@/a", map[string]any{"source": "/nonexistent/brine/source"}, "Source file /nonexistent/brine/source not found", true},
		{"none of a list", "@/a", map[string]any{"source": []any{"salt://a", "salt://b"}}, "None of the specified sources were found (salt://a, salt://b)", true},
		{"hash mismatch names both", "@/a", map[string]any{"source": "salt://f.txt", "source_hash": "sha256=" + sha256hex("other")},
			"Specified sha256 checksum for salt://f.txt (" + sha256hex("other") + ") does not match actual checksum (" + sha256hex("content\n") + ")", true},
		{"bad hash spec", "@/a", map[string]any{"source": "salt://f.txt", "source_hash": "sha256=xyz"}, "is not a sha256 digest", false},
		{"missing parent", "@/no/parent/a", map[string]any{"contents": "x"}, "Parent directory not present", false},
		{"target is a directory", "@", map[string]any{"contents": "x"}, "is a directory", false},
		{"source and contents", "@/a", map[string]any{"source": "salt://f.txt", "contents": "x"}, "'source' cannot be used in combination", false},
		{"two contents", "@/a", map[string]any{"contents": "x", "contents_pillar": "k"}, "Only one of", false},
		{"missing pillar", "@/a", map[string]any{"contents_pillar": "no:such:key"}, "Pillar no:such:key does not exist", false},
		{"unknown template", "@/a", map[string]any{"contents": "x", "template": "mako"}, "Specified template format mako is not supported", false},
		{"unknown user", "@/a", map[string]any{"contents": "x", "user": "no-such-user-brine"}, "User no-such-user-brine is not available", false},
		{"unsupported scheme", "@/a", map[string]any{"source": "https://example.com/x"}, "only salt://, file:// and absolute local paths", false},
		{"check_cmd refuses", "@/a", map[string]any{"contents": "x", "check_cmd": "false"}, "check_cmd execution failed", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.ReplaceAll(tc.path, "@", dir)
			before := snapshot(t, dir)
			for _, test := range []bool{true, false} {
				res := apply(t, env, "file.managed", name, tc.args, test)
				if (tc.name == "missing parent" || tc.name == "unknown user") && test {
					// Salt reports it would create the file; the user may be
					// created by an earlier state of the same run.
					wantResult(t, res, nil)
					continue
				}
				if tc.name == "check_cmd refuses" && test {
					continue // check_cmd only runs when the file is written
				}
				wantResult(t, res, no)
				if tc.exact && res.Comment != tc.comment {
					t.Errorf("test=%v: comment %q, want %q", test, res.Comment, tc.comment)
				}
				if !contains(res.Comment, tc.comment) {
					t.Errorf("test=%v: comment %q does not contain %q", test, res.Comment, tc.comment)
				}
			}
			if d := cmp.Diff(before, snapshot(t, dir)); d != "" {
				t.Errorf("a failed state changed the directory:\n%s", d)
			}
		})
	}
}

func TestManagedValidate(t *testing.T) {
	f, _ := states.Lookup("file.managed")
	tests := []struct {
		name string
		args map[string]any
		msg  string
	}{
		{"mode not octal", map[string]any{"mode": "abc"}, "argument 'mode'"},
		{"mode too big", map[string]any{"mode": "77777"}, "argument 'mode'"},
		{"unknown argument", map[string]any{"contnets": "x"}, "unknown argument 'contnets'"},
		{"makedirs not a bool", map[string]any{"makedirs": "perhaps"}, "argument 'makedirs'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := f.Validate(tc.args)
			if err == nil || !contains(err.Error(), tc.msg) {
				t.Errorf("Validate(%v) = %v, want an error mentioning %q", tc.args, err, tc.msg)
			}
		})
	}
}

func TestManagedKeepsModeAndFollowsSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.conf")
	writeFiles(t, dir, map[string]string{"real.conf": "old\n"})
	if err := os.Chmod(real, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.conf")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	res := apply(t, nil, "file.managed", link, map[string]any{"contents": "new"}, false)
	wantResult(t, res, yes)
	if got := readFile(t, real); got != "new\n" {
		t.Errorf("target content %q, want the new content written through the link", got)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v %v", fi, err)
	}
	if got := modeOf(t, real); got != "0600" {
		t.Errorf("mode %s, want the existing 0600 kept", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestManagedCheckCmdLeavesOldFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "app.conf")
	writeFiles(t, dir, map[string]string{"app.conf": "good\n"})
	res := apply(t, nil, "file.managed", name, map[string]any{"contents": "bad", "check_cmd": "grep -q good"}, false)
	wantResult(t, res, no)
	if got := readFile(t, name); got != "good\n" {
		t.Errorf("content %q: a failed check_cmd must leave the file", got)
	}
	res = apply(t, nil, "file.managed", name, map[string]any{"contents": "still good", "check_cmd": "grep -q good"}, false)
	wantResult(t, res, yes)
	if got := readFile(t, name); got != "still good\n" {
		t.Errorf("content %q after a passing check_cmd", got)
	}
}

func TestManagedTemplate(t *testing.T) {
	env := saltEnv(t, map[string]string{"t.j2": "port={{ port }} workers={{ workers }} id={{ grains['id'] }}\n"})
	name := filepath.Join(t.TempDir(), "out")
	args := map[string]any{"source": "salt://t.j2", "template": "jinja",
		"defaults": map[string]any{"port": 1, "workers": 4}, "context": map[string]any{"port": 8080}}
	res := apply(t, env, "file.managed", name, args, false)
	wantResult(t, res, yes)
	if got, want := readFile(t, name), "port=8080 workers=4 id=test-minion\n"; got != want {
		t.Errorf("rendered %q, want %q (context overrides defaults)", got, want)
	}
	res = apply(t, env, "file.managed", name, map[string]any{"contents": "os={{ grains['id'] }}", "template": "jinja"}, false)
	wantResult(t, res, yes)
	if got := readFile(t, name); got != "os=test-minion\n" {
		t.Errorf("contents rendered as %q", got)
	}
	bad := saltEnv(t, map[string]string{"bad.j2": "{% if %}\n"})
	res = apply(t, bad, "file.managed", name, map[string]any{"source": "salt://bad.j2", "template": "jinja"}, false)
	wantResult(t, res, no)
	if !contains(res.Comment, "bad.j2") {
		t.Errorf("render error %q does not name the template", res.Comment)
	}
}
