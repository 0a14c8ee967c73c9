// Command fleet is the scale benchmark of the master: it starts a real
// `brine master` process (auto_accept on, in a temporary state directory),
// runs N minion agents inside this one process (each with its own NATS
// connection and NKey), and times jobs from publish to the last return.
// It prints a table with the median and spread over the jobs and the
// master's resident memory and CPU time.
//
//	go run ./bench/fleet -n 1000                  # 10 test.ping jobs
//	go run ./bench/fleet -n 1000 -highstate 20    # also 5 highstates of 20 file states
//	go run ./bench/fleet -n 5000 -jobs 3 -brine /path/to/brine
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/brine-cm/brine/bus"
	"github.com/brine-cm/brine/config"
	"github.com/brine-cm/brine/master"
	"github.com/brine-cm/brine/minion"
	_ "github.com/brine-cm/brine/modules/state"
	_ "github.com/brine-cm/brine/modules/test"
	_ "github.com/brine-cm/brine/states/file"
)

func main() {
	n := flag.Int("n", 1000, "minion agents")
	jobs := flag.Int("jobs", 10, "test.ping jobs to time")
	highstate := flag.Int("highstate", 0, "file states in a highstate to time across the fleet (0: skip)")
	runs := flag.Int("runs", 5, "highstate runs to time")
	brine := flag.String("brine", "", "brine binary for the master (default: build ./cmd/brine)")
	dir := flag.String("dir", "", "where to put state directories (default: the system temp dir)")
	flag.Parse()
	if err := run(*n, *jobs, *highstate, *runs, *brine, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(n, jobs, files, runs int, brine, dir string) error {
	work, err := os.MkdirTemp(dir, "brine-fleet-")
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
	out := filepath.Join(work, "managed")
	if err := writeTree(work, out, files); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	state := filepath.Join(work, "master")
	cfg := fmt.Sprintf("listen: 127.0.0.1:%d\nstate_dir: %s\nauto_accept: true\nlog_level: warning\nfile_roots:\n  base: [%s]\npillar_roots:\n  base: [%s]\n",
		port, state, filepath.Join(work, "salt"), filepath.Join(work, "pillar"))
	if err := os.WriteFile(filepath.Join(work, "master.yaml"), []byte(cfg), 0o644); err != nil {
		return err
	}
	mlog, err := os.Create(filepath.Join(work, "master.log"))
	if err != nil {
		return err
	}
	defer mlog.Close()
	m := exec.Command(brine, "master", "--config", filepath.Join(work, "master.yaml"))
	m.Stdout, m.Stderr = mlog, mlog
	if err := m.Start(); err != nil {
		return err
	}
	defer func() {
		_ = m.Process.Signal(syscall.SIGTERM)
		_ = m.Wait()
	}()
	if err := waitFor(30*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(state, master.URLFile))
		return err == nil
	}); err != nil {
		return fmt.Errorf("master did not start: %w", err)
	}
	idleRSS := rss(m.Process.Pid)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fmt.Fprintf(os.Stderr, "starting %d minion agents...\n", n)
	start := time.Now()
	agents := make([]*minion.Agent, n)
	done := make(chan struct{}, n)
	quiet := slog.New(slog.DiscardHandler)
	for i := range agents {
		id := fmt.Sprintf("bench%05d", i)
		kp, _ := nkeys.CreateUser()
		mc := config.Defaults()
		mc.ID, mc.Master, mc.StateDir = id, fmt.Sprintf("127.0.0.1:%d", port), filepath.Join(work, "minions", id)
		a, err := minion.New(minion.Options{Config: mc, Key: kp, Log: quiet,
			Grains: map[string]any{"id": id, "os": "Debian", "os_family": "Debian", "kernel": "Linux"}})
		if err != nil {
			return err
		}
		agents[i] = a
		go func() {
			_ = a.Run(ctx)
			done <- struct{}{}
		}()
	}
	readyBy := time.After(2 * time.Minute)
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for i, a := range agents {
	wait:
		for {
			select {
			case <-a.Ready():
				break wait
			case <-tick.C:
				fmt.Fprintf(os.Stderr, "  %d of %d agents ready after %v\n", countReady(agents), n, time.Since(start).Round(time.Second))
			case <-readyBy:
				all, _ := os.ReadFile(filepath.Join(work, "master.log"))
				var b []byte
				for _, l := range strings.Split(string(all), "\n") {
					if (strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN")) && !strings.Contains(l, "Violation") && len(b) < 6000 {
						b = append(b, l+"\n"...)
					}
				}
				return fmt.Errorf("%d of %d agents ready after 2 minutes (first missing: %d); master log tail:\n%s", countReady(agents), n, i, b)
			}
		}
	}
	connect := time.Since(start)
	fmt.Fprintf(os.Stderr, "%d agents connected in %v\n", n, connect.Round(time.Millisecond))
	time.Sleep(time.Second) // let start events settle
	connectedRSS := rss(m.Process.Pid)
	cpu0 := cpuTime(m.Process.Pid)

	nc, err := adminConn(state)
	if err != nil {
		return err
	}
	defer nc.Close()
	var pings []time.Duration
	for i := 0; i < jobs; i++ {
		d, got, err := timeJob(nc, bus.PublishRequest{Fun: "test.ping", Target: bus.Target{Kind: "glob", Expr: "*"}}, n, time.Minute)
		if err != nil {
			return err
		}
		if got != n {
			return fmt.Errorf("test.ping %d: %d of %d minions returned", i, got, n)
		}
		pings = append(pings, d)
	}
	cpuPing := cpuTime(m.Process.Pid) - cpu0
	var states []time.Duration
	if files > 0 {
		for i := 0; i < runs; i++ {
			d, got, err := timeJob(nc, bus.PublishRequest{Fun: "state.apply", Target: bus.Target{Kind: "glob", Expr: "*"}}, n, 10*time.Minute)
			if err != nil {
				return err
			}
			if got != n {
				return fmt.Errorf("highstate %d: %d of %d minions returned", i, got, n)
			}
			states = append(states, d)
		}
	}
	busyRSS := rss(m.Process.Pid)
	cancel()
	for range agents {
		<-done
	}

	fmt.Printf("fleet benchmark: %d minion agents in one process, master %s\n\n", n, brine)
	fmt.Printf("| measurement | value |\n|---|---|\n")
	fmt.Printf("| agents connected and accepted (auto_accept) | %v |\n", connect.Round(time.Millisecond))
	fmt.Printf("| test.ping to the last of %d returns, median of %d | %v |\n", n, len(pings), median(pings))
	fmt.Printf("| test.ping, min / max | %v / %v |\n", minDur(pings), maxDur(pings))
	if len(states) > 0 {
		fmt.Printf("| highstate of %d file states on %d minions, median of %d (first run: %v) | %v |\n", files, n, len(states), states[0].Round(time.Millisecond), median(states))
	}
	fmt.Printf("| master RSS: idle / %d connected / after the jobs | %s / %s / %s |\n", n, mb(idleRSS), mb(connectedRSS), mb(busyRSS))
	fmt.Printf("| master RSS per connected minion | %.1f KB |\n", float64(connectedRSS-idleRSS)/1024/float64(n))
	fmt.Printf("| master CPU per test.ping job (user+sys) | %v |\n", (cpuPing / time.Duration(len(pings))).Round(time.Millisecond))
	fmt.Printf("| master CPU per minion per test.ping | %.1f µs |\n", float64(cpuPing.Microseconds())/float64(len(pings)*n))
	return nil
}

