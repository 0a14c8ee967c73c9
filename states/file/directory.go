package file

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states"
	"github.com/brine-cm/brine/states/file/fsx"
)

// directoryArgs are file.directory's arguments (Salt's names).
type directoryArgs struct {
	User  string
	Group string
	// Recurse applies user, group and mode below the directory too; items:
	// user, group, mode, ignore_files, ignore_dirs, silent.
	Recurse  []string
	MaxDepth *int      `arg:"max_depth"`
	DirMode  *api.Mode `arg:"dir_mode"`
	// Mode is Salt's alias for dir_mode.
	Mode *api.Mode
	// FileMode is the mode for files when recurse includes mode; it
	// defaults to dir_mode, as in Salt.
	FileMode       *api.Mode `arg:"file_mode"`
	Makedirs       bool
	Clean          bool
	ExcludePat     string `arg:"exclude_pat"`
	FollowSymlinks bool   `arg:"follow_symlinks"`
	Force          bool
	AllowSymlink   *bool `arg:"allow_symlink"`
	ChildrenOnly   bool  `arg:"children_only"`
	// Keep lists the absolute paths that clean must spare: the names of the
	// file states this one requires. The engine fills it; users do not.
	Keep []string `arg:"__keep__"`
}

const directoryDoc = `Ensure a directory exists with the given mode (dir_mode, alias mode),
user and group. makedirs creates missing parents with the same mode and
owner. recurse (a list of user, group, mode, ignore_files, ignore_dirs,
silent) applies them below it, files getting file_mode (default dir_mode).
clean: True removes everything inside that no required state manages
(exclude_pat: a glob, or E@regex, of relative paths to spare).`

func registerDirectory() {
	states.Register(states.Def[directoryArgs]{
		Name: "file.directory",
		Doc:  directoryDoc,
		Apply: func(ctx context.Context, req *states.Request, a *directoryArgs) api.Result {
			return directory(ctx, req.Name, req.Test, a)
		},
	})
}

// recurseSet is the parsed recurse argument.
type recurseSet struct {
	user, group, mode, files, dirs, silent bool
}

func parseRecurse(items []string) (recurseSet, bool, string) {
	var r recurseSet
	if len(items) == 0 {
		return r, false, ""
	}
	for _, it := range items {
		switch it {
		case "user":
			r.user = true
		case "group":
			r.group = true
		case "mode":
			r.mode = true
		case "ignore_files":
			r.files = true
		case "ignore_dirs":
			r.dirs = true
		case "silent":
			r.silent = true
		default:
			return r, false, `Types for "recurse" limited to "user", "group", "mode", "ignore_files", "ignore_dirs" and "silent"`
		}
	}
	if r.files && r.dirs {
		return r, false, `Must not specify "recurse" options "ignore_files" and "ignore_dirs" at the same time.`
	}
	return r, true, ""
}

// changeSet keeps Salt's changes map together with the order in which its
// per-path entries were found, for the test-mode comment.
type changeSet struct {
	m     map[string]any
	order []string
}

func newChangeSet() *changeSet { return &changeSet{m: map[string]any{}} }

func (c *changeSet) add(path string, ch map[string]any) {
	if _, dup := c.m[path]; !dup {
		c.order = append(c.order, path)
	}
	c.m[path] = ch
}

