package pillar_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/fileserver"
	_ "github.com/brine-cm/brine/modules/grains" // salt['grains.get'] in pillar templates
	_ "github.com/brine-cm/brine/modules/pillar" // salt['pillar.get']
	"github.com/brine-cm/brine/pillar"
	"github.com/brine-cm/brine/states/render"
)

const reference = "../states/testdata/reference" // the Salt corpus, copied into the repo

// TestSaltReferencePillars compiles the pillar trees of the Salt reference
// corpus; the expected values are what those trees declare and what the
// cases' lowstate.json shows Salt used.
func TestSaltReferencePillars(t *testing.T) {
	rootOnly := map[string]any{"root": "__ROOT__"}
	tests := []struct {
		dir    string
		grains map[string]any
		want   map[string]any
	}{
		{"01-files", nil, map[string]any{"root": "__ROOT__", "motd": "first message", "port": 8080}},
		{"02-cmd", nil, rootOnly},
		{"03-requisites", nil, rootOnly},
		{"04-ordering", nil, rootOnly},
		{"05-jinja", map[string]any{"os_family": "RedHat", "role": "web", "site": map[string]any{"rack": "r12"}},
			map[string]any{"root": "__ROOT__", "webapp": map[string]any{
				"server": map[string]any{"port": 8443},
				"users":  []any{"alice", "bob", "carol"},
			}}},
		{"06-errors", nil, rootOnly},
		{"07-test-functions", nil, rootOnly},
		{"08-names-extend", nil, rootOnly},
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			dir := filepath.Join(reference, tc.dir, "pillar")
			if _, err := os.Stat(dir); err != nil {
				t.Skipf("Salt reference corpus not available: %v", err)
			}
			got, err := pillar.Compile(context.Background(), pillar.Options{
				Roots:  fileserver.Roots{Envs: map[string][]string{"base": {dir}}},
				ID:     "minion",
				Grains: tc.grains,
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("pillar (-want +got):\n%s", diff)
			}
		})
	}
}

func treeRoots() fileserver.Roots {
	return fileserver.Roots{Envs: map[string][]string{
		"base": {filepath.Join("testdata", "tree", "base")},
		"dev":  {filepath.Join("testdata", "tree", "dev")},
	}}
}

func webMinion() pillar.Options {
	return pillar.Options{
		Roots: treeRoots(),
		ID:    "web01.example.com",
		Grains: map[string]any{
			"id":        "web01.example.com",
			"os":        "Debian",
			"os_family": "Debian",
			"roles":     []any{"web"},
			"site":      map[string]any{"dc": "fra1"},
		},
		Pillar:     map[string]any{"ports": map[string]any{"http": 81}, "cli": true},
		Nodegroups: map[string]string{"edge": "G@os:Debian and web*"},
	}
}

// TestCompileTree exercises every top-file feature at once: matcher kinds
// (compound default, grain, glob, list, nodegroup, pillar), SLS globs,
// duplicate names, ignore_missing, a Jinja-rendered top file, includes
// (plain, relative, with key and defaults), the pillar-so-far seen by later
// files, salt[...] calls, a second environment and the command-line pillar
// merged last.
func TestCompileTree(t *testing.T) {
	got, err := pillar.Compile(context.Background(), webMinion())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"common": map[string]any{"os": "Debian", "greeting": "hello Debian", "id": "web01.example.com", "saltenv": "base"},
		// debian.sls comes after common.sls: its list replaces common's.
		"pkgs": []any{"apt-transport-https"},
		// http from the command line, https from debian.sls over its include.
		"ports": map[string]any{"http": 81, "https": 443},
		"deb": map[string]any{
			"mirror":     "ftp.de.debian.org", // the including file wins
			"components": []any{"main"},
			"keys":       map[string]any{"owner": "admin", "from": "deb.keys"},
		},
		// web.sls saw the pillar compiled before it, CLI pillar included.
		"web":      map[string]any{"server_os": "Debian", "port": 443, "http": 81, "cli": true},
		"users":    map[string]any{"alice": map[string]any{"uid": 1001}, "bob": map[string]any{"uid": 1002}},
		"edge":     "web01.example.com",
		"dc":       "fra1",
		"from_cli": "yes",
		"dev":      map[string]any{"enabled": true, "saltenv": "dev"},
		"cli":      true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pillar (-want +got):\n%s", diff)
	}
}

