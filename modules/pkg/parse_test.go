package pkg

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.0", "1.1", -1},
		{"1.10", "1.9", 1},
		{"1.0~rc1", "1.0", -1},
		{"1.0~rc1", "1.0~rc2", -1},
		{"1.0", "1.0+b1", -1},
		{"1:0.9", "2.0", 1},
		{"0:2.0", "2.0", 0},
		{"1.22.1-9", "1.22.1-9+deb12u9", -1},
		{"1.22.1-10", "1.22.1-9", 1},
		{"2.36-9+deb12u14", "2.36-9+deb12u4", 1},
		{"1.0-1", "1.0", 1},
		{"1.0a", "1.0", 1},
		{"1.0a", "1.0-", 1},
		{"3.0pl1-162", "3.0pl1-161", 1},
		{"001", "1", 0},
		{"1.0.0", "1.0", 1},
		{"~~", "~~a", -1},
		{"~", "", -1},
	}
	for _, tc := range tests {
		t.Run(tc.a+" vs "+tc.b, func(t *testing.T) {
			if got := CompareVersions(tc.a, tc.b); got != tc.want {
				t.Errorf("CompareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
			if got := CompareVersions(tc.b, tc.a); got != -tc.want {
				t.Errorf("CompareVersions(%q, %q) = %d, want %d (antisymmetry)", tc.b, tc.a, got, -tc.want)
			}
		})
	}
}

func TestSpecMatch(t *testing.T) {
	tests := []struct {
		spec, version string
		want          bool
	}{
		{"", "1.0", true},
		{"", "", true},
		{"1.0-1", "1.0-1", true},
		{"1.0-1", "1.0-2", false},
		{"=1.0-1", "1.0-1", true},
		{"1.0-1", "", false},
		{">=1.22", "1.22.1-9", true},
		{">=1.23", "1.22.1-9", false},
		{"<2", "1.22.1-9", true},
		{">1.22.1-9", "1.22.1-9", false},
		{"<=1.22.1-9", "1.22.1-9", true},
		{"1.22*", "1.22.1-9", true},
		{"1.23*", "1.22.1-9", false},
		{"1.2?.1-9", "1.22.1-9", true},
		{"1.0-1", "1:1.0-1", true},
		{"2:1.0-1", "1:1.0-1", false},
	}
	for _, tc := range tests {
		t.Run(tc.spec+" "+tc.version, func(t *testing.T) {
			if got := Spec(tc.spec).Match(tc.version); got != tc.want {
				t.Errorf("Spec(%q).Match(%q) = %v, want %v", tc.spec, tc.version, got, tc.want)
			}
		})
	}
	exact := map[string]string{"1.0-1": "1.0-1", "=1.0-1": "1.0-1", "==2": "2", ">=1": "", "1.*": "", "": ""}
	for spec, want := range exact {
		got, ok := Spec(spec).Exact()
		if got != want || ok != (want != "") {
			t.Errorf("Spec(%q).Exact() = %q, %v; want %q", spec, got, ok, want)
		}
	}
}

func TestParseDpkgQuery(t *testing.T) {
	out := "adduser\t3.134\tall\tinstall ok installed\n" +
		"cron\t3.0pl1-162\tamd64\tdeinstall ok config-files\n" +
		"libc6\t2.36-9+deb12u14\tamd64\thold ok installed\n" +
		"libc6\t2.36-9+deb12u14\ti386\tinstall ok installed\n" +
		"nginx\t\t\tunknown ok not-installed\n" +
		"broken line without tabs\n" +
		"half\t1.0\tamd64\tinstall reinstreq half-installed\n"
	got := ParseDpkgQuery(out, "amd64")
	want := map[string]Package{
		"adduser":    {Name: "adduser", Version: "3.134", Arch: "all", Want: "install", Status: "installed"},
		"cron":       {Name: "cron", Version: "3.0pl1-162", Arch: "amd64", Want: "deinstall", Status: "config-files"},
		"libc6":      {Name: "libc6", Version: "2.36-9+deb12u14", Arch: "amd64", Want: "hold", Status: "installed"},
		"libc6:i386": {Name: "libc6:i386", Version: "2.36-9+deb12u14", Arch: "i386", Want: "install", Status: "installed"},
		"nginx":      {Name: "nginx", Want: "unknown", Status: "not-installed"},
		"half":       {Name: "half", Version: "1.0", Arch: "amd64", Want: "install", Status: "half-installed"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ParseDpkgQuery (-want +got):\n%s", d)
	}
	versions := InstalledVersions(got)
	wantV := map[string]string{"adduser": "3.134", "libc6": "2.36-9+deb12u14", "libc6:i386": "2.36-9+deb12u14"}
	if d := cmp.Diff(wantV, versions); d != "" {
		t.Errorf("installed versions (-want +got):\n%s", d)
	}
	if !got["libc6"].Held() || got["adduser"].Held() {
		t.Errorf("Held: libc6 %v, adduser %v; want true, false", got["libc6"].Held(), got["adduser"].Held())
	}
}

func TestParseSimulate(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want []Action
	}{
		{
			name: "install with dependencies",
			out: `Reading package lists...
Building dependency tree...
The following NEW packages will be installed:
  nginx nginx-common
0 upgraded, 2 newly installed, 0 to remove and 0 not upgraded.
Inst nginx-common (1.22.1-9+deb12u9 Debian:12.15/oldstable [all])
Inst libbpf1 (1:1.1.2-0+deb12u1 Debian:12.15/oldstable [amd64])
Inst nginx (1.22.1-9+deb12u9 Debian:12.15/oldstable [amd64])
Conf nginx-common (1.22.1-9+deb12u9 Debian:12.15/oldstable [all])
Conf nginx (1.22.1-9+deb12u9 Debian:12.15/oldstable [amd64])`,
			want: []Action{
				{Op: "Inst", Name: "nginx-common", New: "1.22.1-9+deb12u9", Arch: "all"},
				{Op: "Inst", Name: "libbpf1", New: "1:1.1.2-0+deb12u1", Arch: "amd64"},
				{Op: "Inst", Name: "nginx", New: "1.22.1-9+deb12u9", Arch: "amd64"},
				{Op: "Conf", Name: "nginx-common", New: "1.22.1-9+deb12u9", Arch: "all"},
				{Op: "Conf", Name: "nginx", New: "1.22.1-9+deb12u9", Arch: "amd64"},
			},
		},
		{
			name: "upgrade and local repository",
			out: `Inst libssl3 [3.0.11-1~deb12u1] (3.0.13-1~deb12u1 Debian-Security:12/stable-security [amd64]) []
Inst hello [1.0-1] (2.0-1 localhost [all])`,
			want: []Action{
				{Op: "Inst", Name: "libssl3", Old: "3.0.11-1~deb12u1", New: "3.0.13-1~deb12u1", Arch: "amd64"},
				{Op: "Inst", Name: "hello", Old: "1.0-1", New: "2.0-1", Arch: "all"},
			},
		},
		{
			name: "remove and purge",
			out: `The following packages will be REMOVED:
  cron*
Remv cron [3.0pl1-162]
Purg cron-daemon-common [3.0pl1-162]
Purg leftover`,
			want: []Action{
				{Op: "Remv", Name: "cron", Old: "3.0pl1-162"},
				{Op: "Purg", Name: "cron-daemon-common", Old: "3.0pl1-162"},
				{Op: "Purg", Name: "leftover"},
			},
		},
		{name: "nothing to do", out: "0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, ParseSimulate(tc.out)); d != "" {
				t.Errorf("ParseSimulate (-want +got):\n%s", d)
			}
		})
	}
	changes := SimulatedChanges(tests[1].want)
	want := map[string]Change{
		"libssl3": {Old: "3.0.11-1~deb12u1", New: "3.0.13-1~deb12u1"},
		"hello":   {Old: "1.0-1", New: "2.0-1"},
	}
	if d := cmp.Diff(want, changes); d != "" {
		t.Errorf("SimulatedChanges (-want +got):\n%s", d)
	}
}

