package file

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states"
	"github.com/brine-cm/brine/states/file/fsx"
)

// nameOnly is for states that take nothing but name.
type nameOnly struct{}

type touchArgs struct {
	// Atime and Mtime are Unix times; unset means now.
	Atime    *int64
	Mtime    *int64
	Makedirs bool
}

type symlinkArgs struct {
	Target   string
	Force    bool
	Makedirs bool
	User     string
	Group    string
}

func registerSimple() {
	states.Register(states.Def[nameOnly]{
		Name: "file.absent",
		Doc:  "Make sure a file, symlink or directory (with its content) does not exist.",
		Apply: func(_ context.Context, req *states.Request, _ *nameOnly) api.Result {
			return absent(req.Name, req.Test)
		},
	})
	states.Register(states.Def[nameOnly]{
		Name: "file.exists",
		Doc:  "Fail unless the path exists; changes nothing.",
		Apply: func(_ context.Context, req *states.Request, _ *nameOnly) api.Result {
			if msg := checkAbs(req.Name); msg != "" {
				return api.Failed(msg)
			}
			if !exists(req.Name) {
				return api.Failed(fmt.Sprintf("Specified path %s does not exist", req.Name))
			}
			return api.Succeeded(fmt.Sprintf("Path %s exists", req.Name), nil)
		},
	})
	states.Register(states.Def[nameOnly]{
		Name: "file.missing",
		Doc:  "Fail if the path exists; changes nothing.",
		Apply: func(_ context.Context, req *states.Request, _ *nameOnly) api.Result {
			if msg := checkAbs(req.Name); msg != "" {
				return api.Failed(msg)
			}
			if exists(req.Name) {
				return api.Failed(fmt.Sprintf("Specified path %s exists", req.Name))
			}
			return api.Succeeded(fmt.Sprintf("Path %s is missing", req.Name), nil)
		},
	})
	states.Register(states.Def[touchArgs]{
		Name: "file.touch",
		Doc: `Create an empty file if it is missing, else set its access and modification
times (atime, mtime: Unix times; default now). Like Salt, it reports a change
on every run.`,
		Apply: func(_ context.Context, req *states.Request, a *touchArgs) api.Result {
			return touch(req.Name, req.Test, a)
		},
	})
	states.Register(states.Def[symlinkArgs]{
		Name: "file.symlink",
		Doc: `Make name a symlink to target. force replaces a file or directory in the
way; makedirs creates missing parents; user and group own the link.`,
		Apply: func(_ context.Context, req *states.Request, a *symlinkArgs) api.Result {
			return symlink(req.Name, req.Test, a)
		},
	})
}

func absent(name string, test bool) api.Result {
	if msg := checkAbs(name); msg != "" {
		return api.Failed(msg)
	}
	if filepath.Clean(name) == "/" {
		return api.Failed(`Refusing to make "/" absent`)
	}
	fi, err := os.Lstat(name)
	if err != nil {
		return api.Succeeded(fmt.Sprintf("File %s is not present", name), nil)
	}
	what := "file"
	if fi.IsDir() {
		what = "directory"
	}
	ch := map[string]any{"removed": name}
	if test {
		return api.Pending(fmt.Sprintf("%s %s is set for removal", upper(what), name), ch)
	}
	if err := os.RemoveAll(name); err != nil {
		return api.Failed(fmt.Sprintf("Failed to remove %s %s: %v", what, name, err))
	}
	return api.Succeeded(fmt.Sprintf("Removed %s %s", what, name), ch)
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

func touch(name string, test bool, a *touchArgs) api.Result {
	if msg := checkAbs(name); msg != "" {
		return api.Failed(msg)
	}
	fi, err := os.Stat(name)
	present := err == nil
	if test {
		if !present {
			return api.Pending(fmt.Sprintf("File %s is set to be created", name), map[string]any{"new": name})
		}
		if (a.Atime != nil && *a.Atime != atimeOf(fi)) || (a.Mtime != nil && *a.Mtime != fi.ModTime().Unix()) {
			return api.Pending(fmt.Sprintf("Times set to be updated on file %s", name), map[string]any{"touched": name})
		}
		return api.Succeeded(fmt.Sprintf("File %s exists and has the correct times", name), nil)
	}
	if !present {
		parent := filepath.Dir(name)
		if !isDir(parent) {
			if !a.Makedirs {
				return api.Failed(fmt.Sprintf("Directory not present to touch file %s", name))
			}
			if _, err := fsx.MakeDirs(parent, nil, -1, -1); err != nil {
				return api.Failed(sentence(err))
			}
		}
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o666)
		if err != nil {
			return api.Failed(fmt.Sprintf("Failed to create %s: %v", name, err))
		}
		f.Close()
	}
	now := time.Now()
	at, mt := now, now
	if a.Atime != nil {
		at = time.Unix(*a.Atime, 0)
	}
	if a.Mtime != nil {
		mt = time.Unix(*a.Mtime, 0)
	}
	if err := os.Chtimes(name, at, mt); err != nil {
		return api.Failed(fmt.Sprintf("Failed to set times on %s: %v", name, err))
	}
	if !present {
		return api.Succeeded(fmt.Sprintf("Created empty file %s", name), map[string]any{"new": name})
	}
	what := "file"
	if fi.IsDir() {
		what = "directory"
	}
	return api.Succeeded(fmt.Sprintf("Updated times on %s %s", what, name), map[string]any{"touched": name})
}

