package pkg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/brine-cm/brine/internal/platform"
)

// aptEnv keeps apt, dpkg and debconf from asking anything: a state run has
// no terminal, and a prompt would hang until the state timeout.
var aptEnv = map[string]string{
	"DEBIAN_FRONTEND":          "noninteractive",
	"APT_LISTBUGS_FRONTEND":    "none",
	"APT_LISTCHANGES_FRONTEND": "none",
	"NEEDRESTART_MODE":         "l",
	"UCF_FORCE_CONFFOLD":       "1",
}

// aptBase is the start of every apt-get call: quiet, yes to everything,
// keep the administrator's changed configuration files, and wait for a
// dpkg lock held by another apt instead of failing at once.
var aptBase = []string{
	"apt-get", "-q", "-y",
	"-o", "DPkg::Options::=--force-confold",
	"-o", "DPkg::Options::=--force-confdef",
	"-o", "DPkg::Lock::Timeout=300",
}

// ListsDir is where apt keeps the downloaded package indexes.
const ListsDir = "/var/lib/apt/lists"

// Action is one line of `apt-get -s` (simulate) output.
type Action struct {
	// Op is Inst, Remv, Purg or Conf.
	Op   string
	Name string
	// Old is the installed version (empty for a new install), New the
	// version apt would install (empty for a removal).
	Old, New string
	Arch     string
}

// ParseSimulate reads `apt-get -s install|remove|purge` output:
//
//	Inst nginx-common (1.22.1-9 Debian:12.5/stable [all])
//	Inst libssl3 [3.0.11-1] (3.0.13-1 Debian-Security:12/stable-security [amd64])
//	Remv nginx [1.22.1-9]
//	Purg nginx [1.22.1-9]
//	Conf nginx (1.22.1-9 Debian:12.5/stable [amd64])
//
// Other lines (headers, "The following NEW packages ...") are ignored.
func ParseSimulate(out string) []Action {
	var acts []Action
	for _, line := range strings.Split(out, "\n") {
		op, rest, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		switch op {
		case "Inst", "Remv", "Purg", "Conf":
		default:
			continue
		}
		a := Action{Op: op}
		a.Name, rest, _ = strings.Cut(strings.TrimSpace(rest), " ")
		rest = strings.TrimSpace(rest)
		if strings.HasPrefix(rest, "[") {
			if end := strings.IndexByte(rest, ']'); end > 0 {
				a.Old = rest[1:end]
				rest = strings.TrimSpace(rest[end+1:])
			}
		}
		if strings.HasPrefix(rest, "(") {
			if end := strings.IndexByte(rest, ')'); end > 0 {
				inner := strings.Fields(rest[1:end])
				if len(inner) > 0 {
					a.New = inner[0]
				}
				if n := len(inner); n > 0 && strings.HasPrefix(inner[n-1], "[") {
					a.Arch = strings.Trim(inner[n-1], "[]")
				}
			}
		}
		if a.Name == "" {
			continue
		}
		acts = append(acts, a)
	}
	return acts
}

// SimulatedChanges turns simulated actions into the changes a real run
// would report: installs and upgrades with their new version, removals
// with "". Conf lines repeat Inst lines and are skipped.
func SimulatedChanges(acts []Action) map[string]Change {
	out := map[string]Change{}
	for _, a := range acts {
		switch a.Op {
		case "Inst":
			out[a.Name] = Change{Old: a.Old, New: a.New}
		case "Remv", "Purg":
			out[a.Name] = Change{Old: a.Old, New: ""}
		}
	}
	return out
}

// Policy is what `apt-cache policy` knows about one package.
type Policy struct {
	// Installed and Candidate are "" when apt prints "(none)".
	Installed string
	Candidate string
	// Available lists the versions in the version table, best first.
	Available []string
}

