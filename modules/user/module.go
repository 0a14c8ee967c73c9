package user

import (
	"context"
	"sort"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
)

type addArgs struct {
	Name       string
	UID        *int   `arg:"uid"`
	GID        string `arg:"gid"`
	Groups     []string
	Home       string
	Shell      string
	Unique     *bool
	System     bool
	Fullname   string
	RoomNumber string `arg:"roomnumber"`
	WorkPhone  string `arg:"workphone"`
	HomePhone  string `arg:"homephone"`
	Other      string
	CreateHome *bool `arg:"createhome"`
	NoLogInit  bool  `arg:"nologinit"`
	UserGroup  *bool `arg:"usergroup"`
}

type deleteArgs struct {
	Name   string
	Remove bool
	Force  bool
}

type nameArg struct {
	Name string
}

func init() {
	modules.Register(modules.Typed("user.add", `Create a user: user.add NAME [uid] [gid] [groups] [home] [shell]. True on
success; an error carries useradd's message (a uid in use, for instance).
Other arguments: unique (False allows a shared uid), system, fullname,
roomnumber, workphone, homephone, other, createhome (default True),
nologinit, usergroup.`, []string{"name", "uid", "gid", "groups", "home", "shell"},
		func(ctx context.Context, env *api.Env, a *addArgs) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			s := Spec{UID: a.UID, GID: a.GID, Home: a.Home, Shell: a.Shell, System: a.System,
				NonUnique: a.Unique != nil && !*a.Unique, NoLogInit: a.NoLogInit, UserGroup: a.UserGroup}
			if a.Groups != nil {
				s.Groups = &a.Groups
			}
			if g := JoinGECOS(a.Fullname, a.RoomNumber, a.WorkPhone, a.HomePhone, a.Other); g != "" {
				s.GECOS = &g
			}
			create := a.CreateHome == nil || *a.CreateHome
			s.CreateHome = &create
			if err := Add(ctx, a.Name, s); err != nil {
				return nil, err
			}
			return true, nil
		}))
	modules.Register(modules.Typed("user.delete", `Remove a user: user.delete NAME [remove=True: also the home directory]
[force=True].`, []string{"name"}, func(ctx context.Context, env *api.Env, a *deleteArgs) (any, error) {
		if err := Check(env); err != nil {
			return nil, err
		}
		if err := Delete(ctx, a.Name, a.Remove, a.Force); err != nil {
			return nil, err
		}
		return true, nil
	}))
	modules.Register(modules.Typed("user.info", `A user's passwd entry, GECOS fields and groups; {} when there is no such
user.`, []string{"name"}, func(_ context.Context, env *api.Env, a *nameArg) (any, error) {
		if err := Check(env); err != nil {
			return nil, err
		}
		u, ok, err := Lookup(a.Name)
		if err != nil || !ok {
			return map[string]any{}, err
		}
		return Info(u)
	}))
	modules.Register(modules.Typed("user.list_users", "Every user name in /etc/passwd, sorted.", nil,
		func(_ context.Context, env *api.Env, _ *struct{}) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			all, err := Read(PasswdFile)
			if err != nil {
				return nil, err
			}
			names := make([]string, len(all))
			for i, u := range all {
				names[i] = u.Name
			}
			sort.Strings(names)
			return names, nil
		}))
	modules.Register(modules.Typed("user.list_groups", "Every group the user belongs to, the primary group included.",
		[]string{"name"}, func(_ context.Context, env *api.Env, a *nameArg) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			u, ok, err := Lookup(a.Name)
			if err != nil || !ok {
				return []string{}, err
			}
			return Groups(u)
		}))
}
