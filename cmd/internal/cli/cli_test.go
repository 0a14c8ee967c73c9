package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// brine is the binary under test, built once by TestMain.
var brine string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "brine-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	brine = filepath.Join(dir, "brine")
	build := exec.Command("go", "build", "-o", brine, "github.com/brine-cm/brine/cmd/brine")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building brine: %v\n", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// call runs the brine binary with args and returns what a user would see.
func call(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(brine, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = t.TempDir()
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run brine %v: %v", args, err)
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// site is a small SLS tree, pillar and minion config in a temp dir; every
// file a state manages lies under root.
type site struct {
	dir, root, config string
}

func newSite(t *testing.T) site {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	writeTree(t, dir, map[string]string{
		"minion.yaml":  "id: testminion\nfile_roots:\n  base: [salt]\npillar_roots:\n  base: [pillar]\n",
		"salt/top.sls": "base:\n  '*':\n    - good\n",
		"salt/good.sls": `ping:
  test.succeed_without_changes

motd:
  file.managed:
    - name: {{ pillar['root'] }}/motd
    - source: salt://files/motd.j2
    - template: jinja
    - makedirs: True
    - mode: 0644
`,
		"salt/files/motd.j2": "Welcome to {{ grains['id'] }}, colour {{ pillar['colour'] }}\n",
		"salt/bad.sls": `fails:
  test.fail_without_changes

after:
  test.succeed_without_changes
`,
		"salt/broken.sls":      "broken:\n  test.succeed_without_changes:\n    - name: fine\n   - comment: [unclosed\n",
		"salt/missing_req.sls": "needs:\n  test.succeed_without_changes:\n    - require:\n      - test: ghost\n",
		"pillar/top.sls":       "base:\n  '*':\n    - common\n",
		"pillar/common.sls":    "root: " + root + "\ncolour: blue\n",
	})
	return site{dir: dir, root: root, config: filepath.Join(dir, "minion.yaml")}
}

func (s site) call(t *testing.T, args ...string) result {
	t.Helper()
	return call(t, []string{"NO_COLOR="}, append([]string{"call", "--local", "--config", s.config}, args...)...)
}

func TestTestPing(t *testing.T) {
	r := call(t, nil, "call", "--local", "--config", newSite(t).config, "test.ping")
	if r.code != 0 || r.stdout != "local:\n    True\n" {
		t.Errorf("test.ping:\n%s", r)
	}
	r = call(t, nil, "call", "--local", "--out", "json", "--config", newSite(t).config, "test.ping")
	if r.code != 0 || r.stdout != "{\n    \"local\": true\n}\n" {
		t.Errorf("test.ping --out json:\n%s", r)
	}
}

func TestStateApply(t *testing.T) {
	s := newSite(t)
	motd := filepath.Join(s.root, "motd")

	r := s.call(t, "state.apply", "test=True")
	if r.code != 0 || !strings.Contains(r.stdout, "Result: None") || !strings.Contains(r.stdout, "Summary for local") {
		t.Fatalf("state.apply test=True:\n%s", r)
	}
	if _, err := os.Stat(s.root); !os.IsNotExist(err) {
		t.Fatalf("test mode created %s (stat: %v)", s.root, err)
	}

	r = s.call(t, "state.apply")
	if r.code != 0 {
		t.Fatalf("state.apply:\n%s", r)
	}
	for _, want := range []string{
		"local:\n----------\n          ID: ping\n    Function: test.succeed_without_changes\n      Result: True\n",
		"          ID: motd\n    Function: file.managed\n        Name: " + motd + "\n      Result: True\n",
		"Succeeded: 2 (changed=1)\nFailed:    0\n",
		"Total states run:     2\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("state.apply output lacks %q:\n%s", want, r)
		}
	}
	if strings.Contains(r.stdout, "\033[") {
		t.Errorf("colour codes on a pipe:\n%s", r)
	}
	b, err := os.ReadFile(motd)
	if err != nil || string(b) != "Welcome to testminion, colour blue\n" {
		t.Errorf("managed file = %q, %v", b, err)
	}

	// The second run changes nothing.
	r = s.call(t, "state.apply", "--state-output", "terse")
	if r.code != 0 || strings.Count(r.stdout, "Result: Clean") != 2 || !strings.Contains(r.stdout, "Succeeded: 2\n") {
		t.Errorf("second state.apply, terse:\n%s", r)
	}
	r = s.call(t, "state.apply", "--state-verbose=false")
	if r.code != 0 || strings.Contains(r.stdout, "ID: ping") || !strings.Contains(r.stdout, "Succeeded: 2\n") {
		t.Errorf("--state-verbose=false still shows clean states:\n%s", r)
	}

	// pillar on the command line is merged over the compiled pillar.
	r = s.call(t, "state.apply", `pillar={"colour": "green"}`)
	b, _ = os.ReadFile(motd)
	if r.code != 0 || string(b) != "Welcome to testminion, colour green\n" {
		t.Errorf("state.apply with pillar override: file %q\n%s", b, r)
	}
}

func TestStateJSON(t *testing.T) {
	s := newSite(t)
	r := s.call(t, "--out", "json", "state.apply")
	if r.code != 0 {
		t.Fatalf("state.apply --out json:\n%s", r)
	}
	var doc map[string]map[string]map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("output is not {\"local\": {tag: {...}}}: %v\n%s", err, r)
	}
	ret, ok := doc["local"]["test_|-ping_|-ping_|-succeed_without_changes"]
	if !ok || len(doc) != 1 {
		t.Fatalf("no test_|-ping_|-ping_|-succeed_without_changes under local:\n%s", r)
	}
	for key, want := range map[string]any{"result": true, "__id__": "ping", "__sls__": "good", "name": "ping", "comment": "Success!"} {
		if ret[key] != want {
			t.Errorf("%s = %v, want %v", key, ret[key], want)
		}
	}
	for _, key := range []string{"changes", "__run_num__", "start_time", "duration"} {
		if _, ok := ret[key]; !ok {
			t.Errorf("state return lacks %s: %v", key, ret)
		}
	}
}

