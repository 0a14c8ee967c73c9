package cron

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// saltTab is a crontab as Salt 3007 writes it, with a hand-written part.
const saltTab = `# m h  dom mon dow   command
MAILTO=ops@example.com
15 * * * * /usr/bin/hand-made
# Lines below here are managed by Salt, do not edit
SHELL=/bin/bash
EMPTY=""
# SALT_CRON_IDENTIFIER:/usr/local/bin/backup.sh
30 2 * * * /usr/local/bin/backup.sh
# nightly report SALT_CRON_IDENTIFIER:report
0 6 * * 1-5 /usr/local/bin/report  --all   > /dev/null 2>&1
# SALT_CRON_IDENTIFIER:old
#DISABLED#*/5 * * * * /usr/bin/old-job
/usr/bin/no-identifier-line
0 0 * * * /usr/bin/legacy
# SALT_CRON_IDENTIFIER:warm
@reboot /usr/local/bin/warm-cache
`

func TestParse(t *testing.T) {
	got := Parse(saltTab)
	want := Tab{
		Pre: []string{"# m h  dom mon dow   command", "MAILTO=ops@example.com", "15 * * * * /usr/bin/hand-made"},
		Env: []Env{{"SHELL", "/bin/bash"}, {"EMPTY", ""}},
		Crons: []Job{
			{Minute: "30", Hour: "2", DayMonth: "*", Month: "*", DayWeek: "*", Cmd: "/usr/local/bin/backup.sh", Identifier: "/usr/local/bin/backup.sh"},
			{Minute: "0", Hour: "6", DayMonth: "*", Month: "*", DayWeek: "1-5", Cmd: "/usr/local/bin/report  --all   > /dev/null 2>&1", Comment: "nightly report", Identifier: "report"},
			{Minute: "*/5", Hour: "*", DayMonth: "*", Month: "*", DayWeek: "*", Cmd: "/usr/bin/old-job", Identifier: "old", Commented: true},
			{Minute: "0", Hour: "0", DayMonth: "*", Month: "*", DayWeek: "*", Cmd: "/usr/bin/legacy"},
		},
		Special: []Job{{Special: "@reboot", Cmd: "/usr/local/bin/warm-cache", Identifier: "warm"}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Parse (-want +got):\n%s", d)
	}
	// Rendering and parsing again is stable (the malformed line is gone).
	again := Parse(got.Render())
	if d := cmp.Diff(got, again); d != "" {
		t.Errorf("Parse(Render()) (-first +second):\n%s", d)
	}
	if !strings.HasPrefix(got.Render(), "# m h  dom mon dow   command\nMAILTO=ops@example.com\n15 * * * * /usr/bin/hand-made\n"+Marker+"\n") {
		t.Errorf("Render did not keep the unmanaged lines first:\n%s", got.Render())
	}
}

func TestParseWithoutMarkerKeepsEverything(t *testing.T) {
	text := "0 1 * * * /bin/true\n@daily /bin/false\n"
	got := Parse(text)
	if len(got.Crons) != 0 || len(got.Special) != 0 || len(got.Pre) != 2 {
		t.Fatalf("Parse = %+v, want two unmanaged lines", got)
	}
	got.Set(Job{Minute: "5", Hour: "*", DayMonth: "*", Month: "*", DayWeek: "*", Cmd: "/bin/new", Identifier: "/bin/new"})
	want := "0 1 * * * /bin/true\n@daily /bin/false\n" + Marker + "\n# SALT_CRON_IDENTIFIER:/bin/new\n5 * * * * /bin/new\n"
	if d := cmp.Diff(want, got.Render()); d != "" {
		t.Errorf("Render (-want +got):\n%s", d)
	}
	if empty := Parse(""); empty.Render() != Marker+"\n" {
		t.Errorf("empty crontab renders %q", empty.Render())
	}
}

func TestSetRemove(t *testing.T) {
	job := func(min, cmd, id string) Job {
		return Job{Minute: min, Hour: "*", DayMonth: "*", Month: "*", DayWeek: "*", Cmd: cmd, Identifier: id}
	}
	tests := []struct {
		name     string
		want     Job
		status   string
		crons    int
		specials int
	}{
		{name: "same job", want: Job{Minute: "30", Hour: "2", DayMonth: "*", Month: "*", DayWeek: "*", Cmd: "/usr/local/bin/backup.sh", Identifier: "/usr/local/bin/backup.sh"}, status: "present", crons: 4},
		{name: "new time", want: Job{Minute: "45", Hour: "2", DayMonth: "*", Month: "*", DayWeek: "*", Cmd: "/usr/local/bin/backup.sh", Identifier: "/usr/local/bin/backup.sh"}, status: "updated", crons: 4},
		{name: "identifier finds a changed command", want: job("0", "/usr/local/bin/report-v2", "report"), status: "updated", crons: 4},
		{name: "new identifier is a new job", want: job("0", "/usr/local/bin/report", "report-copy"), status: "new", crons: 5},
		{name: "legacy line gains an identifier", want: Job{Minute: "0", Hour: "0", DayMonth: "*", Month: "*", DayWeek: "*", Cmd: "/usr/bin/legacy", Identifier: "/usr/bin/legacy"}, status: "updated", crons: 4},
		{name: "timed job becomes @reboot", want: Job{Special: "@reboot", Cmd: "/usr/local/bin/backup.sh", Identifier: "/usr/local/bin/backup.sh"}, status: "updated", crons: 3, specials: 2},
		{name: "enable a disabled job", want: Job{Minute: "*/5", Hour: "*", DayMonth: "*", Month: "*", DayWeek: "*", Cmd: "/usr/bin/old-job", Identifier: "old"}, status: "updated", crons: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab := Parse(saltTab)
			if got := tab.Set(tc.want); got != tc.status {
				t.Errorf("Set = %q, want %q", got, tc.status)
			}
			if len(tab.Crons) != tc.crons {
				t.Errorf("%d timed jobs, want %d", len(tab.Crons), tc.crons)
			}
			if tc.specials > 0 && len(tab.Special) != tc.specials {
				t.Errorf("%d special jobs, want %d", len(tab.Special), tc.specials)
			}
			if tab.Set(tc.want) != "present" {
				t.Error("setting the same job twice is not idempotent")
			}
			if j, ok := tab.Find(tc.want.Cmd, tc.want.Identifier); !ok || !j.same(tc.want) {
				t.Errorf("Find after Set = %+v, %v", j, ok)
			}
		})
	}
	tab := Parse(saltTab)
	if got := tab.Remove("/usr/local/bin/report-renamed", "report"); got != "removed" {
		t.Errorf("Remove by identifier = %q", got)
	}
	if got := tab.Remove("/usr/local/bin/warm-cache", "warm"); got != "removed" || len(tab.Special) != 0 {
		t.Errorf("Remove special = %q, %d left", got, len(tab.Special))
	}
	if got := tab.Remove("/usr/local/bin/backup.sh", "other-id"); got != "absent" {
		t.Errorf("Remove with another identifier = %q, want absent", got)
	}
	if got := tab.Remove("/usr/bin/hand-made", "/usr/bin/hand-made"); got != "absent" {
		t.Errorf("Remove of an unmanaged line = %q, want absent (never touch hand-made lines)", got)
	}
}

