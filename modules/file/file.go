// Package file is Salt's file execution module: reading, writing, hashing
// and describing files on the minion (file.read, file.write, file.stats,
// file.get_hash ...). It shares its file-system code with the file state
// module (states/file/fsx), so `brine call file.write` and file.managed
// write files the same atomic way.
package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/states/file/fsx"
)

type pathArg struct {
	Path string
}

type readArgs struct {
	Path   string
	Binary bool
}

type hashArgs struct {
	Path      string
	Form      string
	ChunkSize int `arg:"chunk_size"`
}

type mkdirArgs struct {
	DirPath string `arg:"dir_path"`
	User    string
	Group   string
	Mode    *api.Mode
}

type touchArgs struct {
	Name  string
	Atime *int64
	Mtime *int64
}

type statsArgs struct {
	Path           string
	HashType       string `arg:"hash_type"`
	FollowSymlinks *bool  `arg:"follow_symlinks"`
}

type modeArgs struct {
	Path           string
	FollowSymlinks *bool `arg:"follow_symlinks"`
}

type chownArgs struct {
	Path  string
	User  string
	Group string
}

type chmodArgs struct {
	Path string
	Mode *api.Mode
}

type containsArgs struct {
	Path string
	Text string
}

func init() {
	modules.Register(modules.Typed("file.read", "Return the content of a file (binary=True: raw bytes).",
		[]string{"path", "binary"}, read))
	modules.Register(lineWriter("file.write", `Write each argument as a line to the file, replacing it atomically:
file.write /etc/motd "first line" "second line".`, false))
	modules.Register(lineWriter("file.append", `Append each argument as a line to the file (a missing final newline is added first).`, true))
	modules.Register(modules.Typed("file.exists", "True if the path exists (a dangling symlink does not).",
		[]string{"path"}, func(_ context.Context, _ *api.Env, a *pathArg) (any, error) {
			p, err := absPath(a.Path)
			if err != nil {
				return nil, err
			}
			_, err = os.Stat(p)
			return err == nil, nil
		}))
	modules.Register(modules.Typed("file.file_exists", "True if the path is a regular file (after symlinks).",
		[]string{"path"}, func(_ context.Context, _ *api.Env, a *pathArg) (any, error) {
			p, err := absPath(a.Path)
			if err != nil {
				return nil, err
			}
			fi, err := os.Stat(p)
			return err == nil && fi.Mode().IsRegular(), nil
		}))
	modules.Register(modules.Typed("file.directory_exists", "True if the path is a directory (after symlinks).",
		[]string{"path"}, func(_ context.Context, _ *api.Env, a *pathArg) (any, error) {
			p, err := absPath(a.Path)
			if err != nil {
				return nil, err
			}
			fi, err := os.Stat(p)
			return err == nil && fi.IsDir(), nil
		}))
	modules.Register(modules.Typed("file.get_hash", "Hex digest of a file; form: md5, sha1, sha224, sha256 (default), sha384, sha512.",
		[]string{"path", "form", "chunk_size"}, getHash))
	modules.Register(modules.Typed("file.mkdir", "Create a directory and its missing parents, with user, group and mode.",
		[]string{"dir_path", "user", "group", "mode"}, mkdir))
	modules.Register(modules.Typed("file.remove", "Remove a file, symlink or directory tree; False if nothing was there.",
		[]string{"path"}, remove))
	modules.Register(modules.Typed("file.touch", "Create the file if missing and set its times (atime, mtime: Unix times; default now).",
		[]string{"name", "atime", "mtime"}, touch))
	modules.Register(modules.Typed("file.stats", "Salt's stat dictionary: inode, uid, gid, user, group, atime, mtime, ctime, size, mode, type, target (and sum with hash_type).",
		[]string{"path", "hash_type", "follow_symlinks"}, stats))
	modules.Register(modules.Typed("file.get_mode", `The file's mode as Salt prints it ("0644").`,
		[]string{"path", "follow_symlinks"}, func(_ context.Context, _ *api.Env, a *modeArgs) (any, error) {
			st, err := statPath(a.Path, a.FollowSymlinks)
			if err != nil {
				return nil, err
			}
			return st["mode"], nil
		}))
	for _, f := range []struct{ name, key, doc string }{
		{"file.get_user", "user", "Name of the user owning the file."},
		{"file.get_group", "group", "Name of the group owning the file."},
		{"file.get_uid", "uid", "Numeric owner of the file."},
		{"file.get_gid", "gid", "Numeric group of the file."},
	} {
		modules.Register(modules.Typed(f.name, f.doc, []string{"path", "follow_symlinks"},
			func(_ context.Context, _ *api.Env, a *modeArgs) (any, error) {
				st, err := statPath(a.Path, a.FollowSymlinks)
				if err != nil {
					return nil, err
				}
				return st[f.key], nil
			}))
	}
	modules.Register(modules.Typed("file.chown", "Set the owner (user, and group when given; names or ids).",
		[]string{"path", "user", "group"}, chown))
	modules.Register(modules.Typed("file.chmod", "Set the mode (octal: 644, '0644').",
		[]string{"path", "mode"}, chmod))
	modules.Register(modules.Typed("file.readlink", "The target of a symlink.",
		[]string{"path"}, func(_ context.Context, _ *api.Env, a *pathArg) (any, error) {
			p, err := absPath(a.Path)
			if err != nil {
				return nil, err
			}
			return os.Readlink(p)
		}))
	modules.Register(modules.Typed("file.contains", "True if the file holds the text.",
		[]string{"path", "text"}, func(_ context.Context, _ *api.Env, a *containsArgs) (any, error) {
			p, err := absPath(a.Path)
			if err != nil {
				return nil, err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			return strings.Contains(string(b), a.Text), nil
		}))
}

// absPath expands a leading ~ and insists on an absolute path: a minion's
// working directory is nobody's business.
func absPath(p string) (string, error) {
	if p == "" {
		return "", errors.New("a path is required")
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("expand %s: %w", p, err)
		}
		p = filepath.Join(home, strings.TrimPrefix(p, "~"))
	}
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("path must be absolute: %s", p)
	}
	return p, nil
}

