package host

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/fileserver"
	"github.com/brine-cm/brine/states"
	_ "github.com/brine-cm/brine/states/test"
)

// engine runs SLS files from a temp tree through the real state engine.
func engine(t *testing.T, files map[string]string) (*states.Engine, string) {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	env := testEnv()
	env.Files = fileserver.Roots{Envs: map[string][]string{"base": {root}}}
	env.Pillar = map[string]any{"out": out}
	return &states.Engine{Env: env}, out
}

func TestPluginStatesInARun(t *testing.T) {
	f := newFixture(t)
	path := install(t, "probe", f.dir, "probe")
	h := f.host(t)
	if err := h.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	e, out := engine(t, map[string]string{"site.sls": `
conf:
  probe.file:
    - name: {{ pillar['out'] }}/app.conf
    - content: "port = 80\n"

svc:
  probe.service:
    - watch:
      - probe: conf

broken:
  probe.crash: []

after:
  test.succeed_without_changes:
    - require:
      - probe: svc
`})
	run, err := e.SLS(t.Context(), []string{"site"}, false)
	if err != nil {
		t.Fatal(err)
	}
	ret := func(tag string) *api.StateReturn {
		t.Helper()
		r := run.Returns[tag]
		if r == nil {
			t.Fatalf("no return for %s in %v", tag, run.Tags())
		}
		return r
	}
	conf := ret("probe_|-conf_|-" + out + "/app.conf_|-file")
	if conf.Result.Result == nil || !*conf.Result.Result || conf.Changes["new"] != "port = 80\n" {
		t.Errorf("conf: %+v", conf.Result)
	}
	svc := ret("probe_|-svc_|-svc_|-service")
	if svc.Comment != "Service restarted (1 watched changes)" {
		t.Errorf("svc did not run its plugin mod_watch: %+v", svc.Result)
	}
	broken := ret("probe_|-broken_|-broken_|-crash")
	if broken.Result.Result == nil || *broken.Result.Result || !strings.Contains(broken.Comment, "plugin probe ("+path+") crashed during probe.crash") {
		t.Errorf("broken: %+v", broken.Result)
	}
	if after := ret("test_|-after_|-after_|-succeed_without_changes"); !after.OK() {
		t.Errorf("the run did not carry on after the crash: %+v", after.Result)
	}
	if !run.Failed() {
		t.Errorf("a run with a crashed plugin state did not fail")
	}

	run, err = e.SLS(t.Context(), []string{"site"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if c := run.Returns["probe_|-conf_|-"+out+"/app.conf_|-file"]; c.Result.Result == nil || !*c.Result.Result || len(c.Changes) != 0 {
		t.Errorf("test run after apply: %+v", c.Result)
	}
}

func TestPluginArgumentsCheckedBeforeTheRun(t *testing.T) {
	f := newFixture(t)
	install(t, "probe", f.dir, "probe")
	if err := f.host(t).Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	starts := f.startCount(t)
	e, out := engine(t, map[string]string{"typo.sls": `
first:
  probe.file:
    - name: {{ pillar['out'] }}/first
    - content: x

second:
  probe.file:
    - name: {{ pillar['out'] }}/second
    - contents: y
`})
	_, err := e.SLS(t.Context(), []string{"typo"}, false)
	var ce *states.CompileError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "unknown argument 'contents'") || !strings.Contains(err.Error(), "second") {
		t.Fatalf("compile error = %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "first")); !os.IsNotExist(err) {
		t.Errorf("a state ran although the tree did not compile")
	}
	if f.startCount(t) != starts {
		t.Errorf("checking arguments started the plugin")
	}
}
