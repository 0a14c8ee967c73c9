package file

import (
	"context"
	"errors"
	"fmt"
	"os"

	"path/filepath"
	"sort"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states"
	"github.com/brine-cm/brine/states/file/fsx"
)

// recurseArgs are file.recurse's arguments (Salt's names).
type recurseArgs struct {
	// Source is a salt:// directory, or a list of them (the first that
	// exists is used).
	Source       any
	Clean        bool
	User         string
	Group        string
	DirMode      *api.Mode `arg:"dir_mode"`
	FileMode     *api.Mode `arg:"file_mode"`
	Template     string
	Context      map[string]any
	Defaults     map[string]any
	IncludeEmpty bool   `arg:"include_empty"`
	IncludePat   string `arg:"include_pat"`
	ExcludePat   string `arg:"exclude_pat"`
	// MaxDepth limits how many directory levels below source are copied
	// (0: only the files directly in it).
	MaxDepth *int `arg:"maxdepth"`
	Makedirs bool
	Replace  *bool
	// Backup is accepted and ignored, as for file.managed.
	Backup any
	// Keep lists absolute paths clean must spare (the engine fills it from
	// the states this one requires).
	Keep []string `arg:"__keep__"`
}

const recurseDoc = `Copy a salt:// directory tree to name, file by file through file.managed
(file_mode, user, group, template, context, defaults apply to every file) and
directory by directory through file.directory (dir_mode). include_pat and
exclude_pat (globs, or E@regex, on paths relative to source) select files;
maxdepth limits the depth; include_empty also creates empty directories;
clean: True removes whatever the source does not have.`

func registerRecurse() {
	states.Register(states.Def[recurseArgs]{
		Name: "file.recurse",
		Doc:  recurseDoc,
		Apply: func(ctx context.Context, req *states.Request, a *recurseArgs) api.Result {
			return recurse(ctx, req.Env, req.Name, req.Test, a)
		},
	})
}

// recurseResult accumulates sub-results the way Salt's file.recurse does.
type recurseResult struct {
	result   *bool
	changes  map[string]any
	comments []string // "#### path ####\ncomment" blocks, in order
	seen     map[string]int
}

func (r *recurseResult) comment(key, text string) {
	block := fmt.Sprintf("\n#### %s ####\n%s", key, text)
	if i, ok := r.seen[key]; ok {
		r.comments[i] = block
		return
	}
	r.seen[key] = len(r.comments)
	r.comments = append(r.comments, block)
}

// merge folds one file's or directory's result in: the most negative result
// wins, comments only for what is not plainly true, changes under the path.
func (r *recurseResult) merge(p string, sub api.Result) {
	if (sub.Result != nil && !*sub.Result) || (r.result != nil && *r.result) {
		r.result = sub.Result
	}
	if !(sub.Result != nil && *sub.Result) && sub.Comment != "" {
		r.comment(p, sub.Comment)
	}
	if len(sub.Changes) > 0 {
		r.changes[p] = sub.Changes
	}
}

