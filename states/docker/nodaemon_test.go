package docker

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestWithoutDaemon re-runs this test binary with DOCKER_HOST pointing at
// a socket nobody serves: the engine tests must skip and say why, and a
// state must fail with the client's message instead of hanging.
func TestWithoutDaemon(t *testing.T) {
	if os.Getenv("BRINE_DOCKER_NO_DAEMON") == "1" {
		r := apply(t, nil, "docker_container.running", "nobody", map[string]any{"image": "app:1"}, false)
		if r.Result == nil || *r.Result || !strings.Contains(r.Comment, "failed to connect to the docker API") {
			t.Fatalf("without a daemon: result %v, comment %q", r.Result, r.Comment)
		}
		return
	}
	sock := t.TempDir() + "/none.sock"
	cmd := exec.Command(os.Args[0], "-test.run", "^(TestLifecycle|TestWithoutDaemon)$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+sock, "BRINE_DOCKER_NO_DAEMON=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the run without a daemon failed: %v\n%s", err, out)
	}
	for _, want := range []string{"--- SKIP: TestLifecycle", "none answers", "--- PASS: TestWithoutDaemon"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output does not contain %q:\n%s", want, out)
		}
	}
}
