package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var (
	iniOnce sync.Once
	iniBin  string
	iniErr  error
)

// iniPlugin builds examples/plugins/ini once for the package's tests.
func iniPlugin(t *testing.T) string {
	t.Helper()
	iniOnce.Do(func() {
		iniBin = filepath.Join(filepath.Dir(brine), "ini") // removed with brine by TestMain
		out, err := exec.Command("go", "build", "-o", iniBin, "github.com/brine-cm/brine/examples/plugins/ini").CombinedOutput()
		if err != nil {
			iniErr = fmt.Errorf("build the ini plugin: %v\n%s", err, out)
		}
	})
	if iniErr != nil {
		t.Fatal(iniErr)
	}
	return iniBin
}

func copyExecutable(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// stateRun decodes `--out json` of a state run.
func stateRun(t *testing.T, r result) map[string]map[string]any {
	t.Helper()
	var doc map[string]map[string]map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	return doc["local"]
}

func changed(run map[string]map[string]any) []string {
	var out []string
	for tag, ret := range run {
		if c, _ := ret["changes"].(map[string]any); len(c) > 0 {
			out = append(out, tag)
		}
	}
	return out
}

// The plugin example as its README runs it: the ini plugin in a
// plugin_dirs directory, used from examples/plugins/salt.
func TestPluginExample(t *testing.T) {
	example, err := filepath.Abs("../../../examples/plugins")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyExecutable(t, iniPlugin(t), filepath.Join(dir, "bin", "ini"))
	cfg := filepath.Join(dir, "minion.yaml")
	writeTree(t, dir, map[string]string{"minion.yaml": fmt.Sprintf(
		"id: plugin-demo\nfile_roots:\n  base: [%s]\npillar_roots:\n  base: [%s]\nplugin_dirs: [bin]\nstate_dir: state\n",
		filepath.Join(example, "salt"), filepath.Join(example, "pillar"))})
	root := filepath.Join(dir, "root")
	apply := func(extra ...string) result {
		return call(t, nil, append([]string{"call", "--local", "--config", cfg, "--out", "json", "state.apply",
			fmt.Sprintf(`pillar={"root": %q}`, root)}, extra...)...)
	}
	phpINI := filepath.Join(root, "etc/php/php.ini")

	r := apply("test=True")
	if r.code != 0 || len(changed(stateRun(t, r))) == 0 {
		t.Fatalf("test=True:\n%s", r)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Fatalf("test=True created %s", root)
	}
	r = apply()
	run := stateRun(t, r)
	if r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}
	tag := "ini_|-php settings_|-" + phpINI + "_|-options_present"
	want := map[string]any{"before": "128M", "after": "256M"}
	if got := run[tag]["changes"].(map[string]any)["PHP"].(map[string]any)["memory_limit"]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("memory_limit change = %v, want %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(root, "php-fpm.reloaded")); err != nil {
		t.Errorf("onchanges on the plugin state did not fire: %v", err)
	}
	b, _ := os.ReadFile(phpINI)
	if !strings.Contains(string(b), "; Maximum amount of memory a script may consume\nmemory_limit = 256M\n") {
		t.Errorf("php.ini lost its layout:\n%s", b)
	}
	r = apply()
	run = stateRun(t, r)
	if r.code != 0 || len(changed(run)) != 0 {
		t.Errorf("second apply changed %v:\n%s", changed(run), r)
	}
	if c := run["test_|-report_|-report_|-show_notification"]["comment"]; c != "memory_limit is 256M" {
		t.Errorf("salt['ini.get_option'] in a template: %v", c)
	}

	r = call(t, nil, "doc", "--config", cfg, "ini.options_present")
	if r.code != 0 || !strings.Contains(r.stdout, "ini.options_present (state function; arguments: sections, separator, strict)") ||
		!strings.Contains(r.stdout, "Provided by plugin ini 1.0.0") {
		t.Errorf("brine doc of a plugin state:\n%s", r)
	}
	r = call(t, nil, "doc", "--config", cfg)
	if r.code != 0 || !strings.Contains(r.stdout, "ini.get_option") || !strings.Contains(r.stdout, "ini.options_absent") {
		t.Errorf("brine doc does not list plugin functions:\n%s", r)
	}
	r = call(t, nil, "call", "--local", "--config", cfg, "ini.get_option", phpINI, "Date", "date.timezone")
	if r.code != 0 || r.stdout != "local:\n    UTC\n" {
		t.Errorf("brine call of a plugin execution function:\n%s", r)
	}
	r = call(t, nil, "call", "--local", "--config", cfg, "ini.get_option", phpINI, "Date", "date.timezone", "colour=red")
	if r.code != 1 || !strings.Contains(r.stderr, "ini.get_option") || !strings.Contains(r.stderr, "unknown argument 'colour'") {
		t.Errorf("plugin function with a bad argument:\n%s", r)
	}
}

