package file

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDirectory(t *testing.T) {
	tests := []struct {
		name     string
		seed     map[string]string
		path     string
		args     map[string]any
		changes  func(dir string) map[string]any // first real run
		comment  string
		wantMode string
		gone     []string
		kept     []string
	}{
		{
			name: "create with makedirs", path: "a/b/c",
			args:     map[string]any{"mode": "0750", "makedirs": true},
			changes:  func(d string) map[string]any { return map[string]any{d + "/a/b/c": map[string]any{"directory": "new"}} },
			wantMode: "0750",
		},
		{
			name: "mode fix on an existing directory", path: "x", seed: map[string]string{"x/f": ""},
			args: map[string]any{"dir_mode": "0700"},
			changes: func(d string) map[string]any {
				return map[string]any{d + "/x": map[string]any{"mode": "0700"}, "mode": "0700"}
			},
			comment: "Directory {dir}/x updated", wantMode: "0700",
		},
		{
			name: "clean spares kept paths and excluded ones", path: "c",
			seed: map[string]string{"c/keep.txt": "", "c/stray.txt": "", "c/old/inner.txt": "", "c/keepdir/deep/x": "", "c/skip.log": ""},
			args: map[string]any{"clean": true, "exclude_pat": "*.log", "__keep__": []any{"{dir}/c/keep.txt", "{dir}/c/keepdir"}},
			changes: func(d string) map[string]any {
				rm := map[string]any{"removed": "Removed due to clean"}
				return map[string]any{d + "/c/stray.txt": rm, d + "/c/old": rm, d + "/c/old/inner.txt": rm,
					"removed": []any{d + "/c/stray.txt", d + "/c/old"}}
			},
			comment: "Files cleaned from directory {dir}/c",
			gone:    []string{"c/stray.txt", "c/old"},
			kept:    []string{"c/keep.txt", "c/keepdir/deep/x", "c/skip.log"},
		},
		{
			name: "recurse mode on files and dirs", path: "r", seed: map[string]string{"r/f": "", "r/sub/g": ""},
			args: map[string]any{"dir_mode": "0755", "file_mode": "0600", "recurse": []any{"mode"}},
			changes: func(d string) map[string]any {
				return map[string]any{d + "/r/f": map[string]any{"mode": "0600"}, d + "/r/sub/g": map[string]any{"mode": "0600"}}
			},
			comment: "Directory {dir}/r updated",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.seed)
			args := map[string]any{}
			for k, v := range tc.args {
				if list, ok := v.([]any); ok && k == "__keep__" {
					var fixed []any
					for _, p := range list {
						fixed = append(fixed, replaceDir(p.(string), dir))
					}
					v = fixed
				}
				args[k] = v
			}
			name := filepath.Join(dir, tc.path)

			before := snapshot(t, dir)
			res := apply(t, nil, "file.directory", name, args, true)
			wantResult(t, res, nil)
			if d := cmp.Diff(before, snapshot(t, dir)); d != "" {
				t.Fatalf("test mode touched the directory:\n%s", d)
			}
			if !contains(res.Comment, "The following files will be changed:\n") {
				t.Errorf("test comment %q", res.Comment)
			}

			res = apply(t, nil, "file.directory", name, args, false)
			wantResult(t, res, yes)
			if d := cmp.Diff(sortLists(tc.changes(dir)), sortLists(res.Changes)); d != "" {
				t.Errorf("changes (-want +got):\n%s", d)
			}
			if res.Comment != replaceDir(tc.comment, dir) {
				t.Errorf("comment %q, want %q", res.Comment, replaceDir(tc.comment, dir))
			}
			if tc.wantMode != "" {
				if got := modeOf(t, name); got != tc.wantMode {
					t.Errorf("mode %s, want %s", got, tc.wantMode)
				}
			}
			for _, g := range tc.gone {
				if exists(filepath.Join(dir, g)) {
					t.Errorf("%s should have been cleaned", g)
				}
			}
			for _, k := range tc.kept {
				if !exists(filepath.Join(dir, k)) {
					t.Errorf("%s should have been kept", k)
				}
			}

			res = apply(t, nil, "file.directory", name, args, false)
			wantResult(t, res, yes)
			if len(res.Changes) != 0 || res.Comment != "The directory "+name+" is in the correct state" {
				t.Errorf("second run: %q %v", res.Comment, res.Changes)
			}
		})
	}
}

