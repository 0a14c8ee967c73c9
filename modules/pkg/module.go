package pkg

import (
	"context"
	"fmt"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
)

type installArgs struct {
	Name              string
	Pkgs              []any
	Version           string
	Refresh           bool
	FromRepo          string `arg:"fromrepo"`
	SkipVerify        bool   `arg:"skip_verify"`
	InstallRecommends *bool  `arg:"install_recommends"`
	Hold              *bool
	AllowDowngrades   *bool `arg:"allow_downgrades"`
}

type removeArgs struct {
	Name string
	Pkgs []any
}

type holdArgs struct {
	Name string
	Pkgs []any
}

type namesKwargs struct {
	Refresh  *bool
	FromRepo string `arg:"fromrepo"`
}

func init() {
	modules.Register(modules.Typed("pkg.install", `Install packages with one apt-get call and return what changed,
{name: {old, new}} (dependencies included).

    brine call pkg.install nginx
    brine call pkg.install pkgs='[nginx, {curl: 7.88.1-10}]' refresh=True

Arguments: name, pkgs (names or {name: version}), version (with name),
refresh (apt-get update first), fromrepo (target release), skip_verify,
install_recommends (default True), allow_downgrades, hold.`,
		[]string{"name"}, install))
	modules.Register(modules.Typed("pkg.remove", `Remove packages (apt-get remove; configuration files stay) and return
what changed. Arguments: name or pkgs.`, []string{"name"}, func(ctx context.Context, env *api.Env, a *removeArgs) (any, error) {
		return remove(ctx, env, a, false)
	}))
	modules.Register(modules.Typed("pkg.purge", `Remove packages with their configuration files (apt-get purge) and
return what changed. Arguments: name or pkgs.`, []string{"name"}, func(ctx context.Context, env *api.Env, a *removeArgs) (any, error) {
		return remove(ctx, env, a, true)
	}))
	modules.Register(modules.Func{Name: "pkg.version", Doc: `The installed version of each named package ("" when not installed):
a string for one name, a mapping for several.

    brine call pkg.version nginx curl`, Run: version})
	modules.Register(modules.Typed("pkg.list_pkgs", `Every installed package and its version.`, nil,
		func(ctx context.Context, env *api.Env, _ *struct{}) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			v, err := Versions(ctx)
			if err != nil {
				return nil, err
			}
			return anyMap(v), nil
		}))
	modules.Register(modules.Func{Name: "pkg.latest_version", Doc: `The version apt would install or upgrade to for each named package, ""
when the installed version is already the latest (Salt's convention). The
package indexes are refreshed first unless refresh=False.

    brine call pkg.latest_version nginx refresh=False`, Run: latestVersion})
	modules.Register(modules.Typed("pkg.refresh_db", `Download fresh package indexes (apt-get update). Returns each source
mapped to True (new index), False (unchanged) or None (ignored); a source
that fails is an error with apt's message.`, nil,
		func(ctx context.Context, env *api.Env, _ *struct{}) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			return RefreshDB(ctx)
		}))
	modules.Register(modules.Typed("pkg.hold", `Hold packages at their installed version (apt-mark hold).
Arguments: name or pkgs.`, []string{"name"}, func(ctx context.Context, env *api.Env, a *holdArgs) (any, error) {
		return hold(ctx, env, a, true)
	}))
	modules.Register(modules.Typed("pkg.unhold", `Release held packages (apt-mark unhold). Arguments: name or pkgs.`,
		[]string{"name"}, func(ctx context.Context, env *api.Env, a *holdArgs) (any, error) {
			return hold(ctx, env, a, false)
		}))
}

func install(ctx context.Context, env *api.Env, a *installArgs) (any, error) {
	if err := Check(env); err != nil {
		return nil, err
	}
	targets, err := ParseTargets(a.Name, a.Version, a.Pkgs)
	if err != nil {
		return nil, err
	}
	if a.Refresh {
		if _, err := RefreshDB(ctx); err != nil {
			return nil, err
		}
	}
	installed, err := Versions(ctx)
	if err != nil {
		return nil, err
	}
	todo, args, err := Plan(ctx, targets, installed)
	if err != nil {
		return nil, err
	}
	changes := map[string]any{}
	if len(todo) > 0 {
		opt := InstallOptions{
			FromRepo:        a.FromRepo,
			SkipVerify:      a.SkipVerify,
			NoRecommends:    a.InstallRecommends != nil && !*a.InstallRecommends,
			AllowDowngrades: a.AllowDowngrades == nil && Pinned(args) || a.AllowDowngrades != nil && *a.AllowDowngrades,
		}
		diff, err := Install(ctx, args, opt)
		if err != nil {
			return ChangesMap(diff), err
		}
		changes = ChangesMap(diff)
	}
	if a.Hold != nil {
		held, err := SetHold(ctx, Names(targets), *a.Hold)
		if err != nil {
			return changes, err
		}
		for name, h := range held {
			hc, _ := h.(map[string]any)["changes"].(map[string]any)
			if len(hc) == 0 {
				continue
			}
			entry, _ := changes[name].(map[string]any)
			if entry == nil {
				entry = map[string]any{}
				changes[name] = entry
			}
			entry["hold"] = hc
		}
	}
	return changes, nil
}