func countReady(agents []*minion.Agent) int {
	n := 0
	for _, a := range agents {
		select {
		case <-a.Ready():
			n++
		default:
		}
	}
	return n
}

// timeJob publishes a job and returns the time from the publish request to
// the last expected return.
func timeJob(nc *nats.Conn, req bus.PublishRequest, n int, timeout time.Duration) (time.Duration, int, error) {
	var jr bus.JIDReply
	if err := apiCall(nc, bus.APIJID, struct{}{}, &jr); err != nil {
		return 0, 0, err
	}
	ch := make(chan *nats.Msg, n+16)
	sub, err := nc.ChanSubscribe(bus.ReturnsOf(jr.JID), ch)
	if err != nil {
		return 0, 0, err
	}
	defer sub.Unsubscribe()
	_ = sub.SetPendingLimits(-1, -1)
	if err := nc.Flush(); err != nil {
		return 0, 0, err
	}
	req.JID = jr.JID
	start := time.Now()
	var rep bus.PublishReply
	if err := apiCall(nc, bus.APIPublish, req, &rep); err != nil {
		return 0, 0, err
	}
	seen := map[string]bool{}
	deadline := time.After(timeout)
	for len(seen) < len(rep.Minions) {
		select {
		case msg := <-ch:
			var r bus.Return
			if err := json.Unmarshal(msg.Data, &r); err == nil && r.Retcode != 0 {
				return 0, 0, fmt.Errorf("%s failed on %s: %s", req.Fun, msg.Subject, r.Return)
			}
			seen[msg.Subject] = true
		case <-deadline:
			return time.Since(start), len(seen), nil
		}
	}
	return time.Since(start), len(seen), nil
}

