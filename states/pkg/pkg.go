// Package pkg provides the pkg.* states for Debian-family hosts:
// pkg.installed, pkg.latest, pkg.removed and pkg.purged. They look with
// dpkg-query, change with one noninteractive apt-get call for the whole
// list, and report Salt's changes, {name: {old, new}} for every package
// that changed, dependencies included. The apt and dpkg code is
// modules/pkg, shared with the pkg.* execution functions.
package pkg

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/brine-cm/brine/api"
	pkgmod "github.com/brine-cm/brine/modules/pkg"
	"github.com/brine-cm/brine/states"
)

// installedArgs are pkg.installed's arguments (the name is the package).
type installedArgs struct {
	Pkgs    []any
	Version string
	// Refresh: True runs apt-get update first, False never; unset
	// refreshes only when apt has no package indexes at all, or when they
	// are older than cache_valid_time seconds.
	Refresh           *bool
	CacheValidTime    int `arg:"cache_valid_time"`
	Hold              *bool
	FromRepo          string `arg:"fromrepo"`
	SkipVerify        bool   `arg:"skip_verify"`
	InstallRecommends *bool  `arg:"install_recommends"`
	AllowDowngrades   *bool  `arg:"allow_downgrades"`
}

type latestArgs struct {
	Pkgs              []any
	Refresh           *bool
	CacheValidTime    int    `arg:"cache_valid_time"`
	FromRepo          string `arg:"fromrepo"`
	SkipVerify        bool   `arg:"skip_verify"`
	InstallRecommends *bool  `arg:"install_recommends"`
}

type removedArgs struct {
	Pkgs    []any
	Version string
}

func init() {
	states.Register(states.Def[installedArgs]{
		Name: "pkg.installed",
		Doc: `Make sure packages are installed (never upgrades what already satisfies
the request). One apt-get call installs the whole list.

    web-packages:
      pkg.installed:
        - pkgs:
          - nginx
          - curl: 7.88.1-10+deb12u5    # exact pin
          - git: '>=1:2.39'            # any version from 2.39 on
        - refresh: True
        - hold: True

Arguments: pkgs (names or {name: version}), version (with a single name:
exact, "=1.2", ">=1.2", "<2", or a glob "1.2*"), refresh (True: apt-get
update first; default: only when apt has no indexes), cache_valid_time
(seconds), hold (True/False), fromrepo, skip_verify,
install_recommends (default True), allow_downgrades (default: True when a
version is pinned). Changes: {package: {old, new}}, dependencies included.`,
		Apply: installed,
	})
	states.Register(states.Def[latestArgs]{
		Name: "pkg.latest",
		Doc: `Make sure packages are installed at the newest version apt offers
(apt-cache policy's candidate), upgrading them when a newer one appears.
Arguments: pkgs, refresh, cache_valid_time, fromrepo, skip_verify,
install_recommends.`,
		Apply: latest,
	})
	states.Register(states.Def[removedArgs]{
		Name: "pkg.removed",
		Doc: `Make sure packages are not installed (apt-get remove: configuration
files stay). Arguments: pkgs, version (remove only that version).`,
		Apply: func(ctx context.Context, req *states.Request, a *removedArgs) api.Result {
			return uninstall(ctx, req, a, false)
		},
	})
	states.Register(states.Def[removedArgs]{
		Name: "pkg.purged",
		Doc: `Make sure packages are neither installed nor leave configuration files
behind (apt-get purge). Arguments: pkgs, version.`,
		Apply: func(ctx context.Context, req *states.Request, a *removedArgs) api.Result {
			return uninstall(ctx, req, a, true)
		},
	})
}

