package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "minion.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadMinion(t *testing.T) {
	p := writeConfig(t, `id: web1
master: salt.example.net:4222
file_roots:
  base:
    - salt
    - /srv/shared
  dev: [dev-salt]
pillar_roots:
  base: [pillar]
state_dir: state
state_timeout: 10m
log_level: info
test: true
saltenv: dev
failhard: yes
state_output: terse
state_verbose: false
`)
	dir := filepath.Dir(p)
	got, err := LoadMinion(p)
	if err != nil {
		t.Fatal(err)
	}
	want := &Minion{
		ID:     "web1",
		Master: "salt.example.net:4222",
		FileRoots: map[string][]string{
			"base": {filepath.Join(dir, "salt"), "/srv/shared"},
			"dev":  {filepath.Join(dir, "dev-salt")},
		},
		PillarRoots:  map[string][]string{"base": {filepath.Join(dir, "pillar")}},
		Grains:       map[string]any{},
		StateDir:     filepath.Join(dir, "state"),
		StateTimeout: Duration(10 * time.Minute),
		LogLevel:     "info",
		Test:         true,
		Saltenv:      "dev",
		Failhard:     true,
		StateOutput:  "terse",
		StateVerbose: false,
		Path:         p,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LoadMinion (-want +got):\n%s", diff)
	}
}

func TestDefaults(t *testing.T) {
	host, _ := os.Hostname()
	for _, tc := range []struct {
		name    string
		content string
	}{
		{"empty file", ""},
		{"comments only", "# nothing set\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := LoadMinion(writeConfig(t, tc.content))
			if err != nil {
				t.Fatal(err)
			}
			if m.ID != host || m.Saltenv != "base" || !m.StateVerbose || m.StateOutput != "full" || m.Test {
				t.Errorf("defaults not applied: %+v", m)
			}
			if diff := cmp.Diff(map[string][]string{"base": {"/srv/salt"}}, m.FileRoots); diff != "" {
				t.Errorf("file_roots (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string][]string{"base": {"/srv/pillar"}}, m.PillarRoots); diff != "" {
				t.Errorf("pillar_roots (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "minion.yaml")
	m, err := loadMinion(missing, false)
	if err != nil || m.ID == "" || m.Path != "" {
		t.Errorf("missing default config: got %+v, %v; want defaults and no error", m, err)
	}
	if _, err := LoadMinion(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing explicit config: error %v, want one naming %s", err, missing)
	}
}

func TestStateTimeout(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"90s", 90 * time.Second},
		{"1h30m", 90 * time.Minute},
		{"600", 10 * time.Minute},
		{"1.5", 1500 * time.Millisecond},
	} {
		t.Run(tc.in, func(t *testing.T) {
			m, err := LoadMinion(writeConfig(t, "state_timeout: "+tc.in+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			if time.Duration(m.StateTimeout) != tc.want {
				t.Errorf("state_timeout %s = %v, want %v", tc.in, time.Duration(m.StateTimeout), tc.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		want    []string // substrings of the error, besides the file name
	}{
		{"unknown key", "id: a\nfile_root:\n  base: [/srv/salt]\n", []string{":2:", "unknown key 'file_root'"}},
		{"unknown key late", "id: a\ntest: false\n\n\nstate_outptu: terse\n", []string{":5:", "'state_outptu'"}},
		{"wrong type", "test: maybe\n", []string{"line 1", "bool"}},
		{"roots not a map", "file_roots: [/srv/salt]\n", []string{"line 1"}},
		{"bad duration", "state_timeout: soon\n", []string{"line 1", "soon"}},
		{"bad state_output", "state_output: fancy\n", []string{"state_output", "fancy"}},
		{"bad log level", "log_level: loud\n", []string{"log_level", "loud"}},
		{"broken yaml", "id: [a\n", []string{"line"}},
		{"not a mapping", "- a\n- b\n", []string{":1:", "mapping"}},
		{"duplicate key", "id: a\nid: b\n", []string{"line 2", "already defined"}},
		{"grains not a map", "grains: [a, b]\n", []string{":1:", "grains must be a mapping"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, tc.content)
			_, err := LoadMinion(p)
			if err == nil {
				t.Fatalf("LoadMinion accepted:\n%s", tc.content)
			}
			for _, s := range append([]string{p}, tc.want...) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestOpts(t *testing.T) {
	m, err := LoadMinion(writeConfig(t, "id: m1\nfile_roots: {base: [/srv/a]}\ntest: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := m.Opts()
	for key, want := range map[string]any{
		"id":         "m1",
		"test":       true,
		"saltenv":    "base",
		"file_roots": map[string]any{"base": []any{"/srv/a"}},
	} {
		if diff := cmp.Diff(want, o[key]); diff != "" {
			t.Errorf("opts[%s] (-want +got):\n%s", key, diff)
		}
	}
}

func TestParseLogLevel(t *testing.T) {
	for _, name := range []string{"trace", "debug", "info", "warning", "WARN", "error", "critical", "quiet"} {
		if _, err := ParseLogLevel(name); err != nil {
			t.Errorf("ParseLogLevel(%q): %v", name, err)
		}
	}
	if _, err := ParseLogLevel("verbose"); err == nil {
		t.Error("ParseLogLevel(verbose) succeeded")
	}
}

func TestGrains(t *testing.T) {
	m, err := LoadMinion(writeConfig(t, `grains:
  roles: [web, db]
  datacenter: ams1
  rack: 0042
  managed: yes
  enabled: true
  limits: {cpu: 2}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"roles":      []any{"web", "db"},
		"datacenter": "ams1",
		"rack":       42, // leading zeros are decimal digits, as in SLS files
		"managed":    "yes",
		"enabled":    true,
		"limits":     map[string]any{"cpu": 2},
	}
	if diff := cmp.Diff(want, m.Grains); diff != "" {
		t.Errorf("grains (-want +got):\n%s", diff)
	}
}
