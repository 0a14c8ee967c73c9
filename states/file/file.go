// Package file is Salt's file state module: file.managed, file.directory,
// file.recurse, file.absent, file.symlink, file.append, file.replace,
// file.line, file.touch, file.exists, file.missing and file.copy. Results,
// changes and comments follow what Salt 3007 returns for the same SLS, so
// that a tree moved from Salt reports the same way; every function checks
// first and changes only what differs, and in test mode reads but never
// writes. The file-system work itself lives in fsx, shared with the file
// execution module.
package file

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states/file/fsx"
)

// testNote ends Salt's test-mode comment for a file that would change.
const testNote = "\nNote: No changes made, actual changes may\nbe different due to other states."

func init() {
	registerManaged()
	registerDirectory()
	registerRecurse()
	registerSimple()
	registerEdit()
	registerLine()
	registerCopy()
}

// checkAbs returns Salt's message for a relative path, or "".
func checkAbs(name string) string {
	if name == "" {
		return "Must provide name to the file state"
	}
	if !filepath.IsAbs(name) {
		return fmt.Sprintf("Specified file %s is not an absolute path", name)
	}
	return ""
}

// checkAbsArg is checkAbs for an argument other than name.
func checkAbsArg(arg, path string) string {
	if !filepath.IsAbs(path) {
		return fmt.Sprintf("Argument '%s' must be an absolute path, got '%s'", arg, path)
	}
	return ""
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// realPath resolves symlinks so that edits go to the file a link points
// at, as Salt's do, instead of replacing the link with a copy; a path that
// does not resolve is returned as it is.
func realPath(path string) string {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real
	}
	return path
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// perms is a wanted mode and owner, with the owner resolved to numbers.
type perms struct {
	mode        *api.Mode
	user, group string
	uid, gid    int // -1 when not managed
}

// resolvePerms resolves user and group; a non-empty second value is Salt's
// comment for a user or group the host does not have.
func resolvePerms(user, group string, mode *api.Mode) (perms, string) {
	p := perms{mode: mode, user: user, group: group, uid: -1, gid: -1}
	var msgs []string
	if user != "" {
		uid, err := fsx.LookupUID(user)
		if err != nil {
			msgs = append(msgs, fmt.Sprintf("User %s is not available", user))
		}
		p.uid = uid
	}
	if group != "" {
		gid, err := fsx.LookupGID(group)
		if err != nil {
			msgs = append(msgs, fmt.Sprintf("Group %s is not available", group))
		}
		p.gid = gid
	}
	return p, strings.Join(msgs, " ")
}

func (p perms) fileMode() *fs.FileMode {
	if p.mode == nil {
		return nil
	}
	m := p.mode.Perm()
	return &m
}

// diff lists what differs between fi and p, keyed as Salt's changes are:
// "mode" (the wanted mode, "0640"), "user", "group" (as the user wrote them).
func (p perms) diff(fi fs.FileInfo) map[string]any {
	ch := map[string]any{}
	uid, gid := fsx.Owner(fi)
	if p.uid >= 0 && uid != p.uid {
		ch["user"] = p.user
	}
	if p.gid >= 0 && gid != p.gid {
		ch["group"] = p.group
	}
	if p.mode != nil && fi.Mode()&fs.ModeSymlink == 0 && fsx.PermBits(fi.Mode()) != p.mode.Perm() {
		ch["mode"] = p.mode.String()
	}
	return ch
}

// apply sets the owner and mode named in ch (see diff) on path. Changing the
// owning user needs root; brine says so rather than letting chown fail with
// a bare "operation not permitted".
func (p perms) apply(path string, ch map[string]any, link bool) error {
	_, wantUser := ch["user"]
	_, wantGroup := ch["group"]
	if wantUser && os.Geteuid() != 0 {
		return fmt.Errorf("cannot change user of %s to %s: brine runs as uid %d, and only root may give files away", path, p.user, os.Geteuid())
	}
	if wantUser || wantGroup {
		uid, gid := -1, -1
		if wantUser {
			uid = p.uid
		}
		if wantGroup {
			gid = p.gid
		}
		chown := os.Chown
		if link {
			chown = os.Lchown
		}
		if err := chown(path, uid, gid); err != nil {
			if wantGroup && errors.Is(err, fs.ErrPermission) {
				return fmt.Errorf("cannot change group of %s to %s: brine (uid %d) is not a member of it: %w", path, p.group, os.Geteuid(), err)
			}
			return fmt.Errorf("change owner of %s: %w", path, err)
		}
	}
	if _, ok := ch["mode"]; ok && !link {
		if err := os.Chmod(path, p.mode.Perm()); err != nil {
			return fmt.Errorf("change mode of %s to %s: %w", path, p.mode, err)
		}
	}
	return nil
}

// createChanges is what Salt reports besides the diff when it creates a
// file: the owner when it is not the writer, and the mode when one is given
// and is not 0600 (Salt writes new files 0600 and reports the chmod that
// follows only when it changed something).
func (p perms) createChanges() map[string]any {
	ch := map[string]any{}
	if p.mode != nil && p.mode.Perm() != 0o600 {
		ch["mode"] = p.mode.String()
	}
	if p.uid >= 0 && p.uid != os.Geteuid() {
		ch["user"] = p.user
	}
	if p.gid >= 0 && p.gid != os.Getegid() {
		ch["group"] = p.group
	}
	return ch
}

// matchPattern applies a Salt include/exclude pattern to a relative path:
// "E@regex" searches with a regular expression, anything else is a shell
// glob over the whole path in which '*' also matches '/' (Python fnmatch).
func matchPattern(pat, rel string) (bool, error) {
	if re, ok := strings.CutPrefix(pat, "E@"); ok {
		r, err := regexp.Compile(re)
		if err != nil {
			return false, fmt.Errorf("pattern %q: %w", pat, err)
		}
		return r.MatchString(rel), nil
	}
	r, err := regexp.Compile(globRegexp(pat))
	if err != nil {
		return false, fmt.Errorf("pattern %q: %w", pat, err)
	}
	return r.MatchString(rel), nil
}

// globRegexp translates an fnmatch pattern to an anchored regular expression.
func globRegexp(pat string) string {
	var sb strings.Builder
	sb.WriteString("^(?s:")
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch c {
		case '*':
			sb.WriteString(".*")
		case '?':
			sb.WriteString(".")
		case '[':
			j := i + 1
			if j < len(pat) && pat[j] == '!' {
				j++
			}
			if j < len(pat) && pat[j] == ']' {
				j++
			}
			for j < len(pat) && pat[j] != ']' {
				j++
			}
			if j >= len(pat) {
				sb.WriteString(`\[`)
				continue
			}
			class := pat[i+1 : j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			sb.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i = j
		default:
			sb.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	sb.WriteString(")$")
	return sb.String()
}

// includeExclude is Salt's check_include_exclude: true when rel passes the
// include pattern (if any) and does not match the exclude pattern (if any).
func includeExclude(rel, include, exclude string) (bool, error) {
	if include != "" {
		ok, err := matchPattern(include, rel)
		if err != nil || !ok {
			return false, err
		}
	}
	if exclude != "" {
		ok, err := matchPattern(exclude, rel)
		if err != nil || ok {
			return false, err
		}
	}
	return true, nil
}

// keepSet expands the paths a clean must spare: each path, every directory
// above it up to root, and everything below a kept directory (Salt keeps a
// required file.directory's or file.recurse's whole tree).
type keepSet struct {
	exact map[string]bool
	trees []string
}

func newKeepSet(root string, keep []string) keepSet {
	k := keepSet{exact: map[string]bool{filepath.Clean(root): true}}
	for _, p := range keep {
		if !filepath.IsAbs(p) {
			continue
		}
		p = filepath.Clean(p)
		if isDir(p) {
			k.trees = append(k.trees, p)
		}
		for d := p; ; d = filepath.Dir(d) {
			k.exact[d] = true
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return k
}

func (k keepSet) has(p string) bool {
	if k.exact[p] {
		return true
	}
	for _, t := range k.trees {
		if strings.HasPrefix(p, t+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// cleanPlan walks root top-down (a directory's own entries, files first,
// then its subdirectories, as Python's os.walk reports them) and returns
// every path that a clean would remove, children of removed directories
// included, and separately the outermost ones, which are what a real run
// deletes.
func cleanPlan(root string, keep keepSet, exclude string) (all, top []string, err error) {
	var walk func(dir string, parentGone bool) error
	walk = func(dir string, parentGone bool) error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		var files, dirs []os.DirEntry
		for _, e := range entries {
			if e.IsDir() {
				dirs = append(dirs, e)
			} else {
				files = append(files, e)
			}
		}
		gone := map[string]bool{}
		for _, e := range append(files, dirs...) {
			p := filepath.Join(dir, e.Name())
			if keep.has(p) {
				continue
			}
			rel, _ := filepath.Rel(root, p)
			ok, err := includeExclude(rel, "", exclude)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			all = append(all, p)
			gone[p] = true
			if !parentGone {
				top = append(top, p)
			}
		}
		for _, e := range dirs {
			p := filepath.Join(dir, e.Name())
			if err := walk(p, parentGone || gone[p]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root, false); err != nil {
		return nil, nil, fmt.Errorf("clean %s: %w", root, err)
	}
	return all, top, nil
}

// sentence turns an error into a result comment: Salt's comments start with
// a capital letter, Go's errors do not.
func sentence(err error) string {
	s := err.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// testComment is Salt's test-mode comment for directory changes.
func testComment(changes map[string]any, order []string) string {
	var sb strings.Builder
	sb.WriteString("The following files will be changed:\n")
	for _, p := range order {
		ch, ok := changes[p].(map[string]any)
		if !ok {
			continue
		}
		keys := make([]string, 0, len(ch))
		for k := range ch {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&sb, "%s: %s - %v\n", p, k, ch[k])
		}
	}
	return sb.String()
}

// missingOwner answers for a user or group the host does not have. In test
// mode that is no failure: an earlier state of the same run (user.present,
// group.present) may create it, and nothing was about to be touched anyway.
func missingOwner(msg string, test bool) api.Result {
	if test {
		return api.Pending(msg+" yet; a state earlier in the run may create it", nil)
	}
	return api.Failed(msg)
}
