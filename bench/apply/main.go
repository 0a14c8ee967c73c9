// Command apply is the masterless speed benchmark from the foundation
// issue: it generates a tree of 500 templated file.managed states and 50
// cmd.run states guarded by `creates`, then times `brine call --local
// state.apply` (first apply and idempotent re-apply) and `brine call --local
// test.ping`, with the peak RSS of each run, and prints a table.
//
//	go run ./bench/apply            # builds ./cmd/brine and runs 5 rounds
//	go run ./bench/apply -runs 10 -brine /path/to/brine -dir /dev/shm
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

func main() {
	runs := flag.Int("runs", 5, "rounds of each measurement")
	files := flag.Int("files", 500, "file.managed states")
	cmds := flag.Int("cmds", 50, "cmd.run states guarded by creates")
	brine := flag.String("brine", "", "brine binary (default: build ./cmd/brine)")
	dir := flag.String("dir", "", "where to write the trees (default: the system temp dir)")
	flag.Parse()
	if err := run(*runs, *files, *cmds, *brine, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type sample struct {
	wall  time.Duration
	maxKB int64
}

func run(runs, files, cmds int, brine, dir string) error {
	work, err := os.MkdirTemp(dir, "brine-bench-")
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
	var first, again, ping []sample
	for i := 0; i < runs; i++ {
		tree := filepath.Join(work, fmt.Sprintf("round%d", i))
		if err := writeTree(tree, files, cmds); err != nil {
			return err
		}
		args := []string{"call", "--local", "--config", filepath.Join(tree, "minion.yaml"), "--out", "json", "state.apply"}
		s, err := measure(brine, args...)
		if err != nil {
			return fmt.Errorf("first apply: %w", err)
		}
		first = append(first, s)
		if s, err = measure(brine, args...); err != nil {
			return fmt.Errorf("re-apply: %w", err)
		}
		again = append(again, s)
		if s, err = measure(brine, "call", "--local", "--config", filepath.Join(tree, "minion.yaml"), "test.ping"); err != nil {
			return fmt.Errorf("test.ping: %w", err)
		}
		ping = append(ping, s)
	}
	fmt.Printf("tree: %d file.managed (jinja contents) + %d cmd.run (creates); %d rounds\n\n", files, cmds, runs)
	fmt.Printf("| %-30s | %10s | %10s | %10s | %12s |\n", "run", "min", "median", "max", "peak RSS MB")
	fmt.Printf("|%s|%s|%s|%s|%s|\n", strings.Repeat("-", 32), strings.Repeat("-", 12), strings.Repeat("-", 12), strings.Repeat("-", 12), strings.Repeat("-", 14))
	for _, row := range []struct {
		name string
		s    []sample
	}{{"state.apply (first)", first}, {"state.apply (re-apply)", again}, {"test.ping", ping}} {
		walls := make([]time.Duration, len(row.s))
		var peak int64
		for i, s := range row.s {
			walls[i] = s.wall
			peak = max(peak, s.maxKB)
		}
		sort.Slice(walls, func(i, j int) bool { return walls[i] < walls[j] })
		fmt.Printf("| %-30s | %10s | %10s | %10s | %12.1f |\n", row.name,
			walls[0].Round(time.Microsecond*100), walls[len(walls)/2].Round(time.Microsecond*100),
			walls[len(walls)-1].Round(time.Microsecond*100), float64(peak)/1024)
	}
	return nil
}

// measure runs one command and reports its wall time and peak RSS. Exit
// code 2 (a state failed) is an error here: the benchmark tree must pass.
func measure(bin string, args ...string) (sample, error) {
	cmd := exec.Command(bin, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		tail := out.String()
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return sample{}, fmt.Errorf("%s %s: %w\n%s", bin, strings.Join(args, " "), err, tail)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return sample{wall: wall, maxKB: ru.Maxrss}, nil
}

func writeTree(dir string, files, cmds int) error {
	salt := filepath.Join(dir, "salt")
	pil := filepath.Join(dir, "pillar")
	root := filepath.Join(dir, "root")
	for _, d := range []string{salt, pil, root} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	var sls strings.Builder
	sls.WriteString("{% set root = pillar['root'] %}\n")
	fmt.Fprintf(&sls, "{%% for i in range(%d) %%}\nfile_{{ i }}:\n  file.managed:\n    - name: {{ root }}/files/f{{ i }}.conf\n    - makedirs: True\n    - mode: '0644'\n    - contents: |\n        # managed by brine for {{ grains['id'] }}\n        index={{ i }} motd={{ pillar['motd'] }}\n{%% endfor %%}\n", files)
	fmt.Fprintf(&sls, "{%% for i in range(%d) %%}\ncmd_{{ i }}:\n  cmd.run:\n    - name: touch {{ root }}/done-{{ i }}\n    - creates: {{ root }}/done-{{ i }}\n{%% endfor %%}\n", cmds)
	writes := map[string]string{
		filepath.Join(salt, "top.sls"):   "base:\n  '*':\n    - bench\n",
		filepath.Join(salt, "bench.sls"): sls.String(),
		filepath.Join(pil, "top.sls"):    "base:\n  '*':\n    - bench\n",
		filepath.Join(pil, "bench.sls"):  fmt.Sprintf("root: %s\nmotd: benchmarking\n", root),
		filepath.Join(dir, "minion.yaml"): fmt.Sprintf("id: bench-minion\nfile_roots:\n  base:\n    - %s\npillar_roots:\n  base:\n    - %s\n",
			salt, pil),
	}
	for p, content := range writes {
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}