func atimeOf(fi fs.FileInfo) int64 {
	at, _ := fsx.Times(fi)
	return at.Unix()
}

func symlink(name string, test bool, a *symlinkArgs) api.Result {
	if msg := checkAbs(name); msg != "" {
		return api.Failed(msg)
	}
	if a.Target == "" {
		return api.Failed("Argument 'target' is required")
	}
	p, msg := resolvePerms(a.User, a.Group, nil)
	if msg != "" {
		return missingOwner(msg, test)
	}
	lfi, err := os.Lstat(name)
	present := err == nil
	isLink := present && lfi.Mode()&fs.ModeSymlink != 0
	if isLink {
		cur, err := os.Readlink(name)
		if err != nil {
			return api.Failed(fmt.Sprintf("Unable to read symlink %s: %v", name, err))
		}
		if filepath.Clean(cur) == filepath.Clean(a.Target) {
			ch := p.diff(lfi)
			if len(ch) == 0 {
				return api.Succeeded(fmt.Sprintf("Symlink %s is present and owned by %s", name, ownerText(lfi)), nil)
			}
			if test {
				return api.Pending(fmt.Sprintf("The symlink %s is present, but the ownership of the symlink would be changed from %s to %s:%s",
					name, ownerText(lfi), a.User, a.Group), map[string]any{"ownership": ownerText(lfi)})
			}
			if msg := p.rootCheck(name, ch); msg != "" {
				return api.Failed(msg)
			}
			if err := p.apply(name, ch, true); err != nil {
				return api.Failed(sentence(err))
			}
			nfi, _ := os.Lstat(name)
			return api.Succeeded(fmt.Sprintf("Set ownership of symlink %s to %s", name, ownerText(nfi)), map[string]any{"ownership": ownerText(nfi)})
		}
		if test {
			return api.Pending(fmt.Sprintf("Link %s target is set to be changed to %s", name, a.Target), map[string]any{"change": name})
		}
	} else if present {
		if !a.Force {
			what := "File"
			if lfi.IsDir() {
				what = "Directory"
			}
			return api.Failed(fmt.Sprintf("%s exists where the symlink %s should be", what, name))
		}
		if test {
			return api.Pending(fmt.Sprintf("The file or directory %s is set for removal to make way for a new symlink targeting %s", name, a.Target), map[string]any{"new": name})
		}
	} else if test {
		return api.Pending(fmt.Sprintf("Symlink %s to %s is set for creation", name, a.Target), map[string]any{"new": name})
	}

	changes := map[string]any{}
	parent := filepath.Dir(name)
	if !isDir(parent) {
		if !a.Makedirs {
			return api.Failed(fmt.Sprintf("Directory %s for symlink is not present", parent))
		}
		if _, err := fsx.MakeDirs(parent, nil, p.uid, p.gid); err != nil {
			return api.Failed(sentence(err))
		}
	}
	if msg := p.rootCheck(name, p.createChanges()); msg != "" {
		return api.Failed(msg)
	}
	// Build the link beside name and rename it over, so that name never
	// stops existing while a wrong link is replaced.
	tmp := filepath.Join(parent, fmt.Sprintf(".%s.brine-link-%d", filepath.Base(name), time.Now().UnixNano()))
	if err := os.Symlink(a.Target, tmp); err != nil {
		return api.Failed(fmt.Sprintf("Unable to create new symlink %s -> %s: %v", name, a.Target, err))
	}
	if ch := p.createChanges(); len(ch) > 0 {
		delete(ch, "mode")
		if err := p.apply(tmp, ch, true); err != nil {
			os.Remove(tmp)
			return api.Failed(sentence(err))
		}
	}
	if present && !isLink {
		if err := os.RemoveAll(name); err != nil {
			os.Remove(tmp)
			return api.Failed(fmt.Sprintf("Unable to remove %s: %v", name, err))
		}
		changes["forced"] = "Symlink was forcibly replaced"
	}
	if err := os.Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return api.Failed(fmt.Sprintf("Unable to create new symlink %s -> %s: %v", name, a.Target, err))
	}
	changes["new"] = name
	return api.Succeeded(fmt.Sprintf("Created new symlink %s -> %s", name, a.Target), changes)
}

// ownerText prints a file's owner as user:group.
func ownerText(fi fs.FileInfo) string {
	if fi == nil {
		return "?:?"
	}
	uid, gid := fsx.Owner(fi)
	return fsx.UserName(uid) + ":" + fsx.GroupName(gid)
}
