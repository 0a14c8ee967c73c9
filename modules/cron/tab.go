// Package cron reads and writes users' crontabs in the layout Salt uses,
// so that crontabs Salt managed keep working: lines brine does not manage
// stay above the marker "# Lines below here are managed by Salt, do not
// edit"; below it come environment lines, then jobs, each with an
// optional "# comment SALT_CRON_IDENTIFIER:id" line, disabled jobs
// prefixed "#DISABLED#". It registers cron.list_tab, cron.set_job,
// cron.rm_job and friends; the cron states use the same Tab.
package cron

import (
	"fmt"
	"strings"
)

// Marker separates the lines a person wrote from the managed ones. It is
// Salt's text, kept so that crontabs move between Salt and brine.
const Marker = "# Lines below here are managed by Salt, do not edit"

// IdentifierTag precedes a job's identifier in its comment line.
const IdentifierTag = "SALT_CRON_IDENTIFIER"

// noIdentifier is what Salt writes for jobs that have none.
const noIdentifier = "NO ID SET"

// disabledPrefix marks a commented-out (disabled) managed job.
const disabledPrefix = "#DISABLED#"

// Env is a VAR=value line.
type Env struct {
	Name, Value string
}

// Job is a timed job (five time fields) or, with Special set, an @reboot
// style job.
type Job struct {
	Minute, Hour, DayMonth, Month, DayWeek string
	// Special is "@reboot", "@daily" ...; the time fields are then unused.
	Special string
	Cmd     string
	// Comment and Identifier come from the preceding comment line.
	Comment    string
	Identifier string
	// Commented jobs are written with #DISABLED# in front.
	Commented bool
}

// Tab is a parsed crontab.
type Tab struct {
	// Pre holds the unmanaged lines above the marker, verbatim.
	Pre   []string
	Env   []Env
	Crons []Job
	// Special holds the @-jobs, kept apart as Salt does.
	Special []Job
}

// Parse reads a crontab. Without the marker every line is unmanaged.
func Parse(text string) Tab {
	var t Tab
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if text == "" {
		lines = nil
	}
	managed := false
	var comment, identifier string
	for _, line := range lines {
		if !managed {
			if strings.TrimSpace(line) == Marker {
				managed = true
				continue
			}
			t.Pre = append(t.Pre, line)
			continue
		}
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			continue
		case strings.HasPrefix(trimmed, disabledPrefix):
			if j, ok := parseJob(strings.TrimSpace(strings.TrimPrefix(trimmed, disabledPrefix))); ok {
				j.Comment, j.Identifier, j.Commented = comment, identifier, true
				t.add(j)
			}
			comment, identifier = "", ""
		case strings.HasPrefix(trimmed, "#"):
			body := strings.TrimSpace(strings.TrimPrefix(trimmed, "#"))
			if i := strings.Index(body, IdentifierTag+":"); i >= 0 {
				identifier = strings.TrimSpace(body[i+len(IdentifierTag)+1:])
				body = strings.TrimSpace(body[:i])
			}
			if comment != "" && body != "" {
				comment += "\n" + body
			} else if body != "" {
				comment = body
			}
		case isEnv(trimmed):
			name, value, _ := strings.Cut(trimmed, "=")
			value = strings.TrimSpace(value)
			if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1]
			}
			t.Env = append(t.Env, Env{Name: strings.TrimSpace(name), Value: value})
		default:
			if j, ok := parseJob(trimmed); ok {
				j.Comment, j.Identifier = comment, identifier
				t.add(j)
			}
			comment, identifier = "", ""
		}
	}
	return t
}

func (t *Tab) add(j Job) {
	if j.Special != "" {
		t.Special = append(t.Special, j)
	} else {
		t.Crons = append(t.Crons, j)
	}
}