func replaceDir(s, dir string) string {
	out := ""
	for i := 0; i < len(s); i++ {
		if len(s)-i >= 5 && s[i:i+5] == "{dir}" {
			out += dir
			i += 4
			continue
		}
		out += string(s[i])
	}
	return out
}

func TestDirectoryFailures(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"file": "x"})
	tests := []struct {
		name, path string
		args       map[string]any
		test       *bool // result in test mode
		comment    string
	}{
		{"relative", "rel", nil, no, "Specified file rel is not an absolute path"},
		{"no parent without makedirs", dir + "/no/parent", nil, nil, "No directory to create " + dir + "/no/parent in"},
		{"a file in the way", dir + "/file", nil, no, "Specified location " + dir + "/file exists and is a file"},
		{"bad recurse item", dir + "/d", map[string]any{"recurse": []any{"owner"}}, no, `Types for "recurse" limited to`},
		{"max_depth with clean", dir + "/d", map[string]any{"max_depth": 1, "clean": true}, no, "Cannot specify both max_depth and clean"},
		{"unknown group", dir + "/d", map[string]any{"group": "no-such-group-brine"}, nil, "Group no-such-group-brine is not available"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, dir)
			res := apply(t, nil, "file.directory", tc.path, tc.args, true)
			wantResult(t, res, tc.test)
			res = apply(t, nil, "file.directory", tc.path, tc.args, false)
			wantResult(t, res, no)
			if !contains(res.Comment, tc.comment) {
				t.Errorf("comment %q does not contain %q", res.Comment, tc.comment)
			}
			if d := cmp.Diff(before, snapshot(t, dir)); d != "" {
				t.Errorf("a failed state changed the directory:\n%s", d)
			}
		})
	}
}

func TestDirectoryForce(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"was-a-file": "x"})
	name := filepath.Join(dir, "was-a-file")
	res := apply(t, nil, "file.directory", name, map[string]any{"force": true}, true)
	wantResult(t, res, nil)
	if res.Changes["forced"] != "File would be forcibly replaced" || readFile(t, name) != "x" {
		t.Errorf("test mode: %v; the file must stay", res.Changes)
	}
	res = apply(t, nil, "file.directory", name, map[string]any{"force": true}, false)
	wantResult(t, res, yes)
	if !isDir(name) || res.Changes["forced"] != "File was forcibly replaced" {
		t.Errorf("force: %v, isDir=%v", res.Changes, isDir(name))
	}
}

