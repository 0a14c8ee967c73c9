package host

import (
	"io/fs"
	"os/exec"
	"syscall"
)

func sysStat(fi fs.FileInfo) (ino uint64, ctimeNS int64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino, st.Ctim.Nano()
	}
	return 0, 0
}

// dieWithHost has the kernel kill the plugin if brine dies without
// stopping it (SIGKILL, OOM), so that no orphan plugin outlives its minion.
// The signal fires when the thread that started the plugin exits; Go's
// runtime keeps its threads for the life of the process, except those of
// goroutines that lock themselves to a thread, which brine does not do.
func dieWithHost(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
