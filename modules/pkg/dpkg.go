package pkg

import (
	"context"
	"fmt"
	"strings"

	"github.com/brine-cm/brine/internal/platform"
)

// queryFormat is what `dpkg-query -W` prints per package: one tab-separated
// line, so that names and versions never need guessing.
const queryFormat = "${Package}\t${Version}\t${Architecture}\t${Status}\n"

// Package is one entry of the dpkg database.
type Package struct {
	// Name is the package name, with ":arch" for a foreign architecture
	// (Salt's naming: the native architecture and "all" stay bare).
	Name    string
	Version string
	Arch    string
	// Want is the selection: install, hold, deinstall, purge, unknown.
	Want string
	// Status is dpkg's state: installed, config-files, not-installed,
	// half-installed, unpacked, half-configured ...
	Status string
}

// Installed reports a fully installed package (Salt counts only these).
func (p Package) Installed() bool { return p.Status == "installed" }

// Held reports the hold selection (apt-mark hold).
func (p Package) Held() bool { return p.Want == "hold" }

// ParseDpkgQuery reads the output of `dpkg-query -W -f=queryFormat`.
// Lines that do not have the four fields are skipped: dpkg-query prints
// nothing else, and a half-read line must not become a package.
func ParseDpkgQuery(out, nativeArch string) map[string]Package {
	pkgs := map[string]Package{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 || f[0] == "" {
			continue
		}
		st := strings.Fields(f[3])
		if len(st) != 3 {
			continue
		}
		p := Package{Name: f[0], Version: f[1], Arch: f[2], Want: st[0], Status: st[2]}
		if p.Arch != "" && p.Arch != "all" && nativeArch != "" && p.Arch != nativeArch {
			p.Name += ":" + p.Arch
		}
		if old, dup := pkgs[p.Name]; dup && old.Installed() && !p.Installed() {
			continue
		}
		pkgs[p.Name] = p
	}
	return pkgs
}

// List reads the dpkg database: every package dpkg knows, installed or not.
func List(ctx context.Context) (map[string]Package, error) {
	arch, err := platform.Run(ctx, []string{"dpkg", "--print-architecture"}, platform.Options{})
	if err != nil {
		return nil, fmt.Errorf("dpkg --print-architecture: %w", err)
	}
	out, err := platform.Run(ctx, []string{"dpkg-query", "-W", "-f=" + queryFormat}, platform.Options{})
	if err != nil {
		return nil, fmt.Errorf("dpkg-query: %w", err)
	}
	return ParseDpkgQuery(out, strings.TrimSpace(arch)), nil
}

// Versions maps every installed package to its version, as Salt's
// pkg.list_pkgs does.
func Versions(ctx context.Context) (map[string]string, error) {
	all, err := List(ctx)
	if err != nil {
		return nil, err
	}
	return InstalledVersions(all), nil
}

// InstalledVersions keeps the installed packages of a List, with their
// versions.
func InstalledVersions(all map[string]Package) map[string]string {
	out := map[string]string{}
	for name, p := range all {
		if p.Installed() {
			out[name] = p.Version
		}
	}
	return out
}

// Change is one package's line in a state's changes: Salt's {old, new},
// with "" for "not installed".
type Change struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// Map returns the change as a plain map, the shape results carry.
func (c Change) Map() map[string]any { return map[string]any{"old": c.Old, "new": c.New} }

// Diff compares two package lists (name to version) and returns what
// changed, the way Salt reports pkg.install and pkg.remove.
func Diff(before, after map[string]string) map[string]Change {
	out := map[string]Change{}
	for name, nv := range after {
		if ov := before[name]; ov != nv {
			out[name] = Change{Old: ov, New: nv}
		}
	}
	for name, ov := range before {
		if _, still := after[name]; !still {
			out[name] = Change{Old: ov, New: ""}
		}
	}
	return out
}

// ChangesMap turns a Diff into a result's changes map.
func ChangesMap(d map[string]Change) map[string]any {
	out := make(map[string]any, len(d))
	for name, c := range d {
		out[name] = c.Map()
	}
	return out
}
