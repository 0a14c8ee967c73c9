// Package group provides the group.present and group.absent states. The
// reading of /etc/group and the groupadd/groupmod/gpasswd calls are
// modules/group's, shared with the group.* execution functions.
package group

import (
	"context"
	"fmt"
	"strings"

	"github.com/brine-cm/brine/api"
	grp "github.com/brine-cm/brine/modules/group"
	"github.com/brine-cm/brine/states"
)

type presentArgs struct {
	GID    *int `arg:"gid"`
	System bool
	// Members replaces the member list; AddUsers and DelUsers adjust it.
	Members  *[]string
	AddUsers []string `arg:"addusers"`
	DelUsers []string `arg:"delusers"`
}

func init() {
	states.Register(states.Def[presentArgs]{
		Name: "group.present",
		Doc: `Make sure a group exists, with a gid and members if given.

    deploy:
      group.present:
        - gid: 2000
        - addusers: [alice]

Arguments: gid, system (a system group on creation), members (the exact
member list), addusers, delusers (cannot be combined with members).
Changes: the new group's info on creation; {"Final": "All changes applied
successfully"} after an update, as Salt reports it.`,
		Apply: present,
	})
	states.Register(states.Def[struct{}]{
		Name:  "group.absent",
		Doc:   `Make sure a group does not exist (groupdel). Changes: {name: ""}.`,
		Apply: absent,
	})
}

// pyList prints a list the way Salt's comments print Python lists.
func pyList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = "'" + s + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// change is one attribute that differs, in Salt's order of keys.
type change struct {
	key   string
	value any
}

// diff is Salt's group._changes: what differs between the group and the
// arguments.
func diff(g grp.Group, a *presentArgs) []change {
	var out []change
	if a.GID != nil && *a.GID != g.GID {
		out = append(out, change{"gid", *a.GID})
	}
	cur := map[string]bool{}
	for _, m := range g.Members {
		cur[m] = true
	}
	if a.Members != nil {
		want := map[string]bool{}
		for _, m := range *a.Members {
			want[m] = true
		}
		same := len(want) == len(cur)
		for m := range want {
			same = same && cur[m]
		}
		if !same {
			out = append(out, change{"members", *a.Members})
		}
	}
	var add, del []string
	for _, u := range a.AddUsers {
		if !cur[u] {
			add = append(add, u)
		}
	}
	for _, u := range a.DelUsers {
		if cur[u] {
			del = append(del, u)
		}
	}
	if len(add) > 0 {
		out = append(out, change{"addusers", add})
	}
	if len(del) > 0 {
		out = append(out, change{"delusers", del})
	}
	return out
}

func describe(cs []change) string {
	var b strings.Builder
	b.WriteString("The following group attributes are set to be changed:\n")
	for _, c := range cs {
		v := fmt.Sprint(c.value)
		if l, ok := c.value.([]string); ok {
			v = pyList(l)
		}
		fmt.Fprintf(&b, "%s: %s\n", c.key, v)
	}
	return b.String()
}

func asMap(cs []change) map[string]any {
	out := map[string]any{}
	for _, c := range cs {
		if l, ok := c.value.([]string); ok {
			items := make([]any, len(l))
			for i, s := range l {
				items[i] = s
			}
			out[c.key] = items
		} else {
			out[c.key] = c.value
		}
	}
	return out
}

