//go:build unix

package fsx

import (
	"io/fs"
	"syscall"
	"time"
)

// Owner returns the uid and gid recorded in fi, or -1, -1 when the platform
// does not report them.
func Owner(fi fs.FileInfo) (uid, gid int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return -1, -1
}

// Inode returns fi's inode number, 0 when unknown.
func Inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

// Times returns fi's access and change times; zero values when unknown.
func Times(fi fs.FileInfo) (atime, ctime time.Time) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return statTimes(st)
	}
	return time.Time{}, time.Time{}
}
