package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadMaster(t *testing.T) {
	p := filepath.Join(t.TempDir(), "master.yaml")
	if err := os.WriteFile(p, []byte(`listen: 127.0.0.1:4506
file_roots:
  base: [salt, /srv/shared]
pillar_roots:
  base: [pillar]
nodegroups:
  web: 'web* or G@roles:web'
  pair: [a, b]
keep_jobs: 48h
job_ttl: 30
auto_accept: true
state_dir: state
log_level: debug
pillar_merge_lists: true
bus:
  url: ""
`), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(p)
	got, err := LoadMaster(p)
	if err != nil {
		t.Fatal(err)
	}
	want := &Master{
		Listen:           "127.0.0.1:4506",
		FileRoots:        map[string][]string{"base": {filepath.Join(dir, "salt"), "/srv/shared"}},
		PillarRoots:      map[string][]string{"base": {filepath.Join(dir, "pillar")}},
		Nodegroups:       map[string]string{"web": "web* or G@roles:web", "pair": "a b"},
		KeepJobs:         Duration(48 * time.Hour),
		JobTTL:           Duration(30 * time.Second),
		AutoAccept:       true,
		StateDir:         filepath.Join(dir, "state"),
		LogLevel:         "debug",
		PillarMergeLists: true,
		Path:             p,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LoadMaster (-want +got):\n%s", diff)
	}
}

func TestMasterDefaults(t *testing.T) {
	m, err := ParseMaster("empty.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Listen != "0.0.0.0:4222" || time.Duration(m.KeepJobs) != 24*time.Hour || m.AutoAccept || m.FileRoots["base"][0] != "/srv/salt" {
		t.Errorf("defaults: %+v", m)
	}
	if _, err := LoadMaster(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("a missing file named explicitly is not an error")
	}
}

func TestMasterErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"unknown key", "listen: x:1\nfile_root: {}\n", "m.yaml:2: unknown key 'file_root'"},
		{"unknown bus key", "bus:\n  url: nats://x\n  urls: []\n", "m.yaml:3: unknown key 'bus.urls'"},
		{"bad listen", "listen: nowhere\n", "listen \"nowhere\": want HOST:PORT"},
		{"bad port", "listen: ':99999'\n", "bad port"},
		{"negative keep_jobs", "keep_jobs: -1h\n", "keep_jobs must be positive"},
		{"bad duration", "keep_jobs: forever\n", "expected a duration"},
		{"bad log level", "log_level: loud\n", "log_level \"loud\""},
		{"bad nodegroup", "nodegroups:\n  x: {a: 1}\n", "nodegroup \"x\""},
		{"not a mapping", "- a\n", "must be a mapping"},
		{"wrong type", "auto_accept: [yes]\n", "m.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseMaster("m.yaml", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseMaster error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestDefaultStateDir(t *testing.T) {
	if os.Geteuid() == 0 {
		if got := DefaultStateDir("minion"); got != "/var/lib/brine/minion" {
			t.Errorf("as root: %s", got)
		}
		return
	}
	t.Setenv("XDG_DATA_HOME", "/data")
	if got := DefaultStateDir(""); got != "/data/brine" {
		t.Errorf("DefaultStateDir = %s", got)
	}
}