// Two minions sync the plugin from a master's file_roots
// (_plugins/<os>_<arch>/) and use it in a highstate; a plugin that cannot
// run fails its state and the rest of the highstate carries on.
func TestSyncPluginsToTwoMinions(t *testing.T) {
	master := t.TempDir()
	platform := runtime.GOOS + "_" + runtime.GOARCH
	copyExecutable(t, iniPlugin(t), filepath.Join(master, "_plugins", platform, "ini"))
	writeTree(t, master, map[string]string{
		"top.sls": "base:\n  '*':\n    - app\n",
		"app.sls": `
app.ini:
  ini.options_present:
    - name: {{ pillar['root'] }}/app.ini
    - sections:
        server:
          id: {{ grains['id'] }}
          port: 8080

after:
  test.succeed_without_changes
`,
	})
	for _, id := range []string{"web1", "web2"} {
		t.Run(id, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "minion.yaml")
			writeTree(t, dir, map[string]string{"minion.yaml": fmt.Sprintf("id: %s\nfile_roots:\n  base: [%s]\nstate_dir: state\n", id, master)})
			root := filepath.Join(dir, "root")
			os.MkdirAll(root, 0o755)
			pillar := fmt.Sprintf(`pillar={"root": %q}`, root)

			r := call(t, nil, "call", "--local", "--config", cfg, "state.apply", pillar)
			if r.code != 1 || !strings.Contains(r.stdout, "ini.options_present") {
				t.Errorf("highstate before the sync should not compile:\n%s", r)
			}
			r = call(t, nil, "call", "--local", "--config", cfg, "--out", "json", "saltutil.sync_plugins")
			if r.code != 0 || !strings.Contains(r.stdout, `"plugins.ini"`) {
				t.Fatalf("sync:\n%s", r)
			}
			synced := filepath.Join(dir, "state", "plugins", "ini")
			if fi, err := os.Stat(synced); err != nil || fi.Mode().Perm() != 0o755 {
				t.Fatalf("synced plugin: %v %v", fi, err)
			}
			r = call(t, nil, "call", "--local", "--config", cfg, "--out", "json", "state.apply", pillar)
			if r.code != 0 {
				t.Fatalf("highstate after the sync:\n%s", r)
			}
			b, _ := os.ReadFile(filepath.Join(root, "app.ini"))
			if string(b) != "[server]\nid = "+id+"\nport = 8080\n" {
				t.Errorf("app.ini:\n%s", b)
			}
			r = call(t, nil, "call", "--local", "--config", cfg, "--out", "json", "saltutil.sync_plugins")
			if r.code != 0 || !strings.Contains(r.stdout, `"local": []`) {
				t.Errorf("second sync changed something:\n%s", r)
			}

			if err := os.Chmod(synced, 0o644); err != nil {
				t.Fatal(err)
			}
			os.Remove(filepath.Join(root, "app.ini"))
			r = call(t, nil, "call", "--local", "--config", cfg, "--out", "json", "state.apply", pillar)
			run := stateRun(t, r)
			failed := run["ini_|-app.ini_|-"+root+"/app.ini_|-options_present"]
			if r.code != 2 || failed["result"] != false || !strings.Contains(fmt.Sprint(failed["comment"]), "plugin ini ("+synced+"): not executable") {
				t.Errorf("a plugin that is not executable should fail its state, naming it:\n%s", r)
			}
			if run["test_|-after_|-after_|-succeed_without_changes"]["result"] != true {
				t.Errorf("the rest of the highstate did not run:\n%s", r)
			}
		})
	}
}
