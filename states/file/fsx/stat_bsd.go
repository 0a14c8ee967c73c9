//go:build unix && !linux

package fsx

import (
	"syscall"
	"time"
)

// statTimes is not worth a per-BSD variant: brine's minions run on Linux,
// and elsewhere only atime/ctime in file.stats are affected.
func statTimes(*syscall.Stat_t) (atime, ctime time.Time) {
	return time.Time{}, time.Time{}
}