func read(_ context.Context, _ *api.Env, a *readArgs) (any, error) {
	p, err := absPath(a.Path)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if a.Binary {
		return b, nil
	}
	return string(b), nil
}

// lineWriter builds file.write / file.append, which take the path and then
// any number of lines, as positional arguments or as `args`.
func lineWriter(name, doc string, appending bool) modules.Func {
	return modules.Func{
		Name:   name,
		Doc:    doc,
		Params: []string{"path", "args"},
		Run: func(_ context.Context, _ *api.Env, args []any, kwargs map[string]any) (any, error) {
			m := map[string]any{}
			for k, v := range kwargs {
				if !strings.HasPrefix(k, "__") {
					m[k] = v
				}
			}
			if len(args) > 0 {
				if _, dup := m["path"]; dup {
					return nil, fmt.Errorf("%s got argument 'path' twice", name)
				}
				m["path"] = args[0]
				if len(args) > 1 {
					lines := append([]any{}, args[1:]...)
					if extra, ok := m["args"]; ok {
						lines = append(lines, extra)
					}
					m["args"] = lines
				}
			}
			var a struct {
				Path string
				Args []string
			}
			if err := api.Decode(m, &a); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			p, err := absPath(a.Path)
			if err != nil {
				return nil, err
			}
			var sb strings.Builder
			if appending {
				old, err := os.ReadFile(p)
				if err != nil && !errors.Is(err, fs.ErrNotExist) {
					return nil, err
				}
				sb.Write(old)
				if len(old) > 0 && old[len(old)-1] != '\n' {
					sb.WriteByte('\n')
				}
			}
			for _, l := range a.Args {
				sb.WriteString(l)
				sb.WriteByte('\n')
			}
			if err := fsx.AtomicWrite(p, []byte(sb.String()), fsx.NewWriteOptions()); err != nil {
				return nil, err
			}
			return fmt.Sprintf("Wrote %d lines to \"%s\"", len(a.Args), p), nil
		},
	}
}

func getHash(_ context.Context, _ *api.Env, a *hashArgs) (any, error) {
	p, err := absPath(a.Path)
	if err != nil {
		return nil, err
	}
	form := a.Form
	if form == "" {
		form = "sha256"
	}
	return fsx.HashFile(form, p)
}