// ParsePolicy reads `apt-cache policy NAME...`:
//
//	nginx:
//	  Installed: (none)
//	  Candidate: 1.22.1-9
//	  Version table:
//	     1.22.1-9 500
//	        500 http://deb.debian.org/debian bookworm/main amd64 Packages
//	 *** 1.20.0-1 100
//	        100 /var/lib/dpkg/status
//
// A package apt does not know is absent from the result.
func ParsePolicy(out string) map[string]Policy {
	res := map[string]Policy{}
	var name string
	var cur Policy
	flush := func() {
		if name != "" {
			res[name] = cur
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if !strings.HasPrefix(line, " ") {
			flush()
			name, cur = strings.TrimSuffix(strings.TrimSpace(line), ":"), Policy{}
			continue
		}
		trimmed := strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(trimmed, "Installed:"); ok {
			cur.Installed = none(v)
			continue
		}
		if v, ok := strings.CutPrefix(trimmed, "Candidate:"); ok {
			cur.Candidate = none(v)
			continue
		}
		// Version lines are indented by five columns (" *** " marks the
		// installed one); their source lines by eight.
		if len(line) > 5 && (strings.HasPrefix(line, " *** ") || (strings.HasPrefix(line, "     ") && line[5] != ' ')) {
			if f := strings.Fields(line[5:]); len(f) >= 1 {
				cur.Available = append(cur.Available, f[0])
			}
		}
	}
	flush()
	return res
}

func none(v string) string {
	v = strings.TrimSpace(v)
	if v == "(none)" {
		return ""
	}
	return v
}

// PolicyOf runs `apt-cache policy` for names.
func PolicyOf(ctx context.Context, names ...string) (map[string]Policy, error) {
	if len(names) == 0 {
		return map[string]Policy{}, nil
	}
	out, err := platform.Run(ctx, append([]string{"apt-cache", "policy", "--"}, names...), platform.Options{Env: aptEnv})
	if err != nil {
		return nil, fmt.Errorf("apt-cache policy: %w", err)
	}
	return ParsePolicy(out), nil
}

// ParseUpdate reads `apt-get update` output into Salt's refresh_db answer:
// each source mapped to true (new index downloaded), false (unchanged or
// failed) or nil (ignored). Failed sources are returned as well.
func ParseUpdate(out string) (map[string]any, []string) {
	res := map[string]any{}
	var failed []string
	for _, line := range strings.Split(out, "\n") {
		kind, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		_, source, ok := strings.Cut(rest, " ") // drop the sequence number
		if !ok {
			continue
		}
		source = strings.TrimSpace(source)
		if i := strings.Index(source, " ["); i > 0 { // " [55.4 kB]"
			source = source[:i]
		}
		switch kind {
		case "Get":
			res[source] = true
		case "Hit":
			res[source] = false
		case "Ign":
			res[source] = nil
		case "Err":
			res[source] = false
			failed = append(failed, source)
		}
	}
	return res, failed
}

// RefreshDB runs `apt-get update`. A source that could not be fetched is
// an error carrying apt's own message.
func RefreshDB(ctx context.Context) (map[string]any, error) {
	res, err := platform.RunResult(ctx, append(append([]string{}, aptBase...), "update"), platform.Options{Env: aptEnv})
	if res == nil {
		return nil, fmt.Errorf("apt-get update: %w", err)
	}
	out, failed := ParseUpdate(res.Stdout)
	if err != nil {
		return out, fmt.Errorf("apt-get update: %w", err)
	}
	if len(failed) > 0 {
		msg := strings.TrimSpace(res.Stderr)
		if msg == "" {
			msg = "failed to fetch " + strings.Join(failed, ", ")
		}
		return out, fmt.Errorf("apt-get update: %s", msg)
	}
	return out, nil
}

// ListsAge reports how long ago the package indexes were downloaded, and
// false when there are none at all (a fresh debootstrap or a container
// image with its lists removed).
func ListsAge() (time.Duration, bool) {
	entries, err := os.ReadDir(ListsDir)
	if err != nil {
		return 0, false
	}
	var newest time.Time
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), "_Packages") && !strings.Contains(e.Name(), "_Packages.") {
			continue
		}
		if fi, err := os.Stat(filepath.Join(ListsDir, e.Name())); err == nil && fi.ModTime().After(newest) {
			newest = fi.ModTime()
		}
	}
	if newest.IsZero() {
		return 0, false
	}
	return time.Since(newest), true
}

