// Package archive provides archive.extracted: unpack a tar or zip archive
// (from salt://, a local path or http(s)) into a directory once, verify its
// source_hash first, and keep ownership as asked. Listing, extraction and
// the source handling are modules/archive's, shared with archive.list.
package archive

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/internal/platform"
	archmod "github.com/brine-cm/brine/modules/archive"
	"github.com/brine-cm/brine/states"
)

type extractedArgs struct {
	Source     string
	SourceHash string `arg:"source_hash"`
	// SourceHashName is the file name to look up in a source_hash file
	// (default: the source's own name).
	SourceHashName  string `arg:"source_hash_name"`
	SkipVerify      bool   `arg:"skip_verify"`
	ArchiveFormat   string `arg:"archive_format"`
	EnforceToplevel *bool  `arg:"enforce_toplevel"`
	IfMissing       string `arg:"if_missing"`
	User            string
	Group           string
	// Options are extra tar arguments ("--strip-components=1").
	Options   string
	Overwrite bool
	// Clean removes the archive's top-level paths before extracting.
	Clean bool
	// Force removes paths of the wrong type (a file where the archive has
	// a directory) instead of failing.
	Force      bool
	TrimOutput any `arg:"trim_output"`
	// KeepSource is accepted for Salt compatibility: brine keeps no copy
	// of a downloaded archive.
	KeepSource *bool `arg:"keep_source"`
}

func init() {
	states.Register(states.Def[extractedArgs]{
		Name: "archive.extracted",
		Doc: `Make sure an archive's contents are unpacked in a directory (the state's
name). The archive is extracted when any of its files is missing there
(or always with overwrite: True), never when if_missing exists.

    /opt/app:
      archive.extracted:
        - source: salt://app/app-1.2.tar.gz
        - source_hash: sha256=5a2d...
        - user: app
        - group: app

Arguments: source (salt://, absolute path, file://, http(s)://),
source_hash (type=hex, bare hex, or a file of hashes), source_hash_name,
skip_verify, archive_format (tar or zip), enforce_toplevel (default True:
the archive must hold one top-level directory), if_missing, user, group
(ownership of everything extracted), options (extra tar arguments),
overwrite, clean, force, trim_output, keep_source. Changes:
extracted_files, directories_created, updated ownership.`,
		Apply: extracted,
	})
}

func trim(files []string, opt any) []string {
	n := 0
	switch v := opt.(type) {
	case bool:
		if v {
			n = 100
		}
	default:
		if i, ok := api.Int(v); ok {
			n = int(i)
		}
	}
	if n > 0 && len(files) > n {
		return files[:n]
	}
	return files
}

func asList(items []string) []any {
	out := make([]any, len(items))
	for i, s := range items {
		out[i] = s
	}
	return out
}

