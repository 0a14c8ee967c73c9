package host

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/states"
)

// The Python example plugin (examples/plugins/jsonconf-python) proves that
// the protocol is language-neutral: it is loaded, called and stopped like a
// Go plugin.
func TestPythonPlugin(t *testing.T) {
	const python = "/usr/bin/python3" // Debian's, with python3-grpcio
	if out, err := exec.Command(python, "-c", "import grpc, google.protobuf").CombinedOutput(); err != nil {
		t.Skipf("skipping: %s cannot import grpc and protobuf (apt-get install python3-grpcio python3-protobuf): %v %s", python, err, out)
	}
	f := newFixture(t)
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(f.dir, "jsonconf")
	if out, err := exec.Command(python, "-m", "zipapp", "../../../examples/plugins/jsonconf-python/src", "-p", python, "-o", bin).CombinedOutput(); err != nil {
		t.Fatalf("zipapp: %v\n%s", err, out)
	}
	h := f.host(t)
	if err := h.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"exec jsonconf.get": "jsonconf", "state jsonconf.keys_present": "jsonconf"}, h.Functions()); diff != "" {
		t.Fatalf("functions (-want +got):\n%s", diff)
	}

	path := filepath.Join(t.TempDir(), "daemon.json")
	if err := os.WriteFile(path, []byte(`{"debug": false}`), 0o600); err != nil {
		t.Fatal(err)
	}
	sf := lookupState(t, "jsonconf.keys_present")
	if err := sf.Validate(map[string]any{"key": map[string]any{}}); err == nil || !strings.Contains(err.Error(), "unknown argument 'key'") {
		t.Errorf("schema check: %v", err)
	}
	args := map[string]any{"keys": map[string]any{"log-driver": "json-file", "log-opts.max-size": "10m", "debug": false}}
	req := func(test bool) *states.Request {
		return &states.Request{ID: "daemon", Name: path, Args: args, Test: test, Env: testEnv()}
	}
	wantChanges := map[string]any{
		"log-driver":        map[string]any{"old": nil, "new": "json-file"},
		"log-opts.max-size": map[string]any{"old": nil, "new": "10m"},
	}
	res := sf.Apply(t.Context(), req(true))
	if res.Result != nil || !cmp.Equal(wantChanges, res.Changes) {
		t.Errorf("test mode: %+v", res)
	}
	res = sf.Apply(t.Context(), req(false))
	if res.Result == nil || !*res.Result || !cmp.Equal(wantChanges, res.Changes) {
		t.Errorf("apply: %+v", res)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("daemon.json after apply: %v %v", fi, err)
	}
	res = sf.Apply(t.Context(), req(false))
	if res.Result == nil || !*res.Result || len(res.Changes) != 0 {
		t.Errorf("second apply: %+v", res)
	}

	got, err := call(t, "jsonconf.get", []any{path, "log-opts"}, nil)
	if err != nil || !cmp.Equal(got, map[string]any{"max-size": "10m"}) {
		t.Errorf("jsonconf.get = %v, %v", got, err)
	}
	if _, err := call(t, "jsonconf.get", []any{path}, map[string]any{"bogus": 1}); err == nil || !strings.Contains(err.Error(), "unknown argument 'bogus'") {
		t.Errorf("bad argument: %v", err)
	}

	start := time.Now()
	h.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("stopping the Python plugin took %v: it did not honour GRPCController.Shutdown", d)
	}
}
