// Package pkg manages Debian packages with apt and dpkg, and registers
// Salt's pkg.* execution functions (pkg.install, pkg.remove, pkg.version,
// pkg.list_pkgs, pkg.latest_version, pkg.refresh_db, pkg.hold ...). The pkg
// and pkgrepo states use the same functions, so `brine call pkg.install`
// and pkg.installed install a package the same way: dpkg-query to look,
// one noninteractive apt-get call to change, the dpkg database before and
// after to report.
package pkg

import (
	"errors"
	"fmt"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/internal/platform"
)

// Check fails on hosts that are not Debian-family: brine speaks apt only,
// and a wrong "already installed" is worse than a clear refusal.
func Check(env *api.Env) error { return platform.RequireDebian(env, "pkg") }

// Target is one package a state or pkg.install names, with an optional
// version requirement.
type Target struct {
	Name    string
	Version Spec
}

// Arg is the name apt-get is given: "name" or "name=version" for an exact
// pin.
func (t Target) Arg() string {
	if v, ok := t.Version.Exact(); ok {
		return t.Name + "=" + v
	}
	return t.Name
}

// ErrNoTargets is returned when neither a name nor pkgs names a package.
var ErrNoTargets = errors.New("no packages named: give a name or pkgs")

// ParseTargets reads Salt's ways of naming packages: the state's name
// with an optional version, or a pkgs list whose items are names or
// one-key mappings {name: version}. With pkgs, the name is ignored.
func ParseTargets(name, version string, pkgs []any) ([]Target, error) {
	if len(pkgs) == 0 {
		if strings.TrimSpace(name) == "" {
			return nil, ErrNoTargets
		}
		return []Target{{Name: strings.TrimSpace(name), Version: Spec(version)}}, nil
	}
	if version != "" {
		return nil, errors.New("version cannot be used with pkgs: give each version in the list ({name: version})")
	}
	var out []Target
	seen := map[string]bool{}
	for i, item := range pkgs {
		var t Target
		switch x := item.(type) {
		case map[string]any:
			if len(x) != 1 {
				return nil, fmt.Errorf("pkgs[%d]: expected a name or a one-key mapping {name: version}", i)
			}
			for k, v := range x {
				s, ok := api.ScalarString(v)
				if !ok {
					return nil, fmt.Errorf("pkgs[%d]: the version of %s must be a string", i, k)
				}
				t = Target{Name: k, Version: Spec(s)}
			}
		default:
			s, ok := api.ScalarString(item)
			if !ok || strings.TrimSpace(s) == "" {
				return nil, fmt.Errorf("pkgs[%d]: expected a package name", i)
			}
			t = Target{Name: strings.TrimSpace(s)}
		}
		if strings.ContainsAny(t.Name, " \t\n=") || strings.HasPrefix(t.Name, "-") {
			return nil, fmt.Errorf("pkgs[%d]: %q is not a package name", i, t.Name)
		}
		if !seen[t.Name] {
			seen[t.Name] = true
			out = append(out, t)
		}
	}
	return out, nil
}

// Names returns the target names in order.
func Names(ts []Target) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}
