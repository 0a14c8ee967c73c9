package git

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states"
	"github.com/google/go-cmp/cmp"
)

// upstream is a bare repository in a temporary directory with a working
// clone to make commits from.
type upstream struct {
	t          *testing.T
	bare, work string
}

func (u *upstream) git(dir string, args ...string) string {
	u.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=brine", "GIT_AUTHOR_EMAIL=brine@example.invalid",
		"GIT_COMMITTER_NAME=brine", "GIT_COMMITTER_EMAIL=brine@example.invalid", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		u.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (u *upstream) commit(file, content string) string {
	u.t.Helper()
	if err := os.WriteFile(filepath.Join(u.work, file), []byte(content), 0o644); err != nil {
		u.t.Fatal(err)
	}
	u.git(u.work, "add", file)
	u.git(u.work, "commit", "-q", "-m", "change "+file)
	u.git(u.work, "push", "-q", "origin", "HEAD:main")
	return u.git(u.work, "rev-parse", "HEAD")
}

func newUpstream(t *testing.T) *upstream {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git.latest tests need the git binary, which this machine lacks")
	}
	dir := t.TempDir()
	u := &upstream{t: t, bare: filepath.Join(dir, "repo.git"), work: filepath.Join(dir, "work")}
	u.git(dir, "init", "-q", "--bare", "--initial-branch=main", u.bare)
	u.git(dir, "clone", "-q", u.bare, u.work)
	u.git(u.work, "checkout", "-q", "-b", "main")
	return u
}

