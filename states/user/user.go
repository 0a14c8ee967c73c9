// Package user provides the user.present and user.absent states. Reading
// /etc/passwd, /etc/shadow and /etc/group and calling useradd, usermod and
// userdel is modules/user's (and modules/group's), shared with the user.*
// execution functions.
package user

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/brine-cm/brine/api"
	grp "github.com/brine-cm/brine/modules/group"
	usr "github.com/brine-cm/brine/modules/user"
	"github.com/brine-cm/brine/states"
)

type presentArgs struct {
	UID *int `arg:"uid"`
	// GID is the primary group, by name or number.
	GID       string `arg:"gid"`
	UserGroup *bool  `arg:"usergroup"`
	// Groups are the supplementary groups; with remove_groups (default
	// True) the user ends up in exactly these (plus optional_groups).
	Groups         *[]string
	OptionalGroups []string `arg:"optional_groups"`
	RemoveGroups   *bool    `arg:"remove_groups"`
	Home           string
	CreateHome     *bool `arg:"createhome"`
	Shell          string
	Fullname       *string
	RoomNumber     *string `arg:"roomnumber"`
	WorkPhone      *string `arg:"workphone"`
	HomePhone      *string `arg:"homephone"`
	Other          *string
	// Password is a crypt(3) hash ($6$...), set as given.
	Password        string
	EnforcePassword *bool `arg:"enforce_password"`
	EmptyPassword   bool  `arg:"empty_password"`
	System          bool
	Unique          *bool
	AllowUIDChange  bool `arg:"allow_uid_change"`
	AllowGIDChange  bool `arg:"allow_gid_change"`
	NoLogInit       bool `arg:"nologinit"`
}

type absentArgs struct {
	// Purge also removes the home directory and mail spool.
	Purge bool
	Force bool
}

func init() {
	states.Register(states.Def[presentArgs]{
		Name: "user.present",
		Doc: `Make sure a user account exists with the given attributes.

    deploy:
      user.present:
        - uid: 2001
        - gid: deploy
        - groups: [www-data]
        - home: /srv/deploy
        - shell: /bin/bash
        - fullname: Deploy User
        - password: $6$salt$hash...

Arguments: uid, gid (name or number), usergroup, groups, optional_groups
(joined only if they exist), remove_groups (default True: leave groups not
listed), home, createhome (default True), shell, fullname, roomnumber,
workphone, homephone, other, password (a crypt hash), enforce_password
(default True), empty_password, system, unique (False allows a shared
uid), allow_uid_change, allow_gid_change, nologinit.
Changes: the new user's info on creation; the attributes that changed
(with their new values) on an update.`,
		Apply: present,
	})
	states.Register(states.Def[absentArgs]{
		Name: "user.absent",
		Doc: `Make sure a user account does not exist. purge: True also removes the home
directory. Changes: {name: "removed"}, plus "<group> group": "removed" for
the user's own group when userdel removed it.`,
		Apply: absent,
	})
}

// change is one attribute to set.
type change struct {
	key   string
	value any
}

// plan compares the account with the arguments: what differs, and the
// usermod spec that fixes it. A refusal (uid change not allowed, missing
// group) is an error.
type plan struct {
	changes []change
	spec    usr.Spec
	clear   bool // empty the password
}

