package file

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// editCase is a state run on one file seeded with seed (nil: no file):
// the first run must change it to want (with the given changes), test mode
// must touch nothing, a second run must change nothing.
type editCase struct {
	name    string
	seed    *string
	args    map[string]any
	want    string
	changes map[string]any
	comment string
	// again is true for states Salt reports as changed on every run.
	again bool
}

func str(s string) *string { return &s }

func runEditCases(t *testing.T, fun string, cases []editCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			name := filepath.Join(dir, "f")
			if tc.seed != nil {
				writeFiles(t, dir, map[string]string{"f": *tc.seed})
			}
			before := snapshot(t, dir)
			res := apply(t, nil, fun, name, tc.args, true)
			wantResult(t, res, nil)
			if d := cmp.Diff(before, snapshot(t, dir)); d != "" {
				t.Fatalf("test mode touched the directory:\n%s", d)
			}
			res = apply(t, nil, fun, name, tc.args, false)
			wantResult(t, res, yes)
			if tc.changes != nil {
				if d := cmp.Diff(tc.changes, res.Changes); d != "" {
					t.Errorf("changes (-want +got):\n%s", d)
				}
			}
			if tc.comment != "" && res.Comment != tc.comment {
				t.Errorf("comment %q, want %q", res.Comment, tc.comment)
			}
			if got := readFile(t, name); got != tc.want {
				t.Errorf("content %q, want %q", got, tc.want)
			}
			res = apply(t, nil, fun, name, tc.args, false)
			wantResult(t, res, yes)
			if !tc.again && len(res.Changes) != 0 {
				t.Errorf("second run changed %v (%s)", res.Changes, res.Comment)
			}
			if got := readFile(t, name); got != tc.want {
				t.Errorf("after the second run: content %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAppend(t *testing.T) {
	runEditCases(t, "file.append", []editCase{
		{
			name: "lines not yet there", seed: str("line one\n"),
			args:    map[string]any{"text": []any{"line two", "line three"}},
			want:    "line one\nline two\nline three\n",
			changes: map[string]any{"diff": "--- \n\n+++ \n\n@@ -1 +1,3 @@\n\n line one\n+line two\n+line three"},
			comment: "Appended 2 lines",
		},
		{
			name: "present with other spacing, missing newline at end", seed: str("a   =  1\nb = 2"),
			args: map[string]any{"text": []any{"a = 1", "c = 3"}},
			want: "a   =  1\nb = 2\nc = 3\n", comment: "Appended 1 lines",
		},
		{
			name: "multi-line chunk", seed: str(""),
			args: map[string]any{"text": "x\ny"},
			want: "x\ny\n",
		},
	})
	t.Run("missing file is created", func(t *testing.T) {
		name := filepath.Join(t.TempDir(), "new")
		res := apply(t, nil, "file.append", name, map[string]any{"text": "hello"}, true)
		wantResult(t, res, nil)
		if exists(name) || res.Changes["new"] != name {
			t.Errorf("test mode: %v, exists=%v", res.Changes, exists(name))
		}
		res = apply(t, nil, "file.append", name, map[string]any{"text": "hello"}, false)
		wantResult(t, res, yes)
		if got := readFile(t, name); got != "hello\n" {
			t.Errorf("content %q", got)
		}
	})
	t.Run("no text", func(t *testing.T) {
		res := apply(t, nil, "file.append", filepath.Join(t.TempDir(), "f"), map[string]any{"text": []any{}}, false)
		wantResult(t, res, no)
	})
}

func TestReplace(t *testing.T) {
	runEditCases(t, "file.replace", []editCase{
		{
			name: "Salt's reference case", seed: str("host = localhost\nport = 80\ndebug = false\n"),
			args:    map[string]any{"pattern": "^port = .*$", "repl": "port = 8080"},
			want:    "host = localhost\nport = 8080\ndebug = false\n",
			changes: map[string]any{"diff": "--- \n+++ \n@@ -1,3 +1,3 @@\n host = localhost\n-port = 80\n+port = 8080\n debug = false\n"},
			comment: "Changes were made",
		},
		{
			name: "groups and count", seed: str("a=1\nb=2\n"),
			args: map[string]any{"pattern": `^(\w+) *= *(\d+)$`, "repl": `\1 = \g<2>`, "count": 1},
			want: "a = 1\nb=2\n",
		},
		{
			name: "flags by name", seed: str("Port 22\n"),
			args: map[string]any{"pattern": "^port .*$", "repl": "Port 2222", "flags": []any{"IGNORECASE", "MULTILINE"}},
			want: "Port 2222\n",
		},
		{
			name: "append_if_not_found", seed: str("a\nb"),
			args: map[string]any{"pattern": "^c=.*$", "repl": "c=1", "append_if_not_found": true},
			want: "a\nb\nc=1\n",
		},
		{
			name: "prepend not_found_content", seed: str("a\n"),
			args: map[string]any{"pattern": "^#!.*$", "repl": "#!/bin/sh", "prepend_if_not_found": true, "not_found_content": "#!/bin/sh"},
			want: "#!/bin/sh\na\n",
		},
		{
			name: "backslash_literal", seed: str("path=x\n"),
			args: map[string]any{"pattern": "x", "repl": `C:\1`, "backslash_literal": true, "backup": false},
			want: "path=C:\\1\n",
		},
	})
	t.Run("backup keeps the original", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"f": "v=1\n"})
		res := apply(t, nil, "file.replace", dir+"/f", map[string]any{"pattern": "1", "repl": "2"}, false)
		wantResult(t, res, yes)
		if got := readFile(t, dir+"/f.bak"); got != "v=1\n" {
			t.Errorf("f.bak = %q", got)
		}
	})
	t.Run("failures", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"f": "x\n"})
		for _, tc := range []struct {
			name, path string
			args       map[string]any
			result     *bool
			comment    string
		}{
			{"missing file", dir + "/nope", map[string]any{"pattern": "a", "repl": "b"}, no, dir + "/nope: file not found"},
			{"ignore_if_missing", dir + "/nope", map[string]any{"pattern": "a", "repl": "b", "ignore_if_missing": true}, yes, "No changes needed to be made"},
			{"bad pattern", dir + "/f", map[string]any{"pattern": "(", "repl": "b"}, no, "Invalid pattern"},
			{"verbose flag", dir + "/f", map[string]any{"pattern": "x", "repl": "b", "flags": 64}, no, "VERBOSE"},
			{"bad group", dir + "/f", map[string]any{"pattern": "x", "repl": `\3`}, no, "invalid group reference"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := apply(t, nil, "file.replace", tc.path, tc.args, false)
				wantResult(t, res, tc.result)
				if !contains(res.Comment, tc.comment) {
					t.Errorf("comment %q does not contain %q", res.Comment, tc.comment)
				}
				if got := readFile(t, dir+"/f"); got != "x\n" {
					t.Errorf("file changed to %q", got)
				}
			})
		}
	})
}