// InstallOptions are the apt-get options pkg.install and the pkg states
// pass through.
type InstallOptions struct {
	// FromRepo is apt's target release (-t), e.g. bookworm-backports.
	FromRepo string
	// NoRecommends installs without recommended packages.
	NoRecommends bool
	// SkipVerify allows unauthenticated packages.
	SkipVerify bool
	// AllowDowngrades lets a version pin go below the installed version.
	AllowDowngrades bool
}

func (o InstallOptions) args() []string {
	var a []string
	if o.FromRepo != "" {
		a = append(a, "-t", o.FromRepo)
	}
	if o.NoRecommends {
		a = append(a, "--no-install-recommends")
	}
	if o.SkipVerify {
		a = append(a, "--allow-unauthenticated")
	}
	if o.AllowDowngrades {
		a = append(a, "--allow-downgrades")
	}
	return a
}

// Simulate asks apt what `apt-get VERB ARGS` would do, without doing it.
// A package apt cannot find is an error with apt's message.
func Simulate(ctx context.Context, verb string, args []string, opt InstallOptions) ([]Action, error) {
	argv := append(append([]string{}, aptBase...), "-s")
	argv = append(append(argv, opt.args()...), verb)
	argv = append(append(argv, "--"), args...)
	out, err := platform.Run(ctx, argv, platform.Options{Env: aptEnv})
	if err != nil {
		return nil, err
	}
	return ParseSimulate(out), nil
}

// Install runs one `apt-get install` for every argument ("name" or
// "name=version") and returns what changed in the dpkg database. On
// failure the error is apt's own message and the changes are whatever apt
// managed to do before it (usually nothing: apt resolves everything first).
func Install(ctx context.Context, args []string, opt InstallOptions) (map[string]Change, error) {
	argv := append(append([]string{}, aptBase...), opt.args()...)
	argv = append(append(argv, "install", "--"), args...)
	return changing(ctx, argv)
}

// Remove runs `apt-get remove` (or purge) for names.
func Remove(ctx context.Context, names []string, purge bool) (map[string]Change, error) {
	verb := "remove"
	if purge {
		verb = "purge"
	}
	argv := append(append([]string{}, aptBase...), verb, "--")
	return changing(ctx, append(argv, names...))
}

// changing runs an apt-get command between two reads of the dpkg
// database and returns their difference.
func changing(ctx context.Context, argv []string) (map[string]Change, error) {
	before, err := Versions(ctx)
	if err != nil {
		return nil, err
	}
	_, runErr := platform.Run(ctx, argv, platform.Options{Env: aptEnv})
	after, err := Versions(ctx)
	if err != nil {
		return nil, errors.Join(runErr, err)
	}
	return Diff(before, after), runErr
}

// SetHold holds (hold=true) or releases packages with apt-mark and returns
// Salt's per-package answer: {name, result, changes{old,new}, comment}.
func SetHold(ctx context.Context, names []string, hold bool) (map[string]any, error) {
	all, err := List(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	var todo []string
	for _, n := range names {
		p, ok := all[n]
		entry := map[string]any{"name": n, "changes": map[string]any{}, "result": true}
		switch {
		case !ok || p.Status == "not-installed":
			entry["result"] = false
			entry["comment"] = fmt.Sprintf("Package %s not currently held.", n)
			if hold {
				entry["comment"] = fmt.Sprintf("Package %s does not have a state.", n)
			}
		case p.Held() == hold && hold:
			entry["comment"] = fmt.Sprintf("Package %s is already set to be held.", n)
		case p.Held() == hold:
			entry["comment"] = fmt.Sprintf("Package %s is already set not to be held.", n)
		default:
			todo = append(todo, n)
			if hold {
				entry["changes"] = map[string]any{"old": p.Want, "new": "hold"}
				entry["comment"] = fmt.Sprintf("Package %s is now being held.", n)
			} else {
				entry["changes"] = map[string]any{"old": "hold", "new": "install"}
				entry["comment"] = fmt.Sprintf("Package %s is no longer being held.", n)
			}
		}
		out[n] = entry
	}
	if len(todo) > 0 {
		verb := "unhold"
		if hold {
			verb = "hold"
		}
		if _, err := platform.Run(ctx, append([]string{"apt-mark", verb, "--"}, todo...), platform.Options{Env: aptEnv}); err != nil {
			return nil, fmt.Errorf("apt-mark %s: %w", verb, err)
		}
	}
	return out, nil
}