func directory(ctx context.Context, name string, test bool, a *directoryArgs) api.Result {
	if msg := checkAbs(name); msg != "" {
		return api.Failed(msg)
	}
	if len(name) > 1 {
		name = strings.TrimRight(name, "/")
	}
	dirMode := a.DirMode
	if dirMode == nil {
		dirMode = a.Mode
	}
	fileMode := a.FileMode
	if fileMode == nil {
		fileMode = dirMode
	}
	if a.MaxDepth != nil && a.Clean {
		return api.Failed("Cannot specify both max_depth and clean")
	}
	rec, recursing, msg := parseRecurse(a.Recurse)
	if msg != "" {
		return api.Failed(msg)
	}
	p, msg := resolvePerms(a.User, a.Group, dirMode)
	if msg != "" {
		return missingOwner(msg, test)
	}

	changes := newChangeSet()
	if res, stop := clearObstacle(name, test, a, changes); stop {
		return res
	}

	present := isDir(name)
	var walk []walkLevel
	if present && (recursing || a.Clean) {
		maxDepth := -1
		if a.MaxDepth != nil {
			maxDepth = *a.MaxDepth
		}
		var err error
		if walk, err = walkTree(ctx, name, maxDepth); err != nil {
			return api.Failed(sentence(err))
		}
	}
	type fix struct {
		path string
		p    perms
		ch   map[string]any
	}
	var fixes []fix
	if present && recursing {
		fp, dp := childPerms(p, rec, fileMode, dirMode)
		for _, lvl := range walk {
			if !rec.files {
				for _, f := range lvl.files {
					if ch := fp.diff(f.info); len(ch) > 0 {
						fixes = append(fixes, fix{f.path, fp, ch})
					}
				}
			}
			if !rec.dirs {
				for _, d := range lvl.dirs {
					if ch := dp.diff(d.info); len(ch) > 0 {
						fixes = append(fixes, fix{d.path, dp, ch})
					}
				}
			}
		}
		if !rec.silent {
			for _, f := range fixes {
				changes.add(f.path, f.ch)
			}
		}
	}
	var own map[string]any
	if present && !a.ChildrenOnly {
		fi, err := os.Stat(name)
		if err != nil {
			return api.Failed(fmt.Sprintf("Unable to check %s: %v", name, err))
		}
		if own = p.diff(fi); len(own) > 0 {
			changes.add(name, own)
		}
	}
	var removeTop []string
	if present && a.Clean {
		all, top, err := cleanPlan(name, newKeepSet(name, a.Keep), a.ExcludePat)
		if err != nil {
			return api.Failed(sentence(err))
		}
		for _, r := range all {
			changes.add(r, map[string]any{"removed": "Removed due to clean"})
		}
		removeTop = top
	}
	if !present {
		changes.add(name, map[string]any{"directory": "new"})
	}

	if len(changes.m) == 0 && len(fixes) == 0 {
		return api.Succeeded(fmt.Sprintf("The directory %s is in the correct state", name), nil)
	}
	if test {
		return api.Pending(testComment(changes.m, changes.order), changes.m)
	}

	if !present {
		if msg := p.rootCheck(name, p.createChanges()); msg != "" {
			return api.Failed(msg)
		}
		if !isDir(filepath.Dir(name)) && !a.Makedirs {
			return api.Failed(fmt.Sprintf("No directory to create %s in", name))
		}
		if _, err := fsx.MakeDirs(name, p.fileMode(), p.uid, p.gid); err != nil {
			return api.Failed(fmt.Sprintf("Failed to create directory %s: %v", name, err))
		}
		// Salt returns right after creating the directory, comment empty.
		return api.Succeeded("", changes.m)
	}

	var errs []string
	if len(own) > 0 {
		if msg := p.rootCheck(name, own); msg != "" {
			return api.Failed(msg)
		}
		if err := p.apply(name, own, false); err != nil {
			errs = append(errs, err.Error())
		}
		for k, v := range own {
			changes.m[k] = v
		}
	}
	for _, f := range fixes {
		if msg := f.p.rootCheck(f.path, f.ch); msg != "" {
			errs = append(errs, msg)
			continue
		}
		if err := f.p.apply(f.path, f.ch, false); err != nil {
			errs = append(errs, err.Error())
		}
	}
	comment := ""
	if len(removeTop) > 0 {
		var removed []any
		for _, r := range removeTop {
			if err := os.RemoveAll(r); err != nil {
				errs = append(errs, fmt.Sprintf("remove %s: %v", r, err))
				continue
			}
			removed = append(removed, r)
		}
		changes.m["removed"] = removed
		comment = fmt.Sprintf("Files cleaned from directory %s", name)
	}
	if comment == "" {
		if a.ChildrenOnly {
			comment = fmt.Sprintf("Directory %s/* updated", name)
		} else {
			comment = fmt.Sprintf("Directory %s updated", name)
		}
	}
	if len(errs) > 0 {
		comment += "\n\nThe following errors were encountered:\n"
		for _, e := range errs {
			comment += "\n- " + e
		}
		return api.FailedWith(comment, changes.m)
	}
	return api.Succeeded(comment, changes.m)
}

