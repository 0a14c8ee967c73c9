package hosts

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

const sample = `127.0.0.1	localhost
# The following lines are desirable for IPv6 capable hosts
::1     localhost ip6-localhost ip6-loopback

10.0.0.5   db   db.internal   # primary database
10.0.0.5 db-alias
172.17.0.2	brine-test
`

func TestParseList(t *testing.T) {
	f := Parse(sample)
	want := map[string]any{
		"127.0.0.1":  map[string]any{"aliases": []any{"localhost"}},
		"::1":        map[string]any{"aliases": []any{"localhost", "ip6-localhost", "ip6-loopback"}},
		"10.0.0.5":   map[string]any{"aliases": []any{"db", "db.internal", "db-alias"}, "comment": "primary database"},
		"172.17.0.2": map[string]any{"aliases": []any{"brine-test"}},
	}
	if d := cmp.Diff(want, f.List()); d != "" {
		t.Errorf("List (-want +got):\n%s", d)
	}
	if f.Render() != sample {
		t.Errorf("an untouched file does not render as it was read:\n%s", f.Render())
	}
	if d := cmp.Diff([]string{"10.0.0.5"}, f.IPs("db-alias")); d != "" {
		t.Errorf("IPs (-want +got):\n%s", d)
	}
}

func TestEdits(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(f *File) bool
		changed bool
		want    string
	}{
		{
			name:    "add to an existing address keeps its comment and other lines",
			edit:    func(f *File) bool { return f.Add("10.0.0.5", "pg") },
			changed: true,
			want: `127.0.0.1	localhost
# The following lines are desirable for IPv6 capable hosts
::1     localhost ip6-localhost ip6-loopback

10.0.0.5	db db.internal pg # primary database
10.0.0.5 db-alias
172.17.0.2	brine-test
`,
		},
		{
			name:    "add a new address at the end",
			edit:    func(f *File) bool { return f.Add("192.0.2.10", "web") },
			changed: true,
			want:    sample + "192.0.2.10\tweb\n",
		},
		{
			name: "add what is there",
			edit: func(f *File) bool { return f.Add("10.0.0.5", "db-alias") },
			want: sample,
		},
		{
			name:    "remove the last name drops the line",
			edit:    func(f *File) bool { return f.Remove("10.0.0.5", "db-alias") },
			changed: true,
			want: `127.0.0.1	localhost
# The following lines are desirable for IPv6 capable hosts
::1     localhost ip6-localhost ip6-loopback

10.0.0.5   db   db.internal   # primary database
172.17.0.2	brine-test
`,
		},
		{
			name: "remove what is not there",
			edit: func(f *File) bool { return f.Remove("10.0.0.6", "db") },
			want: sample,
		},
		{
			name:    "set replaces every line of the address",
			edit:    func(f *File) bool { return f.Set("10.0.0.5", []string{"database"}) },
			changed: true,
			want: `127.0.0.1	localhost
# The following lines are desirable for IPv6 capable hosts
::1     localhost ip6-localhost ip6-loopback

10.0.0.5	database # primary database
172.17.0.2	brine-test
`,
		},
		{
			name:    "set to nothing removes the address",
			edit:    func(f *File) bool { return f.Set("172.17.0.2", nil) },
			changed: true,
			want: `127.0.0.1	localhost
# The following lines are desirable for IPv6 capable hosts
::1     localhost ip6-localhost ip6-loopback

10.0.0.5   db   db.internal   # primary database
10.0.0.5 db-alias
`,
		},
		{
			name: "set to what is there",
			edit: func(f *File) bool { return f.Set("10.0.0.5", []string{"db", "db.internal", "db-alias"}) },
			want: sample,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := Parse(sample)
			if got := tc.edit(f); got != tc.changed {
				t.Errorf("changed = %v, want %v", got, tc.changed)
			}
			if d := cmp.Diff(tc.want, f.Render()); d != "" {
				t.Errorf("Render (-want +got):\n%s", d)
			}
		})
	}
}

func TestValid(t *testing.T) {
	for ip, ok := range map[string]bool{"10.0.0.1": true, "fd00::1": true, "10.0.0.256": false, "db": false, "": false} {
		if ValidIP(ip) != ok {
			t.Errorf("ValidIP(%q) = %v", ip, !ok)
		}
	}
	for n, ok := range map[string]bool{"db.internal": true, "a b": false, "x#y": false, "": false} {
		if ValidName(n) != ok {
			t.Errorf("ValidName(%q) = %v", n, !ok)
		}
	}
}
