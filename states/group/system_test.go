package group_test

import (
	"strings"
	"testing"

	"github.com/brine-cm/brine/internal/systest"
	"github.com/google/go-cmp/cmp"
)

func TestGroupStatesInContainer(t *testing.T) {
	c := systest.Start(t)
	c.Sh(t, "useradd -M alice && useradd -M bob && useradd -M carol")
	top := "base:\n  '*':\n    - groups\n"
	apply := func(t *testing.T, sls string, args ...string) *systest.Run {
		return c.Apply(t, map[string]string{"top.sls": top, "groups.sls": sls}, nil, args...)
	}

	t.Run("create with members, then up to date", func(t *testing.T) {
		sls := "devs:\n  group.present:\n    - gid: 3000\n    - members: [alice, bob]\n"
		r := apply(t, sls, "test=True")
		if s := r.Get(t, "devs", "group.present"); s.Result != nil || s.Comment != "Group devs set to be added" {
			t.Errorf("test mode: %v %q", s.Result, s.Comment)
		}
		if _, _, code := c.Exec(t, "getent", "group", "devs"); code == 0 {
			t.Fatal("test mode created the group")
		}
		r = apply(t, sls)
		s := r.Get(t, "devs", "group.present")
		want := map[string]any{"name": "devs", "passwd": "x", "gid": float64(3000), "members": []any{"alice", "bob"}}
		if d := cmp.Diff(want, s.Changes); d != "" || s.Comment != "New group devs created" {
			t.Errorf("create: %q (-want +got):\n%s", s.Comment, d)
		}
		again := apply(t, sls)
		if s := again.Get(t, "devs", "group.present"); len(s.Changes) != 0 || s.Comment != "Group devs is present and up to date" {
			t.Errorf("again: %q %v", s.Comment, s.Changes)
		}
	})

	t.Run("addusers and delusers, gid change", func(t *testing.T) {
		r := apply(t, "devs:\n  group.present:\n    - gid: 3001\n    - addusers: [carol]\n    - delusers: [alice]\n")
		s := r.Get(t, "devs", "group.present")
		if s.Comment != "The following group attributes are set to be changed:\ngid: 3001\naddusers: ['carol']\ndelusers: ['alice']\n" ||
			!cmp.Equal(s.Changes, map[string]any{"Final": "All changes applied successfully"}) {
			t.Errorf("update: %q %v", s.Comment, s.Changes)
		}
		if got := strings.TrimSpace(c.Sh(t, "getent group devs")); got != "devs:x:3001:bob,carol" {
			t.Errorf("getent group devs = %q", got)
		}
	})

	t.Run("bad input fails alone and changes nothing", func(t *testing.T) {
		before := c.Sh(t, "cat /etc/group /etc/gshadow")
		r := apply(t, `
taken:
  group.present:
    - name: brine-taken
    - gid: 3001
nouser:
  group.present:
    - name: devs
    - members: [brine-no-such-user]
conflict:
  group.present:
    - name: devs
    - members: [bob]
    - addusers: [carol]
independent:
  test.succeed_with_changes: []
`)
		if s := r.Get(t, "taken", "group.present"); s.Result == nil || *s.Result || s.Comment != "Group brine-taken is not present but gid 3001 is already taken by group devs" {
			t.Errorf("gid taken: %v %q", s.Result, s.Comment)
		}
		if s := r.Get(t, "nouser", "group.present"); s.Result == nil || *s.Result || !strings.Contains(s.Comment, "brine-no-such-user") {
			t.Errorf("unknown member: %v %q; want gpasswd's message", s.Result, s.Comment)
		}
		if s := r.Get(t, "conflict", "group.present"); s.Result == nil || *s.Result {
			t.Errorf("members with addusers: %v %q", s.Result, s.Comment)
		}
		if s := r.Get(t, "independent", "test.succeed_with_changes"); s.Result == nil || !*s.Result {
			t.Errorf("independent state: %+v", s)
		}
		if after := c.Sh(t, "cat /etc/group /etc/gshadow"); after != before {
			t.Errorf("failed states changed /etc/group:\n%s", after)
		}
	})

	t.Run("execution functions and absent", func(t *testing.T) {
		if r := c.Call(t, "group.add", "brine-exec", "gid=3100"); r.Value != true {
			t.Errorf("group.add = %v (%s)", r.Value, r.Stderr)
		}
		if r := c.Call(t, "group.adduser", "brine-exec", "alice"); r.Value != true {
			t.Errorf("group.adduser = %v (%s)", r.Value, r.Stderr)
		}
		want := map[string]any{"name": "brine-exec", "passwd": "x", "gid": float64(3100), "members": []any{"alice"}}
		if r := c.Call(t, "group.info", "brine-exec"); !cmp.Equal(r.Value, want) {
			t.Errorf("group.info = %v", r.Value)
		}
		if r := c.Call(t, "group.add", "brine-exec2", "gid=3100"); r.Code == 0 || !strings.Contains(r.Stderr, "GID '3100' already exists") {
			t.Errorf("group.add with a taken gid: exit %d %s", r.Code, r.Stderr)
		}
		if r := c.Call(t, "group.delete", "brine-exec"); r.Value != true {
			t.Errorf("group.delete = %v (%s)", r.Value, r.Stderr)
		}
		r := apply(t, "devs:\n  group.absent: []\n")
		if s := r.Get(t, "devs", "group.absent"); !cmp.Equal(s.Changes, map[string]any{"devs": ""}) || s.Comment != "Removed group devs" {
			t.Errorf("absent: %q %v", s.Comment, s.Changes)
		}
		r = apply(t, "devs:\n  group.absent: []\n")
		if s := r.Get(t, "devs", "group.absent"); len(s.Changes) != 0 || s.Comment != "Group not present" {
			t.Errorf("absent again: %q %v", s.Comment, s.Changes)
		}
	})
}
