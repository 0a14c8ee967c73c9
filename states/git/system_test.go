package git_test

import (
	"strings"
	"testing"

	"github.com/brine-cm/brine/internal/systest"
	"github.com/google/go-cmp/cmp"
)

// TestGitLatestInContainer clones as another user and uses the execution
// functions against a repository inside the container.
func TestGitLatestInContainer(t *testing.T) {
	c := systest.Start(t)
	first := strings.TrimSpace(c.Sh(t, `
useradd -m deploy
git config --system --add safe.directory '*'
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.invalid
git init -q --bare --initial-branch=main /srv/app.git
git clone -q /srv/app.git /root/work 2>/dev/null
cd /root/work && git checkout -q -b main && echo one > app.txt && git add app.txt && git commit -q -m one && git push -q origin main
git rev-parse HEAD`))
	top := "base:\n  '*':\n    - app\n"
	sls := `
/srv/app.git:
  git.latest:
    - target: /home/deploy/app
    - user: deploy
`
	r := c.Apply(t, map[string]string{"top.sls": top, "app.sls": sls}, nil)
	s := r.Get(t, "/srv/app.git", "git.latest")
	want := map[string]any{"new": "/srv/app.git => /home/deploy/app", "revision": map[string]any{"old": nil, "new": first}}
	if d := cmp.Diff(want, s.Changes); d != "" {
		t.Errorf("clone as deploy: %q (-want +got):\n%s", s.Comment, d)
	}
	if owner := c.Sh(t, "stat -c %U /home/deploy/app/app.txt /home/deploy/app/.git"); owner != "deploy\ndeploy\n" {
		t.Errorf("owners = %q, want deploy", owner)
	}
	again := c.Apply(t, map[string]string{"top.sls": top, "app.sls": sls}, nil)
	if changed := again.Changed(); len(changed) != 0 {
		t.Errorf("second run changed %v", changed)
	}

	if v := c.Call(t, "git.revision", "/home/deploy/app").Value; v != first {
		t.Errorf("git.revision = %v, want %s", v, first)
	}
	if v := c.Call(t, "git.current_branch", "/home/deploy/app").Value; v != "main" {
		t.Errorf("git.current_branch = %v", v)
	}
	if r := c.Call(t, "git.clone", "/root/copy", "/srv/app.git"); r.Value != true {
		t.Errorf("git.clone = %v (%s)", r.Value, r.Stderr)
	}
	c.Sh(t, `cd /root/work && echo two > app.txt && git -c user.name=t -c user.email=t@example.invalid commit -q -am two && git push -q origin main`)
	if r := c.Call(t, "git.pull", "/root/copy"); r.Code != 0 {
		t.Errorf("git.pull: exit %d %s", r.Code, r.Stderr)
	}
	c.Sh(t, "grep -q two /root/copy/app.txt")
	if r := c.Call(t, "git.clone", "/root/nope", "/srv/missing.git"); r.Code == 0 || !strings.Contains(r.Stderr, "/srv/missing.git' does not exist") {
		t.Errorf("git.clone of a missing repository: exit %d %s", r.Code, r.Stderr)
	}
}
