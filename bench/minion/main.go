// Command minion measures one real minion agent's memory: a master and a
// `brine minion` process on loopback, the minion's resident set size when
// it has just connected, while it answers jobs, and once it is idle again.
//
//	go run ./bench/minion            # builds ./cmd/brine
//	go run ./bench/minion -jobs 20 -brine /path/to/brine
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	jobs := flag.Int("jobs", 10, "test.ping jobs sent to the minion")
	brine := flag.String("brine", "", "brine binary (default: build ./cmd/brine)")
	flag.Parse()
	if err := run(*jobs, *brine); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(jobs int, brine string) error {
	work, err := os.MkdirTemp("", "brine-minion-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if brine == "" {
		brine = filepath.Join(work, "brine")
		build := exec.Command("go", "build", "-o", brine, "./cmd/brine")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build brine: %w", err)
		}
	}
	// The master runs from its own copy of the binary, as it would on its
	// own host: pages of one file mapped by two processes are shared, and
	// the kernel will not take them back from the minion alone.
	masterBin := filepath.Join(work, "brine-master")
	if b, err := os.ReadFile(brine); err != nil {
		return err
	} else if err := os.WriteFile(masterBin, b, 0o755); err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	mstate := filepath.Join(work, "master")
	cfg := fmt.Sprintf("listen: 127.0.0.1:%d\nstate_dir: %s\nauto_accept: true\n", port, mstate)
	if err := os.WriteFile(filepath.Join(work, "master.yaml"), []byte(cfg), 0o644); err != nil {
		return err
	}
	master := exec.Command(masterBin, "master", "--config", filepath.Join(work, "master.yaml"))
	if err := master.Start(); err != nil {
		return err
	}
	defer stop(master)
	min := exec.Command(brine, "minion", "--id", "probe", "--master", fmt.Sprintf("127.0.0.1:%d", port), "--state-dir", filepath.Join(work, "probe"))
	if err := min.Start(); err != nil {
		return err
	}
	defer stop(min)
	ping := func() error {
		out, err := exec.Command(brine, "probe", "test.ping", "--state-dir", mstate, "--out", "json", "--static", "-t", "5").CombinedOutput()
		if err != nil {
			return fmt.Errorf("test.ping: %v\n%s", err, out)
		}
		return nil
	}
	deadline := time.Now().Add(30 * time.Second)
	for ping() != nil {
		if time.Now().After(deadline) {
			return fmt.Errorf("the minion did not answer within 30 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	connected := rss(min.Process.Pid)
	var peak int64
	start := time.Now()
	for range jobs {
		if err := ping(); err != nil {
			return err
		}
		peak = max(peak, rss(min.Process.Pid))
	}
	perJob := time.Since(start) / time.Duration(jobs)
	time.Sleep(5 * time.Second)
	idle := rss(min.Process.Pid)
	fmt.Printf("| minion RSS | MB |\n|---|---|\n")
	fmt.Printf("| just connected (first ping answered) | %.1f |\n", mb(connected))
	fmt.Printf("| highest while answering %d test.ping jobs (%v per CLI round trip) | %.1f |\n", jobs, perJob.Round(time.Millisecond), mb(peak))
	fmt.Printf("| idle, 5 s after the last job | %.1f |\n", mb(idle))
	return nil
}

func stop(c *exec.Cmd) {
	_ = c.Process.Signal(syscall.SIGTERM)
	_ = c.Wait()
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// rss reads a process's resident set size in bytes from /proc.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}