func TestExitCodes(t *testing.T) {
	s := newSite(t)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"failed state", []string{"state.sls", "bad"}, 2, []string{"Result: False", "Failed:    1"}, nil},
		{"failed state in test mode", []string{"state.sls", "bad", "test=True"}, 2, []string{"Result: False"}, nil},
		{"render error", []string{"state.sls", "broken"}, 1, []string{"local:\n    Data failed to compile:\n----------\n    ", "broken"}, nil},
		{"missing requisite", []string{"state.sls", "missing_req"}, 1, []string{"Data failed to compile:", "ghost"}, nil},
		{"no such sls", []string{"state.sls", "nope"}, 1, []string{"Data failed to compile:", "nope"}, nil},
		{"unknown function", []string{"no_such.function"}, 1, nil, []string{"'no_such.function' is not available"}},
		{"function error", []string{"test.exception", "boom"}, 1, nil, []string{"test.exception", "boom"}},
		{"unknown argument", []string{"test.ping", "color=red"}, 1, nil, []string{"test.ping", "color"}},
		{"bad argument syntax", []string{"test.echo", `{"a": 1`}, 1, nil, []string{"test.echo", `{"a": 1`, "not a valid mapping"}},
		{"bad kwarg syntax", []string{"state.apply", `pillar={"a": [1}`}, 1, nil, []string{"argument 'pillar'"}},
		{"not a function name", []string{"ping"}, 1, nil, []string{"not a function name"}},
		{"unknown outputter", []string{"--out", "fancy", "test.ping"}, 1, nil, []string{"fancy"}},
		{"unknown flag", []string{"--bogus", "test.ping"}, 1, nil, []string{"--bogus"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.call(t, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\n%s", r.code, tc.code, r)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q\n%s", want, r)
				}
			}
			for _, want := range tc.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q\n%s", want, r)
				}
			}
		})
	}
}

func TestCompileErrorJSON(t *testing.T) {
	r := newSite(t).call(t, "--out", "json", "state.sls", "broken")
	var doc map[string][]string
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 1 || len(doc["local"]) == 0 {
		t.Errorf("compile error with --out json is not {\"local\": [...]} with exit 1 (%v):\n%s", err, r)
	}
}

