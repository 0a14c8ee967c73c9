// Package service starts, stops and enables system services on Debian
// family hosts and registers Salt's service.* execution functions. Where
// systemd is the running init (/run/systemd/system exists) it drives
// systemctl; elsewhere, as in containers and sysvinit hosts, it falls back
// to /etc/init.d scripts through `service` and update-rc.d, as Salt's
// debian_service module does. The service states use the same Backend.
package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/internal/platform"
)

// Backend is one init system's way of managing services.
type Backend interface {
	// Name is "systemd" or "sysvinit".
	Name() string
	// Available reports whether the service exists at all.
	Available(ctx context.Context, name string) (bool, error)
	// Status reports whether the service is running.
	Status(ctx context.Context, name string) (bool, error)
	// Enabled reports whether the service starts at boot.
	Enabled(ctx context.Context, name string) (bool, error)
	Start(ctx context.Context, name string) error
	Stop(ctx context.Context, name string) error
	Restart(ctx context.Context, name string) error
	Reload(ctx context.Context, name string) error
	Enable(ctx context.Context, name string) error
	Disable(ctx context.Context, name string) error
	// All lists every service the init system knows, sorted.
	All(ctx context.Context) ([]string, error)
}

// SystemdDir exists when systemd is the running init (sd_booted(3)).
const SystemdDir = "/run/systemd/system"

// For returns the backend for this host, or an error on a host brine does
// not manage services on.
func For(env *api.Env) (Backend, error) {
	if err := platform.RequireDebian(env, "service"); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(SystemdDir); err == nil && fi.IsDir() {
		return Systemd{}, nil
	}
	return SysV{InitDir: "/etc/init.d", RCDir: "/etc"}, nil
}

// ErrNotAvailable is wrapped when a named service does not exist.
var ErrNotAvailable = errors.New("service is not available")

// validName refuses names that could be taken for options or paths.
func validName(name string) error {
	if name == "" || strings.HasPrefix(name, "-") || strings.ContainsAny(name, "/ \t\n\x00") {
		return fmt.Errorf("%q is not a valid service name", name)
	}
	return nil
}

// Systemd drives systemctl.
type Systemd struct{}

// Name implements Backend.
func (Systemd) Name() string { return "systemd" }

// unit adds ".service" to a bare name, as systemctl would.
func unit(name string) string {
	if strings.Contains(name, ".") {
		return name
	}
	return name + ".service"
}

func systemctl(ctx context.Context, args ...string) (string, error) {
	return platform.Run(ctx, append([]string{"systemctl", "--no-pager"}, args...), platform.Options{})
}

// Available implements Backend: systemd knows a unit file for it.
func (Systemd) Available(ctx context.Context, name string) (bool, error) {
	if err := validName(name); err != nil {
		return false, err
	}
	out, err := systemctl(ctx, "show", "--property=LoadState", "--value", "--", unit(name))
	if err != nil {
		return false, err
	}
	state := strings.TrimSpace(out)
	return state != "not-found" && state != "", nil
}

// Status implements Backend.
func (Systemd) Status(ctx context.Context, name string) (bool, error) {
	ok, _, err := platform.Quiet(ctx, []string{"systemctl", "is-active", "--quiet", "--", unit(name)}, platform.Options{})
	return ok, err
}

// Enabled implements Backend. Static and generated units count as enabled:
// they cannot be enabled any further.
func (Systemd) Enabled(ctx context.Context, name string) (bool, error) {
	ok, res, err := platform.Quiet(ctx, []string{"systemctl", "is-enabled", "--", unit(name)}, platform.Options{})
	if err != nil {
		return false, err
	}
	if res != nil && strings.TrimSpace(res.Stdout) == "indirect" {
		return false, nil
	}
	return ok, nil
}

// reloadIfChanged runs daemon-reload when the unit file changed on disk
// since systemd read it (a file.managed unit file, for instance), as
// Salt's systemd module does before acting.
func reloadIfChanged(ctx context.Context, name string) error {
	out, err := systemctl(ctx, "show", "--property=NeedDaemonReload", "--value", "--", unit(name))
	if err != nil || strings.TrimSpace(out) != "yes" {
		return nil // an unknown unit is reported by the action itself
	}
	_, err = systemctl(ctx, "daemon-reload")
	return err
}

func (Systemd) action(ctx context.Context, verb, name string) error {
	if err := validName(name); err != nil {
		return err
	}
	if err := reloadIfChanged(ctx, name); err != nil {
		return err
	}
	_, err := systemctl(ctx, verb, "--", unit(name))
	return err
}

// Start implements Backend.
func (s Systemd) Start(ctx context.Context, name string) error { return s.action(ctx, "start", name) }

// Stop implements Backend.
func (s Systemd) Stop(ctx context.Context, name string) error { return s.action(ctx, "stop", name) }

// Restart implements Backend.
func (s Systemd) Restart(ctx context.Context, name string) error {
	return s.action(ctx, "restart", name)
}

// Reload implements Backend.
func (s Systemd) Reload(ctx context.Context, name string) error {
	return s.action(ctx, "reload", name)
}

// Enable implements Backend.
func (s Systemd) Enable(ctx context.Context, name string) error {
	return s.action(ctx, "enable", name)
}