func remove(ctx context.Context, env *api.Env, a *removeArgs, purge bool) (any, error) {
	if err := Check(env); err != nil {
		return nil, err
	}
	targets, err := ParseTargets(a.Name, "", a.Pkgs)
	if err != nil {
		return nil, err
	}
	all, err := List(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, t := range targets {
		if p, ok := all[t.Name]; ok && (p.Installed() || purge && p.Status == "config-files") {
			names = append(names, t.Name)
		}
	}
	if len(names) == 0 {
		return map[string]any{}, nil
	}
	diff, err := Remove(ctx, names, purge)
	return ChangesMap(diff), err
}

func hold(ctx context.Context, env *api.Env, a *holdArgs, on bool) (any, error) {
	if err := Check(env); err != nil {
		return nil, err
	}
	targets, err := ParseTargets(a.Name, "", a.Pkgs)
	if err != nil {
		return nil, err
	}
	return SetHold(ctx, Names(targets), on)
}

// names reads the positional package names of pkg.version and
// pkg.latest_version.
func names(fun string, args []any) ([]string, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%s: name a package", fun)
	}
	out := make([]string, 0, len(args))
	for _, a := range args {
		s, ok := api.ScalarString(a)
		if !ok || s == "" {
			return nil, fmt.Errorf("%s: package names must be strings", fun)
		}
		out = append(out, s)
	}
	return out, nil
}

// oneOrMany returns Salt's shape: a bare value for one name, a mapping for
// several.
func oneOrMany(ns []string, get func(string) string) any {
	if len(ns) == 1 {
		return get(ns[0])
	}
	out := map[string]any{}
	for _, n := range ns {
		out[n] = get(n)
	}
	return out
}

func version(ctx context.Context, env *api.Env, args []any, kwargs map[string]any) (any, error) {
	var kw struct{}
	if err := api.Decode(cleanKwargs(kwargs), &kw); err != nil {
		return nil, fmt.Errorf("pkg.version: %w", err)
	}
	if err := Check(env); err != nil {
		return nil, err
	}
	ns, err := names("pkg.version", args)
	if err != nil {
		return nil, err
	}
	installed, err := Versions(ctx)
	if err != nil {
		return nil, err
	}
	return oneOrMany(ns, func(n string) string { return installed[n] }), nil
}

func latestVersion(ctx context.Context, env *api.Env, args []any, kwargs map[string]any) (any, error) {
	var kw namesKwargs
	if err := api.Decode(cleanKwargs(kwargs), &kw); err != nil {
		return nil, fmt.Errorf("pkg.latest_version: %w", err)
	}
	if err := Check(env); err != nil {
		return nil, err
	}
	ns, err := names("pkg.latest_version", args)
	if err != nil {
		return nil, err
	}
	if kw.Refresh == nil || *kw.Refresh {
		if _, err := RefreshDB(ctx); err != nil {
			return nil, err
		}
	}
	pol, err := PolicyOf(ctx, ns...)
	if err != nil {
		return nil, err
	}
	return oneOrMany(ns, func(n string) string { return Latest(pol[n]) }), nil
}

// Latest is Salt's latest_version answer for one package: the candidate
// when it is newer than what is installed, else "".
func Latest(p Policy) string {
	if p.Candidate == "" || p.Installed != "" && CompareVersions(p.Candidate, p.Installed) <= 0 {
		return ""
	}
	return p.Candidate
}

// cleanKwargs drops Salt's __pub_* style keys that callers may pass along.
func cleanKwargs(kw map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range kw {
		if len(k) < 2 || k[:2] != "__" {
			out[k] = v
		}
	}
	return out
}

func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