// refreshIfNeeded runs apt-get update when asked to, or when apt has no
// usable indexes. In test mode nothing is downloaded; the returned note
// says so when a refresh would have happened.
func refreshIfNeeded(ctx context.Context, refresh *bool, validFor int, test bool) (note string, err error) {
	age, present := pkgmod.ListsAge()
	need := false
	switch {
	case refresh != nil && !*refresh:
	case validFor > 0:
		need = !present || age > time.Duration(validFor)*time.Second
	case refresh != nil:
		need = true
	default:
		need = !present
	}
	if !need {
		return "", nil
	}
	if test {
		return "The package database would be refreshed first.", nil
	}
	if _, err := pkgmod.RefreshDB(ctx); err != nil {
		return "", fmt.Errorf("Failed to refresh the package database: %w", err)
	}
	return "", nil
}

func installed(ctx context.Context, req *states.Request, a *installedArgs) api.Result {
	if err := pkgmod.Check(req.Env); err != nil {
		return api.Failed(err.Error())
	}
	targets, err := pkgmod.ParseTargets(req.Name, a.Version, a.Pkgs)
	if err != nil {
		return api.Failed(err.Error())
	}
	note, err := refreshIfNeeded(ctx, a.Refresh, a.CacheValidTime, req.Test)
	if err != nil {
		return api.Failed(err.Error())
	}
	all, err := pkgmod.List(ctx)
	if err != nil {
		return api.Failed(err.Error())
	}
	versions := pkgmod.InstalledVersions(all)
	todo, args, err := pkgmod.Plan(ctx, targets, versions)
	if err != nil {
		return api.Failed(err.Error())
	}
	holdTodo := holdChanges(targets, all, a.Hold)
	if len(todo) == 0 && len(holdTodo) == 0 {
		msg := "All specified packages are already installed"
		if hasVersions(targets) {
			msg += " and are at the desired version"
		}
		return api.Succeeded(msg, nil)
	}
	opt := pkgmod.InstallOptions{
		FromRepo:        a.FromRepo,
		SkipVerify:      a.SkipVerify,
		NoRecommends:    a.InstallRecommends != nil && !*a.InstallRecommends,
		AllowDowngrades: a.AllowDowngrades == nil && pkgmod.Pinned(args) || a.AllowDowngrades != nil && *a.AllowDowngrades,
	}
	var comments []string
	if req.Test {
		changes := map[string]any{}
		if len(todo) > 0 {
			comments = append(comments, "The following packages would be installed/updated: "+strings.Join(pkgmod.Names(todo), ", "))
			if note != "" {
				comments = append(comments, note)
			}
			if _, present := pkgmod.ListsAge(); present {
				acts, err := pkgmod.Simulate(ctx, "install", args, opt)
				if err != nil {
					return api.Failed("An error was encountered while installing package(s): " + err.Error())
				}
				changes = pkgmod.ChangesMap(pkgmod.SimulatedChanges(acts))
			} else {
				// Without package indexes apt cannot say which version.
				for _, t := range todo {
					changes[t.Name] = map[string]any{"old": versions[t.Name], "new": "latest"}
				}
			}
			if a.Hold != nil && *a.Hold {
				for _, t := range todo {
					if _, installed := versions[t.Name]; !installed {
						holdTodo[t.Name] = map[string]any{"old": "install", "new": "hold"}
					}
				}
			}
		}
		mergeHold(changes, holdTodo)
		for _, name := range sortedKeys(holdTodo) {
			if *a.Hold {
				comments = append(comments, fmt.Sprintf("Package %s is set to be held.", name))
			} else {
				comments = append(comments, fmt.Sprintf("Package %s is set to be released.", name))
			}
		}
		return api.Pending(strings.Join(comments, "\n"), changes)
	}

	changes := map[string]any{}
	if len(todo) > 0 {
		diff, err := pkgmod.Install(ctx, args, opt)
		changes = pkgmod.ChangesMap(diff)
		if err != nil {
			return api.FailedWith("An error was encountered while installing package(s): "+err.Error(), changes)
		}
		after, err := pkgmod.Versions(ctx)
		if err != nil {
			return api.FailedWith(err.Error(), changes)
		}
		if unmet := pkgmod.Unmet(targets, after); len(unmet) > 0 {
			return api.FailedWith("The following packages failed to install/update: "+strings.Join(unmet, ", "), changes)
		}
		comments = append(comments, "The following packages were installed/updated: "+strings.Join(pkgmod.Names(todo), ", "))
	}
	if a.Hold != nil {
		// Packages installed just now are held too.
		held, err := pkgmod.SetHold(ctx, pkgmod.Names(targets), *a.Hold)
		if err != nil {
			return api.FailedWith(err.Error(), changes)
		}
		for _, name := range sortedKeys(held) {
			entry := held[name].(map[string]any)
			hc, _ := entry["changes"].(map[string]any)
			if len(hc) == 0 {
				continue
			}
			mergeHold(changes, map[string]map[string]any{name: hc})
			comments = append(comments, fmt.Sprint(entry["comment"]))
		}
	}
	return api.Succeeded(strings.Join(comments, "\n"), changes)
}

