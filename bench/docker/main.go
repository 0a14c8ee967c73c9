// Command docker is the container benchmark from the Docker issue: it runs
// 20 containers from a state tree (a FROM scratch image built from
// salt://, a private network, 20 docker_container.running states), then
// times re-applying that tree, where every container already matches,
// against the floor the Docker CLI sets: `docker inspect` of the same 20
// containers in one call. It prints the min, median and max of each over
// the rounds and the ratio of the medians, then removes what it made.
//
//	go run ./bench/docker                  # builds ./cmd/brine, 10 rounds
//	go run ./bench/docker -runs 20 -brine /path/to/brine
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

func main() {
	runs := flag.Int("runs", 10, "rounds of each measurement")
	n := flag.Int("containers", 20, "containers in the tree")
	brine := flag.String("brine", "", "brine binary (default: build ./cmd/brine)")
	flag.Parse()
	if err := run(*runs, *n, *brine); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// prefix names everything the benchmark makes, so cleanup finds it all.
const prefix = "brine-bench-"

func run(runs, n int, brine string) error {
	work, err := os.MkdirTemp("", "brine-docker-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if brine == "" {
		brine = filepath.Join(work, "brine")
		if err := goBuild(brine, "./cmd/brine"); err != nil {
			return err
		}
	}
	if err := writeTree(work, n); err != nil {
		return err
	}
	if err := goBuild(filepath.Join(work, "salt", "image", "server"), "./states/docker/testdata/server"); err != nil {
		return err
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%sc%d", prefix, i+1)
	}
	defer cleanup(names)

	cfg := filepath.Join(work, "minion.yaml")
	apply := []string{"call", "--local", "--config", cfg, "--out", "json", "state.apply", "containers"}
	setup := time.Now()
	if _, err := measure(brine, "call", "--local", "--config", cfg, "--out", "json", "state.apply", "image"); err != nil {
		return fmt.Errorf("build the image: %w", err)
	}
	if _, err := measure(brine, apply...); err != nil {
		return fmt.Errorf("first apply: %w", err)
	}
	fmt.Printf("setup (image build + %d containers created): %s\n\n", n, time.Since(setup).Round(time.Millisecond))

	var again, floor []time.Duration
	for i := 0; i < runs; i++ {
		d, err := measure(brine, apply...)
		if err != nil {
			return fmt.Errorf("re-apply: %w", err)
		}
		again = append(again, d)
		d, err = measure("docker", append([]string{"inspect"}, names...)...)
		if err != nil {
			return fmt.Errorf("docker inspect: %w", err)
		}
		floor = append(floor, d)
	}
	fmt.Printf("%d matching containers, %d rounds\n\n", n, runs)
	fmt.Printf("| %-46s | %10s | %10s | %10s |\n", "run", "min", "median", "max")
	fmt.Printf("|%s|%s|%s|%s|\n", strings.Repeat("-", 48), strings.Repeat("-", 12), strings.Repeat("-", 12), strings.Repeat("-", 12))
	row := func(name string, s []time.Duration) time.Duration {
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		r := func(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }
		fmt.Printf("| %-46s | %10s | %10s | %10s |\n", name, r(s[0]), r(s[len(s)/2]), r(s[len(s)-1]))
		return s[len(s)/2]
	}
	a := row(fmt.Sprintf("brine state.apply (%d containers, no changes)", n), again)
	f := row(fmt.Sprintf("docker inspect of the %d containers", n), floor)
	fmt.Printf("\nre-apply / inspect floor (medians): %.2fx\n", float64(a)/float64(f))
	return nil
}

func goBuild(out, pkg string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s: %w", pkg, err)
	}
	return nil
}

// measure runs a command and returns its wall time; any failure (brine's
// exit code 2 for a failed state included) is an error.
func measure(bin string, args ...string) (time.Duration, error) {
	cmd := exec.Command(bin, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		tail := out.String()
		if len(tail) > 3000 {
			tail = tail[len(tail)-3000:]
		}
		return 0, fmt.Errorf("%s %s: %w\n%s", bin, strings.Join(args, " "), err, tail)
	}
	if strings.Contains(bin, "brine") && strings.Contains(out.String(), `"result": false`) {
		return 0, fmt.Errorf("a state failed:\n%s", out.String())
	}
	return d, nil
}

func writeTree(dir string, n int) error {
	files := map[string]string{
		"minion.yaml":           "id: bench-docker\nfile_roots:\n  base: [salt]\npillar_roots:\n  base: [pillar]\n",
		"pillar/top.sls":        "base:\n  '*': []\n",
		"salt/image/Dockerfile": "FROM scratch\nCOPY server /server\nEXPOSE 8080\nENTRYPOINT [\"/server\"]\n",
		"salt/image.sls": fmt.Sprintf(`bench-image:
  docker_image.present:
    - name: %simage
    - tag: "1"
    - build: salt://image

bench-net:
  docker_network.present:
    - name: %snet
`, prefix, prefix),
		"salt/containers.sls": fmt.Sprintf(`{%% for i in range(1, %d + 1) %%}
{%% set name = '%sc' ~ i %%}
{{ name }}:
  docker_container.running:
    - image: %simage:1
    - environment:
      - GREETING: hello {{ i }}
      - ROLE: bench
    - labels:
        bench: "true"
        index: "{{ i }}"
    - networks:
      - %snet:
        - aliases: [c{{ i }}]
    - restart_policy: unless-stopped
    - mem_limit: 32m
{%% endfor %%}
`, n, prefix, prefix, prefix),
	}
	for rel, content := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// cleanup removes the containers, the network and the image with the
// Docker CLI, whatever state the run left them in.
func cleanup(names []string) {
	for _, args := range [][]string{
		append([]string{"rm", "-f"}, names...),
		{"network", "rm", prefix + "net"},
		{"rmi", "-f", prefix + "image:1"},
	} {
		cmd := exec.Command("docker", args...)
		if out, err := cmd.CombinedOutput(); err != nil && !strings.Contains(string(out), "No such") {
			fmt.Fprintf(os.Stderr, "cleanup: docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
