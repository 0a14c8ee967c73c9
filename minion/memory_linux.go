package minion

import (
	"bufio"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// trimImage hands the pages of brine's own executable back to the kernel
// once the minion is idle. brine is one binary for master, CLI and minion:
// package initialisation of everything linked in (gRPC, the Docker client,
// the NATS server) touches some 20 MB of code and read-only data that an
// idle minion never looks at again. Those pages are clean and file-backed,
// so the kernel can drop them (MADV_PAGEOUT) and fault them back in from the
// binary if a job needs them; what stays resident is what the minion uses.
// Failure only means a larger RSS, so it is logged at debug level.
func trimImage(log *slog.Logger) {
	exe, err := os.Executable()
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	released := uint64(0)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 00400000-0136d000 r-xp 00000000 fd:01 1234 /path/to/brine
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), unix.MADV_PAGEOUT); errno != 0 {
			log.Debug("release executable pages", "error", errno)
			return
		}
		released += end - start
	}
	log.Debug("released executable pages to the kernel", "mapped_bytes", released)
}
