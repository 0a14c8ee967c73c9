// Package archive lists and extracts tar (plain, gzip, bzip2, xz) and zip
// archives and registers Salt's archive.list; the archive.extracted state
// uses the same code. tar archives go through the tar binary; zip
// archives are read with Go's archive/zip, so no unzip is needed. Member
// names that would leave the destination (absolute, "..") are refused
// before anything is written.
package archive

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/internal/platform"
	"github.com/brine-cm/brine/states/file/fsx"
)

// Check fails on hosts that are not Debian-family.
func Check(env *api.Env) error { return platform.RequireDebian(env, "archive") }

// DetectFormat returns "tar" or "zip": the explicit format when given,
// else from the file's first bytes, else from its name.
func DetectFormat(file, explicit string) (string, error) {
	switch strings.ToLower(explicit) {
	case "tar", "zip":
		return strings.ToLower(explicit), nil
	case "":
	default:
		return "", fmt.Errorf("unsupported archive_format %q (tar or zip)", explicit)
	}
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return "zip", nil
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}), // gzip
		bytes.HasPrefix(head, []byte("BZh")),                    // bzip2
		bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z'}), // xz
		bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}),   // zstd
		len(head) > 262 && string(head[257:262]) == "ustar":
		return "tar", nil
	}
	name := strings.ToLower(file)
	for _, ext := range []string{".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst"} {
		if strings.HasSuffix(name, ext) {
			return "tar", nil
		}
	}
	if strings.HasSuffix(name, ".zip") {
		return "zip", nil
	}
	return "", fmt.Errorf("cannot tell the format of %s: set archive_format to tar or zip", file)
}

// Members lists an archive's member names in archive order, directories
// with a trailing "/".
func Members(ctx context.Context, file, format string) ([]string, error) {
	if format == "zip" {
		r, err := zip.OpenReader(file)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
		defer r.Close()
		out := make([]string, 0, len(r.File))
		for _, f := range r.File {
			out = append(out, f.Name)
		}
		return out, nil
	}
	out, err := platform.Run(ctx, []string{"tar", "-t", "-f", file}, platform.Options{})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", file, err)
	}
	var names []string
	for _, l := range strings.Split(out, "\n") {
		if l != "" {
			names = append(names, l)
		}
	}
	return names, nil
}

// Contents sorts member names into what archive.extracted checks: every
// directory and file (relative, cleaned) and the top-level entries.
type Contents struct {
	Dirs, Files            []string
	TopLevelDirs, TopFiles []string
	Names                  []string
}

// ErrUnsafeMember is wrapped when a member name would land outside the
// destination.
var ErrUnsafeMember = errors.New("archive member leaves the destination")

