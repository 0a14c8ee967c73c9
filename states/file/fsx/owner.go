package fsx

import (
	"errors"
	"fmt"
	"os/user"
	"strconv"
)

// ErrNoUser is returned by LookupUID for a user name this host does not know.
var ErrNoUser = errors.New("user is not available")

// ErrNoGroup is returned by LookupGID for a group name this host does not know.
var ErrNoGroup = errors.New("group is not available")

// LookupUID resolves a user given by name or numeric id. A number is taken
// as a uid whether or not a passwd entry exists, as chown(1) does.
func LookupUID(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return n, nil
	}
	u, err := user.Lookup(s)
	if err != nil {
		return -1, fmt.Errorf("user %s: %w", s, ErrNoUser)
	}
	return strconv.Atoi(u.Uid)
}

// LookupGID resolves a group given by name or numeric id.
func LookupGID(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return n, nil
	}
	g, err := user.LookupGroup(s)
	if err != nil {
		return -1, fmt.Errorf("group %s: %w", s, ErrNoGroup)
	}
	return strconv.Atoi(g.Gid)
}

// UserName returns the name of uid, or the number as text when it has none.
func UserName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}

// GroupName returns the name of gid, or the number as text when it has none.
func GroupName(gid int) string {
	if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
		return g.Name
	}
	return strconv.Itoa(gid)
}

// PrimaryGID returns the login group of the user with this uid, or -1.
func PrimaryGID(uid int) int {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return -1
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return -1
	}
	return gid
}