func recurse(ctx context.Context, env *api.Env, name string, test bool, a *recurseArgs) api.Result {
	if msg := checkAbs(name); msg != "" {
		return api.Failed(msg)
	}
	if len(name) > 1 {
		name = strings.TrimRight(name, "/")
	}
	list, err := textParts("source", a.Source)
	if err != nil || a.Source == nil {
		return api.Failed("Argument 'source' must be a salt:// directory or a list of them")
	}
	for _, s := range list {
		if !strings.HasPrefix(s, "salt://") {
			return api.Failed(fmt.Sprintf("Invalid source '%s' (must be a salt:// URI)", s))
		}
	}
	tmpl := strings.ToLower(a.Template)
	if tmpl != "" && tmpl != "jinja" {
		return api.Failed(fmt.Sprintf("Specified template format %s is not supported", a.Template))
	}
	p, msg := resolvePerms(a.User, a.Group, a.DirMode)
	if msg != "" {
		return missingOwner(msg, test)
	}
	if env == nil || env.Files == nil {
		return api.Failed("Recurse failed: no salt:// file server is configured")
	}
	srcDir, senv, entries, res, ok := findSourceDir(ctx, env, list)
	if !ok {
		return res
	}

	if fi, err := os.Stat(name); err == nil && !fi.IsDir() {
		return api.Failed(fmt.Sprintf("The path %s exists and is not a directory", name))
	} else if err != nil && !test {
		if msg := p.rootCheck(name, p.createChanges()); msg != "" {
			return api.Failed(msg)
		}
		if _, err := fsx.MakeDirs(name, p.fileMode(), p.uid, p.gid); err != nil {
			return api.Failed(fmt.Sprintf("Failed to create directory %s: %v", name, err))
		}
	}

	// What the source holds, as destination paths.
	type fileJob struct{ dest, src string }
	var files []fileJob
	dirSet := map[string]bool{}
	var keep []string
	for _, fi := range entries {
		rel := strings.TrimPrefix(strings.TrimPrefix(fi.Path, srcDir), "/")
		if rel == "" || (a.MaxDepth != nil && strings.Count(rel, "/") > *a.MaxDepth) {
			continue
		}
		ok, err := includeExclude(rel, a.IncludePat, a.ExcludePat)
		if err != nil {
			return api.Failed(sentence(err))
		}
		if !ok {
			continue
		}
		dest := filepath.Join(name, filepath.FromSlash(rel))
		if fi.Mode.IsDir() {
			if a.IncludeEmpty {
				dirSet[dest] = true
				keep = append(keep, dest)
			}
			continue
		}
		files = append(files, fileJob{dest: dest, src: fi.Path})
		dirSet[filepath.Dir(dest)] = true
		keep = append(keep, dest)
	}
	dirs := make([]string, 0, len(dirSet))
	for d := range dirSet {
		dirs = append(dirs, d)
	}
	// Deepest first, then by name: this reproduces the order Salt's set
	// happened to give in the reference corpus (tree/sub before tree).
	sort.Slice(dirs, func(i, j int) bool {
		di, dj := strings.Count(dirs[i], "/"), strings.Count(dirs[j], "/")
		if di != dj {
			return di > dj
		}
		return dirs[i] < dirs[j]
	})
	sort.Slice(files, func(i, j int) bool { return files[i].dest < files[j].dest })

	subEnv := *env
	subEnv.Saltenv = senv
	out := &recurseResult{result: api.Tri(true), changes: map[string]any{}, seen: map[string]int{}}
	for _, d := range dirs {
		if err := ctx.Err(); err != nil {
			return api.FailedWith(sentence(err), out.changes)
		}
		if a.Clean && exists(d) && !isDir(d) {
			if test {
				out.merge(d, api.Pending(fmt.Sprintf("Replacing %s with a directory", d), nil))
				continue
			}
			if err := os.Remove(d); err != nil {
				out.merge(d, api.Failed(fmt.Sprintf("Unable to remove %s: %v", d, err)))
				continue
			}
			out.merge(d, api.Succeeded("", map[string]any{"diff": "Replaced file with a directory"}))
		}
		out.merge(d, directory(ctx, d, test, &directoryArgs{User: a.User, Group: a.Group, DirMode: a.DirMode, Makedirs: true}))
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return api.FailedWith(sentence(err), out.changes)
		}
		if a.Clean && isDir(f.dest) && boolOr(a.Replace, true) {
			if test {
				out.merge(f.dest, api.Pending(fmt.Sprintf("Replacing directory %s with a file", f.dest), nil))
				continue
			}
			if err := os.RemoveAll(f.dest); err != nil {
				out.merge(f.dest, api.Failed(fmt.Sprintf("Unable to remove %s: %v", f.dest, err)))
				continue
			}
			out.merge(f.dest, api.Succeeded("", map[string]any{"diff": "Replaced directory with a new file"}))
		}
		out.merge(f.dest, managed(ctx, &subEnv, f.dest, test, &managedArgs{
			Source: "salt://" + f.src, User: a.User, Group: a.Group, Mode: a.FileMode, DirMode: a.DirMode,
			Template: a.Template, Context: a.Context, Defaults: a.Defaults, Makedirs: true, Replace: a.Replace,
		}))
	}
	if a.Clean && isDir(name) {
		all, top, err := cleanPlan(name, newKeepSet(name, append(keep, a.Keep...)), a.ExcludePat)
		if err != nil {
			return api.FailedWith(sentence(err), out.changes)
		}
		if test && len(all) > 0 {
			if out.result != nil && *out.result {
				out.result = nil
			}
			out.comment("removed", strings.Join(all, "\n"))
		} else if !test && len(top) > 0 {
			var removed []any
			for _, r := range top {
				if err := os.RemoveAll(r); err != nil {
					out.result = api.Tri(false)
					out.comment(r, fmt.Sprintf("Unable to remove: %v", err))
					continue
				}
				removed = append(removed, r)
			}
			out.changes["removed"] = removed
		}
	}
	comment := strings.TrimSpace(strings.Join(out.comments, "\n"))
	if comment == "" {
		comment = fmt.Sprintf("Recursively updated %s", name)
	}
	if len(out.changes) == 0 && out.result != nil && *out.result {
		comment = fmt.Sprintf("The directory %s is in the correct state", name)
	}
	return api.Result{Result: out.result, Comment: comment, Changes: out.changes}
}

// findSourceDir picks the first source that is a directory on the file
// server and lists it.
func findSourceDir(ctx context.Context, env *api.Env, list []string) (dir, saltenv string, entries []api.FileInfo, res api.Result, ok bool) {
	var first location
	for i, s := range list {
		loc, err := resolveSource(strings.TrimRight(s, "/"), saltenvOf(env))
		if err != nil {
			return "", "", nil, api.Failed(sentence(err)), false
		}
		if i == 0 {
			first = loc
		}
		if loc.saltPath != "" {
			fi, err := env.Files.Stat(ctx, loc.saltenv, loc.saltPath)
			if errors.Is(err, api.ErrFileNotFound) || (err == nil && !fi.Mode.IsDir()) {
				continue
			}
			if err != nil {
				return "", "", nil, api.Failed(fmt.Sprintf("Recurse failed: %v", err)), false
			}
		}
		entries, err := env.Files.List(ctx, loc.saltenv, loc.saltPath)
		if err != nil {
			return "", "", nil, api.Failed(fmt.Sprintf("Recurse failed: %v", err)), false
		}
		return loc.saltPath, loc.saltenv, entries, api.Result{}, true
	}
	return "", "", nil, api.Failed(fmt.Sprintf("The directory '%s' does not exist on the salt fileserver in saltenv '%s'", first.saltPath, first.saltenv)), false
}
