package group

import (
	"context"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
)

type addArgs struct {
	Name   string
	GID    *int `arg:"gid"`
	System bool
}

type nameArg struct {
	Name string
}

type memberArgs struct {
	Name     string
	Username string
}

type membersArgs struct {
	Name        string
	MembersList []string `arg:"members_list"`
}

type chgidArgs struct {
	Name string
	GID  int `arg:"gid"`
}

func init() {
	modules.Register(modules.Typed("group.add", `Create a group: group.add NAME [gid] [system=True]. True on success; an
error carries groupadd's message.`, []string{"name", "gid"},
		func(ctx context.Context, env *api.Env, a *addArgs) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			return done(Add(ctx, a.Name, a.GID, a.System))
		}))
	modules.Register(modules.Typed("group.delete", "Remove a group (groupdel).", []string{"name"},
		func(ctx context.Context, env *api.Env, a *nameArg) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			return done(Delete(ctx, a.Name))
		}))
	modules.Register(modules.Typed("group.info", `A group's name, passwd, gid and members; {} when there is no such group.`,
		[]string{"name"}, func(_ context.Context, env *api.Env, a *nameArg) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			g, ok, err := Lookup(a.Name)
			if err != nil || !ok {
				return map[string]any{}, err
			}
			return g.Info(), nil
		}))
	modules.Register(modules.Typed("group.getent", "Every group in /etc/group, as group.info describes it.", nil,
		func(_ context.Context, env *api.Env, _ *struct{}) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			all, err := Read(File)
			if err != nil {
				return nil, err
			}
			out := make([]any, len(all))
			for i, g := range all {
				out[i] = g.Info()
			}
			return out, nil
		}))
	modules.Register(modules.Typed("group.adduser", "Add a user to a group: group.adduser GROUP USER.",
		[]string{"name", "username"}, func(ctx context.Context, env *api.Env, a *memberArgs) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			return done(AddUser(ctx, a.Name, a.Username))
		}))
	modules.Register(modules.Typed("group.deluser", "Remove a user from a group: group.deluser GROUP USER.",
		[]string{"name", "username"}, func(ctx context.Context, env *api.Env, a *memberArgs) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			return done(DelUser(ctx, a.Name, a.Username))
		}))
	modules.Register(modules.Typed("group.members", "Replace a group's members: group.members GROUP 'a,b' (or a list).",
		[]string{"name", "members_list"}, func(ctx context.Context, env *api.Env, a *membersArgs) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			return done(SetMembers(ctx, a.Name, SplitMembers(a.MembersList)))
		}))
	modules.Register(modules.Typed("group.chgid", "Change a group's gid: group.chgid GROUP GID.",
		[]string{"name", "gid"}, func(ctx context.Context, env *api.Env, a *chgidArgs) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			return done(ChGID(ctx, a.Name, a.GID))
		}))
}

// SplitMembers accepts Salt's comma-separated string as well as a list.
func SplitMembers(in []string) []string {
	var out []string
	for _, item := range in {
		for _, m := range strings.Split(item, ",") {
			if m = strings.TrimSpace(m); m != "" {
				out = append(out, m)
			}
		}
	}
	return out
}

// done is an action's answer: True, or the tool's error.
func done(err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return true, nil
}
