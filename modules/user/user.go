// Package user reads /etc/passwd and /etc/shadow and changes accounts with
// useradd, usermod and userdel, and registers Salt's user.* execution
// functions. The user states use the same code, so user.present and
// `brine call user.add` create an account the same way.
package user

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
	"github.com/brine-cm/brine/modules/group"
)

// PasswdFile and ShadowFile are the account databases brine reads.
const (
	PasswdFile = "/etc/passwd"
	ShadowFile = "/etc/shadow"
)

// Redacted stands for a password hash in changes and comments, as Salt
// prints it.
const Redacted = "XXX-REDACTED-XXX"

// Check fails on hosts that are not Debian-family.
func Check(env *api.Env) error { return platform.RequireDebian(env, "user") }

// User is one line of /etc/passwd with its GECOS field split.
type User struct {
	Name     string
	Passwd   string
	UID, GID int
	// GECOS: full name, room, work phone, home phone, other.
	Fullname, RoomNumber, WorkPhone, HomePhone, Other string
	Home, Shell                                       string
}

// GECOS joins the comment fields the way chfn writes them, dropping empty
// trailing ones.
func (u User) GECOS() string {
	return JoinGECOS(u.Fullname, u.RoomNumber, u.WorkPhone, u.HomePhone, u.Other)
}

// JoinGECOS builds a GECOS field from its parts.
func JoinGECOS(parts ...string) string {
	return strings.TrimRight(strings.Join(parts, ","), ",")
}

// Parse reads passwd(5) lines; malformed lines are skipped.
func Parse(r io.Reader) ([]User, error) {
	var out []User
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "+") || strings.HasPrefix(line, "-") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 7 || f[0] == "" {
			continue
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			continue
		}
		// The fifth GECOS part, "other", may itself hold commas.
		g := append(strings.SplitN(f[4], ",", 5), "", "", "", "", "")
		out = append(out, User{
			Name: f[0], Passwd: f[1], UID: uid, GID: gid,
			Fullname: g[0], RoomNumber: g[1], WorkPhone: g[2], HomePhone: g[3], Other: g[4],
			Home: f[5], Shell: f[6],
		})
	}
	return out, sc.Err()
}

// ParseShadow maps user names to their password hashes from shadow(5).
func ParseShadow(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) >= 2 && f[0] != "" {
			out[f[0]] = f[1]
		}
	}
	return out, sc.Err()
}

// Read parses a passwd file.
func Read(path string) ([]User, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	defer f.Close()
	return Parse(f)
}

// Lookup finds a user by name in /etc/passwd.
func Lookup(name string) (User, bool, error) {
	all, err := Read(PasswdFile)
	if err != nil {
		return User{}, false, err
	}
	for _, u := range all {
		if u.Name == name {
			return u, true, nil
		}
	}
	return User{}, false, nil
}

// PasswordHash returns the user's hash from /etc/shadow.
func PasswordHash(name string) (string, error) {
	f, err := os.Open(ShadowFile)
	if err != nil {
		return "", fmt.Errorf("read shadow: %w", err)
	}
	defer f.Close()
	m, err := ParseShadow(f)
	if err != nil {
		return "", err
	}
	return m[name], nil
}

// Groups lists every group the user belongs to, the primary group
// included, sorted: Salt's user.list_groups.
func Groups(u User) ([]string, error) {
	member, err := group.MemberOf(u.Name)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, g := range member {
		set[g] = true
	}
	if pg, ok, err := group.ByGID(u.GID); err == nil && ok {
		set[pg.Name] = true
	}
	out := make([]string, 0, len(set))
	for g := range set {
		out = append(out, g)
	}
	sort.Strings(out)
	return out, nil
}

// Info is Salt's user.info: the passwd fields, the GECOS parts and the
// groups (primary included).
func Info(u User) (map[string]any, error) {
	groups, err := Groups(u)
	if err != nil {
		return nil, err
	}
	gs := make([]any, len(groups))
	for i, g := range groups {
		gs[i] = g
	}
	return map[string]any{
		"name": u.Name, "passwd": u.Passwd, "uid": u.UID, "gid": u.GID,
		"home": u.Home, "shell": u.Shell,
		"fullname": u.Fullname, "roomnumber": u.RoomNumber, "workphone": u.WorkPhone,
		"homephone": u.HomePhone, "other": u.Other,
		"groups": gs,
	}, nil
}