func TestCompileOtherMinion(t *testing.T) {
	opts := webMinion()
	opts.ID = "db1"
	opts.Grains = map[string]any{"id": "db1", "os": "CentOS Stream", "os_family": "RedHat", "roles": []any{"web"}}
	opts.Pillar = nil
	got, err := pillar.Compile(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"common": map[string]any{"os": "CentOS Stream", "greeting": "hello CentOS Stream", "id": "db1", "saltenv": "base"},
		"pkgs":   []any{"vim", "curl"},
		"ports":  map[string]any{"http": 80},
		"db":     true,
		"dev":    map[string]any{"enabled": true, "saltenv": "dev"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pillar (-want +got):\n%s", diff)
	}
}

func TestCompilePillarenv(t *testing.T) {
	opts := webMinion()
	opts.Saltenv = "dev"
	got, err := pillar.Compile(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"dev":   map[string]any{"enabled": true, "saltenv": "dev"},
		"ports": map[string]any{"http": 81},
		"cli":   true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pillar (-want +got):\n%s", diff)
	}
}

func TestCompileWithoutTree(t *testing.T) {
	override := map[string]any{"a": map[string]any{"b": 1}}
	for name, roots := range map[string]fileserver.Roots{
		"no roots":    {},
		"no top file": {Envs: map[string][]string{"base": {t.TempDir()}}},
	} {
		t.Run(name, func(t *testing.T) {
			opts := pillar.Options{ID: "m", Pillar: override}
			if roots.Envs != nil {
				opts.Roots = roots
			}
			got, err := pillar.Compile(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(override, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			got["a"].(map[string]any)["b"] = 2
			if override["a"].(map[string]any)["b"] != 1 {
				t.Error("the result shares maps with opts.Pillar")
			}
		})
	}
}

// writeTree writes files (path -> content) under a new temporary pillar
// root.
func writeTree(t *testing.T, files map[string]string) fileserver.Roots {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return fileserver.Roots{Envs: map[string][]string{"base": {dir}}}
}

func TestCompileFeatures(t *testing.T) {
	tests := []struct {
		name       string
		files      map[string]string
		mergeLists bool
		want       map[string]any
	}{
		{
			name: "ignore_missing",
			files: map[string]string{
				"top.sls":  "base:\n  '*':\n    - nope\n    - here\n    - ignore_missing: True\n",
				"here.sls": "here: 1\n",
			},
			want: map[string]any{"here": 1},
		},
		{
			name: "include cycle renders each file once",
			files: map[string]string{
				"top.sls": "base:\n  '*':\n    - a\n",
				"a.sls":   "include: [b]\na: 1\nshared: a\n",
				"b.sls":   "include: [a]\nb: 2\nshared: b\n",
			},
			want: map[string]any{"a": 1, "b": 2, "shared": "a"},
		},
		{
			name: "include glob and relative from a plain file",
			files: map[string]string{
				"top.sls":         "base:\n  '*':\n    - app.main\n",
				"app/main.sls":    "include:\n  - .parts.*\nmain: true\n",
				"app/parts/x.sls": "parts: {x: 1}\n",
				"app/parts/y.sls": "parts: {y: 2}\n",
			},
			want: map[string]any{"main": true, "parts": map[string]any{"x": 1, "y": 2}},
		},
		{
			name: "relative include going up",
			files: map[string]string{
				"top.sls":      "base:\n  '*':\n    - a.b.c\n",
				"a/b/c.sls":    "include:\n  - ..shared\nc: 1\n",
				"a/shared.sls": "shared: 1\n",
			},
			want: map[string]any{"c": 1, "shared": 1},
		},
		{
			name: "merge lists",
			files: map[string]string{
				"top.sls": "base:\n  '*':\n    - one\n    - two\n",
				"one.sls": "pkgs: [vim, curl]\n",
				"two.sls": "pkgs: [curl, git]\n",
			},
			mergeLists: true,
			want:       map[string]any{"pkgs": []any{"vim", "curl", "git"}},
		},
		{
			name: "empty files and sections",
			files: map[string]string{
				"top.sls":     "base:\n  '*':\n    - empty\n    - comment\n  'nomatch': []\ndev:\n",
				"empty.sls":   "",
				"comment.sls": "# nothing\n{# nothing either #}\n",
			},
			want: map[string]any{},
		},
		{
			name: "yaml shebang and a single SLS name",
			files: map[string]string{
				"top.sls": "#!yaml\nbase:\n  '*': raw\n",
				"raw.sls": "#!yaml\nraw: '{{ not rendered }}'\n",
			},
			want: map[string]any{"raw": "{{ not rendered }}"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pillar.Compile(context.Background(), pillar.Options{
				Roots: writeTree(t, tc.files), ID: "m", MergeLists: tc.mergeLists,
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("pillar (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		want     []string
		notFound bool
		render   bool
	}{
		{
			name:     "missing SLS in top",
			files:    map[string]string{"top.sls": "base:\n  '*':\n    - here\n    - nope.deeper\n", "here.sls": "a: 1\n"},
			want:     []string{"top.sls:4", "'nope.deeper'", "nope/deeper.sls", "nope/deeper/init.sls"},
			notFound: true,
		},
		{
			name:     "glob matching nothing",
			files:    map[string]string{"top.sls": "base:\n  '*':\n    - users.*\n"},
			want:     []string{"top.sls:3", "no SLS matches 'users.*'"},
			notFound: true,
		},
		{
			name: "missing include",
			files: map[string]string{
				"top.sls":      "base:\n  '*':\n    - app\n",
				"app/init.sls": "include:\n  - .gone\n",
			},
			want:     []string{"'app' (app/init.sls) includes 'app.gone'", "not found"},
			notFound: true,
		},
		{
			name: "jinja error",
			files: map[string]string{
				"top.sls": "base:\n  '*':\n    - bad\n",
				"bad.sls": "a: 1\nb: {{ pillar['nope']['deeper'] }}\n",
			},
			want:   []string{"pillar SLS 'bad'", "bad.sls:2"},
			render: true,
		},
		{
			name: "yaml error",
			files: map[string]string{
				"top.sls": "base:\n  '*':\n    - bad\n",
				"bad.sls": "a: 1\nb: [unclosed\n",
			},
			want:   []string{"pillar SLS 'bad'", "bad.sls"},
			render: true,
		},
		{
			name:   "top file error",
			files:  map[string]string{"top.sls": "base:\n  '*':\n    - {{ nope( }}\n"},
			want:   []string{"pillar top file", "top.sls"},
			render: true,
		},
		{
			name:  "not a mapping",
			files: map[string]string{"top.sls": "base:\n  '*':\n    - list\n", "list.sls": "- a\n- b\n"},
			want:  []string{"pillar SLS 'list' (list.sls)", "must be a mapping", "a list"},
		},
		{
			name:  "include not a list",
			files: map[string]string{"top.sls": "base:\n  '*':\n    - a\n", "a.sls": "include: b\n"},
			want:  []string{"pillar SLS 'a' (a.sls)", "include must be a list"},
		},
		{
			name:  "bad target",
			files: map[string]string{"top.sls": "base:\n  'web* and':\n    - a\n"},
			want:  []string{"top.sls:2", `"web* and"`, `ends after "and"`},
		},
		{
			name:  "unknown match type",
			files: map[string]string{"top.sls": "base:\n  'os:Debian':\n    - match: grains\n    - a\n"},
			want:  []string{"top.sls:3", `unknown match type "grains"`},
		},
		{
			name:  "unknown option",
			files: map[string]string{"top.sls": "base:\n  '*':\n    - a\n    - require: b\n"},
			want:  []string{"top.sls:4", "unknown option 'require'"},
		},
		{
			name:  "unknown nodegroup",
			files: map[string]string{"top.sls": "base:\n  'N@nope':\n    - a\n"},
			want:  []string{"top.sls:2", `unknown nodegroup "nope"`},
		},
		{
			name:  "top not a mapping",
			files: map[string]string{"top.sls": "- base\n"},
			want:  []string{"top.sls:1", "mapping of environments"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pillar.Compile(context.Background(), pillar.Options{Roots: writeTree(t, tc.files), ID: "web01"})
			if err == nil {
				t.Fatalf("Compile succeeded, want an error mentioning %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if got := errors.Is(err, pillar.ErrNotFound); got != tc.notFound {
				t.Errorf("errors.Is(err, ErrNotFound) = %v, want %v", got, tc.notFound)
			}
			var re *render.Error
			if got := errors.As(err, &re); got != tc.render {
				t.Errorf("errors.As(err, *render.Error) = %v, want %v", got, tc.render)
			}
		})
	}
}

func TestCompileCustomExec(t *testing.T) {
	roots := writeTree(t, map[string]string{
		"top.sls": "base:\n  '*':\n    - ext\n",
		"ext.sls": "ext: {{ salt['vault.read']('secret/db', field='password') }}\n",
	})
	var calls []string
	_, err := pillar.Compile(context.Background(), pillar.Options{Roots: roots, ID: "m"})
	if err == nil || !strings.Contains(err.Error(), "vault.read") {
		t.Fatalf("an unknown module should fail naming it, got %v", err)
	}
	got, err := pillar.Compile(context.Background(), pillar.Options{
		Roots: roots, ID: "m",
		Exec: func(_ context.Context, env *api.Env, fun string, args []any, kwargs map[string]any) (any, error) {
			calls = append(calls, fun)
			if env.ID != "m" {
				t.Errorf("Exec got env for %q, want m", env.ID)
			}
			return "s3cret-" + args[0].(string) + "-" + kwargs["field"].(string), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"ext": "s3cret-secret/db-password"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"vault.read"}, calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}
