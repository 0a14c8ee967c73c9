package user_test

import (
	"strings"
	"testing"

	"github.com/brine-cm/brine/internal/systest"
	"github.com/google/go-cmp/cmp"
)

// accounts is what the account databases hold, to prove a failed or test
// run changed nothing.
const accounts = "cat /etc/passwd /etc/group /etc/shadow; ls /home"

// A SHA-512 crypt hash of "brine" (openssl passwd -6 -salt brinesalt brine).
const hash = `$6$brinesalt$Lx8N0GMs0eW6e7WAAf6ve1OLAYdF7tc1A/QKJfGcEfJUwFUMsYRJoKuJCgRFRMrSYrHdP6eqOIbhZqD.IiHHC.`

func TestUserStatesInContainer(t *testing.T) {
	c := systest.Start(t)
	top := "base:\n  '*':\n    - users\n"
	apply := func(t *testing.T, sls string, args ...string) *systest.Run {
		return c.Apply(t, map[string]string{"top.sls": top, "users.sls": sls}, nil, args...)
	}
	deploy := `
deploy:
  user.present:
    - uid: 2001
    - groups: [www-data]
    - optional_groups: [no-such-group, sudo]
    - home: /srv/deploy
    - shell: /bin/bash
    - fullname: Deploy User
    - password: '` + hash + `'
`

	t.Run("create, test mode first, then nothing to do", func(t *testing.T) {
		before := c.Sh(t, accounts)
		r := apply(t, deploy, "test=True")
		if s := r.Get(t, "deploy", "user.present"); s.Result != nil || s.Comment != "User deploy set to be added" {
			t.Errorf("test mode: %v %q", s.Result, s.Comment)
		}
		if after := c.Sh(t, accounts); after != before {
			t.Error("test mode changed the account databases")
		}
		r = apply(t, deploy)
		s := r.Get(t, "deploy", "user.present")
		want := map[string]any{
			"name": "deploy", "passwd": "x", "uid": float64(2001), "gid": float64(2001),
			"home": "/srv/deploy", "shell": "/bin/bash", "fullname": "Deploy User",
			"roomnumber": "", "workphone": "", "homephone": "", "other": "",
			"groups": []any{"deploy", "sudo", "www-data"}, "password": "XXX-REDACTED-XXX",
		}
		if d := cmp.Diff(want, s.Changes); d != "" || s.Comment != "New user deploy created" {
			t.Errorf("create: comment %q changes (-want +got):\n%s", s.Comment, d)
		}
		c.Sh(t, `test -d /srv/deploy && grep -q '^deploy:\$6\$brinesalt' /etc/shadow`)
		again := apply(t, deploy)
		if s := again.Get(t, "deploy", "user.present"); len(s.Changes) != 0 || s.Comment != "User deploy is present and up to date" {
			t.Errorf("second run: %q %v", s.Comment, s.Changes)
		}
	})

	t.Run("update only what differs", func(t *testing.T) {
		sls := strings.NewReplacer("/bin/bash", "/bin/sh", "no-such-group, sudo", "no-such-group").Replace(deploy)
		r := apply(t, sls, "test=True")
		s := r.Get(t, "deploy", "user.present")
		if s.Result != nil || s.Comment != "The following user attributes are set to be changed:\ngroups: ['www-data']\nshell: /bin/sh\n" {
			t.Errorf("test mode update: %v %q", s.Result, s.Comment)
		}
		r = apply(t, sls)
		s = r.Get(t, "deploy", "user.present")
		want := map[string]any{"shell": "/bin/sh", "groups": []any{"deploy", "www-data"}}
		if d := cmp.Diff(want, s.Changes); d != "" || s.Comment != "Updated user deploy" {
			t.Errorf("update: %q changes (-want +got):\n%s", s.Comment, d)
		}
		// remove_groups: False adds sudo back and keeps www-data, which
		// this list leaves out.
		keep := apply(t, strings.Replace(deploy, "[www-data]", "[]", 1)+"    - remove_groups: False\n")
		if s := keep.Get(t, "deploy", "user.present"); !cmp.Equal(s.Changes, map[string]any{"shell": "/bin/bash", "groups": []any{"deploy", "sudo", "www-data"}}) {
			t.Errorf("remove_groups False: %q %v", s.Comment, s.Changes)
		}
	})

	t.Run("bad input fails alone and changes nothing", func(t *testing.T) {
		before := c.Sh(t, accounts)
		r := apply(t, `
taken:
  user.present:
    - name: brine-taken
    - uid: 2001
uidchange:
  user.present:
    - name: deploy
    - uid: 2002
nogroup:
  user.present:
    - name: brine-nogroup
    - groups: [brine-missing-group]
independent:
  test.succeed_with_changes: []
`)
		if s := r.Get(t, "taken", "user.present"); s.Result == nil || *s.Result || !strings.Contains(s.Comment, "useradd: UID 2001 is not unique") {
			t.Errorf("uid taken: %v %q; want useradd's message", s.Result, s.Comment)
		}
		if s := r.Get(t, "uidchange", "user.present"); s.Result == nil || *s.Result || !strings.Contains(s.Comment, "Changing uid (2001 -> 2002) not permitted") {
			t.Errorf("uid change: %v %q", s.Result, s.Comment)
		}
		if s := r.Get(t, "nogroup", "user.present"); s.Result == nil || *s.Result || s.Comment != "The following group(s) are not present: brine-missing-group" {
			t.Errorf("missing group: %v %q", s.Result, s.Comment)
		}
		if s := r.Get(t, "independent", "test.succeed_with_changes"); s.Result == nil || !*s.Result {
			t.Errorf("independent state: %+v", s)
		}
		if after := c.Sh(t, accounts); after != before {
			t.Errorf("failed states changed the account databases:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})

	t.Run("execution functions", func(t *testing.T) {
		if r := c.Call(t, "user.add", "brine-exec", "uid=2100", "shell=/bin/sh"); r.Value != true {
			t.Errorf("user.add = %v (%s)", r.Value, r.Stderr)
		}
		r := c.Call(t, "user.info", "brine-exec")
		if info, _ := r.Value.(map[string]any); info["uid"] != float64(2100) || info["shell"] != "/bin/sh" {
			t.Errorf("user.info = %v", r.Value)
		}
		if r := c.Call(t, "user.list_users"); !strings.Contains(r.Stdout, `"brine-exec"`) || !strings.Contains(r.Stdout, `"root"`) {
			t.Errorf("user.list_users = %v", r.Value)
		}
		if r := c.Call(t, "user.list_groups", "deploy"); !cmp.Equal(r.Value, []any{"deploy", "sudo", "www-data"}) {
			t.Errorf("user.list_groups = %v", r.Value)
		}
		if r := c.Call(t, "user.add", "brine-exec2", "uid=2100"); r.Code == 0 || !strings.Contains(r.Stderr, "not unique") {
			t.Errorf("user.add with a taken uid: exit %d %s", r.Code, r.Stderr)
		}
		if r := c.Call(t, "user.delete", "brine-exec", "remove=True"); r.Value != true {
			t.Errorf("user.delete = %v (%s)", r.Value, r.Stderr)
		}
		if r := c.Call(t, "user.info", "brine-exec"); !cmp.Equal(r.Value, map[string]any{}) {
			t.Errorf("user.info after delete = %v", r.Value)
		}
	})

	t.Run("absent with purge", func(t *testing.T) {
		r := apply(t, "deploy:\n  user.absent:\n    - purge: True\n")
		s := r.Get(t, "deploy", "user.absent")
		want := map[string]any{"deploy": "removed", "deploy group": "removed"}
		if d := cmp.Diff(want, s.Changes); d != "" || s.Comment != "Removed user deploy" {
			t.Errorf("absent: %q (-want +got):\n%s", s.Comment, d)
		}
		if _, _, code := c.Exec(t, "test", "-e", "/srv/deploy"); code == 0 {
			t.Error("purge left the home directory")
		}
		again := apply(t, "deploy:\n  user.absent: []\n")
		if s := again.Get(t, "deploy", "user.absent"); len(s.Changes) != 0 || s.Comment != "User deploy is not present" {
			t.Errorf("absent again: %q %v", s.Comment, s.Changes)
		}
	})
}
