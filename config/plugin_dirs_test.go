package config

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPluginDirs(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "minion.yaml")
	m, err := ParseMinion(name, []byte("state_dir: state\nplugin_dirs: [/opt/brine/plugins, local/plugins]\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/opt/brine/plugins", filepath.Join(dir, "local/plugins"), filepath.Join(dir, "state/plugins")}
	if diff := cmp.Diff(want, m.PluginSearchPath()); diff != "" {
		t.Errorf("plugin search path (-want +got):\n%s", diff)
	}
	if got := m.Opts()["plugin_dirs"]; !cmp.Equal(got, []any{"/opt/brine/plugins", filepath.Join(dir, "local/plugins")}) {
		t.Errorf("opts plugin_dirs = %v", got)
	}
	d := Defaults()
	if diff := cmp.Diff([]string{"/var/lib/brine/minion/plugins"}, d.PluginSearchPath()); diff != "" {
		t.Errorf("default plugin search path (-want +got):\n%s", diff)
	}
	if _, err := ParseMinion(name, []byte("plugin_dirs: /one/dir\n")); err == nil {
		t.Errorf("plugin_dirs as a string was accepted; Salt-style configs give a list")
	}
}
