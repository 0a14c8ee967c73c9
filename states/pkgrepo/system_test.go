package pkgrepo_test

import (
	"strings"
	"testing"

	"github.com/brine-cm/brine/internal/systest"
	"github.com/google/go-cmp/cmp"
)

func TestPkgrepoInContainer(t *testing.T) {
	c := systest.Start(t)
	c.BuildRepo(t, "/srv/repo", systest.Deb{Name: "brine-hello", Version: "1.0-1"})
	// Debian's own archive key, served from salt:// like a vendor key.
	debianKey := c.Sh(t, "cat /usr/share/keyrings/debian-archive-keyring.gpg")
	top := "base:\n  '*':\n    - repos\n"
	sls := `
local:
  pkgrepo.managed:
    - name: deb [trusted=yes] file:/srv/repo ./
    - file: /etc/apt/sources.list.d/local.list
updates:
  pkgrepo.managed:
    - name: deb http://deb.debian.org/debian bookworm-updates main
    - file: /etc/apt/sources.list.d/updates.list
    - key_url: salt://keys/debian.gpg
brine-hello:
  pkg.installed:
    - require:
      - pkgrepo: local
`
	tree := map[string]string{"top.sls": top, "repos.sls": sls, "keys/debian.gpg": debianKey}

	test := c.Apply(t, tree, nil, "test=True")
	if s := test.Get(t, "local", "pkgrepo.managed"); s.Result != nil || !cmp.Equal(s.Changes, map[string]any{"repo": "deb [trusted=yes] file:/srv/repo ./"}) {
		t.Errorf("test mode: %v %q %v", s.Result, s.Comment, s.Changes)
	}
	if _, _, code := c.Exec(t, "test", "-e", "/etc/apt/sources.list.d/local.list"); code == 0 {
		t.Fatal("test mode wrote the sources file")
	}

	r := c.Apply(t, tree, nil)
	if f := r.Failed(); len(f) > 0 {
		t.Fatalf("failed states: %v", f)
	}
	if s := r.Get(t, "updates", "pkgrepo.managed"); !cmp.Equal(s.Changes, map[string]any{
		"repo":    "deb [signed-by=/etc/apt/keyrings/updates.gpg] http://deb.debian.org/debian bookworm-updates main",
		"keyring": "/etc/apt/keyrings/updates.gpg",
	}) || s.Comment != "Configured package repo 'deb http://deb.debian.org/debian bookworm-updates main'" {
		t.Errorf("keyed repo: %q %v", s.Comment, s.Changes)
	}
	if s := r.Get(t, "brine-hello", "pkg.installed"); !cmp.Equal(s.Changes, map[string]any{"brine-hello": map[string]any{"old": "", "new": "1.0-1"}}) {
		t.Errorf("package from the new repo: %q %v", s.Comment, s.Changes)
	}
	// apt verified bookworm-updates with the signed-by keyring.
	if out := c.Sh(t, "apt-cache policy 2>&1"); !strings.Contains(out, "bookworm-updates/main") {
		t.Errorf("apt does not use bookworm-updates:\n%s", out)
	}

	again := c.Apply(t, tree, nil)
	if changed := again.Changed(); len(changed) != 0 {
		t.Errorf("second run changed %v", changed)
	}
	if s := again.Get(t, "local", "pkgrepo.managed"); s.Comment != "Package repo 'deb [trusted=yes] file:/srv/repo ./' already configured" {
		t.Errorf("second run comment %q", s.Comment)
	}

	bad := c.Apply(t, map[string]string{"top.sls": top, "repos.sls": `
nokey:
  pkgrepo.managed:
    - name: deb http://deb.debian.org/debian bookworm-backports main
    - file: /etc/apt/sources.list.d/backports.list
    - key_url: salt://keys/missing.gpg
unreachable:
  pkgrepo.managed:
    - name: deb http://brine.invalid/debian stable main
    - file: /etc/apt/sources.list.d/invalid.list
independent:
  test.succeed_with_changes: []
`}, nil)
	if s := bad.Get(t, "nokey", "pkgrepo.managed"); s.Result == nil || *s.Result || !strings.Contains(s.Comment, "missing.gpg") {
		t.Errorf("missing key: %v %q", s.Result, s.Comment)
	}
	if _, _, code := c.Exec(t, "test", "-e", "/etc/apt/sources.list.d/backports.list"); code == 0 {
		t.Error("a repo whose key could not be fetched was written")
	}
	if s := bad.Get(t, "unreachable", "pkgrepo.managed"); s.Result == nil || *s.Result || !strings.Contains(s.Comment, "brine.invalid") {
		t.Errorf("unreachable repo: %v %q; want apt's message", s.Result, s.Comment)
	}
	if s := bad.Get(t, "independent", "test.succeed_with_changes"); s.Result == nil || !*s.Result {
		t.Errorf("independent state: %+v", s)
	}

	gone := c.Apply(t, map[string]string{"top.sls": top, "repos.sls": `
deb http://brine.invalid/debian stable main:
  pkgrepo.absent: []
deb http://nowhere.invalid/debian stable main:
  pkgrepo.absent: []
`}, nil)
	if s := gone.Get(t, "deb http://brine.invalid/debian stable main", "pkgrepo.absent"); !cmp.Equal(s.Changes, map[string]any{"repo": "deb http://brine.invalid/debian stable main"}) {
		t.Errorf("absent: %q %v", s.Comment, s.Changes)
	}
	if s := gone.Get(t, "deb http://nowhere.invalid/debian stable main", "pkgrepo.absent"); len(s.Changes) != 0 || s.Result == nil || !*s.Result {
		t.Errorf("absent of an unknown repo: %v %q", s.Result, s.Comment)
	}
	if _, _, code := c.Exec(t, "test", "-e", "/etc/apt/sources.list.d/invalid.list"); code == 0 {
		t.Error("the emptied .list file was left behind")
	}
}
