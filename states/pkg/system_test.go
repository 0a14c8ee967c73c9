package pkg_test

import (
	"strings"
	"testing"

	"github.com/brine-cm/brine/internal/systest"
	"github.com/google/go-cmp/cmp"
)

// dpkgState lists every package with its version and status, to prove a
// run changed nothing.
const dpkgState = `dpkg-query -W -f='${Package} ${Version} ${Status}\n'`

// TestPkgStatesInContainer installs, pins, upgrades, holds and removes
// real packages inside a throwaway Debian container: nginx from Debian's
// archive, brine-hello 1.0-1 and 2.0-1 from a local repository.
func TestPkgStatesInContainer(t *testing.T) {
	c := systest.Start(t)
	c.BuildRepo(t, "/srv/repo", systest.Deb{Name: "brine-hello", Version: "1.0-1"}, systest.Deb{Name: "brine-hello", Version: "2.0-1"})
	c.WriteFile(t, "/etc/apt/sources.list.d/local.list", "deb [trusted=yes] file:/srv/repo ./\n")
	top := "base:\n  '*':\n    - pkgs\n"

	t.Run("missing package fails alone and changes nothing", func(t *testing.T) {
		before := c.Sh(t, dpkgState)
		r := c.Apply(t, map[string]string{"top.sls": top, "pkgs.sls": `
refresh:
  pkg.installed:
    - name: brine-hello
    - refresh: True
    - version: 1.0-1
nosuch:
  pkg.installed:
    - pkgs: [brine-no-such-package, brine-hello]
independent:
  test.succeed_with_changes: []
`}, nil)
		if r.Code != 2 {
			t.Errorf("exit code = %d, want 2 (a state failed)", r.Code)
		}
		bad := r.Get(t, "nosuch", "pkg.installed")
		if bad.Result == nil || *bad.Result || !strings.Contains(bad.Comment, "Unable to locate package brine-no-such-package") {
			t.Errorf("nosuch: result %v comment %q; want false with apt's message", bad.Result, bad.Comment)
		}
		if len(bad.Changes) != 0 {
			t.Errorf("nosuch changed %v, want nothing", bad.Changes)
		}
		if ind := r.Get(t, "independent", "test.succeed_with_changes"); ind.Result == nil || !*ind.Result {
			t.Errorf("independent state did not run: %+v", ind)
		}
		ok := r.Get(t, "refresh", "pkg.installed")
		want := map[string]any{"brine-hello": map[string]any{"old": "", "new": "1.0-1"}}
		if d := cmp.Diff(want, ok.Changes); d != "" || ok.Result == nil || !*ok.Result {
			t.Errorf("refresh: result %v comment %q changes (-want +got):\n%s", ok.Result, ok.Comment, d)
		}
		after := c.Sh(t, dpkgState)
		if strings.Count(after, "\n") != strings.Count(before, "\n")+1 || strings.Contains(after, "no-such") {
			t.Errorf("the package list changed beyond brine-hello:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})

	web := map[string]string{"top.sls": top, "pkgs.sls": `
web:
  pkg.installed:
    - pkgs:
      - nginx-light
      - brine-hello: '>=2'
`}
	t.Run("test mode reports and touches nothing", func(t *testing.T) {
		before := c.Sh(t, dpkgState)
		r := c.Apply(t, web, nil, "test=True")
		s := r.Get(t, "web", "pkg.installed")
		if s.Result != nil {
			t.Errorf("result = %v, want None; comment %q", *s.Result, s.Comment)
		}
		if ch, _ := s.Changes["nginx-light"].(map[string]any); ch["old"] != "" || ch["new"] == "" {
			t.Errorf("changes for nginx-light = %v, want old '' and a new version", s.Changes["nginx-light"])
		}
		if ch := s.Changes["brine-hello"]; !cmp.Equal(ch, map[string]any{"old": "1.0-1", "new": "2.0-1"}) {
			t.Errorf("changes for brine-hello = %v, want 1.0-1 -> 2.0-1", ch)
		}
		if after := c.Sh(t, dpkgState); after != before {
			t.Errorf("test mode changed the package list")
		}
	})

	t.Run("install then nothing to do", func(t *testing.T) {
		r := c.Apply(t, web, nil)
		s := r.Get(t, "web", "pkg.installed")
		if s.Result == nil || !*s.Result {
			t.Fatalf("install failed: %q", s.Comment)
		}
		if !cmp.Equal(s.Changes["brine-hello"], map[string]any{"old": "1.0-1", "new": "2.0-1"}) {
			t.Errorf("brine-hello change = %v", s.Changes["brine-hello"])
		}
		if _, ok := s.Changes["nginx-common"]; !ok {
			t.Errorf("changes do not list the dependency nginx-common: %v", s.Changes)
		}
		if want := "The following packages were installed/updated: nginx-light, brine-hello"; s.Comment != want {
			t.Errorf("comment = %q, want %q", s.Comment, want)
		}
		r = c.Apply(t, web, nil)
		s = r.Get(t, "web", "pkg.installed")
		if len(s.Changes) != 0 || s.Result == nil || !*s.Result {
			t.Errorf("second run: result %v changes %v comment %q; want true and no changes", s.Result, s.Changes, s.Comment)
		}
		if want := "All specified packages are already installed and are at the desired version"; s.Comment != want {
			t.Errorf("second run comment = %q, want %q", s.Comment, want)
		}
	})

	t.Run("downgrade pin, hold, latest, remove, purge", func(t *testing.T) {
		r := c.Apply(t, map[string]string{"top.sls": top, "pkgs.sls": `
brine-hello:
  pkg.installed:
    - version: 1.0-1
    - hold: True
`}, nil)
		s := r.Get(t, "brine-hello", "pkg.installed")
		want := map[string]any{"brine-hello": map[string]any{"old": "2.0-1", "new": "1.0-1", "hold": map[string]any{"old": "install", "new": "hold"}}}
		if d := cmp.Diff(want, s.Changes); d != "" {
			t.Errorf("pin and hold changes (-want +got):\n%s\ncomment: %s", d, s.Comment)
		}
		if sel := c.Sh(t, "apt-mark showhold"); strings.TrimSpace(sel) != "brine-hello" {
			t.Errorf("apt-mark showhold = %q, want brine-hello", sel)
		}
		r = c.Apply(t, map[string]string{"top.sls": top, "pkgs.sls": `
brine-hello:
  pkg.installed:
    - hold: False
upgrade:
  pkg.latest:
    - name: brine-hello
    - require:
      - pkg: brine-hello
`}, nil)
		if s := r.Get(t, "brine-hello", "pkg.installed"); !cmp.Equal(s.Changes, map[string]any{"brine-hello": map[string]any{"hold": map[string]any{"old": "hold", "new": "install"}}}) {
			t.Errorf("unhold changes = %v (%s)", s.Changes, s.Comment)
		}
		if s := r.Get(t, "upgrade", "pkg.latest"); !cmp.Equal(s.Changes, map[string]any{"brine-hello": map[string]any{"old": "1.0-1", "new": "2.0-1"}}) {
			t.Errorf("latest changes = %v (%s)", s.Changes, s.Comment)
		}
		latestAgain := c.Apply(t, map[string]string{"top.sls": top, "pkgs.sls": "brine-hello:\n  pkg.latest: []\n"}, nil)
		if s := latestAgain.Get(t, "brine-hello", "pkg.latest"); len(s.Changes) != 0 || s.Comment != "Package brine-hello is already up-to-date" {
			t.Errorf("latest again: changes %v comment %q", s.Changes, s.Comment)
		}

		rm := c.Apply(t, map[string]string{"top.sls": top, "pkgs.sls": `
brine-hello:
  pkg.removed: []
nginx-light:
  pkg.removed: []
nginx-common:
  pkg.purged:
    - require:
      - pkg: nginx-light
`}, nil)
		if s := rm.Get(t, "brine-hello", "pkg.removed"); !cmp.Equal(s.Changes, map[string]any{"brine-hello": map[string]any{"old": "2.0-1", "new": ""}}) {
			t.Errorf("removed changes = %v (%s)", s.Changes, s.Comment)
		}
		if s := rm.Get(t, "nginx-common", "pkg.purged"); s.Result == nil || !*s.Result || len(s.Changes) == 0 {
			t.Errorf("purged: %v %q %v", s.Result, s.Comment, s.Changes)
		}
		if out := c.Sh(t, "dpkg-query -W -f='${Status}' nginx-common 2>/dev/null || true"); strings.Contains(out, "config-files") || strings.Contains(out, " installed") {
			t.Errorf("nginx-common status after purge = %q", out)
		}
		again := c.Apply(t, map[string]string{"top.sls": top, "pkgs.sls": "brine-hello:\n  pkg.removed: []\n"}, nil)
		if s := again.Get(t, "brine-hello", "pkg.removed"); len(s.Changes) != 0 || s.Comment != "All specified packages are already absent" {
			t.Errorf("removed again: %v %q", s.Changes, s.Comment)
		}
		// brine-hello's files are gone but dpkg remembers it as removed;
		// purged clears that and says so.
		purge := c.Apply(t, map[string]string{"top.sls": top, "pkgs.sls": "brine-hello:\n  pkg.purged: []\n"}, nil)
		if s := purge.Get(t, "brine-hello", "pkg.purged"); s.Result == nil || !*s.Result {
			t.Errorf("purge after remove: %v %q", s.Result, s.Comment)
		}
	})

	t.Run("execution functions", func(t *testing.T) {
		if r := c.Call(t, "pkg.install", "brine-hello", "version=1.0-1"); r.Code != 0 || !cmp.Equal(r.Value, map[string]any{"brine-hello": map[string]any{"old": "", "new": "1.0-1"}}) {
			t.Errorf("pkg.install = %v (exit %d, %s)", r.Value, r.Code, r.Stderr)
		}
		if r := c.Call(t, "pkg.version", "brine-hello"); r.Value != "1.0-1" {
			t.Errorf("pkg.version = %v", r.Value)
		}
		if r := c.Call(t, "pkg.version", "brine-hello", "brine-none"); !cmp.Equal(r.Value, map[string]any{"brine-hello": "1.0-1", "brine-none": ""}) {
			t.Errorf("pkg.version of two = %v", r.Value)
		}
		if r := c.Call(t, "pkg.latest_version", "brine-hello", "refresh=False"); r.Value != "2.0-1" {
			t.Errorf("pkg.latest_version = %v", r.Value)
		}
		if r := c.Call(t, "pkg.list_pkgs"); r.Value.(map[string]any)["brine-hello"] != "1.0-1" {
			t.Errorf("pkg.list_pkgs lacks brine-hello 1.0-1")
		}
		if r := c.Call(t, "pkg.hold", "brine-hello"); r.Code != 0 {
			t.Errorf("pkg.hold: exit %d %s", r.Code, r.Stderr)
		}
		if r := c.Call(t, "pkg.unhold", "brine-hello"); !strings.Contains(r.Stdout, "no longer being held") {
			t.Errorf("pkg.unhold = %v", r.Value)
		}
		if r := c.Call(t, "pkg.refresh_db"); r.Code != 0 || len(r.Value.(map[string]any)) == 0 {
			t.Errorf("pkg.refresh_db = %v (exit %d, %s)", r.Value, r.Code, r.Stderr)
		}
		if r := c.Call(t, "pkg.remove", "brine-hello"); !cmp.Equal(r.Value, map[string]any{"brine-hello": map[string]any{"old": "1.0-1", "new": ""}}) {
			t.Errorf("pkg.remove = %v", r.Value)
		}
		if r := c.Call(t, "pkg.install", "brine-nothing-like-this"); r.Code == 0 || !strings.Contains(r.Stderr+r.Stdout, "Unable to locate package") {
			t.Errorf("pkg.install of a missing package: exit %d, %s %s", r.Code, r.Stdout, r.Stderr)
		}
	})
}