// Spec is what useradd or usermod should set; nil or empty fields are
// left alone (usermod) or to useradd's defaults.
type Spec struct {
	UID *int
	// GID is a group name or number.
	GID    string
	Groups *[]string
	Home   string
	// CreateHome makes the home directory on creation (useradd -m / -M).
	CreateHome *bool
	Shell      string
	// GECOS is the whole comment field; nil leaves it alone.
	GECOS *string
	// Password is a crypt(3) hash, set as is.
	Password *string
	System   bool
	// UserGroup creates a group named after the user (-U) or not (-N).
	UserGroup *bool
	// NonUnique allows a uid that another account has (-o).
	NonUnique bool
	NoLogInit bool
}

func validName(name string) error {
	if name == "" || strings.HasPrefix(name, "-") || strings.ContainsAny(name, ":,/ \t\n\x00") {
		return fmt.Errorf("%q is not a valid user name", name)
	}
	return nil
}

// flags turns a spec into the options useradd and usermod share.
func (s Spec) flags() []string {
	var a []string
	if s.UID != nil {
		a = append(a, "-u", strconv.Itoa(*s.UID))
		if s.NonUnique {
			a = append(a, "-o")
		}
	}
	if s.GID != "" {
		a = append(a, "-g", s.GID)
	}
	if s.Groups != nil {
		a = append(a, "-G", strings.Join(*s.Groups, ","))
	}
	if s.Home != "" {
		a = append(a, "-d", s.Home)
	}
	if s.Shell != "" {
		a = append(a, "-s", s.Shell)
	}
	if s.GECOS != nil {
		a = append(a, "-c", *s.GECOS)
	}
	if s.Password != nil {
		a = append(a, "-p", *s.Password)
	}
	return a
}

// Add creates an account with useradd.
func Add(ctx context.Context, name string, s Spec) error {
	if err := validName(name); err != nil {
		return err
	}
	argv := append([]string{"useradd"}, s.flags()...)
	if s.CreateHome != nil {
		if *s.CreateHome {
			argv = append(argv, "-m")
		} else {
			argv = append(argv, "-M")
		}
	}
	if s.System {
		argv = append(argv, "-r")
	}
	if s.NoLogInit {
		argv = append(argv, "-l")
	}
	switch {
	case s.UserGroup != nil && *s.UserGroup:
		argv = append(argv, "-U")
	case s.UserGroup != nil:
		argv = append(argv, "-N")
	case s.GID == "":
		// useradd refuses to create the user's own group when a group of
		// that name exists; Salt then makes it the primary group.
		if _, exists, _ := group.Lookup(name); exists {
			argv = append(argv, "-g", name)
		}
	}
	_, err := platform.Run(ctx, append(argv, "--", name), platform.Options{})
	return err
}

// Modify changes an account with one usermod call; moveHome moves the
// home directory's content to the new place (-m).
func Modify(ctx context.Context, name string, s Spec, moveHome bool) error {
	flags := s.flags()
	if len(flags) == 0 {
		return nil
	}
	argv := append([]string{"usermod"}, flags...)
	if moveHome && s.Home != "" {
		argv = append(argv, "-m")
	}
	_, err := platform.Run(ctx, append(argv, "--", name), platform.Options{})
	return err
}

// Delete removes an account; remove also deletes its home and mail spool
// (userdel -r), force removes it while it is logged in.
func Delete(ctx context.Context, name string, remove, force bool) error {
	if err := validName(name); err != nil {
		return err
	}
	argv := []string{"userdel"}
	if remove {
		argv = append(argv, "-r")
	}
	if force {
		argv = append(argv, "-f")
	}
	_, err := platform.Run(ctx, append(argv, "--", name), platform.Options{})
	return err
}

// ClearPassword empties the password (passwd -d), for empty_password.
func ClearPassword(ctx context.Context, name string) error {
	_, err := platform.Run(ctx, []string{"passwd", "-d", "--", name}, platform.Options{})
	return err
}
