package service_test

import (
	"strings"
	"testing"

	"github.com/brine-cm/brine/internal/systest"
	"github.com/google/go-cmp/cmp"
)

// TestServiceStatesUnderSystemd drives a unit through systemctl in a
// container where systemd is PID 1, including a daemon-reload when the
// watched unit file changed.
func TestServiceStatesUnderSystemd(t *testing.T) {
	c := systest.StartSystemd(t)
	top := "base:\n  '*':\n    - svc\n"
	unit := func(greeting string) map[string]string {
		return map[string]string{"top.sls": top, "svc.sls": `
/etc/systemd/system/brine-sleeper.service:
  file.managed:
    - contents: |
        [Unit]
        Description=brine test daemon
        [Service]
        Environment=GREETING=` + greeting + `
        ExecStart=/bin/sleep 100000
        ExecReload=/bin/sh -c 'echo reloaded >> /run/brine-sleeper.reloads'
        [Install]
        WantedBy=multi-user.target
brine-sleeper:
  service.running:
    - enable: True
    - watch:
      - file: /etc/systemd/system/brine-sleeper.service
missing:
  service.running:
    - name: brine-nosuch
`}
	}
	r := c.Apply(t, unit("one"), nil)
	s := r.Get(t, "brine-sleeper", "service.running")
	if want := "Started service brine-sleeper\nService brine-sleeper has been enabled, and is running"; s.Comment != want || !cmp.Equal(s.Changes, map[string]any{"brine-sleeper": true}) {
		t.Errorf("first run: %q %v", s.Comment, s.Changes)
	}
	if m := r.Get(t, "missing", "service.running"); m.Result == nil || *m.Result || m.Comment != "The named service brine-nosuch is not available" {
		t.Errorf("missing: %v %q", m.Result, m.Comment)
	}
	c.Sh(t, "systemctl is-active brine-sleeper && systemctl is-enabled brine-sleeper")

	again := c.Apply(t, unit("one"), nil)
	if s := again.Get(t, "brine-sleeper", "service.running"); len(s.Changes) != 0 {
		t.Errorf("second run: %q %v", s.Comment, s.Changes)
	}

	pid := c.Sh(t, "systemctl show -p MainPID --value brine-sleeper")
	changed := c.Apply(t, unit("two"), nil)
	if s := changed.Get(t, "brine-sleeper", "service.running"); s.Comment != "Service restarted" {
		t.Errorf("watch: %q", s.Comment)
	}
	if got := c.Sh(t, "systemctl show -p MainPID --value brine-sleeper"); got == pid {
		t.Errorf("MainPID %s unchanged: not restarted", strings.TrimSpace(got))
	}
	if env := c.Sh(t, "systemctl show -p Environment --value brine-sleeper"); strings.TrimSpace(env) != "GREETING=two" {
		t.Errorf("Environment = %q: the changed unit file was not reloaded", env)
	}

	dead := c.Apply(t, map[string]string{"top.sls": top, "svc.sls": "brine-sleeper:\n  service.dead:\n    - enable: False\n"}, nil)
	if s := dead.Get(t, "brine-sleeper", "service.dead"); s.Comment != "Service brine-sleeper was killed\nService brine-sleeper has been disabled, and is dead" {
		t.Errorf("dead: %q", s.Comment)
	}
	for _, step := range []struct {
		args string
		want any
	}{
		{"service.status brine-sleeper", false},
		{"service.enabled brine-sleeper", false},
		{"service.available brine-sleeper", true},
		{"service.available brine-nosuch", false},
		{"service.start brine-sleeper", true},
		{"service.status brine-sleeper", true},
		{"service.status cron", true},
	} {
		if got := c.Call(t, strings.Fields(step.args)...).Value; got != step.want {
			t.Errorf("%s = %v, want %v", step.args, got, step.want)
		}
	}
	if r := c.Call(t, "service.get_all"); !strings.Contains(r.Stdout, `"brine-sleeper"`) || !strings.Contains(r.Stdout, `"cron"`) {
		t.Errorf("service.get_all = %v", r.Value)
	}
	if r := c.Call(t, "service.start", "brine-nosuch"); r.Code == 0 || !strings.Contains(r.Stderr, "brine-nosuch.service not found") {
		t.Errorf("service.start of a missing unit: exit %d %s", r.Code, r.Stderr)
	}
}
