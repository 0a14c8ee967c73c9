package file

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/brine-cm/brine/states/file/fsx"
)

// TestAsNonRoot checks what a non-root brine does when a state needs root:
// it fails clearly and leaves the file as it was. Run as root, it re-runs
// itself as uid 65534 in a directory that user may write.
func TestAsNonRoot(t *testing.T) {
	dir := os.Getenv("BRINE_FILE_NONROOT_DIR")
	if dir == "" && os.Geteuid() != 0 {
		dir = t.TempDir()
	}
	if dir != "" {
		nonRootChecks(t, dir)
		return
	}
	base := t.TempDir()
	dir = filepath.Join(base, "work")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Dir(base), base, dir} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "file.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run", "^TestAsNonRoot$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "BRINE_FILE_NONROOT_DIR="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as uid 65534: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	if !strings.Contains(string(out), "--- PASS: TestAsNonRoot") {
		t.Fatalf("the non-root run did not pass:\n%s", out)
	}
}

func nonRootChecks(t *testing.T, dir string) {
	if os.Geteuid() == 0 {
		t.Fatal("nonRootChecks must run as a non-root user")
	}
	name := filepath.Join(dir, "owned-by-me")
	if err := os.WriteFile(name, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("managed refuses to give a file away", func(t *testing.T) {
		res := apply(t, nil, "file.managed", name, map[string]any{"contents": "new", "user": "root"}, false)
		wantResult(t, res, no)
		if !contains(res.Comment, "only root may give files away") {
			t.Errorf("comment %q does not say why", res.Comment)
		}
		if got := readFile(t, name); got != "old\n" {
			t.Errorf("content %q: the file must be left as it was", got)
		}
	})
	t.Run("a failed atomic write leaves the old file and no temporary", func(t *testing.T) {
		err := fsx.AtomicWrite(name, []byte("new\n"), fsx.WriteOptions{UID: 0, GID: -1})
		if err == nil {
			t.Fatal("chown to root as a normal user succeeded")
		}
		if got := readFile(t, name); got != "old\n" {
			t.Errorf("content %q: the file must be left as it was", got)
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".brine-") {
				t.Errorf("temporary file %s left behind", e.Name())
			}
		}
	})
}