func TestRecurse(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"tree/a.txt":          "a\n",
		"tree/sub/b.txt":      "b\n",
		"tree/sub/deep/c.txt": "c\n",
		"tree/skip.tmp":       "tmp\n",
		"tmpl/t.conf":         "id={{ grains['id'] }} n={{ n }}\n",
	})
	if err := os.Mkdir(filepath.Join(root, "tree/empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := saltEnvAt(root)

	t.Run("copy, clean, idempotent", func(t *testing.T) {
		dir := t.TempDir()
		name := filepath.Join(dir, "tree")
		writeFiles(t, dir, map[string]string{"tree/stray.txt": "x", "tree/olddir/y": "y"})
		args := map[string]any{"source": "salt://tree/", "file_mode": "0640", "dir_mode": "0750",
			"clean": true, "exclude_pat": "*.tmp", "include_empty": true}

		before := snapshot(t, dir)
		res := apply(t, env, "file.recurse", name, args, true)
		wantResult(t, res, nil)
		if d := cmp.Diff(before, snapshot(t, dir)); d != "" {
			t.Fatalf("test mode touched the directory:\n%s", d)
		}
		if !contains(res.Comment, "#### removed ####\n"+name+"/stray.txt") {
			t.Errorf("test comment does not list removals:\n%s", res.Comment)
		}

		res = apply(t, env, "file.recurse", name, args, false)
		wantResult(t, res, yes)
		if res.Comment != "Recursively updated "+name {
			t.Errorf("comment %q", res.Comment)
		}
		want := map[string]any{
			name + "/a.txt":          map[string]any{"diff": "New file", "mode": "0640"},
			name + "/sub/b.txt":      map[string]any{"diff": "New file", "mode": "0640"},
			name + "/sub/deep/c.txt": map[string]any{"diff": "New file", "mode": "0640"},
			// sub is created as the parent of sub/deep (deepest first, as
			// Salt did in the reference), so only sub/deep is reported.
			name + "/sub/deep": map[string]any{name + "/sub/deep": map[string]any{"directory": "new"}},
			name + "/empty":    map[string]any{name + "/empty": map[string]any{"directory": "new"}},
			name:               map[string]any{name: map[string]any{"mode": "0750"}, "mode": "0750"},
			"removed":          []any{name + "/olddir", name + "/stray.txt"},
		}
		if d := cmp.Diff(want, sortLists(res.Changes)); d != "" {
			t.Errorf("changes (-want +got):\n%s", d)
		}
		var files []string
		filepath.WalkDir(name, func(p string, _ os.DirEntry, _ error) error {
			rel, _ := filepath.Rel(name, p)
			files = append(files, rel+" "+modeOf(t, p))
			return nil
		})
		sort.Strings(files)
		wantFiles := []string{". 0750", "a.txt 0640", "empty 0750", "sub 0750", "sub/b.txt 0640", "sub/deep 0750", "sub/deep/c.txt 0640"}
		if d := cmp.Diff(wantFiles, files); d != "" {
			t.Errorf("tree (-want +got):\n%s", d)
		}

		res = apply(t, env, "file.recurse", name, args, false)
		wantResult(t, res, yes)
		if len(res.Changes) != 0 || res.Comment != "The directory "+name+" is in the correct state" {
			t.Errorf("second run: %q %v", res.Comment, res.Changes)
		}
	})
	t.Run("include_pat and maxdepth", func(t *testing.T) {
		name := filepath.Join(t.TempDir(), "t")
		res := apply(t, env, "file.recurse", name, map[string]any{"source": "salt://tree", "include_pat": "E@\\.txt$", "maxdepth": 1}, false)
		wantResult(t, res, yes)
		if !exists(name+"/a.txt") || !exists(name+"/sub/b.txt") || exists(name+"/sub/deep") || exists(name+"/skip.tmp") {
			t.Errorf("wrong selection: %v", snapshot(t, name))
		}
	})
	t.Run("template", func(t *testing.T) {
		name := filepath.Join(t.TempDir(), "t")
		res := apply(t, env, "file.recurse", name, map[string]any{"source": "salt://tmpl", "template": "jinja", "defaults": map[string]any{"n": 3}}, false)
		wantResult(t, res, yes)
		if got := readFile(t, name+"/t.conf"); got != "id=test-minion n=3\n" {
			t.Errorf("rendered %q", got)
		}
	})
	t.Run("failures", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"file": "x"})
		for _, tc := range []struct {
			name, path string
			args       map[string]any
			comment    string
		}{
			{"missing source dir", dir + "/t", map[string]any{"source": "salt://nope"}, "The directory 'nope' does not exist on the salt fileserver in saltenv 'base'"},
			{"not salt://", dir + "/t", map[string]any{"source": "/etc"}, "Invalid source '/etc' (must be a salt:// URI)"},
			{"target is a file", dir + "/file", map[string]any{"source": "salt://tree"}, "The path " + dir + "/file exists and is not a directory"},
			{"relative", "t", map[string]any{"source": "salt://tree"}, "is not an absolute path"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := apply(t, env, "file.recurse", tc.path, tc.args, false)
				wantResult(t, res, no)
				if !contains(res.Comment, tc.comment) {
					t.Errorf("comment %q does not contain %q", res.Comment, tc.comment)
				}
			})
		}
	})
}