func TestLine(t *testing.T) {
	runEditCases(t, "file.line", []editCase{
		{
			name: "ensure after", seed: str("alpha\nbeta\ndelta\n"),
			args:    map[string]any{"content": "gamma", "mode": "ensure", "after": "beta"},
			want:    "alpha\nbeta\ngamma\ndelta\n",
			changes: map[string]any{"diff": "--- \n+++ \n@@ -1,3 +1,4 @@\n alpha\n beta\n+gamma\n delta\n"},
			comment: "Changes were made",
		},
		{
			name: "ensure before keeps indentation", seed: str("[a]\n    x = 1\n[b]\n"),
			args: map[string]any{"content": "y = 2", "mode": "ensure", "before": `^\[b\]`},
			want: "[a]\n    x = 1\ny = 2\n[b]\n",
		},
		{
			name: "ensure between after and before", seed: str("start\nend\n"),
			args: map[string]any{"content": "  middle", "mode": "ensure", "after": "start", "before": "end"},
			want: "start\nmiddle\nend\n",
		},
		{
			name: "delete", seed: str("alpha\nbeta\nalpha\n"),
			args:    map[string]any{"content": "alpha", "mode": "delete"},
			want:    "beta\n",
			changes: map[string]any{"diff": "--- \n+++ \n@@ -1,3 +1 @@\n-alpha\n beta\n-alpha\n"},
		},
		{
			name: "replace keeps indentation", seed: str("a\n  port = 80\n"),
			args: map[string]any{"content": "port = 8080", "match": "port =", "mode": "replace"},
			want: "a\n  port = 8080\n",
		},
		{
			name: "insert at end without final newline", seed: str("a\nb"),
			args: map[string]any{"content": "c", "mode": "insert", "location": "end"},
			want: "a\nb\nc\n",
		},
		{
			name: "insert at start", seed: str("a\n"),
			args: map[string]any{"content": "#!/bin/sh", "mode": "insert", "location": "start"},
			want: "#!/bin/sh\na\n",
		},
		{
			name: "create a missing file", seed: nil,
			args: map[string]any{"content": "only", "mode": "insert", "location": "start", "create": true, "file_mode": "0600"},
			want: "only\n",
		},
	})
	t.Run("failures", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"f": "a\na\n"})
		for _, tc := range []struct {
			name    string
			args    map[string]any
			comment string
		}{
			{"no mode", map[string]any{"content": "x"}, "Mode was not defined"},
			{"bad mode", map[string]any{"content": "x", "mode": "upsert"}, `Mode "upsert" is not supported`},
			{"no content", map[string]any{"mode": "ensure"}, "Content can only be empty if mode is delete"},
			{"nowhere to ensure", map[string]any{"content": "x", "mode": "ensure"}, "Unable to ensure line without knowing where to put it"},
			{"ambiguous anchor", map[string]any{"content": "x", "mode": "ensure", "after": "a"}, `found more than expected occurrences in "after"`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := apply(t, nil, "file.line", dir+"/f", tc.args, false)
				wantResult(t, res, no)
				if !strings.Contains(strings.ToLower(res.Comment), strings.ToLower(tc.comment)) {
					t.Errorf("comment %q does not contain %q", res.Comment, tc.comment)
				}
			})
		}
		res := apply(t, nil, "file.line", dir+"/missing", map[string]any{"content": "x", "mode": "ensure", "after": "a"}, false)
		wantResult(t, res, no)
		if res.Comment != dir+"/missing: file not found" {
			t.Errorf("comment %q", res.Comment)
		}
	})
}

