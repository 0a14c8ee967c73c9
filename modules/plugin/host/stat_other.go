//go:build !linux

package host

import (
	"io/fs"
	"os/exec"
)

// sysStat has no portable inode or change time; size, mtime and mode
// decide alone.
func sysStat(fs.FileInfo) (uint64, int64) { return 0, 0 }

// dieWithHost has no portable equivalent of Linux's parent-death signal.
func dieWithHost(*exec.Cmd) {}