// Analyze cleans member names and refuses unsafe ones.
func Analyze(members []string) (Contents, error) {
	var c Contents
	dirs, files, topD, topF := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, m := range members {
		isDir := strings.HasSuffix(m, "/")
		clean := path.Clean(strings.TrimPrefix(m, "./"))
		if clean == "." || clean == "" {
			continue
		}
		if path.IsAbs(m) || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(m, "\x00") {
			return Contents{}, fmt.Errorf("%q: %w", m, ErrUnsafeMember)
		}
		c.Names = append(c.Names, clean)
		parts := strings.Split(clean, "/")
		for i := 1; i < len(parts); i++ {
			dirs[strings.Join(parts[:i], "/")] = true
		}
		if isDir {
			dirs[clean] = true
		} else {
			files[clean] = true
		}
		if len(parts) > 1 || isDir {
			topD[parts[0]] = true
		} else {
			topF[parts[0]] = true
		}
	}
	for f := range files {
		if dirs[f] { // "a" listed as a file and as a parent: a directory
			delete(files, f)
		}
	}
	for f := range topF {
		if topD[f] {
			delete(topF, f)
		}
	}
	c.Dirs, c.Files, c.TopLevelDirs, c.TopFiles = keys(dirs), keys(files), keys(topD), keys(topF)
	return c, nil
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// SingleTopLevel reports whether everything lies below one directory.
func (c Contents) SingleTopLevel() bool {
	return len(c.TopLevelDirs) == 1 && len(c.TopFiles) == 0
}

// Missing lists the members absent from dest and those present with the
// wrong type (a file where a directory belongs, or the reverse).
func (c Contents) Missing(dest string) (missing, wrongType []string) {
	for _, d := range c.Dirs {
		fi, err := os.Lstat(filepath.Join(dest, d))
		switch {
		case err != nil:
			missing = append(missing, d)
		case !fi.IsDir():
			wrongType = append(wrongType, d)
		}
	}
	for _, f := range c.Files {
		fi, err := os.Lstat(filepath.Join(dest, f))
		switch {
		case err != nil:
			missing = append(missing, f)
		case fi.IsDir():
			wrongType = append(wrongType, f)
		}
	}
	return missing, wrongType
}

// Extract unpacks the archive into dest, which must exist. options are
// extra tar arguments (ignored for zip).
func Extract(ctx context.Context, file, format, dest string, options []string) error {
	if format == "zip" {
		return unzip(file, dest)
	}
	argv := append([]string{"tar", "-x"}, options...)
	argv = append(argv, "-f", file)
	_, err := platform.Run(ctx, argv, platform.Options{Cwd: dest})
	return err
}

// unzip extracts with archive/zip; members were checked by Analyze, and
// symbolic links pointing out of dest are refused here.
func unzip(file, dest string) error {
	r, err := zip.OpenReader(file)
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	defer r.Close()
	for _, f := range r.File {
		clean := path.Clean(strings.TrimPrefix(f.Name, "./"))
		if path.IsAbs(f.Name) || clean == ".." || strings.HasPrefix(clean, "../") {
			return fmt.Errorf("%q: %w", f.Name, ErrUnsafeMember)
		}
		if clean == "." {
			continue
		}
		target := filepath.Join(dest, filepath.FromSlash(clean))
		mode := f.Mode()
		switch {
		case mode.IsDir() || strings.HasSuffix(f.Name, "/"):
			perm := mode.Perm()
			if perm == 0 {
				perm = 0o755
			}
			if err := os.MkdirAll(target, perm); err != nil {
				return err
			}
			continue
		case mode&fs.ModeSymlink != 0:
			if err := unzipLink(f, dest, target); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		perm := mode.Perm()
		if perm == 0 {
			perm = 0o644
		}
		if err := writeMember(f, target, perm); err != nil {
			return err
		}
	}
	return nil
}

func writeMember(f *zip.File, target string, perm fs.FileMode) error {
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("read %s: %w", f.Name, err)
	}
	defer rc.Close()
	os.Remove(target) // replace a file or link, never write through a link
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rc); err != nil {
		out.Close()
		return fmt.Errorf("extract %s: %w", f.Name, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(target, perm)
}

func unzipLink(f *zip.File, dest, target string) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(rc, 4096))
	rc.Close()
	if err != nil {
		return err
	}
	link := string(b)
	resolved := filepath.Join(filepath.Dir(target), link)
	if filepath.IsAbs(link) || !strings.HasPrefix(resolved+string(filepath.Separator), filepath.Clean(dest)+string(filepath.Separator)) {
		return fmt.Errorf("%q links to %q: %w", f.Name, link, ErrUnsafeMember)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	os.Remove(target)
	return os.Symlink(link, target)
}

// Chown gives every path below the top-level entries of c (inside dest)
// the uid and gid (-1 leaves one alone) and reports whether anything
// changed. In dry mode it only reports.
func Chown(dest string, c Contents, uid, gid int, dry bool) (bool, error) {
	changed := false
	visit := func(p string) error {
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		cu, cg := fsx.Owner(fi)
		if (uid >= 0 && cu != uid) || (gid >= 0 && cg != gid) {
			changed = true
			if !dry {
				if err := os.Lchown(p, uid, gid); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, top := range append(append([]string{}, c.TopLevelDirs...), c.TopFiles...) {
		root := filepath.Join(dest, top)
		err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return visit(p)
		})
		if err != nil && !(dry && errors.Is(err, fs.ErrNotExist)) {
			return changed, err
		}
	}
	return changed, nil
}