// clearObstacle handles a file or symlink where the directory should be:
// removed with force (reported as Salt does), a failure otherwise.
func clearObstacle(name string, test bool, a *directoryArgs, changes *changeSet) (api.Result, bool) {
	lfi, err := os.Lstat(name)
	if err != nil {
		return api.Result{}, false
	}
	isLink := lfi.Mode()&fs.ModeSymlink != 0
	isFile := lfi.Mode().IsRegular()
	if isLink {
		if fi, err := os.Stat(name); err == nil && fi.Mode().IsRegular() {
			isFile = true
		}
	}
	allowLink := boolOr(a.AllowSymlink, true)
	if !isFile && !(isLink && (!allowLink || a.Force)) {
		if !isLink && !lfi.IsDir() {
			return api.Failed(fmt.Sprintf("Specified location %s exists and is not a directory", name)), true
		}
		return api.Result{}, false
	}
	if !a.Force {
		if isFile && !isLink {
			return api.Failed(fmt.Sprintf("Specified location %s exists and is a file", name)), true
		}
		return api.Failed(fmt.Sprintf("Specified location %s exists and is a symlink", name)), true
	}
	what := "File"
	if isLink {
		what = "Symlink"
	}
	if test {
		changes.m["forced"] = what + " would be forcibly replaced"
		return api.Result{}, false
	}
	if err := os.Remove(name); err != nil {
		return api.Failed(fmt.Sprintf("Unable to remove %s: %v", name, err)), true
	}
	changes.m["forced"] = what + " was forcibly replaced"
	return api.Result{}, false
}

// childPerms derives what recurse enforces on files and subdirectories.
func childPerms(p perms, rec recurseSet, fileMode, dirMode *api.Mode) (files, dirs perms) {
	base := perms{uid: -1, gid: -1}
	if rec.user {
		base.user, base.uid = p.user, p.uid
	}
	if rec.group {
		base.group, base.gid = p.group, p.gid
	}
	files, dirs = base, base
	if rec.mode {
		files.mode, dirs.mode = fileMode, dirMode
	}
	return files, dirs
}

// walkEntry is one path found by walkTree.
type walkEntry struct {
	path string
	info fs.FileInfo
}

// walkLevel is one directory's entries, as os.walk yields them.
type walkLevel struct {
	dir         string
	dirs, files []walkEntry
}

// walkTree lists root top-down like Python's os.walk, stopping below
// maxDepth levels (-1: no limit). Symlinks are neither followed nor listed:
// recurse never changes a link's target through it.
func walkTree(ctx context.Context, root string, maxDepth int) ([]walkLevel, error) {
	var out []walkLevel
	var visit func(dir string, depth int) error
	visit = func(dir string, depth int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("walk %s: %w", dir, err)
		}
		lvl := walkLevel{dir: dir}
		for _, e := range entries {
			if e.Type()&fs.ModeSymlink != 0 {
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue // vanished meanwhile
			}
			we := walkEntry{path: filepath.Join(dir, e.Name()), info: info}
			if e.IsDir() {
				if maxDepth < 0 || depth < maxDepth {
					lvl.dirs = append(lvl.dirs, we)
				}
			} else {
				lvl.files = append(lvl.files, we)
			}
		}
		out = append(out, lvl)
		for _, d := range lvl.dirs {
			if err := visit(d.path, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit(root, 0); err != nil {
		return nil, err
	}
	return out, nil
}