func TestEnv(t *testing.T) {
	tab := Parse(saltTab)
	for _, tc := range []struct{ name, value, want string }{
		{"SHELL", "/bin/bash", "present"},
		{"SHELL", "/bin/sh", "updated"},
		{"MAILTO", "root", "new"},
	} {
		if got := tab.SetEnv(tc.name, tc.value); got != tc.want {
			t.Errorf("SetEnv(%s=%s) = %q, want %q", tc.name, tc.value, got, tc.want)
		}
	}
	if got := tab.RemoveEnv("EMPTY"); got != "removed" {
		t.Errorf("RemoveEnv = %q", got)
	}
	if got := tab.RemoveEnv("EMPTY"); got != "absent" {
		t.Errorf("RemoveEnv twice = %q", got)
	}
	if !strings.Contains(tab.Render(), Marker+"\nSHELL=/bin/sh\nMAILTO=root\n") {
		t.Errorf("Render:\n%s", tab.Render())
	}
}

func TestCommentsRender(t *testing.T) {
	tab := Tab{Crons: []Job{{Minute: "1", Hour: "2", DayMonth: "3", Month: "4", DayWeek: "5", Cmd: "x", Comment: "line one\nline two", Commented: true}}}
	want := Marker + "\n# line one\n# line two\n#DISABLED#1 2 3 4 5 x\n"
	if d := cmp.Diff(want, tab.Render()); d != "" {
		t.Errorf("Render (-want +got):\n%s", d)
	}
	back := Parse(tab.Render())
	if back.Crons[0].Comment != "line one\nline two" || !back.Crons[0].Commented {
		t.Errorf("round trip = %+v", back.Crons[0])
	}
}

func TestJobArgsRandomIsStable(t *testing.T) {
	r := "random"
	a := JobArgs{Minute: &r}
	first := a.Job("/bin/x", nil)
	if first.Minute == "random" || first.Hour != "*" {
		t.Fatalf("random minute = %q, hour %q", first.Minute, first.Hour)
	}
	if again := a.Job("/bin/x", &first); again.Minute != first.Minute {
		t.Errorf("random minute moved from %s to %s", first.Minute, again.Minute)
	}
}

func TestMapShape(t *testing.T) {
	m := Parse(saltTab).Map()
	crons := m["crons"].([]any)
	first := crons[0].(map[string]any)
	want := map[string]any{"minute": "30", "hour": "2", "daymonth": "*", "month": "*", "dayweek": "*",
		"cmd": "/usr/local/bin/backup.sh", "comment": nil, "identifier": "/usr/local/bin/backup.sh", "commented": false}
	if d := cmp.Diff(want, first); d != "" {
		t.Errorf("list_tab cron entry (-want +got):\n%s", d)
	}
	if sp := m["special"].([]any)[0].(map[string]any); sp["spec"] != "@reboot" {
		t.Errorf("special entry = %v", sp)
	}
}
