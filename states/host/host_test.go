package host

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states"
	"github.com/google/go-cmp/cmp"
)

const initial = "127.0.0.1\tlocalhost\n# keep me\n10.0.0.9 old-db\n"

// run applies a host state against a hosts file in a temporary directory
// (the hosts.file option), the way the engine calls it.
func run(t *testing.T, path, fun, name string, args map[string]any, test bool) map[string]any {
	t.Helper()
	f, ok := states.Lookup(fun)
	if !ok {
		t.Fatalf("%s is not registered", fun)
	}
	if err := f.Validate(args); err != nil {
		t.Fatalf("arguments rejected: %v", err)
	}
	env := &api.Env{
		Grains: map[string]any{"os": "Debian", "os_family": "Debian"},
		Opts:   map[string]any{"hosts.file": path},
	}
	r := f.Apply(context.Background(), &states.Request{ID: name, Name: name, Args: args, Test: test, Env: env})
	b, _ := json.Marshal(map[string]any{"result": r.Result, "comment": r.Comment, "changes": r.Changes, "warnings": r.Warnings})
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func TestHostStates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(path, []byte(initial), 0o644); err != nil {
		t.Fatal(err)
	}
	read := func() string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	steps := []struct {
		name     string
		fun      string
		state    string
		args     map[string]any
		test     bool
		want     map[string]any
		wantFile string
	}{
		{
			name: "test mode", fun: "host.present", state: "db", test: true,
			args: map[string]any{"ip": []any{"10.0.0.5", "fd00::5"}},
			want: map[string]any{"result": nil, "comment": "Host db (10.0.0.5) would be added\nHost db (fd00::5) would be added",
				"changes": map[string]any{"added": map[string]any{"10.0.0.5": []any{"db"}, "fd00::5": []any{"db"}}}, "warnings": nil},
			wantFile: initial,
		},
		{
			name: "add", fun: "host.present", state: "db",
			args: map[string]any{"ip": []any{"10.0.0.5", "fd00::5"}},
			want: map[string]any{"result": true, "comment": "Added host db (10.0.0.5)\nAdded host db (fd00::5)",
				"changes": map[string]any{"added": map[string]any{"10.0.0.5": []any{"db"}, "fd00::5": []any{"db"}}}, "warnings": nil},
			wantFile: initial + "10.0.0.5\tdb\nfd00::5\tdb\n",
		},
		{
			name: "again", fun: "host.present", state: "db",
			args: map[string]any{"ip": "10.0.0.5"},
			want: map[string]any{"result": true, "comment": "Host db (10.0.0.5) already present", "changes": map[string]any{},
				"warnings": []any{"Host db present for IP address fd00::5. To get rid of this warning, either run this state with 'clean' set to True to remove db from fd00::5, or add fd00::5 to the 'ip' argument."}},
			wantFile: initial + "10.0.0.5\tdb\nfd00::5\tdb\n",
		},
		{
			name: "clean", fun: "host.present", state: "db",
			args: map[string]any{"ip": "10.0.0.5", "clean": true},
			want: map[string]any{"result": true, "comment": "Host db (10.0.0.5) already present\nRemoved host db (fd00::5)",
				"changes": map[string]any{"removed": map[string]any{"fd00::5": []any{"db"}}}, "warnings": nil},
			wantFile: initial + "10.0.0.5\tdb\n",
		},
		{
			name: "bad address", fun: "host.present", state: "db",
			args:     map[string]any{"ip": "10.0.0.300"},
			want:     map[string]any{"result": false, "comment": "Invalid IP Address for db (10.0.0.300)", "changes": map[string]any{}, "warnings": nil},
			wantFile: initial + "10.0.0.5\tdb\n",
		},
		{
			name: "absent", fun: "host.absent", state: "old-db",
			args:     map[string]any{"ip": []any{"10.0.0.9", "10.0.0.10"}},
			want:     map[string]any{"result": true, "comment": "Removed host old-db (10.0.0.9)\nHost old-db (10.0.0.10) already absent", "changes": map[string]any{"host": "old-db"}, "warnings": nil},
			wantFile: "127.0.0.1\tlocalhost\n# keep me\n10.0.0.5\tdb\n",
		},
		{
			name: "only", fun: "host.only", state: "127.0.0.1",
			args:     map[string]any{"hostnames": []any{"localhost", "brine"}},
			want:     map[string]any{"result": true, "comment": `successfully changed 127.0.0.1 from "localhost" to "localhost brine"`, "changes": map[string]any{"127.0.0.1": map[string]any{"old": "localhost", "new": "localhost brine"}}, "warnings": nil},
			wantFile: "127.0.0.1\tlocalhost brine\n# keep me\n10.0.0.5\tdb\n",
		},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			got := run(t, path, s.fun, s.state, s.args, s.test)
			if d := cmp.Diff(s.want, got); d != "" {
				t.Errorf("result (-want +got):\n%s", d)
			}
			if d := cmp.Diff(s.wantFile, read()); d != "" {
				t.Errorf("hosts file (-want +got):\n%s", d)
			}
		})
	}
}

func TestHostRefusesOtherOS(t *testing.T) {
	f, _ := states.Lookup("host.present")
	env := &api.Env{Grains: map[string]any{"os": "Fedora", "os_family": "RedHat"}, Opts: map[string]any{"hosts.file": filepath.Join(t.TempDir(), "hosts")}}
	r := f.Apply(context.Background(), &states.Request{ID: "db", Name: "db", Args: map[string]any{"ip": "10.0.0.5"}, Env: env})
	if r.Result == nil || *r.Result || r.Comment == "" {
		t.Errorf("host.present on Fedora = %v %q, want a failure saying it is not supported", r.Result, r.Comment)
	}
}