func apiCall(nc *nats.Conn, op string, req, out any) error {
	b, _ := json.Marshal(req)
	msg, err := nc.Request(bus.APISubject(op), b, time.Minute)
	if err != nil {
		return fmt.Errorf("API %s: %w", op, err)
	}
	if err := json.Unmarshal(msg.Data, out); err != nil {
		return err
	}
	var r bus.Reply
	_ = json.Unmarshal(msg.Data, &r)
	if r.Error != "" {
		return fmt.Errorf("API %s: %s", op, r.Error)
	}
	return nil
}

func adminConn(state string) (*nats.Conn, error) {
	kp, err := bus.LoadKey(filepath.Join(state, master.AdminKeyFile))
	if err != nil {
		return nil, err
	}
	url, err := os.ReadFile(filepath.Join(state, master.URLFile))
	if err != nil {
		return nil, err
	}
	pub, _ := kp.PublicKey()
	return nats.Connect(strings.TrimSpace(string(url)), nats.Nkey(pub, kp.Sign))
}

func writeTree(work, out string, files int) error {
	var sls bytes.Buffer
	for i := 0; i < files; i++ {
		fmt.Fprintf(&sls, "file%d:\n  file.managed:\n    - name: %s/{{ grains['id'] }}/f%d\n    - source: salt://files/f%d.j2\n    - template: jinja\n    - makedirs: True\n", i, out, i, i)
	}
	w := func(name, content string) error {
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, []byte(content), 0o644)
	}
	if err := w("salt/top.sls", "base:\n  '*':\n    - bench\n"); err != nil {
		return err
	}
	if err := w("salt/bench.sls", sls.String()); err != nil {
		return err
	}
	for i := 0; i < files; i++ {
		if err := w(fmt.Sprintf("salt/files/f%d.j2", i), fmt.Sprintf("file %d on {{ grains['id'] }}: {{ pillar['motto'] }}\n", i)); err != nil {
			return err
		}
	}
	if err := w("pillar/top.sls", "base:\n  '*':\n    - common\n"); err != nil {
		return err
	}
	return w("pillar/common.sls", "motto: brine scales\n")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitFor(total time.Duration, ok func() bool) error {
	deadline := time.Now().Add(total)
	for time.Now().Before(deadline) {
		if ok() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("timed out after %v", total)
}

// rss reads a process's resident set size in bytes.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// cpuTime reads a process's user+system CPU time.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2].Round(time.Millisecond)
}

func minDur(d []time.Duration) time.Duration {
	m := d[0]
	for _, x := range d {
		m = min(m, x)
	}
	return m.Round(time.Millisecond)
}

func maxDur(d []time.Duration) time.Duration {
	m := d[0]
	for _, x := range d {
		m = max(m, x)
	}
	return m.Round(time.Millisecond)
}