func present(ctx context.Context, req *states.Request, a *presentArgs) api.Result {
	name := req.Name
	if err := grp.Check(req.Env); err != nil {
		return api.Failed(err.Error())
	}
	if a.Members != nil && (len(a.AddUsers) > 0 || len(a.DelUsers) > 0) {
		return api.Failed(`Error: Conflicting options "members" with "addusers" and/or "delusers" can not be used together.`)
	}
	for _, u := range a.AddUsers {
		for _, d := range a.DelUsers {
			if u == d {
				return api.Failed("Error. Same user(s) can not be added and deleted simultaneously")
			}
		}
	}
	g, exists, err := grp.Lookup(name)
	if err != nil {
		return api.Failed(err.Error())
	}
	if !exists {
		return create(ctx, req, a)
	}
	cs := diff(g, a)
	if len(cs) == 0 {
		return api.Succeeded(fmt.Sprintf("Group %s is present and up to date", name), nil)
	}
	comment := describe(cs)
	if req.Test {
		return api.Pending(comment, asMap(cs))
	}
	if err := applyChanges(ctx, name, cs); err != nil {
		return api.Failed(comment + err.Error())
	}
	g, _, err = grp.Lookup(name)
	if err != nil {
		return api.Failed(err.Error())
	}
	if left := diff(g, a); len(left) > 0 {
		return api.FailedWith(comment+"Some changes could not be applied", map[string]any{"Failed": asMap(left)})
	}
	return api.Succeeded(comment, map[string]any{"Final": "All changes applied successfully"})
}

func applyChanges(ctx context.Context, name string, cs []change) error {
	for _, c := range cs {
		var err error
		switch c.key {
		case "gid":
			err = grp.ChGID(ctx, name, c.value.(int))
		case "members":
			err = grp.SetMembers(ctx, name, c.value.([]string))
		case "addusers":
			for _, u := range c.value.([]string) {
				if err = grp.AddUser(ctx, name, u); err != nil {
					break
				}
			}
		case "delusers":
			for _, u := range c.value.([]string) {
				if err = grp.DelUser(ctx, name, u); err != nil {
					break
				}
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func create(ctx context.Context, req *states.Request, a *presentArgs) api.Result {
	name := req.Name
	if a.GID != nil {
		if other, taken, err := grp.ByGID(*a.GID); err != nil {
			return api.Failed(err.Error())
		} else if taken {
			return api.Failed(fmt.Sprintf("Group %s is not present but gid %d is already taken by group %s", name, *a.GID, other.Name))
		}
	}
	var members []string
	if a.Members != nil {
		members = *a.Members
	} else {
		members = a.AddUsers
	}
	if req.Test {
		want := map[string]any{"name": name}
		if a.GID != nil {
			want["gid"] = *a.GID
		}
		if len(members) > 0 {
			want["members"] = asMap([]change{{"m", members}})["m"]
		}
		return api.Pending(fmt.Sprintf("Group %s set to be added", name), want)
	}
	if err := grp.Add(ctx, name, a.GID, a.System); err != nil {
		return api.Failed(fmt.Sprintf("Failed to create new group %s: %v", name, err))
	}
	if len(members) > 0 {
		if err := grp.SetMembers(ctx, name, members); err != nil {
			g, _, _ := grp.Lookup(name)
			return api.FailedWith(fmt.Sprintf("Group %s has been created but, some changes could not be applied: %v", name, err), g.Info())
		}
	}
	g, _, err := grp.Lookup(name)
	if err != nil {
		return api.Failed(err.Error())
	}
	if left := diff(g, a); len(left) > 0 {
		return api.FailedWith(fmt.Sprintf("Group %s has been created but, some changes could not be applied", name), map[string]any{"Failed": asMap(left)})
	}
	return api.Succeeded(fmt.Sprintf("New group %s created", name), g.Info())
}

func absent(ctx context.Context, req *states.Request, _ *struct{}) api.Result {
	name := req.Name
	if err := grp.Check(req.Env); err != nil {
		return api.Failed(err.Error())
	}
	_, exists, err := grp.Lookup(name)
	if err != nil {
		return api.Failed(err.Error())
	}
	if !exists {
		return api.Succeeded("Group not present", nil)
	}
	if req.Test {
		return api.Pending(fmt.Sprintf("Group %s is set for removal", name), map[string]any{name: ""})
	}
	if err := grp.Delete(ctx, name); err != nil {
		return api.Failed(fmt.Sprintf("Failed to remove group %s: %v", name, err))
	}
	return api.Succeeded(fmt.Sprintf("Removed group %s", name), map[string]any{name: ""})
}