// holdChanges lists, for the targets already installed, the hold change
// that would be made: {name: {old, new}}.
func holdChanges(targets []pkgmod.Target, all map[string]pkgmod.Package, hold *bool) map[string]map[string]any {
	out := map[string]map[string]any{}
	if hold == nil {
		return out
	}
	for _, t := range targets {
		p, ok := all[t.Name]
		if !ok || !p.Installed() || p.Held() == *hold {
			continue
		}
		if *hold {
			out[t.Name] = map[string]any{"old": p.Want, "new": "hold"}
		} else {
			out[t.Name] = map[string]any{"old": "hold", "new": "install"}
		}
	}
	return out
}

// mergeHold adds {name: {hold: {old, new}}} to changes, next to the
// package's version change if it has one.
func mergeHold(changes map[string]any, holds map[string]map[string]any) {
	for name, hc := range holds {
		entry, _ := changes[name].(map[string]any)
		if entry == nil {
			entry = map[string]any{}
			changes[name] = entry
		}
		entry["hold"] = hc
	}
}

func latest(ctx context.Context, req *states.Request, a *latestArgs) api.Result {
	if err := pkgmod.Check(req.Env); err != nil {
		return api.Failed(err.Error())
	}
	targets, err := pkgmod.ParseTargets(req.Name, "", a.Pkgs)
	if err != nil {
		return api.Failed(err.Error())
	}
	note, err := refreshIfNeeded(ctx, a.Refresh, a.CacheValidTime, req.Test)
	if err != nil {
		return api.Failed(err.Error())
	}
	names := pkgmod.Names(targets)
	pol, err := pkgmod.PolicyOf(ctx, names...)
	if err != nil {
		return api.Failed(err.Error())
	}
	var todo []string
	var unknown []string
	for _, n := range names {
		p, ok := pol[n]
		switch {
		case !ok || p.Installed == "" && p.Candidate == "":
			unknown = append(unknown, n)
		case p.Installed == "" || pkgmod.Latest(p) != "":
			todo = append(todo, n)
		}
	}
	if len(unknown) > 0 && note == "" {
		return api.Failed(fmt.Sprintf("No information found for '%s'. E: Unable to locate package %s",
			strings.Join(unknown, "', '"), strings.Join(unknown, ", ")))
	}
	if len(todo) == 0 && len(unknown) == 0 {
		if len(names) == 1 {
			return api.Succeeded(fmt.Sprintf("Package %s is already up-to-date", names[0]), nil)
		}
		return api.Succeeded(fmt.Sprintf("All packages are up-to-date (%s).", strings.Join(names, ", ")), nil)
	}
	todo = append(todo, unknown...)
	opt := pkgmod.InstallOptions{
		FromRepo:     a.FromRepo,
		SkipVerify:   a.SkipVerify,
		NoRecommends: a.InstallRecommends != nil && !*a.InstallRecommends,
	}
	if req.Test {
		comment := "The following packages would be installed/upgraded: " + strings.Join(todo, ", ")
		if note != "" {
			comment += "\n" + note
		}
		if _, present := pkgmod.ListsAge(); !present {
			changes := map[string]any{}
			for _, n := range todo {
				changes[n] = map[string]any{"old": pol[n].Installed, "new": "latest"}
			}
			return api.Pending(comment, changes)
		}
		acts, err := pkgmod.Simulate(ctx, "install", todo, opt)
		if err != nil {
			return api.Failed("An error was encountered while installing package(s): " + err.Error())
		}
		return api.Pending(comment, pkgmod.ChangesMap(pkgmod.SimulatedChanges(acts)))
	}
	diff, err := pkgmod.Install(ctx, todo, opt)
	changes := pkgmod.ChangesMap(diff)
	if err != nil {
		return api.FailedWith("An error was encountered while installing package(s): "+err.Error(), changes)
	}
	after, err := pkgmod.PolicyOf(ctx, todo...)
	if err != nil {
		return api.FailedWith(err.Error(), changes)
	}
	var failed []string
	for _, n := range todo {
		if p := after[n]; p.Installed == "" || pkgmod.Latest(p) != "" {
			failed = append(failed, n)
		}
	}
	if len(failed) > 0 {
		return api.FailedWith("The following packages failed to update: "+strings.Join(failed, ", "), changes)
	}
	return api.Succeeded("The following packages were successfully installed/upgraded: "+strings.Join(todo, ", "), changes)
}

