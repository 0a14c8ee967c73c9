package cron_test

import (
	"strings"
	"testing"

	"github.com/brine-cm/brine/internal/systest"
	"github.com/google/go-cmp/cmp"
)

func TestCronStatesInContainer(t *testing.T) {
	c := systest.Start(t)
	c.Sh(t, "useradd -m deploy && printf '# hand-made\\n15 * * * * /usr/bin/hand-made\\n' | crontab -u deploy -")
	top := "base:\n  '*':\n    - cron\n"
	sls := `
/usr/local/bin/backup.sh:
  cron.present:
    - user: deploy
    - minute: 30
    - hour: 2
warm:
  cron.present:
    - name: /usr/local/bin/warm-cache
    - user: deploy
    - special: '@reboot'
    - comment: fill the cache
MAILTO:
  cron.env_present:
    - value: ops@example.com
    - user: deploy
nosuchuser:
  cron.present:
    - name: /bin/true
    - user: brine-no-such-user
independent:
  test.succeed_with_changes: []
`
	apply := func(t *testing.T, sls string, args ...string) *systest.Run {
		return c.Apply(t, map[string]string{"top.sls": top, "cron.sls": sls}, nil, args...)
	}
	before := c.Sh(t, "crontab -l -u deploy")

	test := apply(t, sls, "test=True")
	if s := test.Get(t, "/usr/local/bin/backup.sh", "cron.present"); s.Result != nil || s.Comment != "Cron /usr/local/bin/backup.sh is set to be added" {
		t.Errorf("test mode: %v %q", s.Result, s.Comment)
	}
	if after := c.Sh(t, "crontab -l -u deploy"); after != before {
		t.Errorf("test mode changed the crontab:\n%s", after)
	}

	r := apply(t, sls)
	if s := r.Get(t, "/usr/local/bin/backup.sh", "cron.present"); s.Comment != "Cron /usr/local/bin/backup.sh added to deploy's crontab" ||
		!cmp.Equal(s.Changes, map[string]any{"deploy": "/usr/local/bin/backup.sh"}) {
		t.Errorf("present: %q %v", s.Comment, s.Changes)
	}
	if s := r.Get(t, "MAILTO", "cron.env_present"); s.Comment != "Cron env MAILTO added to deploy's crontab" {
		t.Errorf("env_present: %q", s.Comment)
	}
	if s := r.Get(t, "nosuchuser", "cron.present"); s.Result == nil || *s.Result || !strings.Contains(s.Comment, "brine-no-such-user") {
		t.Errorf("unknown user: %v %q; want crontab's message", s.Result, s.Comment)
	}
	if s := r.Get(t, "independent", "test.succeed_with_changes"); s.Result == nil || !*s.Result {
		t.Errorf("independent state: %+v", s)
	}
	want := `# hand-made
15 * * * * /usr/bin/hand-made
# Lines below here are managed by Salt, do not edit
MAILTO=ops@example.com
# SALT_CRON_IDENTIFIER:/usr/local/bin/backup.sh
30 2 * * * /usr/local/bin/backup.sh
# fill the cache SALT_CRON_IDENTIFIER:/usr/local/bin/warm-cache
@reboot /usr/local/bin/warm-cache
`
	if got := c.Sh(t, "crontab -l -u deploy"); got != want {
		t.Errorf("crontab (-want +got):\n%s", cmp.Diff(want, got))
	}

	again := apply(t, sls)
	for _, id := range []string{"/usr/local/bin/backup.sh", "warm"} {
		if s := again.Get(t, id, "cron.present"); len(s.Changes) != 0 || !strings.HasSuffix(s.Comment, "already present") {
			t.Errorf("second run %s: %q %v", id, s.Comment, s.Changes)
		}
	}

	moved := apply(t, strings.Replace(sls, "hour: 2", "hour: 3", 1))
	if s := moved.Get(t, "/usr/local/bin/backup.sh", "cron.present"); s.Comment != "Cron /usr/local/bin/backup.sh updated" {
		t.Errorf("update: %q", s.Comment)
	}
	gone := apply(t, "/usr/local/bin/backup.sh:\n  cron.absent:\n    - user: deploy\nMAILTO:\n  cron.env_absent:\n    - user: deploy\n")
	if s := gone.Get(t, "/usr/local/bin/backup.sh", "cron.absent"); s.Comment != "Cron /usr/local/bin/backup.sh removed from deploy's crontab" {
		t.Errorf("absent: %q", s.Comment)
	}
	if got := c.Sh(t, "crontab -l -u deploy"); strings.Contains(got, "backup.sh") || strings.Contains(got, "MAILTO") || !strings.Contains(got, "hand-made") {
		t.Errorf("crontab after absent:\n%s", got)
	}

	if r := c.Call(t, "cron.set_job", "root", "0", "4", "*", "*", "*", "/usr/bin/nightly"); r.Value != "new" {
		t.Errorf("cron.set_job = %v (%s)", r.Value, r.Stderr)
	}
	if r := c.Call(t, "cron.set_job", "root", "0", "4", "*", "*", "*", "/usr/bin/nightly"); r.Value != "present" {
		t.Errorf("cron.set_job again = %v", r.Value)
	}
	r = c.Call(t, "cron.list_tab", "root")
	crons, _ := r.Value.(map[string]any)["crons"].([]any)
	if len(crons) != 1 || crons[0].(map[string]any)["cmd"] != "/usr/bin/nightly" {
		t.Errorf("cron.list_tab = %v", r.Value)
	}
	if r := c.Call(t, "cron.rm_job", "root", "/usr/bin/nightly"); r.Value != "removed" {
		t.Errorf("cron.rm_job = %v", r.Value)
	}
}
