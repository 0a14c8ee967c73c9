package fsx

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteOptions says how AtomicWrite sets the new file's metadata.
type WriteOptions struct {
	// Mode is the permission set given to the file. nil keeps the mode of
	// the file being replaced, or, for a new file, what the umask allows.
	Mode *fs.FileMode
	// UID and GID set the owner; -1 keeps the owner of the file being
	// replaced (or the writing user for a new file). The zero value of
	// WriteOptions means root:root, so build options with NewWriteOptions.
	UID, GID int
}

// NewWriteOptions returns options that change nothing: default mode, owner
// preserved.
func NewWriteOptions() WriteOptions { return WriteOptions{UID: -1, GID: -1} }

// AtomicWrite replaces path with data so that readers see either the old
// content or the new, never a mix: the data goes to a temporary file in the
// same directory, is synced, given its mode and owner, and renamed over
// path. When anything fails the temporary file is removed and path is left
// as it was.
func AtomicWrite(path string, data []byte, opt WriteOptions) (err error) {
	dir := filepath.Dir(path)
	mode := opt.Mode
	uid, gid := opt.UID, opt.GID
	if old, statErr := os.Stat(path); statErr == nil {
		if !old.Mode().IsRegular() {
			return fmt.Errorf("write %s: not a regular file", path)
		}
		if mode == nil {
			m := PermBits(old.Mode())
			mode = &m
		}
		ouid, ogid := Owner(old)
		if uid < 0 && ouid >= 0 && ouid != os.Geteuid() {
			uid = ouid
		}
		if gid < 0 && ogid >= 0 && ogid != os.Getegid() {
			gid = ogid
		}
	}
	// With an explicit mode, start private and widen afterwards, so the
	// content is never readable by more people than the mode allows.
	createPerm := fs.FileMode(0o666)
	if mode != nil {
		createPerm = 0o600
	}
	f, tmp, err := createTemp(dir, filepath.Base(path), createPerm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// No fsync per file: the rename alone gives readers the old or the new
	// content, never a mix, and a failed write leaves the old file. Salt
	// does not fsync either; two fsyncs per file made a 500-file first
	// apply ten times slower (BENCHMARKS.md).
	// chown before chmod: chown clears setuid/setgid bits.
	if uid >= 0 || gid >= 0 {
		if err = f.Chown(uid, gid); err != nil {
			return fmt.Errorf("write %s: set owner %d:%d: %w", path, uid, gid, err)
		}
	}
	if mode != nil {
		if err = f.Chmod(*mode); err != nil {
			return fmt.Errorf("write %s: set mode: %w", path, err)
		}
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: close: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// createTemp makes a new hidden file next to base; unlike os.CreateTemp it
// takes the permission bits, so that the umask applies to new files the way
// it does for any other program.
func createTemp(dir, base string, perm fs.FileMode) (*os.File, string, error) {
	var b [6]byte
	for range 100 {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, "", err
		}
		name := filepath.Join(dir, "."+base+".brine-"+hex.EncodeToString(b[:]))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return f, name, nil
	}
	return nil, "", fmt.Errorf("no free temporary name in %s", dir)
}

// PermBits returns the permission bits of m including setuid, setgid and
// sticky, the part of a mode that chmod sets.
func PermBits(m fs.FileMode) fs.FileMode {
	return m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

// OctalMode renders permission bits as Salt prints them: "0644", "4755".
func OctalMode(m fs.FileMode) string {
	n := uint32(m & fs.ModePerm)
	if m&fs.ModeSetuid != 0 {
		n |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		n |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		n |= 0o1000
	}
	return fmt.Sprintf("%04o", n)
}

// MakeDirs creates dir and any missing parents, giving each directory it
// creates the permission bits *perm (exactly, whatever the umask; nil means
// what the umask leaves of 0777) and, when uid or gid is not -1, that owner.
// It returns the directories it created, outermost first. Existing
// directories are left alone.
func MakeDirs(dir string, perm *fs.FileMode, uid, gid int) ([]string, error) {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return nil, fmt.Errorf("create directory %s: %s is not a directory", dir, d)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("create directory %s: %w", dir, err)
		}
		missing = append(missing, d)
		if parent := filepath.Dir(d); parent == d {
			break
		}
	}
	var created []string
	for i := len(missing) - 1; i >= 0; i-- {
		d := missing[i]
		createPerm := fs.FileMode(0o777)
		if perm != nil {
			createPerm = 0o700 // private until owner and mode are set
		}
		if err := os.Mkdir(d, createPerm); err != nil && !errors.Is(err, fs.ErrExist) {
			return created, fmt.Errorf("create directory %s: %w", d, err)
		}
		created = append(created, d)
		if uid >= 0 || gid >= 0 {
			if err := os.Lchown(d, uid, gid); err != nil {
				return created, fmt.Errorf("create directory %s: set owner: %w", d, err)
			}
		}
		if perm != nil {
			if err := os.Chmod(d, *perm); err != nil {
				return created, fmt.Errorf("create directory %s: set mode: %w", d, err)
			}
		}
	}
	return created, nil
}

// DirModeFor derives a directory mode from a file mode the way Salt does for
// makedirs without dir_mode: every permission digit that grants anything
// also grants search (execute), so 0640 gives 0750 and 0644 gives 0755.
func DirModeFor(file fs.FileMode) fs.FileMode {
	m := file & fs.ModePerm
	for _, shift := range []uint{6, 3, 0} {
		if m&(7<<shift) != 0 {
			m |= 1 << shift
		}
	}
	return m
}