func wantedGroups(a *presentArgs) (groups []string, restrict bool, err error) {
	set := map[string]bool{}
	if a.Groups != nil {
		var missing []string
		for _, g := range *a.Groups {
			if _, ok, err := grp.Lookup(g); err != nil {
				return nil, false, err
			} else if !ok {
				missing = append(missing, g)
			}
			set[g] = true
		}
		if len(missing) > 0 {
			return nil, false, fmt.Errorf("The following group(s) are not present: %s", strings.Join(missing, ","))
		}
	}
	for _, g := range a.OptionalGroups {
		if _, ok, _ := grp.Lookup(g); ok {
			set[g] = true
		}
	}
	for g := range set {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	restrict = a.RemoveGroups == nil || *a.RemoveGroups
	return groups, restrict, nil
}

func diff(u usr.User, a *presentArgs) (plan, error) {
	var p plan
	if a.UID != nil && *a.UID != u.UID {
		if !a.AllowUIDChange {
			return p, fmt.Errorf("Changing uid (%d -> %d) not permitted, set allow_uid_change to True to force this change. Note that this will not change file ownership.", u.UID, *a.UID)
		}
		p.changes = append(p.changes, change{"uid", *a.UID})
		p.spec.UID = a.UID
		p.spec.NonUnique = a.Unique != nil && !*a.Unique
	}
	primary := u.GID
	if a.GID != "" {
		gid, err := grp.Resolve(a.GID)
		if err != nil {
			return p, err
		}
		if gid != u.GID {
			if !a.AllowGIDChange {
				return p, fmt.Errorf("Changing gid (%d -> %d) not permitted, set allow_gid_change to True to force this change. Note that this will not change file ownership.", u.GID, gid)
			}
			p.changes = append(p.changes, change{"gid", gid})
			p.spec.GID = fmt.Sprint(gid)
			primary = gid
		}
	}
	if a.Groups != nil || len(a.OptionalGroups) > 0 {
		wanted, restrict, err := wantedGroups(a)
		if err != nil {
			return p, err
		}
		current, err := usr.Groups(u)
		if err != nil {
			return p, err
		}
		pg, _, _ := grp.ByGID(primary)
		cur := map[string]bool{}
		for _, g := range current {
			if g != pg.Name {
				cur[g] = true
			}
		}
		var target []string
		if restrict {
			target = wanted
		} else {
			set := map[string]bool{}
			for g := range cur {
				set[g] = true
			}
			for _, g := range wanted {
				set[g] = true
			}
			for g := range set {
				target = append(target, g)
			}
			sort.Strings(target)
		}
		differs := len(target) != len(cur)
		for _, g := range target {
			differs = differs || !cur[g]
		}
		if differs {
			if target == nil {
				target = []string{}
			}
			p.changes = append(p.changes, change{"groups", target})
			p.spec.Groups = &target
		}
	}
	if a.Home != "" && a.Home != u.Home {
		p.changes = append(p.changes, change{"home", a.Home})
		p.spec.Home = a.Home
	}
	if a.Shell != "" && a.Shell != u.Shell {
		p.changes = append(p.changes, change{"shell", a.Shell})
		p.spec.Shell = a.Shell
	}
	gecos := []struct {
		key  string
		want *string
		cur  string
	}{
		{"fullname", a.Fullname, u.Fullname},
		{"roomnumber", a.RoomNumber, u.RoomNumber},
		{"workphone", a.WorkPhone, u.WorkPhone},
		{"homephone", a.HomePhone, u.HomePhone},
		{"other", a.Other, u.Other},
	}
	parts := []string{u.Fullname, u.RoomNumber, u.WorkPhone, u.HomePhone, u.Other}
	gecosChanged := false
	for i, g := range gecos {
		if g.want != nil && *g.want != g.cur {
			p.changes = append(p.changes, change{g.key, *g.want})
			parts[i] = *g.want
			gecosChanged = true
		}
	}
	if gecosChanged {
		s := usr.JoinGECOS(parts...)
		p.spec.GECOS = &s
	}
	if a.Password != "" && (a.EnforcePassword == nil || *a.EnforcePassword) && !a.EmptyPassword {
		hash, err := usr.PasswordHash(u.Name)
		if err != nil {
			return p, err
		}
		if hash != a.Password {
			p.changes = append(p.changes, change{"passwd", usr.Redacted})
			pw := a.Password
			p.spec.Password = &pw
		}
	}
	if a.EmptyPassword {
		hash, err := usr.PasswordHash(u.Name)
		if err != nil {
			return p, err
		}
		if hash != "" {
			p.changes = append(p.changes, change{"empty_password", true})
			p.clear = true
		}
	}
	return p, nil
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
			continue
		}
		out[c.key] = c.value
	}
	return out
}

func describe(cs []change) string {
	var b strings.Builder
	b.WriteString("The following user attributes are set to be changed:\n")
	for _, c := range cs {
		v := fmt.Sprint(c.value)
		if l, ok := c.value.([]string); ok {
			q := make([]string, len(l))
			for i, s := range l {
				q[i] = "'" + s + "'"
			}
			v = "[" + strings.Join(q, ", ") + "]"
		}
		fmt.Fprintf(&b, "%s: %s\n", c.key, v)
	}
	return b.String()
}

