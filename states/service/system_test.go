package service_test

import (
	"strings"
	"testing"

	"github.com/brine-cm/brine/internal/systest"
	"github.com/google/go-cmp/cmp"
)

// sleeper is a sysvinit script for a daemon that only sleeps; reload
// appends to a file so the test can see it happened.
const sleeper = `#!/bin/sh
### BEGIN INIT INFO
# Provides:          brine-sleeper
# Required-Start:    $remote_fs
# Required-Stop:     $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: brine test daemon
### END INIT INFO
PIDFILE=/run/brine-sleeper.pid
case "$1" in
  start) start-stop-daemon --start --quiet --oknodo --background --make-pidfile --pidfile $PIDFILE --exec /bin/sleep -- 100000 ;;
  stop) start-stop-daemon --stop --quiet --oknodo --pidfile $PIDFILE --remove-pidfile ;;
  restart) "$0" stop && "$0" start ;;
  reload) echo reloaded >> /run/brine-sleeper.reloads ;;
  status) start-stop-daemon --status --pidfile $PIDFILE ;;
  *) echo "Usage: $0 {start|stop|restart|reload|status}" >&2; exit 3 ;;
esac
`

// TestServiceStatesInContainer drives a sysvinit service (systemd is not
// PID 1 in a container: this is brine's `service`/update-rc.d fallback).
func TestServiceStatesInContainer(t *testing.T) {
	c := systest.Start(t)
	c.WriteFile(t, "/etc/init.d/brine-sleeper", sleeper)
	c.Sh(t, "chmod 755 /etc/init.d/brine-sleeper")
	top := "base:\n  '*':\n    - svc\n"
	pid := func(t *testing.T) string { return strings.TrimSpace(c.Sh(t, "cat /run/brine-sleeper.pid")) }

	t.Run("running and enabled, missing service fails alone", func(t *testing.T) {
		sls := `
sleeper:
  service.running:
    - name: brine-sleeper
    - enable: True
missing:
  service.running:
    - name: brine-nosuch
independent:
  test.succeed_with_changes: []
`
		test := c.Apply(t, map[string]string{"top.sls": top, "svc.sls": sls}, nil, "test=True")
		if s := test.Get(t, "sleeper", "service.running"); s.Result != nil || s.Comment != "Service brine-sleeper is set to start\nService brine-sleeper set to be enabled" {
			t.Errorf("test mode: %v %q", s.Result, s.Comment)
		}
		if out, _, code := c.Exec(t, "service", "brine-sleeper", "status"); code == 0 {
			t.Errorf("test mode started the service: %s", out)
		}
		r := c.Apply(t, map[string]string{"top.sls": top, "svc.sls": sls}, nil)
		s := r.Get(t, "sleeper", "service.running")
		if want := "Started service brine-sleeper\nService brine-sleeper has been enabled, and is running"; s.Comment != want || !cmp.Equal(s.Changes, map[string]any{"brine-sleeper": true}) {
			t.Errorf("first run: comment %q changes %v", s.Comment, s.Changes)
		}
		m := r.Get(t, "missing", "service.running")
		if m.Result == nil || *m.Result || m.Comment != "The named service brine-nosuch is not available" {
			t.Errorf("missing: %v %q", m.Result, m.Comment)
		}
		if ind := r.Get(t, "independent", "test.succeed_with_changes"); ind.Result == nil || !*ind.Result {
			t.Errorf("independent state did not succeed: %+v", ind)
		}
		if r.Code != 2 {
			t.Errorf("exit code %d, want 2", r.Code)
		}
		c.Sh(t, "service brine-sleeper status && ls /etc/rc2.d/S*brine-sleeper")
		again := c.Apply(t, map[string]string{"top.sls": top, "svc.sls": sls}, nil)
		s = again.Get(t, "sleeper", "service.running")
		if want := "The service brine-sleeper is already running\nService brine-sleeper is already enabled, and is running"; s.Comment != want || len(s.Changes) != 0 {
			t.Errorf("second run: comment %q changes %v", s.Comment, s.Changes)
		}
	})

	t.Run("watch restarts, reload reloads", func(t *testing.T) {
		sls := func(content string, reload bool) map[string]string {
			return map[string]string{"top.sls": top, "svc.sls": `
/etc/brine-sleeper.conf:
  file.managed:
    - contents: ` + content + `
brine-sleeper:
  service.running:
    - reload: ` + map[bool]string{true: "True", false: "False"}[reload] + `
    - watch:
      - file: /etc/brine-sleeper.conf
`}
		}
		c.Apply(t, sls("one", false), nil)
		before := pid(t)
		r := c.Apply(t, sls("two", false), nil)
		s := r.Get(t, "brine-sleeper", "service.running")
		if s.Comment != "Service restarted" || !cmp.Equal(s.Changes, map[string]any{"brine-sleeper": true}) {
			t.Errorf("watch: comment %q changes %v", s.Comment, s.Changes)
		}
		if after := pid(t); after == before {
			t.Errorf("pid %s unchanged: the service was not restarted", after)
		}
		quiet := c.Apply(t, sls("two", false), nil)
		if s := quiet.Get(t, "brine-sleeper", "service.running"); len(s.Changes) != 0 {
			t.Errorf("unchanged config still fired the watch: %q", s.Comment)
		}
		test := c.Apply(t, sls("three", true), nil, "test=True")
		if s := test.Get(t, "brine-sleeper", "service.running"); s.Result != nil || s.Comment != "Service is set to be reloaded" {
			t.Errorf("watch in test mode: %v %q", s.Result, s.Comment)
		}
		before = pid(t)
		r = c.Apply(t, sls("three", true), nil)
		if s := r.Get(t, "brine-sleeper", "service.running"); s.Comment != "Service reloaded" {
			t.Errorf("reload: comment %q", s.Comment)
		}
		if after := pid(t); after != before {
			t.Errorf("reload restarted the service (pid %s -> %s)", before, after)
		}
		c.Sh(t, "grep -q reloaded /run/brine-sleeper.reloads")
	})

	t.Run("dead and disabled, enabled and disabled", func(t *testing.T) {
		r := c.Apply(t, map[string]string{"top.sls": top, "svc.sls": "brine-sleeper:\n  service.dead:\n    - enable: False\nbrine-nosuch:\n  service.dead: []\n"}, nil)
		s := r.Get(t, "brine-sleeper", "service.dead")
		if want := "Service brine-sleeper was killed\nService brine-sleeper has been disabled, and is dead"; s.Comment != want || !cmp.Equal(s.Changes, map[string]any{"brine-sleeper": true}) {
			t.Errorf("dead: %q %v", s.Comment, s.Changes)
		}
		if m := r.Get(t, "brine-nosuch", "service.dead"); m.Result == nil || !*m.Result {
			t.Errorf("dead on a missing service: %v %q; Salt counts it as dead", m.Result, m.Comment)
		}
		if out, _, code := c.Exec(t, "sh", "-c", "ls /etc/rc2.d/ | grep brine-sleeper"); code != 0 || !strings.HasPrefix(strings.TrimSpace(out), "K") {
			t.Errorf("rc2.d links after disable: %q", out)
		}
		en := c.Apply(t, map[string]string{"top.sls": top, "svc.sls": "brine-sleeper:\n  service.enabled: []\n"}, nil)
		if s := en.Get(t, "brine-sleeper", "service.enabled"); s.Comment != "Service brine-sleeper has been enabled, and is dead" || len(s.Changes) != 1 {
			t.Errorf("enabled: %q %v", s.Comment, s.Changes)
		}
		dis := c.Apply(t, map[string]string{"top.sls": top, "svc.sls": "brine-sleeper:\n  service.disabled: []\n"}, nil)
		if s := dis.Get(t, "brine-sleeper", "service.disabled"); s.Comment != "Service brine-sleeper has been disabled, and is dead" {
			t.Errorf("disabled: %q %v", s.Comment, s.Changes)
		}
		dis = c.Apply(t, map[string]string{"top.sls": top, "svc.sls": "brine-sleeper:\n  service.disabled: []\n"}, nil)
		if s := dis.Get(t, "brine-sleeper", "service.disabled"); s.Comment != "Service brine-sleeper is already disabled, and is dead" || len(s.Changes) != 0 {
			t.Errorf("disabled again: %q %v", s.Comment, s.Changes)
		}
	})

	t.Run("execution functions", func(t *testing.T) {
		check := func(want any, args ...string) {
			t.Helper()
			r := c.Call(t, args...)
			if !cmp.Equal(r.Value, want) {
				t.Errorf("%v = %v (exit %d, %s), want %v", args, r.Value, r.Code, r.Stderr, want)
			}
		}
		check(false, "service.status", "brine-sleeper")
		check(true, "service.start", "brine-sleeper")
		check(true, "service.status", "brine-sleeper")
		check(true, "service.status", "brine-sleeper", "sig=sleep 100000")
		check(true, "service.available", "brine-sleeper")
		check(false, "service.available", "brine-nosuch")
		check(true, "service.missing", "brine-nosuch")
		check(false, "service.enabled", "brine-sleeper")
		check(true, "service.enable", "brine-sleeper")
		check(true, "service.enabled", "brine-sleeper")
		check(true, "service.restart", "brine-sleeper")
		check(true, "service.stop", "brine-sleeper")
		check(false, "service.status", "brine-sleeper")
		if r := c.Call(t, "service.get_all"); !strings.Contains(r.Stdout, `"brine-sleeper"`) || !strings.Contains(r.Stdout, `"cron"`) {
			t.Errorf("service.get_all = %v", r.Value)
		}
		if r := c.Call(t, "service.start", "brine-nosuch"); r.Code == 0 || !strings.Contains(r.Stderr, "brine-nosuch") {
			t.Errorf("service.start of a missing service: exit %d %s", r.Code, r.Stderr)
		}
	})
}
