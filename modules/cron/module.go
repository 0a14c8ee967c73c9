package cron

import (
	"context"
	"math/rand/v2"
	"strconv"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
)

type userArg struct {
	User string
}

// JobArgs are a job's fields as cron.set_job and cron.present take them.
type JobArgs struct {
	Minute     *string
	Hour       *string
	DayMonth   *string `arg:"daymonth"`
	Month      *string
	DayWeek    *string `arg:"dayweek"`
	Special    string
	Comment    string
	Commented  bool
	Identifier string
}

type setJobArgs struct {
	User string
	Cmd  string
	JobArgs
}

// rmJobArgs accepts the time fields for Salt compatibility; the job is
// found by command and identifier.
type rmJobArgs struct {
	User       string
	Cmd        string
	Minute     *string
	Hour       *string
	DayMonth   *string `arg:"daymonth"`
	Month      *string
	DayWeek    *string `arg:"dayweek"`
	Identifier string
}

type envArgs struct {
	User  string
	Name  string
	Value string
}

func init() {
	modules.Register(modules.Typed("cron.list_tab", `A user's crontab as Salt describes it: pre (unmanaged lines), env, crons,
special. brine call cron.list_tab root`, []string{"user"},
		func(ctx context.Context, env *api.Env, a *userArg) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			t, err := Read(ctx, a.User)
			if err != nil {
				return nil, err
			}
			return t.Map(), nil
		}))
	modules.Register(modules.Typed("cron.raw_cron", "A user's crontab, as text.", []string{"user"},
		func(ctx context.Context, env *api.Env, a *userArg) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			return Raw(ctx, a.User)
		}))
	modules.Register(modules.Typed("cron.set_job", `Add or change a job in a user's crontab:
cron.set_job USER MINUTE HOUR DAYMONTH MONTH DAYWEEK CMD [comment] [commented]
[identifier]. Answers "new", "updated" or "present".`,
		[]string{"user", "minute", "hour", "daymonth", "month", "dayweek", "cmd", "commented", "comment", "identifier"},
		func(ctx context.Context, env *api.Env, a *setJobArgs) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			t, err := Read(ctx, a.User)
			if err != nil {
				return nil, err
			}
			var current *Job
			if j, ok := t.Find(a.Cmd, a.Identifier); ok {
				current = &j
			}
			job := a.JobArgs.Job(a.Cmd, current)
			status := t.Set(job)
			if status != "present" {
				if err := Write(ctx, a.User, t); err != nil {
					return nil, err
				}
			}
			return status, nil
		}))
	modules.Register(modules.Typed("cron.rm_job", `Remove a job from a user's crontab: cron.rm_job USER CMD [identifier=ID].
Answers "removed" or "absent".`,
		[]string{"user", "cmd", "minute", "hour", "daymonth", "month", "dayweek", "identifier"},
		func(ctx context.Context, env *api.Env, a *rmJobArgs) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			t, err := Read(ctx, a.User)
			if err != nil {
				return nil, err
			}
			status := t.Remove(a.Cmd, a.Identifier)
			if status == "removed" {
				if err := Write(ctx, a.User, t); err != nil {
					return nil, err
				}
			}
			return status, nil
		}))
	modules.Register(modules.Typed("cron.set_env", `Set VAR=value in a user's crontab: cron.set_env USER NAME VALUE. Answers
"new", "updated" or "present".`, []string{"user", "name", "value"},
		func(ctx context.Context, env *api.Env, a *envArgs) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			t, err := Read(ctx, a.User)
			if err != nil {
				return nil, err
			}
			status := t.SetEnv(a.Name, a.Value)
			if status != "present" {
				if err := Write(ctx, a.User, t); err != nil {
					return nil, err
				}
			}
			return status, nil
		}))
	modules.Register(modules.Typed("cron.rm_env", `Remove VAR from a user's crontab: cron.rm_env USER NAME.`, []string{"user", "name"},
		func(ctx context.Context, env *api.Env, a *envArgs) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			t, err := Read(ctx, a.User)
			if err != nil {
				return nil, err
			}
			status := t.RemoveEnv(a.Name)
			if status == "removed" {
				if err := Write(ctx, a.User, t); err != nil {
					return nil, err
				}
			}
			return status, nil
		}))
}

// randomRange is the span Salt draws a "random" time field from.
var randomRange = map[string][2]int{"minute": {0, 59}, "hour": {0, 23}, "daymonth": {1, 28}, "month": {1, 12}, "dayweek": {0, 6}}

// Job builds the job these arguments describe. Time fields not given are
// "*". "random" picks a value once: current (the job being replaced)
// keeps the one chosen before, so the job does not move on every run.
func (a JobArgs) Job(cmd string, current *Job) Job {
	field := func(key string, v *string, cur func(Job) string) string {
		switch {
		case v == nil || *v == "":
			return "*"
		case *v != "random":
			return *v
		case current != nil && cur(*current) != "":
			return cur(*current)
		}
		r := randomRange[key]
		return strconv.Itoa(r[0] + rand.IntN(r[1]-r[0]+1))
	}
	j := Job{
		Cmd: cmd, Special: a.Special, Comment: a.Comment, Commented: a.Commented, Identifier: a.Identifier,
	}
	if a.Special == "" {
		j.Minute = field("minute", a.Minute, func(j Job) string { return j.Minute })
		j.Hour = field("hour", a.Hour, func(j Job) string { return j.Hour })
		j.DayMonth = field("daymonth", a.DayMonth, func(j Job) string { return j.DayMonth })
		j.Month = field("month", a.Month, func(j Job) string { return j.Month })
		j.DayWeek = field("dayweek", a.DayWeek, func(j Job) string { return j.DayWeek })
	}
	return j
}
