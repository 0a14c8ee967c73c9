package grains

import (
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/brine-cm/brine/version"
)

// liveHost is the real machine.
func liveHost() *host {
	return &host{
		root:       "/",
		uname:      uname,
		hostname:   os.Hostname,
		interfaces: liveInterfaces,
		user:       currentUser,
		getenv:     os.Getenv,
		pid:        os.Getpid,
	}
}

func uname() (utsname, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return utsname{}, err
	}
	return utsname{
		sysname:  unix.ByteSliceToString(u.Sysname[:]),
		nodename: unix.ByteSliceToString(u.Nodename[:]),
		release:  unix.ByteSliceToString(u.Release[:]),
		version:  unix.ByteSliceToString(u.Version[:]),
		machine:  unix.ByteSliceToString(u.Machine[:]),
	}, nil
}

// kernelGrains: kernel ("Linux"), kernelrelease, kernelversion, nodename
// and cpuarch (the machine name: x86_64, aarch64), from uname(2).
func kernelGrains(_ context.Context, h *host, g map[string]any) error {
	u, err := h.uname()
	if err != nil {
		return err
	}
	g["kernel"] = u.sysname
	g["nodename"] = u.nodename
	g["kernelrelease"] = u.release
	g["kernelversion"] = u.version
	g["cpuarch"] = u.machine
	return nil
}

// initGrains names the init system as Salt does: systemd when
// /run/systemd/system exists, else from PID 1's command line (upstart,
// sysvinit, runit, supervisord, dumb-init, tini), else "unknown" (a
// container whose PID 1 is the application).
func initGrains(_ context.Context, h *host, g map[string]any) error {
	g["init"] = initSystem(h)
	return nil
}

func initSystem(h *host) string {
	if h.exists("/run/systemd/system") {
		return "systemd"
	}
	cmdline, err := h.read("/proc/1/cmdline")
	if err != nil || len(cmdline) == 0 {
		return "unknown"
	}
	args := strings.Fields(strings.ReplaceAll(string(cmdline), "\x00", " "))
	if len(args) == 0 {
		return "unknown"
	}
	base := filepath.Base(args[0])
	switch base {
	case "systemd":
		return "systemd"
	case "init":
		// Which init is it? Follow the /sbin/init link if there is one.
		for _, p := range []string{args[0], "/sbin/init", "/usr/sbin/init"} {
			if !filepath.IsAbs(p) {
				continue
			}
			if target, err := os.Readlink(filepath.Join(h.root, p)); err == nil {
				switch {
				case strings.Contains(target, "systemd"):
					return "systemd"
				case strings.Contains(target, "upstart"):
					return "upstart"
				}
			}
		}
		if h.exists("/sbin/initctl") && h.exists("/etc/init") {
			return "upstart"
		}
		return "sysvinit"
	case "runit", "my_init", "runsvdir":
		return "runit"
	case "supervisord", "dumb-init", "tini", "openrc-init", "s6-svscan":
		return base
	}
	for _, a := range args {
		switch filepath.Base(a) {
		case "supervisord", "dumb-init", "tini":
			return filepath.Base(a)
		case "my_init":
			return "runit"
		}
	}
	return "unknown"
}

// machineIDGrains reads machine_id from /etc/machine-id, or D-Bus's copy.
func machineIDGrains(_ context.Context, h *host, g map[string]any) error {
	var firstErr error
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		b, err := h.read(p)
		if err != nil {
			if firstErr == nil && !errors.Is(err, os.ErrNotExist) {
				firstErr = err
			}
			continue
		}
		if id := strings.TrimSpace(string(b)); id != "" {
			g["machine_id"] = id
			return nil
		}
	}
	return firstErr
}

func currentUser() (userInfo, error) {
	uid, gid := os.Geteuid(), os.Getegid()
	info := userInfo{uid: uid, gid: gid}
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return info, err
	}
	info.username = u.Username
	if grp, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
		info.groupname = grp.Name
	}
	return info, nil
}

// userGrains: username, groupname, uid and gid of the (effective) user the
// minion runs as.
func userGrains(_ context.Context, h *host, g map[string]any) error {
	u, err := h.user()
	g["uid"] = u.uid
	g["gid"] = u.gid
	if u.username != "" {
		g["username"] = u.username
	}
	if u.groupname != "" {
		g["groupname"] = u.groupname
	}
	return err
}

// processGrains are facts about the running agent and its environment:
// path, shell, pid, locale_info, and saltversion (brine's version, so that
// SLS reading grains['saltversion'] keeps working).
func processGrains(_ context.Context, h *host, g map[string]any) error {
	g["path"] = h.getenv("PATH")
	shell := h.getenv("SHELL")
	if shell == "" {
		shell = "/bin/sh"
	}
	g["shell"] = shell
	g["pid"] = h.pid()
	g["saltversion"] = version.Version
	g["brineversion"] = version.Version
	g["saltversioninfo"] = versionInfo(version.Version)
	g["locale_info"] = localeInfo(h.getenv)
	return nil
}

func versionInfo(v string) []any {
	v, _, _ = strings.Cut(v, "-")
	var out []any
	for _, p := range strings.Split(v, ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			break
		}
		out = append(out, n)
	}
	return out
}

// localeInfo reads the locale from the environment as Python's
// locale.getlocale would: LC_ALL, then LC_CTYPE, then LANG. The C and POSIX
// locales have no language or encoding (None in Salt).
func localeInfo(getenv func(string) string) map[string]any {
	loc := ""
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if v := getenv(k); v != "" {
			loc = v
			break
		}
	}
	info := map[string]any{"defaultlanguage": nil, "defaultencoding": nil, "detectedencoding": "utf-8"}
	loc, _, _ = strings.Cut(loc, "@")
	lang, enc, _ := strings.Cut(loc, ".")
	if lang != "" && lang != "C" && lang != "POSIX" {
		info["defaultlanguage"] = lang
		if enc != "" {
			info["defaultencoding"] = enc
		}
	} else if lang == "" || enc == "" {
		info["detectedencoding"] = "ascii"
	}
	zone, _ := time.Now().Zone()
	info["timezone"] = zone
	return info
}