// Disable implements Backend.
func (s Systemd) Disable(ctx context.Context, name string) error {
	return s.action(ctx, "disable", name)
}

// All implements Backend: every service unit file, without ".service".
func (Systemd) All(ctx context.Context) ([]string, error) {
	out, err := systemctl(ctx, "list-unit-files", "--type=service", "--no-legend", "--plain")
	if err != nil {
		return nil, err
	}
	return ParseUnitFiles(out), nil
}

// ParseUnitFiles reads `systemctl list-unit-files --type=service
// --no-legend` output into service names, sorted, templates ("getty@")
// left out as Salt does.
func ParseUnitFiles(out string) []string {
	seen := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasSuffix(f[0], ".service") {
			continue
		}
		n := strings.TrimSuffix(f[0], ".service")
		if strings.HasSuffix(n, "@") {
			continue
		}
		seen[n] = true
	}
	out2 := make([]string, 0, len(seen))
	for n := range seen {
		out2 = append(out2, n)
	}
	sort.Strings(out2)
	return out2
}

// SysV drives /etc/init.d scripts: `service NAME ACTION` to act,
// update-rc.d to enable, S links in the runlevel directories to tell.
type SysV struct {
	// InitDir holds the scripts (/etc/init.d); RCDir holds rcN.d (/etc).
	InitDir, RCDir string
}

// Name implements Backend.
func (SysV) Name() string { return "sysvinit" }

// defaultRunlevels are Debian's multi-user runlevels.
var defaultRunlevels = []string{"2", "3", "4", "5"}

// Available implements Backend: an executable script exists.
func (s SysV) Available(_ context.Context, name string) (bool, error) {
	if err := validName(name); err != nil {
		return false, err
	}
	fi, err := os.Stat(filepath.Join(s.InitDir, name))
	if err != nil {
		return false, nil
	}
	return fi.Mode().IsRegular() && fi.Mode()&0o111 != 0, nil
}

func (s SysV) service(ctx context.Context, name, action string) error {
	if err := validName(name); err != nil {
		return err
	}
	if ok, _ := s.Available(ctx, name); !ok {
		return fmt.Errorf("%s: %w", name, ErrNotAvailable)
	}
	_, err := platform.Run(ctx, []string{"service", name, action}, platform.Options{Detach: true})
	return err
}

// Status implements Backend: the script's status action exits with 0.
func (s SysV) Status(ctx context.Context, name string) (bool, error) {
	if ok, _ := s.Available(ctx, name); !ok {
		return false, nil
	}
	ok, _, err := platform.Quiet(ctx, []string{"service", name, "status"}, platform.Options{})
	return ok, err
}

// Enabled implements Backend: a start link in a multi-user runlevel.
func (s SysV) Enabled(_ context.Context, name string) (bool, error) {
	return StartLinked(s.RCDir, name, defaultRunlevels), nil
}

// linkName matches rc links: S or K, two digits, the script name.
var linkName = regexp.MustCompile(`^([SK])[0-9]{2}(.+)$`)

// StartLinked reports whether rcdir/rcN.d holds an S link for name in any
// of the runlevels.
func StartLinked(rcdir, name string, runlevels []string) bool {
	for _, rl := range runlevels {
		entries, _ := os.ReadDir(filepath.Join(rcdir, "rc"+rl+".d"))
		for _, e := range entries {
			if m := linkName.FindStringSubmatch(e.Name()); m != nil && m[1] == "S" && m[2] == name {
				return true
			}
		}
	}
	return false
}

// Start implements Backend.
func (s SysV) Start(ctx context.Context, name string) error { return s.service(ctx, name, "start") }

// Stop implements Backend.
func (s SysV) Stop(ctx context.Context, name string) error { return s.service(ctx, name, "stop") }

// Restart implements Backend.
func (s SysV) Restart(ctx context.Context, name string) error {
	return s.service(ctx, name, "restart")
}

// Reload implements Backend.
func (s SysV) Reload(ctx context.Context, name string) error {
	return s.service(ctx, name, "reload")
}

// Enable implements Backend: install the links (defaults), then turn
// stop links into start links (enable).
func (s SysV) Enable(ctx context.Context, name string) error {
	if ok, _ := s.Available(ctx, name); !ok {
		return fmt.Errorf("%s: %w", name, ErrNotAvailable)
	}
	if _, err := platform.Run(ctx, []string{"update-rc.d", name, "defaults"}, platform.Options{}); err != nil {
		return err
	}
	_, err := platform.Run(ctx, []string{"update-rc.d", name, "enable"}, platform.Options{})
	return err
}

// Disable implements Backend.
func (s SysV) Disable(ctx context.Context, name string) error {
	if ok, _ := s.Available(ctx, name); !ok {
		return fmt.Errorf("%s: %w", name, ErrNotAvailable)
	}
	_, err := platform.Run(ctx, []string{"update-rc.d", name, "disable"}, platform.Options{})
	return err
}

// notServices are files in /etc/init.d that are not services.
var notServices = map[string]bool{"README": true, "skeleton": true, "rc": true, "rcS": true, "functions": true}

// All implements Backend: the executable scripts in the init directory.
func (s SysV) All(_ context.Context) ([]string, error) {
	entries, err := os.ReadDir(s.InitDir)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if notServices[n] || strings.HasPrefix(n, ".") {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}