func TestNoLocal(t *testing.T) {
	r := call(t, nil, "call", "test.ping")
	if r.code != 1 || !strings.Contains(r.stderr, "--local") || !strings.Contains(r.stderr, "master") || r.stdout != "" {
		t.Errorf("brine call without --local:\n%s", r)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "minion.yaml")
	if err := os.WriteFile(bad, []byte("id: x\nfile_root: [/srv]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := call(t, nil, "call", "--local", "--config", bad, "test.ping")
	if r.code != 1 || !strings.Contains(r.stderr, bad+":2:") || !strings.Contains(r.stderr, "file_root") {
		t.Errorf("unknown config key:\n%s", r)
	}
	missing := filepath.Join(dir, "nope.yaml")
	r = call(t, nil, "call", "--local", "--config", missing, "test.ping")
	if r.code != 1 || !strings.Contains(r.stderr, missing) {
		t.Errorf("missing --config file:\n%s", r)
	}
}

func TestFlagsOverrideConfig(t *testing.T) {
	s := newSite(t)
	other := t.TempDir()
	writeTree(t, other, map[string]string{
		"top.sls":   "base:\n  '*':\n    - other\n",
		"other.sls": "from_flag_root:\n  test.succeed_without_changes\n",
	})
	r := s.call(t, "--file-root", other, "--id", "flagminion", "state.apply")
	if r.code != 0 || !strings.Contains(r.stdout, "ID: from_flag_root") {
		t.Errorf("--file-root did not replace file_roots base:\n%s", r)
	}
	r = s.call(t, "--id", "flagminion", "grains.get", "id")
	if r.code != 0 || r.stdout != "local:\n    flagminion\n" {
		t.Errorf("--id not applied:\n%s", r)
	}
}

func TestColor(t *testing.T) {
	s := newSite(t)
	r := call(t, nil, "call", "--local", "--config", s.config, "--force-color", "state.apply")
	if r.code != 0 || !strings.Contains(r.stdout, "\033[0;32m") {
		t.Errorf("--force-color printed no colour:\n%s", r)
	}
	r = call(t, nil, "call", "--local", "--config", s.config, "--force-color", "--no-color", "state.apply")
	if strings.Contains(r.stdout, "\033[") {
		t.Errorf("--no-color printed colour:\n%s", r)
	}
}

func TestDoc(t *testing.T) {
	r := call(t, nil, "doc", "test.ping")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "test.ping (execution function") {
		t.Errorf("brine doc test.ping:\n%s", r)
	}
	r = call(t, nil, "doc", "test")
	if r.code != 0 || !strings.Contains(r.stdout, "test.echo (execution function") || !strings.Contains(r.stdout, "test.succeed_without_changes (state function") {
		t.Errorf("brine doc test does not cover both registries:\n%s", r)
	}
	r = call(t, nil, "doc")
	if r.code != 0 || !strings.Contains(r.stdout, "Execution functions:") || !strings.Contains(r.stdout, "State functions:") || !strings.Contains(r.stdout, "file.managed") {
		t.Errorf("brine doc:\n%s", r)
	}
	r = call(t, nil, "doc", "nosuch.function")
	if r.code != 1 || !strings.Contains(r.stderr, "nosuch.function") {
		t.Errorf("brine doc nosuch.function:\n%s", r)
	}
}

func TestVersion(t *testing.T) {
	r := call(t, nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "brine ") {
		t.Errorf("brine version:\n%s", r)
	}
}

// BenchmarkTestPing measures a whole `brine call --local test.ping` process:
//
//	go test ./cmd/internal/cli -run '^$' -bench TestPing
func BenchmarkTestPing(b *testing.B) {
	cfg := filepath.Join(b.TempDir(), "minion.yaml")
	if err := os.WriteFile(cfg, []byte("id: bench\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if out, err := exec.Command(brine, "call", "--local", "--config", cfg, "test.ping").CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
}

// The README's first command, on the example tree, with pillar root moved
// into a temp dir: it applies cleanly, and a second run changes nothing.
func TestQuickstart(t *testing.T) {
	cfg, err := filepath.Abs("../../../examples/quickstart/minion.yaml")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "qs")
	pillar := fmt.Sprintf(`pillar={"root": %q}`, root)
	run := func(extra ...string) result {
		return call(t, nil, append([]string{"call", "--local", "--config", cfg, "--out", "json", "state.apply", pillar}, extra...)...)
	}
	changed := func(r result) int {
		var doc map[string]map[string]map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("%v\n%s", err, r)
		}
		n := 0
		for tag, ret := range doc["local"] {
			if ret["result"] == false {
				t.Errorf("%s failed: %v", tag, ret["comment"])
			}
			if c, _ := ret["changes"].(map[string]any); len(c) > 0 {
				n++
			}
		}
		return n
	}
	r := run("test=True")
	if r.code != 0 || changed(r) == 0 {
		t.Fatalf("quickstart test=True reports nothing to do:\n%s", r)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Fatalf("test=True created %s", root)
	}
	if r = run(); r.code != 0 || changed(r) == 0 {
		t.Fatalf("quickstart apply:\n%s", r)
	}
	conf, err := os.ReadFile(filepath.Join(root, "srv/app/app.conf"))
	if err != nil || !strings.Contains(string(conf), "listen = 0.0.0.0:9090") {
		t.Errorf("app.conf lacks the quickstart minion's port (%v):\n%s", err, conf)
	}
	if r = run(); r.code != 0 || changed(r) != 0 {
		t.Errorf("second quickstart apply changed something:\n%s", r)
	}
}
