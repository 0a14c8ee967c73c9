//go:build !unix

package fsx

import (
	"io/fs"
	"time"
)

// Owner returns -1, -1: this platform has no numeric owners.
func Owner(fs.FileInfo) (uid, gid int) { return -1, -1 }

// Inode returns 0: this platform has no inode numbers.
func Inode(fs.FileInfo) uint64 { return 0 }

// Times returns zero values on this platform.
func Times(fs.FileInfo) (atime, ctime time.Time) { return time.Time{}, time.Time{} }