func uninstall(ctx context.Context, req *states.Request, a *removedArgs, purge bool) api.Result {
	if err := pkgmod.Check(req.Env); err != nil {
		return api.Failed(err.Error())
	}
	targets, err := pkgmod.ParseTargets(req.Name, a.Version, a.Pkgs)
	if err != nil {
		return api.Failed(err.Error())
	}
	all, err := pkgmod.List(ctx)
	if err != nil {
		return api.Failed(err.Error())
	}
	var todo []string
	leftovers := map[string]bool{} // removed, configuration files remain
	for _, t := range targets {
		p, ok := all[t.Name]
		switch {
		case !ok:
		case p.Installed() && t.Version.Match(p.Version):
			todo = append(todo, t.Name)
		case purge && p.Status == "config-files":
			todo = append(todo, t.Name)
			leftovers[t.Name] = true
		}
	}
	verb := "removed"
	if purge {
		verb = "purged"
	}
	if len(todo) == 0 {
		return api.Succeeded("All specified packages are already absent", nil)
	}
	if req.Test {
		changes := map[string]any{}
		for _, n := range todo {
			changes[n] = purgeChange(all[n], leftovers[n])
		}
		return api.Pending(fmt.Sprintf("The following packages will be %s: %s", verb, strings.Join(todo, ", ")), changes)
	}
	diff, err := pkgmod.Remove(ctx, todo, purge)
	changes := pkgmod.ChangesMap(diff)
	after, listErr := pkgmod.List(ctx)
	for n := range leftovers {
		if p, ok := after[n]; !ok || p.Status == "not-installed" {
			changes[n] = purgeChange(all[n], true)
		}
	}
	if err != nil {
		return api.FailedWith(fmt.Sprintf("An error was encountered while removing package(s): %v", err), changes)
	}
	if listErr != nil {
		return api.FailedWith(listErr.Error(), changes)
	}
	var failed []string
	for _, n := range todo {
		p, ok := after[n]
		if ok && (p.Installed() || purge && p.Status == "config-files") {
			failed = append(failed, n)
		}
	}
	if len(failed) > 0 {
		return api.FailedWith("The following packages failed to be "+verb+": "+strings.Join(failed, ", "), changes)
	}
	return api.Succeeded("All targeted packages were "+verb+".", changes)
}

// purgeChange is the change reported for a package: its version going to
// "", or "config-files" going to "" for a package that was removed
// before and is now purged.
func purgeChange(p pkgmod.Package, leftover bool) map[string]any {
	if leftover {
		return map[string]any{"old": "config-files", "new": ""}
	}
	return map[string]any{"old": p.Version, "new": ""}
}

func hasVersions(ts []pkgmod.Target) bool {
	for _, t := range ts {
		if t.Version != "" {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