func TestCopy(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"src": "data\n", "other": "other\n"})
	runEditCases(t, "file.copy", []editCase{
		{
			name: "new copy", seed: nil,
			args: map[string]any{"source": dir + "/src", "mode": "0600"},
			want: "data\n",
		},
		{
			name: "force replaces different content", seed: str("old\n"),
			args: map[string]any{"source": dir + "/src", "force": true},
			want: "data\n",
		},
	})
	t.Run("existing file without force is left", func(t *testing.T) {
		res := apply(t, nil, "file.copy", dir+"/other", map[string]any{"source": dir + "/src"}, false)
		wantResult(t, res, yes)
		if readFile(t, dir+"/other") != "other\n" || len(res.Changes) != 0 {
			t.Errorf("overwritten without force: %v", res.Changes)
		}
	})
	t.Run("missing source", func(t *testing.T) {
		res := apply(t, nil, "file.copy", dir+"/x", map[string]any{"source": dir + "/nope"}, false)
		wantResult(t, res, no)
	})
}

func TestAbsentExistsMissing(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"f": "x", "d/inner": "y"})
	if err := os.Symlink(dir+"/nowhere", dir+"/dangling"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, what string
	}{
		{"file", dir + "/f", "file"},
		{"directory with content", dir + "/d", "directory"},
		{"dangling symlink", dir + "/dangling", "file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := apply(t, nil, "file.exists", tc.path, nil, false)
			wantResult(t, res, yes)
			res = apply(t, nil, "file.missing", tc.path, nil, false)
			wantResult(t, res, no)

			res = apply(t, nil, "file.absent", tc.path, nil, true)
			wantResult(t, res, nil)
			if !exists(tc.path) {
				t.Fatal("test mode removed it")
			}
			res = apply(t, nil, "file.absent", tc.path, nil, false)
			wantResult(t, res, yes)
			if d := cmp.Diff(map[string]any{"removed": tc.path}, res.Changes); d != "" || exists(tc.path) {
				t.Errorf("changes %v, still exists: %v", res.Changes, exists(tc.path))
			}
			if !strings.HasPrefix(res.Comment, "Removed "+tc.what) {
				t.Errorf("comment %q", res.Comment)
			}
			res = apply(t, nil, "file.absent", tc.path, nil, false)
			wantResult(t, res, yes)
			if res.Comment != "File "+tc.path+" is not present" || len(res.Changes) != 0 {
				t.Errorf("second run: %q %v", res.Comment, res.Changes)
			}
			wantResult(t, apply(t, nil, "file.exists", tc.path, nil, false), no)
			wantResult(t, apply(t, nil, "file.missing", tc.path, nil, false), yes)
		})
	}
	t.Run("refuses /", func(t *testing.T) {
		wantResult(t, apply(t, nil, "file.absent", "/", nil, false), no)
	})
}