func TestParsePolicy(t *testing.T) {
	out := `nginx:
  Installed: (none)
  Candidate: 1.22.1-9+deb12u9
  Version table:
     1.22.1-9+deb12u9 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
     1.22.1-9 100
        100 http://deb.debian.org/debian bookworm-old/main amd64 Packages
libc6:
  Installed: 2.36-9+deb12u14
  Candidate: 2.36-9+deb12u14
  Version table:
 *** 2.36-9+deb12u14 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
        100 /var/lib/dpkg/status
gone:
  Installed: 1.0-1
  Candidate: (none)
  Version table:
 *** 1.0-1 100
        100 /var/lib/dpkg/status
`
	want := map[string]Policy{
		"nginx": {Candidate: "1.22.1-9+deb12u9", Available: []string{"1.22.1-9+deb12u9", "1.22.1-9"}},
		"libc6": {Installed: "2.36-9+deb12u14", Candidate: "2.36-9+deb12u14", Available: []string{"2.36-9+deb12u14"}},
		"gone":  {Installed: "1.0-1", Available: []string{"1.0-1"}},
	}
	got := ParsePolicy(out)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ParsePolicy (-want +got):\n%s", d)
	}
	for name, latest := range map[string]string{"nginx": "1.22.1-9+deb12u9", "libc6": "", "gone": "", "unknown": ""} {
		if l := Latest(got[name]); l != latest {
			t.Errorf("Latest(%s) = %q, want %q", name, l, latest)
		}
	}
}

