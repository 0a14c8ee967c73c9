package service

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/brine-cm/brine/api"
	"github.com/google/go-cmp/cmp"
)

func TestParseUnitFiles(t *testing.T) {
	out := `cron.service                       enabled         enabled
getty@.service                     enabled         enabled
nginx.service                      enabled         enabled
ssh.socket                         disabled        enabled
systemd-journald.service           static          -
`
	want := []string{"cron", "nginx", "systemd-journald"}
	if d := cmp.Diff(want, ParseUnitFiles(out)); d != "" {
		t.Errorf("ParseUnitFiles (-want +got):\n%s", d)
	}
}

func TestSysVLinksAndScripts(t *testing.T) {
	root := t.TempDir()
	initDir := filepath.Join(root, "init.d")
	mk := func(path string, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	mk(filepath.Join(initDir, "nginx"), 0o755)
	mk(filepath.Join(initDir, "cron"), 0o755)
	mk(filepath.Join(initDir, "README"), 0o644)
	mk(filepath.Join(initDir, "notexec"), 0o644)
	mk(filepath.Join(root, "rc2.d", "S01nginx"), 0o755)
	mk(filepath.Join(root, "rc2.d", "K01cron"), 0o755)
	mk(filepath.Join(root, "rc3.d", "S01nginx-extra"), 0o755)
	s := SysV{InitDir: initDir, RCDir: root}
	ctx := context.Background()

	tests := []struct {
		name               string
		available, enabled bool
	}{
		{"nginx", true, true},
		{"cron", true, false},
		{"notexec", false, false},
		{"README", false, false},
		{"missing", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := s.Available(ctx, tc.name); got != tc.available {
				t.Errorf("Available = %v, want %v", got, tc.available)
			}
			if got, _ := s.Enabled(ctx, tc.name); got != tc.enabled {
				t.Errorf("Enabled = %v, want %v", got, tc.enabled)
			}
		})
	}
	all, err := s.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"cron", "nginx"}, all); d != "" {
		t.Errorf("All (-want +got):\n%s", d)
	}
	for _, bad := range []string{"", "-f", "../x", "a b"} {
		if _, err := s.Available(ctx, bad); err == nil {
			t.Errorf("Available(%q) accepted an invalid name", bad)
		}
	}
	if err := s.Start(ctx, "missing"); err == nil {
		t.Error("Start of a missing service succeeded")
	}
}

func TestProcessRunning(t *testing.T) {
	proc := t.TempDir()
	write := func(pid int, cmdline string) {
		dir := filepath.Join(proc, strconv.Itoa(pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cmdline"), []byte(cmdline), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(10, "nginx: master process /usr/sbin/nginx -g daemon on;\x00")
	write(11, "/usr/bin/python3\x00/opt/app/server.py\x00--port\x008080\x00")
	write(os.Getpid(), "brine call service.status sig=never-matches\x00")
	for sig, want := range map[string]bool{
		"nginx: master":             true,
		"/opt/app/server.py --port": true,
		"never-matches":             false,
		"apache2":                   false,
	} {
		if got := ProcessRunning(proc, sig); got != want {
			t.Errorf("ProcessRunning(%q) = %v, want %v", sig, got, want)
		}
	}
}

func TestForRefusesOtherOS(t *testing.T) {
	_, err := For(&api.Env{Grains: map[string]any{"os": "Fedora", "os_family": "RedHat"}})
	if err == nil {
		t.Fatal("For on Fedora succeeded, want a not supported error")
	}
}
