package states_test

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states"
	_ "github.com/brine-cm/brine/states/cmd"
	_ "github.com/brine-cm/brine/states/test"
)

// mapFiles serves an in-memory SLS tree; the engine only sees api.FileClient.
type mapFiles fstest.MapFS

func (m mapFiles) Read(_ context.Context, _, p string) ([]byte, error) {
	f, ok := m[p]
	if !ok {
		return nil, api.ErrFileNotFound
	}
	return f.Data, nil
}

func (m mapFiles) Cache(context.Context, string, string) (string, error) {
	return "", errors.New("not cached in tests")
}

func (m mapFiles) Stat(_ context.Context, _, p string) (api.FileInfo, error) {
	if _, ok := m[p]; !ok {
		return api.FileInfo{}, api.ErrFileNotFound
	}
	return api.FileInfo{Path: p}, nil
}

func (m mapFiles) List(context.Context, string, string) ([]api.FileInfo, error) {
	return nil, nil
}

var _ api.FileClient = mapFiles{}

func init() {
	states.Register(states.Def[struct{}]{
		Name: "brinetest.panics",
		Doc:  "Panics, to prove the engine turns a panic into a failed state.",
		Apply: func(context.Context, *states.Request, *struct{}) api.Result {
			panic("boom")
		},
	})
	states.Register(states.Def[struct{}]{
		Name: "brinetest.hangs",
		Doc:  "Blocks until its deadline.",
		Apply: func(ctx context.Context, _ *states.Request, _ *struct{}) api.Result {
			<-ctx.Done()
			return api.Failed("gave up: " + ctx.Err().Error())
		},
	})
}

func engine(files map[string]string) *states.Engine {
	m := mapFiles{}
	for p, src := range files {
		m[p] = &fstest.MapFile{Data: []byte(src), Mode: fs.FileMode(0o644)}
	}
	return &states.Engine{Env: &api.Env{ID: "minion1", Files: m, Grains: map[string]any{"os_family": "Debian"}, Pillar: map[string]any{}}}
}

func compileErr(t *testing.T, err error) []string {
	t.Helper()
	var ce *states.CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("want a *CompileError, got %v", err)
	}
	return ce.Errors
}

func TestCompileErrorsNameTheirPlace(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"missing requisite", map[string]string{"a.sls": "x:\n  test.nop:\n    - require:\n      - test: ghost\n"},
			[]string{"a.sls:2", "'x'", "ghost"}},
		{"cycle", map[string]string{"a.sls": "x:\n  test.nop:\n    - require:\n      - y\ny:\n  test.nop:\n    - watch:\n      - x\n"},
			[]string{"recursive requisite", "'x'", "'y'"}},
		{"self cycle", map[string]string{"a.sls": "x:\n  test.nop:\n    - require:\n      - x\n"},
			[]string{"recursive requisite", "'x'"}},
		{"unknown function", map[string]string{"a.sls": "x:\n  test.no_such:\n    - name: q\n"},
			[]string{"a.sls:2", "test.no_such", "'x'"}},
		{"unknown argument", map[string]string{"a.sls": "x:\n  cmd.run:\n    - name: 'true'\n    - colour: red\n"},
			[]string{"a.sls:2", "'x'", "colour"}},
		{"duplicate ID", map[string]string{"a.sls": "include:\n  - b\nx:\n  test.nop\n", "b.sls": "x:\n  test.nop\n"},
			[]string{"conflicting IDs", "'x'", "a.sls", "b.sls"}},
		{"extend of a missing ID", map[string]string{"a.sls": "extend:\n  ghost:\n    test.nop:\n      - name: z\n"},
			[]string{"ghost", "a.sls"}},
		{"two functions of one module", map[string]string{"a.sls": "x:\n  test.nop: []\n  test.succeed_without_changes: []\n"},
			[]string{"a.sls", "'x'"}},
		{"missing include", map[string]string{"a.sls": "include:\n  - nope\n"},
			[]string{"nope", "'a'"}},
		{"names is not a list", map[string]string{"a.sls": "x:\n  test.nop:\n    - names: one\n"},
			[]string{"a.sls", "'x'", "names"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := engine(tc.files).SLS(context.Background(), []string{"a"}, false)
			text := strings.Join(compileErr(t, err), "\n")
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("error %q does not mention %q", text, w)
				}
			}
		})
	}
}

