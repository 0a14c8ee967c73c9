package file

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states"
	"github.com/brine-cm/brine/states/file/fsx"
)

type copyArgs struct {
	// Source is an absolute local path (salt:// sources belong to
	// file.managed).
	Source   string
	Force    bool
	Makedirs bool
	// Preserve keeps the source's mode (and owner, as root) instead of
	// applying user, group and mode.
	Preserve bool
	User     string
	Group    string
	Mode     *api.Mode
	// Subdir: when name is a directory, copy into it under the source's
	// base name.
	Subdir bool
}

func registerCopy() {
	states.Register(states.Def[copyArgs]{
		Name: "file.copy",
		Doc: `Copy a local file (source) to name. An existing name is left alone unless
force is set and its content differs. makedirs creates missing parents;
user, group and mode are applied to the copy unless preserve is set.`,
		Apply: func(_ context.Context, req *states.Request, a *copyArgs) api.Result {
			return copyFile(req.Name, req.Test, a)
		},
	})
}

func copyFile(name string, test bool, a *copyArgs) api.Result {
	if msg := checkAbs(name); msg != "" {
		return api.Failed(msg)
	}
	if a.Source == "" {
		return api.Failed("Argument 'source' is required")
	}
	if msg := checkAbsArg("source", a.Source); msg != "" {
		return api.Failed(msg)
	}
	if isDir(name) && a.Subdir {
		name = filepath.Join(name, filepath.Base(a.Source))
	}
	sfi, err := os.Stat(a.Source)
	if err != nil {
		return api.Failed(fmt.Sprintf(`Source file "%s" is not present`, a.Source))
	}
	if sfi.IsDir() {
		return api.Failed(fmt.Sprintf(`Source "%s" is a directory; brine's file.copy copies single files (use file.recurse)`, a.Source))
	}
	p, msg := resolvePerms(a.User, a.Group, a.Mode)
	if msg != "" {
		return missingOwner(msg, test)
	}
	data, err := os.ReadFile(a.Source)
	if err != nil {
		return api.Failed(fmt.Sprintf(`Unable to read "%s": %v`, a.Source, err))
	}
	keep := fmt.Sprintf(`The target file "%s" exists and will not be overwritten`, name)
	if dfi, err := os.Lstat(name); err == nil {
		if !a.Force {
			return api.Succeeded(keep, nil)
		}
		if dfi.Mode().IsRegular() {
			if cur, err := os.ReadFile(name); err == nil && bytes.Equal(cur, data) {
				return api.Succeeded(keep, nil)
			}
		} else if dfi.IsDir() {
			return api.Failed(fmt.Sprintf(`The target "%s" is a directory`, name))
		}
	}
	if test {
		return api.Pending(fmt.Sprintf(`File "%s" is set to be copied to "%s"`, a.Source, name), map[string]any{name: a.Source})
	}
	if dir := filepath.Dir(name); !isDir(dir) {
		if !a.Makedirs {
			return api.Failed(fmt.Sprintf("The target directory %s is not present", dir))
		}
		if _, err := fsx.MakeDirs(dir, dirModeFor(nil, a.Mode), p.uid, p.gid); err != nil {
			return api.Failed(sentence(err))
		}
	}
	opt := fsx.WriteOptions{Mode: p.fileMode(), UID: p.uid, GID: p.gid}
	if a.Preserve {
		m := fsx.PermBits(sfi.Mode())
		opt = fsx.WriteOptions{Mode: &m, UID: -1, GID: -1}
		if os.Geteuid() == 0 {
			opt.UID, opt.GID = fsx.Owner(sfi)
		}
	} else if msg := p.rootCheck(name, p.createChanges()); msg != "" {
		return api.Failed(msg)
	}
	if err := fsx.AtomicWrite(name, data, opt); err != nil {
		return api.Failed(fmt.Sprintf(`Failed to copy "%s" to "%s": %v`, a.Source, name, err))
	}
	return api.Succeeded(fmt.Sprintf(`Copied "%s" to "%s"`, a.Source, name), map[string]any{name: a.Source})
}