func TestParseUpdate(t *testing.T) {
	out := `Hit:1 http://deb.debian.org/debian bookworm InRelease
Get:2 http://deb.debian.org/debian bookworm-updates InRelease [55.4 kB]
Ign:3 file:/srv/repo ./ InRelease
Err:4 http://example.invalid/debian stable InRelease
  Could not resolve 'example.invalid'
Fetched 55.4 kB in 1s (60.0 kB/s)
Reading package lists...`
	got, failed := ParseUpdate(out)
	want := map[string]any{
		"http://deb.debian.org/debian bookworm InRelease":         false,
		"http://deb.debian.org/debian bookworm-updates InRelease": true,
		"file:/srv/repo ./ InRelease":                             nil,
		"http://example.invalid/debian stable InRelease":          false,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ParseUpdate (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"http://example.invalid/debian stable InRelease"}, failed); d != "" {
		t.Errorf("failed sources (-want +got):\n%s", d)
	}
}

func TestParseTargets(t *testing.T) {
	tests := []struct {
		name    string
		pkgName string
		version string
		pkgs    []any
		want    []Target
		wantErr bool
	}{
		{name: "name", pkgName: "nginx", want: []Target{{Name: "nginx"}}},
		{name: "name with version", pkgName: "nginx", version: "1.22*", want: []Target{{Name: "nginx", Version: "1.22*"}}},
		{name: "pkgs override the name", pkgName: "web", pkgs: []any{"nginx", map[string]any{"curl": "7.88.1-10"}, map[string]any{"hello": 2.1}},
			want: []Target{{Name: "nginx"}, {Name: "curl", Version: "7.88.1-10"}, {Name: "hello", Version: "2.1"}}},
		{name: "duplicates collapse", pkgs: []any{"a", "a"}, want: []Target{{Name: "a"}}},
		{name: "nothing", wantErr: true},
		{name: "version with pkgs", pkgs: []any{"a"}, version: "1", wantErr: true},
		{name: "two-key mapping", pkgs: []any{map[string]any{"a": "1", "b": "2"}}, wantErr: true},
		{name: "option smuggled as a name", pkgs: []any{"-oAPT::X=1"}, wantErr: true},
		{name: "list as an item", pkgs: []any{[]any{"a"}}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTargets(tc.pkgName, tc.version, tc.pkgs)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseTargets error = %v, want error %v", err, tc.wantErr)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("ParseTargets (-want +got):\n%s", d)
			}
		})
	}
	if got := (Target{Name: "nginx", Version: "=1.2"}).Arg(); got != "nginx=1.2" {
		t.Errorf("Arg() = %q, want nginx=1.2", got)
	}
	if got := (Target{Name: "nginx", Version: ">=1.2"}).Arg(); got != "nginx" {
		t.Errorf("Arg() for a range = %q, want the bare name", got)
	}
}

func TestDiff(t *testing.T) {
	before := map[string]string{"a": "1", "b": "1", "c": "1"}
	after := map[string]string{"a": "1", "b": "2", "d": "1"}
	want := map[string]Change{"b": {Old: "1", New: "2"}, "c": {Old: "1"}, "d": {New: "1"}}
	if d := cmp.Diff(want, Diff(before, after)); d != "" {
		t.Errorf("Diff (-want +got):\n%s", d)
	}
}