// isEnv tells VAR=value lines from jobs: the text before '=' is a name.
func isEnv(line string) bool {
	name, _, ok := strings.Cut(line, "=")
	if !ok || name == "" || strings.HasPrefix(line, "@") {
		return false
	}
	name = strings.TrimSpace(name)
	for i, c := range name {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// parseJob reads "m h dom mon dow cmd" or "@special cmd".
func parseJob(line string) (Job, bool) {
	if strings.HasPrefix(line, "@") {
		spec, cmd, ok := strings.Cut(line, " ")
		if !ok || strings.TrimSpace(cmd) == "" {
			return Job{}, false
		}
		return Job{Special: spec, Cmd: strings.TrimSpace(cmd)}, true
	}
	f := strings.Fields(line)
	if len(f) < 6 {
		return Job{}, false
	}
	// The command is everything after the fifth field, spacing kept.
	rest := line
	for i := 0; i < 5; i++ {
		rest = strings.TrimLeft(rest, " \t")
		rest = rest[strings.IndexAny(rest+" ", " \t"):]
	}
	return Job{Minute: f[0], Hour: f[1], DayMonth: f[2], Month: f[3], DayWeek: f[4], Cmd: strings.TrimSpace(rest)}, true
}

// Render writes the crontab back: unmanaged lines, the marker, then the
// managed environment, jobs and @-jobs, in Salt's layout.
func (t Tab) Render() string {
	var b strings.Builder
	for _, l := range t.Pre {
		b.WriteString(l + "\n")
	}
	b.WriteString(Marker + "\n")
	for _, e := range t.Env {
		if e.Value == "" {
			fmt.Fprintf(&b, "%s=\"\"\n", e.Name)
		} else {
			fmt.Fprintf(&b, "%s=%s\n", e.Name, e.Value)
		}
	}
	for _, list := range [][]Job{t.Crons, t.Special} {
		for _, j := range list {
			if j.Comment != "" || j.Identifier != "" {
				c := "#"
				if j.Comment != "" {
					c += " " + strings.ReplaceAll(strings.TrimRight(j.Comment, " \n"), "\n", "\n# ")
				}
				if j.Identifier != "" {
					c += " " + IdentifierTag + ":" + j.Identifier
				}
				b.WriteString(c + "\n")
			}
			if j.Commented {
				b.WriteString(disabledPrefix)
			}
			if j.Special != "" {
				fmt.Fprintf(&b, "%s %s\n", j.Special, j.Cmd)
			} else {
				fmt.Fprintf(&b, "%s %s %s %s %s %s\n", j.Minute, j.Hour, j.DayMonth, j.Month, j.DayWeek, j.Cmd)
			}
		}
	}
	return b.String()
}

// matches is Salt's rule for "is this the job the state means": by
// identifier when either side has one, else by command.
func (j Job) matches(cmd, identifier string) bool {
	switch {
	case j.Identifier != "" && j.Identifier != noIdentifier && identifier != "":
		return j.Identifier == identifier
	case j.Identifier != "" && j.Identifier != noIdentifier:
		return false
	case identifier != "" && j.Cmd != cmd:
		return false
	}
	return j.Cmd == cmd
}

// same reports whether two jobs would be written identically.
func (j Job) same(o Job) bool {
	return j.Minute == o.Minute && j.Hour == o.Hour && j.DayMonth == o.DayMonth && j.Month == o.Month &&
		j.DayWeek == o.DayWeek && j.Special == o.Special && j.Cmd == o.Cmd && j.Comment == o.Comment &&
		j.Identifier == o.Identifier && j.Commented == o.Commented
}

// Find returns the managed job (timed or special) the command/identifier
// pair names, and whether it is special.
func (t Tab) Find(cmd, identifier string) (Job, bool) {
	for _, list := range [][]Job{t.Crons, t.Special} {
		for _, j := range list {
			if j.matches(cmd, identifier) {
				return j, true
			}
		}
	}
	return Job{}, false
}

// Set adds or replaces the job matching want's command/identifier and
// returns Salt's answer: "new", "updated" or "present". A job that moves
// between timed and special is replaced as well.
func (t *Tab) Set(want Job) string {
	status := "new"
	for _, list := range []*[]Job{&t.Crons, &t.Special} {
		for i, j := range *list {
			if !j.matches(want.Cmd, want.Identifier) {
				continue
			}
			if j.same(want) {
				return "present"
			}
			status = "updated"
			*list = append((*list)[:i], (*list)[i+1:]...)
			break
		}
	}
	t.add(want)
	return status
}

// Remove deletes the job matching cmd/identifier: "removed" or "absent".
func (t *Tab) Remove(cmd, identifier string) string {
	for _, list := range []*[]Job{&t.Crons, &t.Special} {
		for i, j := range *list {
			if j.matches(cmd, identifier) {
				*list = append((*list)[:i], (*list)[i+1:]...)
				return "removed"
			}
		}
	}
	return "absent"
}

// SetEnv adds or changes VAR=value: "new", "updated" or "present".
func (t *Tab) SetEnv(name, value string) string {
	for i, e := range t.Env {
		if e.Name == name {
			if e.Value == value {
				return "present"
			}
			t.Env[i].Value = value
			return "updated"
		}
	}
	t.Env = append(t.Env, Env{Name: name, Value: value})
	return "new"
}

// RemoveEnv deletes VAR: "removed" or "absent".
func (t *Tab) RemoveEnv(name string) string {
	for i, e := range t.Env {
		if e.Name == name {
			t.Env = append(t.Env[:i], t.Env[i+1:]...)
			return "removed"
		}
	}
	return "absent"
}

// Map is Salt's cron.list_tab answer.
func (t Tab) Map() map[string]any {
	pre := make([]any, len(t.Pre))
	for i, l := range t.Pre {
		pre[i] = l
	}
	env := make([]any, len(t.Env))
	for i, e := range t.Env {
		env[i] = map[string]any{"name": e.Name, "value": e.Value}
	}
	orNil := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	crons := make([]any, len(t.Crons))
	for i, j := range t.Crons {
		crons[i] = map[string]any{"minute": j.Minute, "hour": j.Hour, "daymonth": j.DayMonth, "month": j.Month,
			"dayweek": j.DayWeek, "cmd": j.Cmd, "comment": orNil(j.Comment), "identifier": orNil(j.Identifier), "commented": j.Commented}
	}
	special := make([]any, len(t.Special))
	for i, j := range t.Special {
		special[i] = map[string]any{"spec": j.Special, "cmd": j.Cmd, "comment": orNil(j.Comment),
			"identifier": orNil(j.Identifier), "commented": j.Commented}
	}
	return map[string]any{"pre": pre, "env": env, "crons": crons, "special": special}
}