func TestPanicBecomesFailedState(t *testing.T) {
	e := engine(map[string]string{"a.sls": "bad:\n  brinetest.panics: []\nafter:\n  test.succeed_without_changes: []\n"})
	run, err := e.SLS(context.Background(), []string{"a"}, false)
	if err != nil {
		t.Fatal(err)
	}
	bad := run.Returns["brinetest_|-bad_|-bad_|-panics"]
	if bad == nil || bad.Result.OK() || !strings.Contains(bad.Comment, "boom") {
		t.Fatalf("panicking state: want result false mentioning the panic, got %+v", bad)
	}
	if after := run.Returns["test_|-after_|-after_|-succeed_without_changes"]; after == nil || !after.OK() {
		t.Errorf("the run did not go on after the panic: %+v", after)
	}
}

func TestStateDeadline(t *testing.T) {
	e := engine(map[string]string{"a.sls": "slow:\n  brinetest.hangs: []\n"})
	e.StateTimeout = 50 * time.Millisecond
	run, err := e.SLS(context.Background(), []string{"a"}, false)
	if err != nil {
		t.Fatal(err)
	}
	got := run.Returns["brinetest_|-slow_|-slow_|-hangs"]
	if got == nil || got.OK() || !strings.Contains(got.Comment, "deadline") {
		t.Fatalf("want the hanging state failed at its deadline, got %+v", got)
	}
}

func TestFailhardFromOptions(t *testing.T) {
	e := engine(map[string]string{"a.sls": "one:\n  test.fail_without_changes: []\ntwo:\n  test.succeed_without_changes: []\n"})
	e.Env.Opts = map[string]any{"failhard": true}
	run, err := e.SLS(context.Background(), []string{"a"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Returns) != 1 || !run.Failed() {
		t.Fatalf("failhard: want only the failed state, got %v", run.Tags())
	}
}

func TestRequisiteFailureBlocksDependants(t *testing.T) {
	e := engine(map[string]string{"a.sls": `
first:
  test.fail_without_changes: []
second:
  test.succeed_with_changes:
    - require:
      - first
third:
  test.succeed_with_changes:
    - onfail:
      - first
fourth:
  test.succeed_without_changes:
    - onchanges:
      - test: first
`})
	run, err := e.SLS(context.Background(), []string{"a"}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"test_|-second_|-second_|-succeed_with_changes":    "false:One or more requisite failed: a.first",
		"test_|-third_|-third_|-succeed_with_changes":      "true:Success!",
		"test_|-fourth_|-fourth_|-succeed_without_changes": "false:One or more requisite failed: a.first",
		"test_|-first_|-first_|-fail_without_changes":      "false:Failure!",
	}
	for tag, w := range want {
		ret := run.Returns[tag]
		if ret == nil {
			t.Errorf("%s missing", tag)
			continue
		}
		got := "true"
		if !ret.OK() {
			got = "false"
		}
		if wr, wc, _ := strings.Cut(w, ":"); got != wr || ret.Comment != wc {
			t.Errorf("%s: got %s %q, want %s %q", tag, got, ret.Comment, wr, wc)
		}
	}
}

func TestTopMatching(t *testing.T) {
	e := engine(map[string]string{
		"top.sls":    "base:\n  '*':\n    - common\n  'minion*':\n    - web\n  'os_family:RedHat':\n    - match: grain\n    - redhat\n  'G@os_family:Debian and minion1':\n    - debian\n",
		"common.sls": "c:\n  test.nop\n", "web.sls": "w:\n  test.nop\n", "debian.sls": "d:\n  test.nop\n", "redhat.sls": "r:\n  test.nop\n",
	})
	top, err := e.Top(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := top["base"]
	want := []string{"common", "web", "debian"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("top: got %v, want %v", got, want)
	}
}

func TestRelativeIncludeAndInitSLS(t *testing.T) {
	e := engine(map[string]string{
		"app/init.sls":  "include:\n  - .conf\nmain:\n  test.nop\n",
		"app/conf.sls":  "include:\n  - .extra\nconf:\n  test.nop\n",
		"app/extra.sls": "extra:\n  test.nop\n",
	})
	chunks, err := e.Compile(context.Background(), []string{"app"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range chunks {
		got = append(got, c.SLS+"/"+c.ID)
	}
	want := []string{"app.extra/extra", "app.conf/conf", "app/main"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("declaration order: got %v, want %v", got, want)
	}
}

func TestSingle(t *testing.T) {
	e := engine(nil)
	run, err := e.Single(context.Background(), "test.succeed_with_changes", "x", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if ret := run.Returns["test_|-x_|-x_|-succeed_with_changes"]; ret == nil || ret.Result.Result != nil {
		t.Fatalf("state.single in test mode: want result None, got %+v", ret)
	}
	_, err = e.Single(context.Background(), "test.nope", "x", nil, false)
	compileErr(t, err)
}