// ids resolves user and group to numbers (-1: leave alone).
func ids(userName, groupName string) (int, int, error) {
	uid, gid := -1, -1
	if userName != "" {
		u, err := user.Lookup(userName)
		if err != nil {
			return 0, 0, fmt.Errorf("User %s does not exist", userName)
		}
		uid, _ = strconv.Atoi(u.Uid)
	}
	if groupName != "" {
		g, err := user.LookupGroup(groupName)
		if err != nil {
			return 0, 0, fmt.Errorf("Group %s does not exist", groupName)
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	return uid, gid, nil
}

func extracted(ctx context.Context, req *states.Request, a *extractedArgs) api.Result {
	name := req.Name
	if err := archmod.Check(req.Env); err != nil {
		return api.Failed(err.Error())
	}
	if !filepath.IsAbs(name) {
		return api.Failed(fmt.Sprintf("%s is not an absolute path", name))
	}
	name = filepath.Clean(name)
	if a.Source == "" {
		return api.Failed("source is required: the archive to extract")
	}
	remote := strings.HasPrefix(a.Source, "http://") || strings.HasPrefix(a.Source, "https://")
	if remote && a.SourceHash == "" && !a.SkipVerify {
		return api.Failed(fmt.Sprintf("Unable to verify upstream hash of source file %s, please set source_hash or set skip_verify to True", a.Source))
	}
	uid, gid, err := ids(a.User, a.Group)
	if err != nil {
		return api.Failed(err.Error())
	}
	file, cleanup, err := platform.Fetch(ctx, req.Env, a.Source)
	if err != nil {
		return api.Failed(err.Error())
	}
	defer cleanup()
	if a.SourceHash != "" && !a.SkipVerify {
		hashName := a.SourceHashName
		if hashName == "" {
			hashName = a.Source
		}
		sum, err := archmod.ReadSum(ctx, req.Env, a.SourceHash, hashName)
		if err != nil {
			return api.Failed(err.Error())
		}
		if err := sum.Verify(file, a.Source); err != nil {
			return api.Failed(err.Error())
		}
	}
	format, err := archmod.DetectFormat(file, a.ArchiveFormat)
	if err != nil {
		return api.Failed(err.Error())
	}
	members, err := archmod.Members(ctx, file, format)
	if err != nil {
		return api.Failed(err.Error())
	}
	contents, err := archmod.Analyze(members)
	if err != nil {
		return api.Failed(fmt.Sprintf("Refusing to extract %s: %v", a.Source, err))
	}
	if (a.EnforceToplevel == nil || *a.EnforceToplevel) && !contents.SingleTopLevel() {
		return api.Failed(fmt.Sprintf("Archive does not have a single top-level directory. To allow this archive to be extracted, set 'enforce_toplevel' to False. To avoid a '%s-bomb' it may also be advisable to set a top-level directory by adding it to the 'name' value (for example, setting 'name' to %s instead of %s).",
			format, filepath.Join(name, "some_dir"), name))
	}

	changes := map[string]any{}
	needed := a.Overwrite
	ifMissingExists := false
	if a.IfMissing != "" {
		_, err := os.Lstat(a.IfMissing)
		ifMissingExists = err == nil
	}
	if !ifMissingExists {
		missing, wrong := contents.Missing(name)
		needed = needed || len(missing) > 0
		if len(wrong) > 0 && !a.Clean {
			if !a.Force {
				list := "\n\n- " + strings.Join(wrong, "\n- ")
				return api.Failed(fmt.Sprintf("The below paths (relative to %s) exist, but are the incorrect type (file instead of directory, symlink instead of file, etc.). To proceed with extraction, set 'force' to True. Note that this will remove these paths before extracting.%s", name, list))
			}
			if !req.Test {
				var removed []string
				for _, w := range wrong {
					p := filepath.Join(name, w)
					if err := os.RemoveAll(p); err != nil {
						return api.Failed(err.Error())
					}
					removed = append(removed, p)
				}
				changes["removed"] = asList(removed)
			}
			needed = true
		}
	}

	_, statErr := os.Stat(name)
	createDir := os.IsNotExist(statErr)
	if needed && req.Test {
		comment := fmt.Sprintf("Archive %s would be extracted to %s", a.Source, name)
		if a.Clean {
			comment += ", after cleaning destination path(s)"
		}
		changes["extracted_files"] = asList(trim(contents.Names, a.TrimOutput))
		if createDir {
			changes["directories_created"] = []any{name}
		}
		return api.Pending(comment, changes)
	}
	if needed {
		if createDir {
			if err := os.MkdirAll(name, 0o755); err != nil {
				return api.Failed(err.Error())
			}
			if uid >= 0 {
				if err := os.Lchown(name, uid, -1); err != nil {
					return api.Failed(err.Error())
				}
			}
			changes["directories_created"] = []any{name}
		}
		if a.Clean {
			var removed []string
			for _, top := range append(append([]string{}, contents.TopLevelDirs...), contents.TopFiles...) {
				p := filepath.Join(name, top)
				if _, err := os.Lstat(p); err == nil {
					if err := os.RemoveAll(p); err != nil {
						return api.FailedWith(err.Error(), changes)
					}
					removed = append(removed, p)
				}
			}
			if len(removed) > 0 {
				changes["removed"] = asList(removed)
			}
		}
		if err := archmod.Extract(ctx, file, format, name, strings.Fields(a.Options)); err != nil {
			return api.FailedWith(fmt.Sprintf("Failed to extract %s: %v", a.Source, err), changes)
		}
		changes["extracted_files"] = asList(trim(contents.Names, a.TrimOutput))
	}

	if uid >= 0 || gid >= 0 {
		changed, err := archmod.Chown(name, contents, uid, gid, req.Test)
		if err != nil {
			return api.FailedWith(fmt.Sprintf("While trying to enforce user/group ownership: %v", err), changes)
		}
		if changed {
			changes["updated ownership"] = true
		}
	}
	if needed {
		return api.Succeeded(fmt.Sprintf("%s extracted to %s", a.Source, name), changes)
	}
	comment := "All files in archive are already present"
	if ifMissingExists {
		comment = a.IfMissing + " exists"
	}
	if req.Test && len(changes) > 0 {
		return api.Pending(comment+". Ownership would be updated on one or more files/directories.", changes)
	}
	return api.Succeeded(comment, changes)
}