func mkdir(_ context.Context, _ *api.Env, a *mkdirArgs) (any, error) {
	p, err := absPath(a.DirPath)
	if err != nil {
		return nil, err
	}
	uid, gid, err := owner(a.User, a.Group)
	if err != nil {
		return nil, err
	}
	var perm *fs.FileMode
	if a.Mode != nil {
		m := a.Mode.Perm()
		perm = &m
	}
	if _, err := fsx.MakeDirs(p, perm, uid, gid); err != nil {
		return nil, err
	}
	return true, nil
}

func owner(user, group string) (uid, gid int, err error) {
	uid, gid = -1, -1
	if user != "" {
		if uid, err = fsx.LookupUID(user); err != nil {
			return -1, -1, err
		}
	}
	if group != "" {
		if gid, err = fsx.LookupGID(group); err != nil {
			return -1, -1, err
		}
	}
	return uid, gid, nil
}

func remove(_ context.Context, _ *api.Env, a *pathArg) (any, error) {
	p, err := absPath(a.Path)
	if err != nil {
		return nil, err
	}
	if filepath.Clean(p) == "/" {
		return nil, errors.New("refusing to remove /")
	}
	if _, err := os.Lstat(p); err != nil {
		return false, nil
	}
	if err := os.RemoveAll(p); err != nil {
		return nil, fmt.Errorf("could not remove %s: %w", p, err)
	}
	return true, nil
}

func touch(_ context.Context, _ *api.Env, a *touchArgs) (any, error) {
	p, err := absPath(a.Name)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE, 0o666)
	if err != nil {
		return nil, err
	}
	f.Close()
	now := time.Now()
	at, mt := now, now
	if a.Atime != nil {
		at = time.Unix(*a.Atime, 0)
	}
	if a.Mtime != nil {
		mt = time.Unix(*a.Mtime, 0)
	}
	if err := os.Chtimes(p, at, mt); err != nil {
		return nil, err
	}
	return true, nil
}

func stats(_ context.Context, _ *api.Env, a *statsArgs) (any, error) {
	st, err := statPath(a.Path, a.FollowSymlinks)
	if err != nil {
		return nil, err
	}
	if a.HashType != "" && st["type"] == "file" {
		sum, err := fsx.HashFile(a.HashType, st["target"].(string))
		if err != nil {
			return nil, err
		}
		st["sum"] = sum
	}
	return st, nil
}

// statPath builds Salt's file.stats dictionary.
func statPath(path string, follow *bool) (map[string]any, error) {
	p, err := absPath(path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, fmt.Errorf("path not found: %s", p)
	}
	if fi.Mode()&fs.ModeSymlink != 0 && (follow == nil || *follow) {
		if t, err := os.Stat(p); err == nil {
			fi = t
		}
	}
	uid, gid := fsx.Owner(fi)
	atime, ctime := fsx.Times(fi)
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		target = p
	}
	return map[string]any{
		"inode":  fsx.Inode(fi),
		"uid":    uid,
		"gid":    gid,
		"user":   fsx.UserName(uid),
		"group":  fsx.GroupName(gid),
		"atime":  seconds(atime),
		"mtime":  seconds(fi.ModTime()),
		"ctime":  seconds(ctime),
		"size":   fi.Size(),
		"mode":   fsx.OctalMode(fsx.PermBits(fi.Mode())),
		"type":   fileType(fi.Mode()),
		"target": target,
	}, nil
}

func seconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

func fileType(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "link"
	case m.IsDir():
		return "dir"
	case m&fs.ModeCharDevice != 0:
		return "char"
	case m&fs.ModeDevice != 0:
		return "block"
	case m&fs.ModeNamedPipe != 0:
		return "pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return "file"
}

func chown(_ context.Context, _ *api.Env, a *chownArgs) (any, error) {
	p, err := absPath(a.Path)
	if err != nil {
		return nil, err
	}
	if a.User == "" && a.Group == "" {
		return nil, errors.New("give a user, a group or both")
	}
	uid, gid, err := owner(a.User, a.Group)
	if err != nil {
		return nil, err
	}
	if err := os.Chown(p, uid, gid); err != nil {
		return nil, err
	}
	return nil, nil
}

func chmod(_ context.Context, _ *api.Env, a *chmodArgs) (any, error) {
	p, err := absPath(a.Path)
	if err != nil {
		return nil, err
	}
	if a.Mode == nil {
		return nil, errors.New("a mode is required")
	}
	if err := os.Chmod(p, a.Mode.Perm()); err != nil {
		return nil, err
	}
	return nil, nil
}