func present(ctx context.Context, req *states.Request, a *presentArgs) api.Result {
	name := req.Name
	if err := usr.Check(req.Env); err != nil {
		return api.Failed(err.Error())
	}
	u, exists, err := usr.Lookup(name)
	if err != nil {
		return api.Failed(err.Error())
	}
	if !exists {
		return create(ctx, req, a)
	}
	before, err := usr.Info(u)
	if err != nil {
		return api.Failed(err.Error())
	}
	p, err := diff(u, a)
	if err != nil {
		return api.Failed(err.Error())
	}
	if len(p.changes) == 0 {
		return api.Succeeded(fmt.Sprintf("User %s is present and up to date", name), nil)
	}
	if req.Test {
		return api.Pending(describe(p.changes), asMap(p.changes))
	}
	if err := usr.Modify(ctx, name, p.spec, false); err != nil {
		return api.Failed(fmt.Sprintf("Failed to update user %s: %v", name, err))
	}
	if p.clear {
		if err := usr.ClearPassword(ctx, name); err != nil {
			return api.Failed(fmt.Sprintf("Failed to empty the password of user %s: %v", name, err))
		}
	}
	u, _, err = usr.Lookup(name)
	if err != nil {
		return api.Failed(err.Error())
	}
	after, err := usr.Info(u)
	if err != nil {
		return api.Failed(err.Error())
	}
	changes := map[string]any{}
	for k, v := range after {
		if fmt.Sprint(before[k]) != fmt.Sprint(v) {
			changes[k] = v
		}
	}
	for _, c := range p.changes {
		if c.key == "passwd" || c.key == "empty_password" {
			changes[c.key] = c.value
		}
	}
	if left, err := diff(u, a); err != nil || len(left.changes) > 0 {
		msg := "These values could not be changed: " + fmt.Sprint(asMap(left.changes))
		if err != nil {
			msg = err.Error()
		}
		return api.FailedWith(msg, changes)
	}
	return api.Succeeded(fmt.Sprintf("Updated user %s", name), changes)
}

func create(ctx context.Context, req *states.Request, a *presentArgs) api.Result {
	name := req.Name
	groups, _, err := wantedGroups(a)
	if err != nil {
		return api.Failed(err.Error())
	}
	if a.GID != "" {
		if _, err := grp.Resolve(a.GID); err != nil {
			return api.Failed(err.Error())
		}
	}
	spec := usr.Spec{
		UID: a.UID, GID: a.GID, Home: a.Home, Shell: a.Shell, System: a.System,
		NonUnique: a.Unique != nil && !*a.Unique, NoLogInit: a.NoLogInit, UserGroup: a.UserGroup,
	}
	if a.Groups != nil || len(groups) > 0 {
		if groups == nil {
			groups = []string{}
		}
		spec.Groups = &groups
	}
	create := a.CreateHome == nil || *a.CreateHome
	spec.CreateHome = &create
	if g := usr.JoinGECOS(deref(a.Fullname), deref(a.RoomNumber), deref(a.WorkPhone), deref(a.HomePhone), deref(a.Other)); g != "" {
		spec.GECOS = &g
	}
	if a.Password != "" && !a.EmptyPassword {
		pw := a.Password
		spec.Password = &pw
	}
	if req.Test {
		want := map[string]any{"name": name}
		if a.UID != nil {
			want["uid"] = *a.UID
		}
		for k, v := range map[string]string{"gid": a.GID, "home": a.Home, "shell": a.Shell} {
			if v != "" {
				want[k] = v
			}
		}
		if spec.Groups != nil {
			want["groups"] = asMap([]change{{"g", groups}})["g"]
		}
		if spec.Password != nil {
			want["password"] = usr.Redacted
		}
		return api.Pending(fmt.Sprintf("User %s set to be added", name), want)
	}
	if err := usr.Add(ctx, name, spec); err != nil {
		return api.Failed(fmt.Sprintf("Failed to create new user %s: %v", name, err))
	}
	if a.EmptyPassword {
		if err := usr.ClearPassword(ctx, name); err != nil {
			return api.Failed(fmt.Sprintf("User %s created but failed to empty its password: %v", name, err))
		}
	}
	u, ok, err := usr.Lookup(name)
	if err != nil || !ok {
		return api.Failed(fmt.Sprintf("Failed to create new user %s", name))
	}
	changes, err := usr.Info(u)
	if err != nil {
		return api.Failed(err.Error())
	}
	if spec.Password != nil {
		changes["password"] = usr.Redacted
	}
	return api.Succeeded(fmt.Sprintf("New user %s created", name), changes)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func absent(ctx context.Context, req *states.Request, a *absentArgs) api.Result {
	name := req.Name
	if err := usr.Check(req.Env); err != nil {
		return api.Failed(err.Error())
	}
	u, exists, err := usr.Lookup(name)
	if err != nil {
		return api.Failed(err.Error())
	}
	if !exists {
		return api.Succeeded(fmt.Sprintf("User %s is not present", name), nil)
	}
	if req.Test {
		return api.Pending(fmt.Sprintf("User %s set for removal", name), map[string]any{name: "removed"})
	}
	before, err := usr.Groups(u)
	if err != nil {
		return api.Failed(err.Error())
	}
	if err := usr.Delete(ctx, name, a.Purge, a.Force); err != nil {
		return api.Failed(fmt.Sprintf("Failed to remove user %s: %v", name, err))
	}
	changes := map[string]any{name: "removed"}
	for _, g := range before {
		if _, still, _ := grp.Lookup(g); !still {
			changes[g+" group"] = "removed"
		}
	}
	return api.Succeeded(fmt.Sprintf("Removed user %s", name), changes)
}
