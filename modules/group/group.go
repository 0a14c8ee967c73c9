// Package group reads /etc/group and changes groups with groupadd,
// groupmod, groupdel and gpasswd, and registers Salt's group.* execution
// functions. The group states and the user module (which resolves group
// names and lists a user's groups) use the same code.
package group

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/internal/platform"
)

// File is the group database brine reads. Groups from other NSS sources
// (LDAP, sssd) are not brine's to manage.
const File = "/etc/group"

// Check fails on hosts that are not Debian-family.
func Check(env *api.Env) error { return platform.RequireDebian(env, "group") }

// Group is one line of /etc/group.
type Group struct {
	Name    string
	Passwd  string
	GID     int
	Members []string
}

// Info is the group as Salt's group.info returns it.
func (g Group) Info() map[string]any {
	members := make([]any, len(g.Members))
	for i, m := range g.Members {
		members[i] = m
	}
	return map[string]any{"name": g.Name, "passwd": g.Passwd, "gid": g.GID, "members": members}
}

// Parse reads group(5) lines. Comments, blank lines, NIS "+"/"-" entries
// and lines with a bad gid are skipped, as getgrent does.
func Parse(r io.Reader) ([]Group, error) {
	var out []Group
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "+") || strings.HasPrefix(line, "-") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 4 || f[0] == "" {
			continue
		}
		gid, err := strconv.Atoi(f[2])
		if err != nil {
			continue
		}
		g := Group{Name: f[0], Passwd: f[1], GID: gid, Members: []string{}}
		for _, m := range strings.Split(f[3], ",") {
			if m = strings.TrimSpace(m); m != "" {
				g.Members = append(g.Members, m)
			}
		}
		out = append(out, g)
	}
	return out, sc.Err()
}

// Read parses a group file.
func Read(path string) ([]Group, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read groups: %w", err)
	}
	defer f.Close()
	return Parse(f)
}

// Lookup finds a group by name in the system group file.
func Lookup(name string) (Group, bool, error) {
	all, err := Read(File)
	if err != nil {
		return Group{}, false, err
	}
	for _, g := range all {
		if g.Name == name {
			return g, true, nil
		}
	}
	return Group{}, false, nil
}

// ByGID finds the first group with this gid.
func ByGID(gid int) (Group, bool, error) {
	all, err := Read(File)
	if err != nil {
		return Group{}, false, err
	}
	for _, g := range all {
		if g.GID == gid {
			return g, true, nil
		}
	}
	return Group{}, false, nil
}

// Resolve turns a group given by name or number into its gid.
func Resolve(nameOrGID string) (int, error) {
	if n, err := strconv.Atoi(nameOrGID); err == nil {
		return n, nil
	}
	g, ok, err := Lookup(nameOrGID)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("group '%s' does not exist", nameOrGID)
	}
	return g.GID, nil
}

// MemberOf lists the groups that name user as a member, sorted.
func MemberOf(user string) ([]string, error) {
	all, err := Read(File)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range all {
		for _, m := range g.Members {
			if m == user {
				out = append(out, g.Name)
				break
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

func validName(name string) error {
	if name == "" || strings.HasPrefix(name, "-") || strings.ContainsAny(name, ":,/ \t\n\x00") {
		return fmt.Errorf("%q is not a valid group name", name)
	}
	return nil
}

func tool(ctx context.Context, argv ...string) error {
	_, err := platform.Run(ctx, argv, platform.Options{})
	return err
}

// Add creates a group (groupadd); gid nil picks the next free one.
func Add(ctx context.Context, name string, gid *int, system bool) error {
	if err := validName(name); err != nil {
		return err
	}
	argv := []string{"groupadd"}
	if gid != nil {
		argv = append(argv, "-g", strconv.Itoa(*gid))
	}
	if system {
		argv = append(argv, "-r")
	}
	return tool(ctx, append(argv, "--", name)...)
}

// Delete removes a group (groupdel).
func Delete(ctx context.Context, name string) error {
	if err := validName(name); err != nil {
		return err
	}
	return tool(ctx, "groupdel", "--", name)
}

// ChGID changes a group's gid (groupmod -g).
func ChGID(ctx context.Context, name string, gid int) error {
	return tool(ctx, "groupmod", "-g", strconv.Itoa(gid), "--", name)
}

// AddUser makes user a member (gpasswd -a).
func AddUser(ctx context.Context, name, user string) error {
	if err := validName(user); err != nil {
		return err
	}
	return tool(ctx, "gpasswd", "-a", user, "--", name)
}

// DelUser removes user from the members (gpasswd -d).
func DelUser(ctx context.Context, name, user string) error {
	if err := validName(user); err != nil {
		return err
	}
	return tool(ctx, "gpasswd", "-d", user, "--", name)
}

// SetMembers replaces the member list (gpasswd -M).
func SetMembers(ctx context.Context, name string, users []string) error {
	for _, u := range users {
		if err := validName(u); err != nil {
			return err
		}
	}
	return tool(ctx, "gpasswd", "-M", strings.Join(users, ","), "--", name)
}
