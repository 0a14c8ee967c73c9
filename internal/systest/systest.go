// Package systest runs brine against a real Debian system that is not the
// machine running the tests: a throwaway Docker container from an image
// the suite builds itself. The image is a minimal Debian root filesystem
// made with debootstrap from Debian's archive and `docker import`ed under a
// tag derived from its recipe, so it is built once per machine and rebuilt
// only when the recipe changes. Tests copy a static brine binary into a
// container, run `brine call --local --out json` there and assert on the
// JSON. Where no Docker daemon answers, or the image cannot be built, the
// tests skip and say why.
//
// Only test files import this package.
package systest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Recipe says how the test image is made. Changing any field changes the
// image tag, so a stale image is never reused.
type Recipe struct {
	// Suite is the Debian release (bookworm).
	Suite string
	// Variant is debootstrap's variant (minbase: essential packages, apt).
	Variant string
	// Include lists the extra packages the tests expect on the system.
	Include []string
	// Revision is bumped when the build steps below change.
	Revision int
}

// DefaultRecipe is the image every system test uses: minimal Debian
// bookworm plus cron (crontab), git, xz-utils and ca-certificates.
// Packages the tests install through pkg states (nginx) are not in it:
// they come from Debian's archive at test time.
func DefaultRecipe() Recipe {
	return Recipe{
		Suite:    "bookworm",
		Variant:  "minbase",
		Include:  []string{"ca-certificates", "cron", "git", "xz-utils"},
		Revision: 1,
	}
}

// Tag is the Docker tag of the image built from r:
// brine-test-debian:bookworm-<hash of the recipe>.
func (r Recipe) Tag() string {
	inc := append([]string(nil), r.Include...)
	sort.Strings(inc)
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%s|%d", r.Suite, r.Variant, strings.Join(inc, ","), r.Revision)))
	return "brine-test-debian:" + r.Suite + "-" + hex.EncodeToString(sum[:])[:12]
}

// Mirror is the Debian archive debootstrap downloads from;
// $BRINE_TEST_DEBIAN_MIRROR overrides it.
func Mirror() string {
	if m := os.Getenv("BRINE_TEST_DEBIAN_MIRROR"); m != "" {
		return m
	}
	return "http://deb.debian.org/debian"
}