func apply(t *testing.T, url string, args map[string]any, test bool) map[string]any {
	t.Helper()
	f, ok := states.Lookup("git.latest")
	if !ok {
		t.Fatal("git.latest is not registered")
	}
	if err := f.Validate(args); err != nil {
		t.Fatalf("arguments rejected: %v", err)
	}
	env := &api.Env{Grains: map[string]any{"os": "Debian", "os_family": "Debian"}}
	r := f.Apply(context.Background(), &states.Request{ID: url, Name: url, Args: args, Test: test, Env: env})
	b, _ := json.Marshal(map[string]any{"result": r.Result, "comment": r.Comment, "changes": r.Changes})
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func TestLatestCloneUpdateAndLocalChanges(t *testing.T) {
	u := newUpstream(t)
	first := u.commit("app.txt", "one\n")
	target := filepath.Join(t.TempDir(), "srv", "app")
	args := map[string]any{"target": target}

	got := apply(t, u.bare, args, true)
	if got["result"] != nil || got["comment"] != "Repository "+u.bare+" would be cloned to "+target {
		t.Errorf("test mode clone: %v", got)
	}
	if _, err := os.Stat(target); err == nil {
		t.Fatal("test mode created the target")
	}

	got = apply(t, u.bare, args, false)
	want := map[string]any{"result": true, "comment": "Repository " + u.bare + " cloned to " + target,
		"changes": map[string]any{"new": u.bare + " => " + target, "revision": map[string]any{"old": nil, "new": first}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("clone (-want +got):\n%s", d)
	}
	got = apply(t, u.bare, args, false)
	if got["result"] != true || len(got["changes"].(map[string]any)) != 0 || got["comment"] != "Repository "+target+" is up-to-date" {
		t.Errorf("second run: %v", got)
	}

	second := u.commit("app.txt", "two\n")
	got = apply(t, u.bare, args, true)
	if got["result"] != nil || !cmp.Equal(got["changes"], map[string]any{"revision": map[string]any{"old": first, "new": second}}) {
		t.Errorf("test mode update: %v", got)
	}
	got = apply(t, u.bare, args, false)
	if got["result"] != true || !cmp.Equal(got["changes"], map[string]any{"revision": map[string]any{"old": first, "new": second}}) {
		t.Errorf("update: %v", got)
	}
	if b, _ := os.ReadFile(filepath.Join(target, "app.txt")); string(b) != "two\n" {
		t.Errorf("working tree = %q, want two", b)
	}

	// A local edit blocks the next update unless force_reset.
	third := u.commit("app.txt", "three\n")
	if err := os.WriteFile(filepath.Join(target, "app.txt"), []byte("local edit\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got = apply(t, u.bare, args, false)
	if got["result"] != false || !strings.Contains(got["comment"].(string), "uncommitted changes") {
		t.Errorf("dirty tree: %v", got)
	}
	if b, _ := os.ReadFile(filepath.Join(target, "app.txt")); string(b) != "local edit\n" {
		t.Errorf("a refused update touched the local edit: %q", b)
	}
	got = apply(t, u.bare, map[string]any{"target": target, "force_reset": true}, false)
	if got["result"] != true || !cmp.Equal(got["changes"], map[string]any{"revision": map[string]any{"old": second, "new": third}}) {
		t.Errorf("force_reset: %v", got)
	}
	if b, _ := os.ReadFile(filepath.Join(target, "app.txt")); string(b) != "three\n" {
		t.Errorf("working tree after force_reset = %q", b)
	}

	// A local commit that upstream does not have: not a fast-forward.
	g := &upstream{t: t}
	g.git(target, "-c", "user.name=x", "-c", "user.email=x@example.invalid", "commit", "-q", "-am", "local", "--allow-empty")
	fourth := u.commit("app.txt", "four\n")
	got = apply(t, u.bare, args, false)
	if got["result"] != false || !strings.Contains(got["comment"].(string), "cannot be fast-forwarded") {
		t.Errorf("diverged: %v", got)
	}
	got = apply(t, u.bare, map[string]any{"target": target, "force_reset": true}, false)
	if got["result"] != true || got["changes"].(map[string]any)["revision"].(map[string]any)["new"] != fourth {
		t.Errorf("diverged with force_reset: %v", got)
	}
}

func TestLatestRevisionsAndBadInput(t *testing.T) {
	u := newUpstream(t)
	first := u.commit("a", "1")
	u.git(u.work, "tag", "-a", "v1", "-m", "release 1")
	u.git(u.work, "push", "-q", "origin", "v1")
	u.commit("a", "2")
	dir := t.TempDir()

	tag := filepath.Join(dir, "tag")
	if got := apply(t, u.bare, map[string]any{"target": tag, "rev": "v1"}, false); got["result"] != true {
		t.Fatalf("clone at a tag: %v", got)
	}
	if head := (&upstream{t: t}).git(tag, "rev-parse", "HEAD"); head != first {
		t.Errorf("HEAD at tag v1 = %s, want %s", head, first)
	}
	if got := apply(t, u.bare, map[string]any{"target": tag, "rev": "v1"}, false); got["result"] != true || len(got["changes"].(map[string]any)) != 0 {
		t.Errorf("tag again: %v", got)
	}

	shallow := filepath.Join(dir, "shallow")
	if got := apply(t, "file://"+u.bare, map[string]any{"target": shallow, "depth": 1}, false); got["result"] != true {
		t.Fatalf("shallow clone: %v", got)
	}
	if s := (&upstream{t: t}).git(shallow, "rev-parse", "--is-shallow-repository"); s != "true" {
		t.Errorf("depth 1 clone is not shallow (%s)", s)
	}

	occupied := filepath.Join(dir, "occupied")
	if err := os.MkdirAll(occupied, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(occupied, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, url string
		args      map[string]any
		comment   string
	}{
		{"missing repository", filepath.Join(dir, "nope.git"), map[string]any{"target": filepath.Join(dir, "x")}, "does not appear to be a git repository"},
		{"missing revision", u.bare, map[string]any{"target": filepath.Join(dir, "y"), "rev": "no-such-branch"}, "revision does not exist in the remote"},
		{"non-git target", u.bare, map[string]any{"target": occupied}, "is not a git repository"},
		{"relative target", u.bare, map[string]any{"target": "relative/path"}, "must be an absolute path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := apply(t, tc.url, tc.args, false)
			if got["result"] != false || !strings.Contains(got["comment"].(string), tc.comment) {
				t.Errorf("got %v, want a failure mentioning %q", got, tc.comment)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(occupied, "keep")); err != nil {
		t.Error("the refused clone removed the directory's contents")
	}
	if got := apply(t, u.bare, map[string]any{"target": occupied, "force_clone": true}, false); got["result"] != true {
		t.Errorf("force_clone: %v", got)
	}
}
