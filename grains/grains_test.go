package grains

import (
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/version"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fakeHost reads files from a testdata root and answers the system calls
// with fixed values.
func fakeHost(root string) *host {
	env := map[string]string{"PATH": "/usr/sbin:/usr/bin", "SHELL": "/bin/bash", "LANG": "en_US.UTF-8"}
	return &host{
		root: root,
		uname: func() (utsname, error) {
			return utsname{"Linux", "web01", "6.1.0-18-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)", "x86_64"}, nil
		},
		hostname: func() (string, error) { return "web01", nil },
		interfaces: func() ([]netInterface, error) {
			return []netInterface{
				{name: "lo", addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}},
				{name: "eth0", hwaddr: "02:42:ac:11:00:02", addrs: []netip.Addr{
					netip.MustParseAddr("172.17.0.2"), netip.MustParseAddr("fe80::42:acff:fe11:2"), netip.MustParseAddr("10.0.0.9"),
				}},
				{name: "dummy0", hwaddr: "aa:bb:cc:dd:ee:ff"},
			}, nil
		},
		user:   func() (userInfo, error) { return userInfo{username: "root", groupname: "root"}, nil },
		getenv: func(k string) string { return env[k] },
		pid:    func() int { return 4242 },
	}
}

// TestCollectGolden runs every collector against fake host trees and
// compares the whole grain set with testdata/hosts/<name>.json.
func TestCollectGolden(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		setup func(h *host)
	}{
		{name: "docker", opts: Options{ID: "web01"}},
		{name: "kvm", opts: Options{ID: "vm1", Static: map[string]any{
			"role": "web",
			"site": map[string]any{"rack": "r12"},
			"os":   "Ubuntu", // same as collected: no change
		}}, setup: func(h *host) {
			h.hostname = func() (string, error) { return "vm1", nil }
		}},
		{name: "arm", opts: Options{}, setup: func(h *host) {
			h.uname = func() (utsname, error) {
				return utsname{"Linux", "pi", "6.6.31-0-rpi", "#1 SMP PREEMPT", "aarch64"}, nil
			}
			h.hostname = func() (string, error) { return "pi.home.arpa", nil }
			h.interfaces = func() ([]netInterface, error) {
				return []netInterface{{name: "lo", addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}}, nil
			}
			h.user = func() (userInfo, error) {
				return userInfo{username: "brine", groupname: "brine", uid: 990, gid: 990}, nil
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := fakeHost(filepath.Join("testdata", "hosts", tc.name))
			if tc.setup != nil {
				tc.setup(h)
			}
			got := collect(context.Background(), tc.opts, h)
			li, _ := got["locale_info"].(map[string]any)
			if tz, _ := li["timezone"].(string); tz == "" {
				t.Errorf("locale_info.timezone = %v, want a zone name", li["timezone"])
			}
			delete(li, "timezone") // depends on the machine running the test
			if got["saltversion"] != version.Version {
				t.Errorf("saltversion = %v, want %s", got["saltversion"], version.Version)
			}
			got["saltversion"], got["brineversion"], got["saltversioninfo"] = "VERSION", "VERSION", "VERSION"
			gotJSON, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "hosts", tc.name+".json")
			if *update {
				if err := os.WriteFile(golden, append(gotJSON, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			var g, w any
			if err := json.Unmarshal(gotJSON, &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("grains differ from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

func TestOSRelease(t *testing.T) {
	type want struct {
		os, family, fullname, release, codename, finger string
		major                                           any
		info                                            []any
	}
	tests := []struct {
		dir string
		want
	}{
		{"debian12", want{"Debian", "Debian", "Debian GNU/Linux", "12", "bookworm", "Debian-12", 12, []any{12}}},
		{"ubuntu2204", want{"Ubuntu", "Debian", "Ubuntu", "22.04", "jammy", "Ubuntu-22.04", 22, []any{22, 4}}},
		{"centos-stream9", want{"CentOS Stream", "RedHat", "CentOS Stream", "9", "CentOS Stream 9", "CentOS Stream-9", 9, []any{9}}},
		{"rocky93", want{"Rocky", "RedHat", "Rocky Linux", "9.3", "Blue Onyx", "Rocky Linux-9", 9, []any{9, 3}}},
		{"rhel93", want{"RedHat", "RedHat", "Red Hat Enterprise Linux", "9.3", "Plow", "Red Hat Enterprise Linux-9", 9, []any{9, 3}}},
		{"fedora39", want{"Fedora", "RedHat", "Fedora Linux", "39", "Container Image", "Fedora Linux-39", 39, []any{39}}},
		{"opensuse-leap155", want{"SUSE", "Suse", "Leap", "15.5", "openSUSE Leap 15.5", "Leap-15", 15, []any{15, 5}}},
		{"alpine319", want{"Alpine", "Alpine", "Alpine Linux", "3.19.1", "Alpine Linux v3.19", "Alpine Linux-3", 3, []any{3, 19, 1}}},
		{"arch", want{"Arch", "Arch", "Arch Linux", "", "Arch Linux", "", nil, nil}},
		{"amazon2023", want{"Amazon", "RedHat", "Amazon Linux", "2023", "Amazon Linux 2023", "Amazon Linux-2023", 2023, []any{2023}}},
		{"mint21", want{"Mint", "Debian", "Linux Mint", "21.3", "virginia", "Linux Mint-21", 21, []any{21, 3}}},
		{"derived", want{"Foo OS", "Debian", "Foo OS", "1.2", `Foo "Bar" OS 1.2`, "Foo OS-1", 1, []any{1, 2}}},
		{"usrlib-only", want{"Debian", "Debian", "Debian GNU/Linux", "11", "bullseye", "Debian-11", 11, []any{11}}},
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			g := map[string]any{}
			if err := osGrains(context.Background(), fakeHost(filepath.Join("testdata", "os", tc.dir)), g); err != nil {
				t.Fatal(err)
			}
			check := func(grain string, want any) {
				t.Helper()
				got, ok := g[grain]
				if want == nil || want == "" {
					if ok {
						t.Errorf("%s = %#v, want it absent", grain, got)
					}
					return
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", grain, diff)
				}
			}
			check("os", tc.os)
			check("os_family", tc.family)
			check("osfullname", tc.fullname)
			check("osrelease", tc.release)
			check("oscodename", tc.codename)
			check("osfinger", tc.finger)
			check("osmajorrelease", tc.major)
			if tc.info == nil {
				check("osrelease_info", nil)
			} else {
				check("osrelease_info", tc.info)
			}
		})
	}
}

func TestOSReleaseMissing(t *testing.T) {
	g := map[string]any{}
	err := osGrains(context.Background(), fakeHost(t.TempDir()), g)
	if err == nil {
		t.Error("a missing os-release should be reported")
	}
	if g["os"] != "Linux" || g["os_family"] != "Linux" {
		t.Errorf("os, os_family = %v, %v; want Salt's fallback Linux, Linux", g["os"], g["os_family"])
	}
}

func TestOSArch(t *testing.T) {
	tests := []struct{ family, cpu, want string }{
		{"Debian", "x86_64", "amd64"},
		{"Debian", "aarch64", "arm64"},
		{"Debian", "armv7l", "armhf"},
		{"RedHat", "x86_64", "x86_64"},
		{"RedHat", "aarch64", "aarch64"},
		{"Arch", "x86_64", "x86_64"},
	}
	for _, tc := range tests {
		if got := osArch(tc.family, tc.cpu); got != tc.want {
			t.Errorf("osArch(%s, %s) = %s, want %s", tc.family, tc.cpu, got, tc.want)
		}
	}
}

func TestVirtual(t *testing.T) {
	tests := []struct {
		name        string
		files       map[string]string
		virtual     string
		subtype     string
		wantSubtype bool
	}{
		{name: "bare metal", virtual: "physical"},
		{name: "kvm dmi", files: map[string]string{"sys/class/dmi/id/product_name": "KVM\n"}, virtual: "kvm"},
		{name: "qemu vendor", files: map[string]string{"sys/class/dmi/id/sys_vendor": "QEMU\n"}, virtual: "kvm"},
		{name: "virtualbox", files: map[string]string{"sys/class/dmi/id/product_name": "VirtualBox\n"}, virtual: "VirtualBox"},
		{name: "vmware", files: map[string]string{"sys/class/dmi/id/product_name": "VMware Virtual Platform\n"}, virtual: "VMware"},
		{name: "hyperv", files: map[string]string{
			"sys/class/dmi/id/product_name": "Virtual Machine\n", "sys/class/dmi/id/sys_vendor": "Microsoft Corporation\n",
		}, virtual: "VirtualPC"},
		{name: "ec2", files: map[string]string{"sys/class/dmi/id/sys_vendor": "Amazon EC2\n"}, virtual: "Nitro", subtype: "Amazon EC2"},
		{name: "qemu cpu", files: map[string]string{"proc/cpuinfo": "model name\t: QEMU Virtual CPU version 2.5+\n"}, virtual: "kvm"},
		{name: "unnamed hypervisor", files: map[string]string{"proc/cpuinfo": "flags\t: fpu hypervisor\n"}, virtual: "virtual"},
		{name: "xen pv", files: map[string]string{"proc/xen/capabilities": ""}, virtual: "xen", subtype: "Xen PV DomU"},
		{name: "docker cgroup v1", files: map[string]string{"proc/1/cgroup": "12:pids:/docker/0123abcd\n"}, virtual: "container", subtype: "Docker"},
		{name: "dockerenv", files: map[string]string{".dockerenv": "", "proc/1/cgroup": "0::/\n"}, virtual: "container", subtype: "Docker"},
		{name: "podman", files: map[string]string{"run/.containerenv": ""}, virtual: "container", subtype: "Podman"},
		{name: "lxc", files: map[string]string{"proc/1/cgroup": "1:name=systemd:/lxc/web\n"}, virtual: "container", subtype: "LXC"},
		{name: "nspawn", files: map[string]string{"run/systemd/container": "systemd-nspawn\n"}, virtual: "container", subtype: "systemd-nspawn"},
		{name: "container on kvm", files: map[string]string{"sys/class/dmi/id/product_name": "KVM\n", ".dockerenv": ""}, virtual: "container", subtype: "Docker"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for p, content := range tc.files {
				writeFile(t, filepath.Join(root, p), content)
			}
			g := map[string]any{}
			if err := virtualGrains(context.Background(), fakeHost(root), g); err != nil {
				t.Fatal(err)
			}
			if g["virtual"] != tc.virtual {
				t.Errorf("virtual = %v, want %s", g["virtual"], tc.virtual)
			}
			sub, has := g["virtual_subtype"]
			if tc.subtype == "" && has {
				t.Errorf("virtual_subtype = %v, want none", sub)
			} else if tc.subtype != "" && sub != tc.subtype {
				t.Errorf("virtual_subtype = %v, want %s", sub, tc.subtype)
			}
		})
	}
}

func TestInit(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		link  string
		want  string
	}{
		{name: "systemd dir", files: map[string]string{"run/systemd/system/.keep": "", "proc/1/cmdline": "/sbin/init\x00"}, want: "systemd"},
		{name: "systemd link", files: map[string]string{"proc/1/cmdline": "/sbin/init\x00"}, link: "/lib/systemd/systemd", want: "systemd"},
		{name: "sysvinit", files: map[string]string{"proc/1/cmdline": "init [2]\x00"}, want: "sysvinit"},
		{name: "tini", files: map[string]string{"proc/1/cmdline": "/usr/bin/tini\x00--\x00app\x00"}, want: "tini"},
		{name: "dumb-init", files: map[string]string{"proc/1/cmdline": "/usr/bin/dumb-init\x00app\x00"}, want: "dumb-init"},
		{name: "runit", files: map[string]string{"proc/1/cmdline": "runit\x00"}, want: "runit"},
		{name: "application as pid 1", files: map[string]string{"proc/1/cmdline": "sleep\x00infinity\x00"}, want: "unknown"},
		{name: "unreadable", want: "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for p, content := range tc.files {
				writeFile(t, filepath.Join(root, p), content)
			}
			if tc.link != "" {
				if err := os.MkdirAll(filepath.Join(root, "sbin"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(tc.link, filepath.Join(root, "sbin", "init")); err != nil {
					t.Fatal(err)
				}
			}
			if got := initSystem(fakeHost(root)); got != tc.want {
				t.Errorf("init = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestLocaleInfo(t *testing.T) {
	tests := []struct {
		env        map[string]string
		lang, enc  any
		detectedEn string
	}{
		{map[string]string{"LANG": "en_US.UTF-8"}, "en_US", "UTF-8", "utf-8"},
		{map[string]string{"LANG": "en_US.UTF-8", "LC_ALL": "de_DE.ISO-8859-1"}, "de_DE", "ISO-8859-1", "utf-8"},
		{map[string]string{"LANG": "C"}, nil, nil, "ascii"},
		{map[string]string{}, nil, nil, "ascii"},
	}
	for _, tc := range tests {
		li := localeInfo(func(k string) string { return tc.env[k] })
		if li["defaultlanguage"] != tc.lang || li["defaultencoding"] != tc.enc || li["detectedencoding"] != tc.detectedEn {
			t.Errorf("localeInfo(%v) = %v", tc.env, li)
		}
	}
}

// TestCollectSurvivesFailures: a collector that errs, panics or hangs is
// left out; the others still report.
func TestCollectSurvivesFailures(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	h := fakeHost(filepath.Join("testdata", "hosts", "docker"))
	h.uname = func() (utsname, error) { panic("uname exploded") }
	h.interfaces = func() ([]netInterface, error) {
		<-release
		return nil, nil
	}
	h.hostname = func() (string, error) { return "", os.ErrPermission }
	var logs strings.Builder
	start := time.Now()
	g := collect(context.Background(), Options{ID: "web01", Timeout: 100 * time.Millisecond, Log: newTestLogger(&logs)}, h)
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("collection took %v despite a 100ms timeout", elapsed)
	}
	for _, missing := range []string{"kernel", "ipv4", "fqdn"} {
		if _, ok := g[missing]; ok {
			t.Errorf("grain %s present, want it left out", missing)
		}
	}
	for _, present := range []string{"os", "num_cpus", "mem_total", "virtual", "machine_id", "id"} {
		if _, ok := g[present]; !ok {
			t.Errorf("grain %s missing; one broken collector must not hide the others", present)
		}
	}
	for _, want := range []string{"collector=kernel", "uname exploded", "collector=network", "timed out", "collector=hostname"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log does not mention %q:\n%s", want, logs.String())
		}
	}
}

func TestStaticGrainsMerge(t *testing.T) {
	h := fakeHost(filepath.Join("testdata", "hosts", "docker"))
	static := map[string]any{
		"os_family":         "RedHat",
		"roles":             []any{"web"},
		"ip4_interfaces":    map[string]any{"eth0": []any{"192.0.2.1"}},
		"locale_info":       map[string]any{"timezone": "Europe/Berlin"},
		"hwaddr_interfaces": "flattened",
	}
	g := collect(context.Background(), Options{ID: "web01", Static: static}, h)
	if g["os_family"] != "RedHat" || g["os"] != "Debian" {
		t.Errorf("os, os_family = %v, %v; static os_family should win, os stay", g["os"], g["os_family"])
	}
	ip4 := g["ip4_interfaces"].(map[string]any)
	if diff := cmp.Diff([]any{"192.0.2.1"}, ip4["eth0"]); diff != "" {
		t.Errorf("static eth0 should replace the collected list:\n%s", diff)
	}
	if _, ok := ip4["lo"]; !ok {
		t.Error("deep merge lost the collected lo entry")
	}
	li := g["locale_info"].(map[string]any)
	if li["timezone"] != "Europe/Berlin" || li["defaultlanguage"] != "en_US" {
		t.Errorf("locale_info = %v, want the static timezone merged into the collected map", li)
	}
	if g["hwaddr_interfaces"] != "flattened" {
		t.Errorf("a static scalar should replace a collected map")
	}
	// The caller's map must not be shared with the result.
	g["roles"].([]any)[0] = "changed"
	if static["roles"].([]any)[0] != "web" {
		t.Error("Collect shares static grain values with its result")
	}
}

func TestIDDefaultsToFQDN(t *testing.T) {
	h := fakeHost(filepath.Join("testdata", "hosts", "docker"))
	g := collect(context.Background(), Options{}, h)
	if g["id"] != "web01.example.com" || g["fqdn"] != "web01.example.com" {
		t.Errorf("id, fqdn = %v, %v; want the fqdn from /etc/hosts for both", g["id"], g["fqdn"])
	}
	// sha256("web01.example.com") % 2**31, as Salt's server_id.
	if g["server_id"] != 866199252 {
		t.Errorf("server_id = %v", g["server_id"])
	}
}

// TestCollectLive runs on the machine running the tests.
func TestCollectLive(t *testing.T) {
	g := Collect(context.Background(), Options{ID: "live-test", Static: map[string]any{"role": "ci"}})
	if runtime.GOOS != "linux" {
		t.Skipf("grain collectors read Linux files; this is %s", runtime.GOOS)
	}
	if g["id"] != "live-test" || g["role"] != "ci" {
		t.Errorf("id, role = %v, %v", g["id"], g["role"])
	}
	if g["kernel"] != "Linux" {
		t.Errorf("kernel = %v, want Linux", g["kernel"])
	}
	for _, k := range []string{"os", "os_family", "cpuarch", "kernelrelease", "fqdn", "host", "virtual", "init", "osarch", "shell"} {
		if s, _ := g[k].(string); s == "" {
			t.Errorf("grain %s = %#v, want a non-empty string", k, g[k])
		}
	}
	if n, _ := g["num_cpus"].(int); n < 1 {
		t.Errorf("num_cpus = %v", g["num_cpus"])
	}
	if n, _ := g["mem_total"].(int); n < 1 {
		t.Errorf("mem_total = %v", g["mem_total"])
	}
	if g["uid"] != os.Geteuid() {
		t.Errorf("uid = %v, want %d", g["uid"], os.Geteuid())
	}
	if _, err := json.Marshal(g); err != nil {
		t.Errorf("grains must be plain JSON data: %v", err)
	}
}

func BenchmarkCollect(b *testing.B) {
	ctx := context.Background()
	opts := Options{ID: "bench"}
	for b.Loop() {
		Collect(ctx, opts)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func newTestLogger(w *strings.Builder) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}