// run executes a helper command with a deadline and returns its output;
// stderr is part of the error.
func run(ctx context.Context, stdin []byte, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// RequireDocker skips t when no Docker daemon answers, or under -short.
func RequireDocker(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("system test in a Docker container: skipped in -short mode")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("system test skipped: no docker command on this machine")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := run(ctx, nil, "docker", "version", "--format", "{{.Server.Version}}"); err != nil {
		t.Skipf("system test skipped: no Docker daemon answers (%v)", err)
	}
}

// Image returns the tag of the test image, building it first when this
// machine does not have it yet. Concurrent test processes wait for one
// another with a lock file instead of building twice. t is skipped when
// Docker is missing, and when the image is missing and cannot be built
// here (not root, no debootstrap).
func Image(t testing.TB) string {
	t.Helper()
	RequireDocker(t)
	r := DefaultRecipe()
	tag := r.Tag()
	if imageExists(tag) {
		return tag
	}
	unlock := lockFor(t, tag)
	defer unlock()
	if imageExists(tag) { // built by another test process meanwhile
		return tag
	}
	if os.Geteuid() != 0 {
		t.Skipf("system test skipped: image %s is missing and debootstrap needs root to build it", tag)
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		t.Skipf("system test skipped: image %s is missing and debootstrap is not installed (apt-get install debootstrap; .ci/run does it)", tag)
	}
	t.Logf("building test image %s with debootstrap (once per machine)", tag)
	start := time.Now()
	if err := build(r, tag); err != nil {
		t.Fatalf("build test image: %v", err)
	}
	t.Logf("built %s in %s", tag, time.Since(start).Round(time.Second))
	return tag
}

func imageExists(tag string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := run(ctx, nil, "docker", "image", "inspect", "--format", "{{.Id}}", tag)
	return err == nil
}

// build debootstraps the root filesystem and imports it into Docker.
func build(r Recipe, tag string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "brine-rootfs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	root := filepath.Join(dir, "root")
	args := []string{"--variant=" + r.Variant}
	if len(r.Include) > 0 {
		args = append(args, "--include="+strings.Join(r.Include, ","))
	}
	args = append(args, r.Suite, root, Mirror())
	if _, err := run(ctx, nil, "debootstrap", args...); err != nil {
		return err
	}
	// Downloaded .deb files only make the image bigger; the package
	// indexes stay, so apt works at once.
	debs, _ := filepath.Glob(filepath.Join(root, "var/cache/apt/archives/*.deb"))
	for _, d := range debs {
		os.Remove(d)
	}
	tarCmd := exec.CommandContext(ctx, "tar", "--numeric-owner", "-C", root, "-c", ".")
	imp := exec.CommandContext(ctx, "docker", "import", "--change", `CMD ["sleep", "infinity"]`, "-", tag)
	pipe, err := tarCmd.StdoutPipe()
	if err != nil {
		return err
	}
	imp.Stdin = pipe
	var impErr, tarErr bytes.Buffer
	imp.Stderr, tarCmd.Stderr = &impErr, &tarErr
	if err := imp.Start(); err != nil {
		return err
	}
	if err := tarCmd.Run(); err != nil {
		_ = imp.Wait()
		return fmt.Errorf("tar rootfs: %w: %s", err, tarErr.String())
	}
	if err := imp.Wait(); err != nil {
		return fmt.Errorf("docker import: %w: %s", err, impErr.String())
	}
	return nil
}

// systemdPackages are added to the test image for tests that need
// systemd as PID 1; they are part of the derived image's tag.
const systemdPackages = "systemd systemd-sysv dbus"

// SystemdImage returns the tag of the test image with systemd installed,
// deriving it from Image once per machine (apt-get install in a container,
// then docker commit).
func SystemdImage(t testing.TB) string {
	t.Helper()
	base := Image(t)
	sum := sha256.Sum256([]byte(systemdPackages))
	tag := base + "-systemd-" + hex.EncodeToString(sum[:])[:8]
	if imageExists(tag) {
		return tag
	}
	unlock := lockFor(t, tag)
	defer unlock()
	if imageExists(tag) {
		return tag
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	name := fmt.Sprintf("brine-build-%d", os.Getpid())
	script := "apt-get -q -y install --no-install-recommends " + systemdPackages + " && apt-get clean"
	if _, err := run(ctx, nil, "docker", "run", "--name", name, "-e", "DEBIAN_FRONTEND=noninteractive", base, "sh", "-c", script); err != nil {
		_, _ = run(context.Background(), nil, "docker", "rm", "-f", name)
		t.Fatalf("install systemd into the test image: %v", err)
	}
	defer run(context.Background(), nil, "docker", "rm", "-f", name) //nolint:errcheck // best effort
	if _, err := run(ctx, nil, "docker", "commit", "--change", `CMD ["/lib/systemd/systemd"]`, name, tag); err != nil {
		t.Fatalf("commit the systemd image: %v", err)
	}
	return tag
}

// lockFor serialises image builds between test processes.
func lockFor(t testing.TB, tag string) func() {
	t.Helper()
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "brine-systest-"+strings.NewReplacer(":", "-", "/", "-").Replace(tag)+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("image lock: %v", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		lock.Close()
		t.Fatalf("image lock: %v", err)
	}
	return func() {
		_ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
		lock.Close()
	}
}

// Binary builds brine as a static binary (CGO_ENABLED=0) into dir and
// returns its path.
func Binary(t testing.TB, dir string) string {
	t.Helper()
	_, here, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the brine source tree")
	}
	repo := filepath.Join(filepath.Dir(here), "..", "..")
	out := filepath.Join(dir, "brine")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/brine")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build brine: %v\n%s", err, b)
	}
	return out
}

// Container is one throwaway container with brine at /usr/local/bin/brine.
type Container struct {
	ID string
}

// Start runs a new container from the test image with brine copied in; it
// is removed when the test ends. t is skipped where Docker or the image
// are unavailable.
func Start(t testing.TB) *Container {
	t.Helper()
	return start(t, Image(t), nil, []string{"sleep", "infinity"})
}