func TestSymlink(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"target": "x", "other": "y", "blocker": "z"})
	name := dir + "/link"

	res := apply(t, nil, "file.symlink", name, map[string]any{"target": dir + "/target"}, true)
	wantResult(t, res, nil)
	if exists(name) || res.Comment != "Symlink "+name+" to "+dir+"/target is set for creation" {
		t.Errorf("test mode: %q exists=%v", res.Comment, exists(name))
	}
	res = apply(t, nil, "file.symlink", name, map[string]any{"target": dir + "/target"}, false)
	wantResult(t, res, yes)
	if d := cmp.Diff(map[string]any{"new": name}, res.Changes); d != "" {
		t.Errorf("changes: %s", d)
	}
	if got, _ := os.Readlink(name); got != dir+"/target" {
		t.Errorf("link -> %q", got)
	}
	res = apply(t, nil, "file.symlink", name, map[string]any{"target": dir + "/target"}, false)
	wantResult(t, res, yes)
	if len(res.Changes) != 0 || !strings.HasPrefix(res.Comment, "Symlink "+name+" is present and owned by ") {
		t.Errorf("second run: %q %v", res.Comment, res.Changes)
	}

	// Retarget, atomically.
	res = apply(t, nil, "file.symlink", name, map[string]any{"target": "other"}, false)
	wantResult(t, res, yes)
	if got, _ := os.Readlink(name); got != "other" {
		t.Errorf("link -> %q after retargeting", got)
	}

	t.Run("a file in the way", func(t *testing.T) {
		res := apply(t, nil, "file.symlink", dir+"/blocker", map[string]any{"target": "target"}, false)
		wantResult(t, res, no)
		if readFile(t, dir+"/blocker") != "z" {
			t.Error("the file was replaced without force")
		}
		res = apply(t, nil, "file.symlink", dir+"/blocker", map[string]any{"target": "target", "force": true}, false)
		wantResult(t, res, yes)
		if got, _ := os.Readlink(dir + "/blocker"); got != "target" {
			t.Errorf("force: link -> %q", got)
		}
	})
	t.Run("missing parent", func(t *testing.T) {
		res := apply(t, nil, "file.symlink", dir+"/a/b/l", map[string]any{"target": "t"}, false)
		wantResult(t, res, no)
		res = apply(t, nil, "file.symlink", dir+"/a/b/l", map[string]any{"target": "t", "makedirs": true}, false)
		wantResult(t, res, yes)
	})
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".brine-") {
			t.Errorf("temporary %s left", e.Name())
		}
	}
}

func TestTouch(t *testing.T) {
	dir := t.TempDir()
	name := dir + "/t"
	res := apply(t, nil, "file.touch", name, nil, true)
	wantResult(t, res, nil)
	if exists(name) {
		t.Fatal("test mode created the file")
	}
	res = apply(t, nil, "file.touch", name, nil, false)
	wantResult(t, res, yes)
	if d := cmp.Diff(map[string]any{"new": name}, res.Changes); d != "" || res.Comment != "Created empty file "+name {
		t.Errorf("first run: %q %v", res.Comment, res.Changes)
	}
	res = apply(t, nil, "file.touch", name, map[string]any{"mtime": 1000000000, "atime": 1000000000}, false)
	wantResult(t, res, yes)
	if d := cmp.Diff(map[string]any{"touched": name}, res.Changes); d != "" {
		t.Errorf("second run: %v", res.Changes)
	}
	fi, _ := os.Stat(name)
	if fi.ModTime().Unix() != 1000000000 {
		t.Errorf("mtime %v", fi.ModTime())
	}
	res = apply(t, nil, "file.touch", name, map[string]any{"mtime": 1000000000, "atime": 1000000000}, true)
	wantResult(t, res, yes)
	res = apply(t, nil, "file.touch", dir+"/no/parent", nil, false)
	wantResult(t, res, no)
}

func TestEditsWriteThroughSymlinks(t *testing.T) {
	for _, tc := range []struct {
		fun  string
		args map[string]any
		want string
	}{
		{"file.replace", map[string]any{"pattern": "old", "repl": "new", "backup": false}, "new\n"},
		{"file.append", map[string]any{"text": "more"}, "old\nmore\n"},
		{"file.line", map[string]any{"content": "first", "mode": "insert", "location": "start"}, "first\nold\n"},
		{"file.managed", map[string]any{"contents": "managed"}, "managed\n"},
	} {
		t.Run(tc.fun, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"real": "old\n"})
			link := filepath.Join(dir, "link")
			if err := os.Symlink("real", link); err != nil {
				t.Fatal(err)
			}
			res := apply(t, nil, tc.fun, link, tc.args, false)
			wantResult(t, res, yes)
			if got := readFile(t, filepath.Join(dir, "real")); got != tc.want {
				t.Errorf("target content %q, want %q", got, tc.want)
			}
			if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("%s replaced the symlink with a file", tc.fun)
			}
		})
	}
}
