// Package cron provides the cron states: cron.present, cron.absent,
// cron.env_present and cron.env_absent, editing users' crontabs in Salt's
// layout (a marker line, "# SALT_CRON_IDENTIFIER:id" comments), so
// crontabs Salt managed keep working. The crontab reading, matching and
// writing is modules/cron's, shared with cron.* execution functions.
package cron

import (
	"context"
	"fmt"

	"github.com/brine-cm/brine/api"
	cronmod "github.com/brine-cm/brine/modules/cron"
	"github.com/brine-cm/brine/states"
)

type presentArgs struct {
	User string
	cronmod.JobArgs
}

type absentArgs struct {
	User       string
	Identifier string
	Special    string
}

type envArgs struct {
	User  string
	Value string
}

type envAbsentArgs struct {
	User string
}

func init() {
	states.Register(states.Def[presentArgs]{
		Name: "cron.present",
		Doc: `Make sure a job (the state's name is the command) is in a user's crontab.

    /usr/local/bin/backup.sh:
      cron.present:
        - user: root
        - minute: 30
        - hour: 2
    /usr/local/bin/warm-cache:
      cron.present:
        - special: '@reboot'

Arguments: user (default root), minute, hour, daymonth, month, dayweek
(default "*"; "random" picks a value once and keeps it), special
(@reboot, @daily ...), comment, commented (write it disabled), identifier
(default: the name; the job is found by it, so the command can change).
Changes: {user: name}.`,
		Apply: present,
	})
	states.Register(states.Def[absentArgs]{
		Name:  "cron.absent",
		Doc:   `Make sure a job is not in a user's crontab. Arguments: user, identifier, special.`,
		Apply: absent,
	})
	states.Register(states.Def[envArgs]{
		Name:  "cron.env_present",
		Doc:   `Make sure NAME=value is set in a user's crontab. Arguments: value, user.`,
		Apply: envPresent,
	})
	states.Register(states.Def[envAbsentArgs]{
		Name:  "cron.env_absent",
		Doc:   `Make sure NAME is not set in a user's crontab. Arguments: user.`,
		Apply: envAbsent,
	})
}

func userOf(u string) string {
	if u == "" {
		return "root"
	}
	return u
}

func present(ctx context.Context, req *states.Request, a *presentArgs) api.Result {
	name, user := req.Name, userOf(a.User)
	if err := cronmod.Check(req.Env); err != nil {
		return api.Failed(err.Error())
	}
	if a.Identifier == "" {
		a.Identifier = name
	}
	t, err := cronmod.Read(ctx, user)
	if err != nil {
		return api.Failed(err.Error())
	}
	var current *cronmod.Job
	if j, ok := t.Find(name, a.Identifier); ok {
		current = &j
	}
	status := t.Set(a.JobArgs.Job(name, current))
	return commit(ctx, req.Test, "Cron", name, user, t, status)
}

func absent(ctx context.Context, req *states.Request, a *absentArgs) api.Result {
	name, user := req.Name, userOf(a.User)
	if err := cronmod.Check(req.Env); err != nil {
		return api.Failed(err.Error())
	}
	if a.Identifier == "" {
		a.Identifier = name
	}
	t, err := cronmod.Read(ctx, user)
	if err != nil {
		return api.Failed(err.Error())
	}
	if t.Remove(name, a.Identifier) == "absent" {
		return api.Succeeded(fmt.Sprintf("Cron %s does not exist", name), nil)
	}
	if req.Test {
		return api.Pending(fmt.Sprintf("Cron %s is set to be removed", name), map[string]any{user: name})
	}
	if err := cronmod.Write(ctx, user, t); err != nil {
		return api.Failed(fmt.Sprintf("Cron %s for user %s failed to commit with error %v", name, user, err))
	}
	return api.Succeeded(fmt.Sprintf("Cron %s removed from %s's crontab", name, user), map[string]any{user: name})
}

func envPresent(ctx context.Context, req *states.Request, a *envArgs) api.Result {
	name, user := req.Name, userOf(a.User)
	if err := cronmod.Check(req.Env); err != nil {
		return api.Failed(err.Error())
	}
	t, err := cronmod.Read(ctx, user)
	if err != nil {
		return api.Failed(err.Error())
	}
	status := t.SetEnv(name, a.Value)
	return commit(ctx, req.Test, "Cron env", name, user, t, status)
}

func envAbsent(ctx context.Context, req *states.Request, a *envAbsentArgs) api.Result {
	name, user := req.Name, userOf(a.User)
	if err := cronmod.Check(req.Env); err != nil {
		return api.Failed(err.Error())
	}
	t, err := cronmod.Read(ctx, user)
	if err != nil {
		return api.Failed(err.Error())
	}
	if t.RemoveEnv(name) == "absent" {
		return api.Succeeded(fmt.Sprintf("Cron env %s does not exist", name), nil)
	}
	if req.Test {
		return api.Pending(fmt.Sprintf("Cron env %s is set to be removed", name), map[string]any{user: name})
	}
	if err := cronmod.Write(ctx, user, t); err != nil {
		return api.Failed(fmt.Sprintf("Cron env %s for user %s failed to commit with error %v", name, user, err))
	}
	return api.Succeeded(fmt.Sprintf("Cron env %s removed from %s's crontab", name, user), map[string]any{user: name})
}

// commit answers for a crontab entry after Set or SetEnv reported its
// status ("present", "new" or "updated"), writing the crontab unless in test
// mode; what is "Cron" or "Cron env", as Salt words its comments.
func commit(ctx context.Context, test bool, what, name, user string, t cronmod.Tab, status string) api.Result {
	switch {
	case status == "present":
		return api.Succeeded(fmt.Sprintf("%s %s already present", what, name), nil)
	case test && status == "new":
		return api.Pending(fmt.Sprintf("%s %s is set to be added", what, name), map[string]any{user: name})
	case test:
		return api.Pending(fmt.Sprintf("%s %s is set to be updated", what, name), map[string]any{user: name})
	}
	if err := cronmod.Write(ctx, user, t); err != nil {
		return api.Failed(fmt.Sprintf("%s %s for user %s failed to commit with error \n%v", what, name, user, err))
	}
	if status == "new" {
		return api.Succeeded(fmt.Sprintf("%s %s added to %s's crontab", what, name, user), map[string]any{user: name})
	}
	return api.Succeeded(fmt.Sprintf("%s %s updated", what, name), map[string]any{user: name})
}