// StartSystemd runs a container with systemd as PID 1 (unprivileged, the
// host's cgroups mounted read-only) and waits until systemd reports the
// system running. t is skipped when systemd cannot boot in a container on
// this machine.
func StartSystemd(t testing.TB) *Container {
	t.Helper()
	c := start(t, SystemdImage(t), []string{"--tmpfs", "/run", "--tmpfs", "/run/lock", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro"}, []string{"/lib/systemd/systemd"})
	deadline := time.Now().Add(60 * time.Second)
	var state string
	for time.Now().Before(deadline) {
		out, _, _ := c.exec(t, nil, "systemctl", "is-system-running")
		state = strings.TrimSpace(out)
		if state == "running" || state == "degraded" {
			return c
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Skipf("systemd test skipped: systemd did not come up in a container on this machine (state %q)", state)
	return nil
}

func start(t testing.TB, image string, dockerArgs, cmd []string) *Container {
	t.Helper()
	bin := Binary(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := fmt.Sprintf("brine-test-%d-%s", os.Getpid(), hex.EncodeToString(rnd[:]))
	args := append([]string{"run", "-d", "--name", name, "--hostname", "brine-test"}, dockerArgs...)
	args = append(append(args, image), cmd...)
	id, err := run(ctx, nil, "docker", args...)
	if err != nil {
		t.Fatalf("start container: %v", err)
	}
	c := &Container{ID: strings.TrimSpace(id)}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := run(ctx, nil, "docker", "rm", "-f", c.ID); err != nil {
			t.Logf("remove container %s: %v", name, err)
		}
	})
	if _, err := run(ctx, nil, "docker", "cp", bin, c.ID+":/usr/local/bin/brine"); err != nil {
		t.Fatalf("copy brine into the container: %v", err)
	}
	return c
}

// Exec runs argv in the container and returns its output and exit code;
// only a failure to run docker at all fails the test.
func (c *Container) Exec(t testing.TB, argv ...string) (stdout, stderr string, code int) {
	t.Helper()
	return c.exec(t, nil, argv...)
}

func (c *Container) exec(t testing.TB, stdin []byte, argv ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	args := []string{"exec"}
	if stdin != nil {
		args = append(args, "-i")
	}
	args = append(append(args, c.ID), argv...)
	cmd := exec.CommandContext(ctx, "docker", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("docker exec %v: %v", argv, err)
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// Sh runs a shell script in the container and fails the test when it
// exits with an error; it returns stdout.
func (c *Container) Sh(t testing.TB, script string) string {
	t.Helper()
	out, errOut, code := c.exec(t, nil, "sh", "-ec", script)
	if code != 0 {
		t.Fatalf("in container: %s\nexit %d\nstdout: %s\nstderr: %s", script, code, out, errOut)
	}
	return out
}

// WriteFile writes content to path inside the container, creating parent
// directories.
func (c *Container) WriteFile(t testing.TB, path, content string) {
	t.Helper()
	_, errOut, code := c.exec(t, []byte(content), "sh", "-ec", `mkdir -p "$(dirname "$1")" && cat > "$1"`, "sh", path)
	if code != 0 {
		t.Fatalf("write %s in container: %s", path, errOut)
	}
}

// WriteTree writes files (relative path to content) below dir.
func (c *Container) WriteTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		c.WriteFile(t, filepath.Join(dir, rel), content)
	}
}

// CopyDir copies a directory of this machine to dst in the container.
func (c *Container) CopyDir(t testing.TB, src, dst string) {
	t.Helper()
	c.Sh(t, "mkdir -p "+dst)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := run(ctx, nil, "docker", "cp", src+"/.", c.ID+":"+dst); err != nil {
		t.Fatalf("copy %s into the container: %v", src, err)
	}
}

// State is one entry of a state run, as `--out json` prints it.
type State struct {
	Result  *bool          `json:"result"`
	Comment string         `json:"comment"`
	Changes map[string]any `json:"changes"`
	Name    string         `json:"name"`
	ID      string         `json:"__id__"`
	SLS     string         `json:"__sls__"`
	RunNum  int            `json:"__run_num__"`
}

// Run is the outcome of one `brine call`.
type Run struct {
	// Code is brine's exit code.
	Code int
	// States holds a state run's results by tag; Errors a compile error's
	// messages; Value any other function's return.
	States map[string]State
	Errors []string
	Value  any
	Stdout string
	Stderr string
}

// Call runs `brine call --local --out json ARGS...` in the container. A
// call that prints no JSON (an error on stderr) returns a Run with only
// Code, Stdout and Stderr set.
func (c *Container) Call(t testing.TB, args ...string) *Run {
	t.Helper()
	argv := append([]string{"brine", "call", "--local", "--out", "json"}, args...)
	out, errOut, code := c.exec(t, nil, argv...)
	r := &Run{Code: code, Stdout: out, Stderr: errOut}
	var doc struct {
		Local json.RawMessage `json:"local"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Local == nil {
		return r
	}
	if err := json.Unmarshal(doc.Local, &r.Value); err != nil {
		t.Fatalf("brine %v: %v", args, err)
	}
	if !strings.HasPrefix(function(args), "state.") {
		return r
	}
	if json.Unmarshal(doc.Local, &r.Errors) == nil {
		return r
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal(doc.Local, &raw) == nil && len(raw) > 0 && isStateRun(raw) {
		if err := json.Unmarshal(doc.Local, &r.States); err != nil {
			t.Fatalf("brine %v: %v", args, err)
		}
	}
	return r
}

// function finds the function name among brine call's arguments: the
// first word that is neither a flag nor a flag's value.
func function(args []string) string {
	for _, a := range args {
		if !strings.HasPrefix(a, "-") && !strings.Contains(a, "/") && strings.Contains(a, ".") && !strings.Contains(a, "=") {
			return a
		}
	}
	return ""
}

// isStateRun tells a state run's return (keys are state tags) from any
// other mapping.
func isStateRun(m map[string]json.RawMessage) bool {
	for k := range m {
		if strings.Count(k, "_|-") != 3 {
			return false
		}
	}
	return true
}

// Apply writes an SLS tree (paths relative to the file root) and pillar
// (relative to the pillar root) into fresh roots and runs state.apply with
// extra arguments (test=True, an SLS name ...).
func (c *Container) Apply(t testing.TB, states, pillar map[string]string, args ...string) *Run {
	t.Helper()
	c.Sh(t, "rm -rf /srv/salt /srv/pillar && mkdir -p /srv/salt /srv/pillar")
	c.WriteTree(t, "/srv/salt", states)
	c.WriteTree(t, "/srv/pillar", pillar)
	return c.Call(t, append([]string{"--file-root", "/srv/salt", "--pillar-root", "/srv/pillar", "state.apply"}, args...)...)
}

// Get returns the state with this ID and function ("pkg.installed"),
// failing the test when the run has no such state.
func (r *Run) Get(t testing.TB, id, fun string) State {
	t.Helper()
	mod, fn, _ := strings.Cut(fun, ".")
	for tag, s := range r.States {
		parts := strings.Split(tag, "_|-")
		if len(parts) == 4 && parts[0] == mod && parts[1] == id && parts[3] == fn {
			return s
		}
	}
	t.Fatalf("no %s state with ID %q in the run (exit %d)\nstdout: %s\nstderr: %s", fun, id, r.Code, r.Stdout, r.Stderr)
	return State{}
}

// Changed lists the IDs of states that reported changes, sorted.
func (r *Run) Changed() []string {
	var out []string
	for _, s := range r.States {
		if len(s.Changes) > 0 {
			out = append(out, s.ID)
		}
	}
	sort.Strings(out)
	return out
}

// Failed lists "id: comment" for every state whose result is false.
func (r *Run) Failed() []string {
	var out []string
	for _, s := range r.States {
		if s.Result != nil && !*s.Result {
			out = append(out, s.ID+": "+s.Comment)
		}
	}
	sort.Strings(out)
	return out
}

// Deb is a tiny Debian package for a local repository: it installs one
// file, /usr/share/NAME/version, holding its version.
type Deb struct {
	Name, Version string
}

// BuildRepo builds the packages with dpkg-deb inside the container and
// writes a flat repository index (Packages) to dir. apt reads it with the
// line `deb [trusted=yes] file:DIR ./`.
func (c *Container) BuildRepo(t testing.TB, dir string, debs ...Deb) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "mkdir -p %s /tmp/brine-debs\n", dir)
	for _, d := range debs {
		fmt.Fprintf(&b, `d=/tmp/brine-debs/%[1]s-%[2]s
mkdir -p $d/DEBIAN $d/usr/share/%[1]s
printf 'Package: %[1]s\nVersion: %[2]s\nArchitecture: all\nMaintainer: brine tests <tests@example.invalid>\nDescription: brine test package\n' > $d/DEBIAN/control
echo %[2]s > $d/usr/share/%[1]s/version
dpkg-deb --build --root-owner-group $d %[3]s/%[1]s_%[2]s_all.deb >/dev/null
`, d.Name, d.Version, dir)
	}
	fmt.Fprintf(&b, `cd %s
for f in *.deb; do
  dpkg-deb -f "$f"
  echo "Filename: ./$f"
  echo "Size: $(stat -c %%s "$f")"
  echo "SHA256: $(sha256sum "$f" | cut -d' ' -f1)"
  echo
done > Packages
`, dir)
	c.Sh(t, b.String())
}
