// Package webserver_test applies the web server example inside a
// throwaway Debian container, twice: the first run installs and
// configures everything, the second changes nothing.
package webserver_test

import (
	"strings"
	"testing"

	"github.com/brine-cm/brine/internal/systest"
)

func TestWebserverExample(t *testing.T) {
	c := systest.Start(t)
	c.CopyDir(t, ".", "/srv/example")
	apply := func(t *testing.T, args ...string) *systest.Run {
		t.Helper()
		return c.Call(t, append([]string{"--config", "/srv/example/minion.yaml", "state.apply"}, args...)...)
	}

	// On a fresh system a dry run can only say what it would do; it must
	// not install anything.
	test := apply(t, "test=True")
	if test.Code != 0 || len(test.Failed()) > 0 {
		t.Errorf("test run: exit %d, failed %v (a user or package made earlier in the run must not fail a dry run)", test.Code, test.Failed())
	}
	if s := test.Get(t, "nginx", "pkg.installed"); s.Result != nil || len(s.Changes) == 0 {
		t.Errorf("test run: pkg.installed %v %q", s.Result, s.Comment)
	}
	if s := test.Get(t, "nginx", "service.running"); s.Result != nil {
		t.Errorf("test run: service.running %v %q", *s.Result, s.Comment)
	}
	if _, _, code := c.Exec(t, "test", "-e", "/usr/sbin/nginx"); code == 0 {
		t.Fatal("test mode installed nginx")
	}
	if _, _, code := c.Exec(t, "id", "deploy"); code == 0 {
		t.Fatal("test mode created the deploy user")
	}

	first := apply(t)
	if first.Code != 0 || len(first.Failed()) > 0 {
		t.Fatalf("first run: exit %d, failed %v\n%s", first.Code, first.Failed(), first.Stderr)
	}
	for _, id := range []string{"nginx", "deploy user", "site config", "enable site", "default site", "site name", "log cleanup", "index page"} {
		found := false
		for _, s := range first.States {
			if s.ID == id && len(s.Changes) > 0 {
				found = true
			}
		}
		if !found {
			t.Errorf("first run: %q reported no changes", id)
		}
	}
	if s := first.Get(t, "nginx", "service.running"); !strings.HasPrefix(s.Comment, "Started service nginx") {
		t.Errorf("service: %q", s.Comment)
	}
	conf := c.Sh(t, "cat /etc/nginx/sites-available/example")
	if !strings.Contains(conf, "listen 8080;") || !strings.Contains(conf, "server_name www.example.test;") || !strings.Contains(conf, "root /srv/www/example;") {
		t.Errorf("site configuration not rendered from pillar:\n%s", conf)
	}
	page := c.Sh(t, `bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080; printf "GET / HTTP/1.0\r\nHost: www.example.test\r\n\r\n" >&3; cat <&3'`)
	if !strings.Contains(page, "200 OK") || !strings.Contains(page, "<h1>Hello from brine</h1>") {
		t.Errorf("nginx did not serve the page:\n%s", page)
	}
	c.Sh(t, `id deploy | grep -q www-data && crontab -l | grep -q 'SALT_CRON_IDENTIFIER:nginx-log-cleanup' && grep -q 'www.example.test' /etc/hosts`)

	second := apply(t)
	if second.Code != 0 {
		t.Fatalf("second run: exit %d, failed %v", second.Code, second.Failed())
	}
	if changed := second.Changed(); len(changed) != 0 {
		t.Errorf("second run changed %v, want nothing", changed)
	}
	if s := second.Get(t, "nginx", "service.running"); s.Comment != "The service nginx is already running\nService nginx is already enabled, and is running" {
		t.Errorf("second run service comment: %q", s.Comment)
	}
	if dry := apply(t, "test=True"); dry.Code != 0 || len(dry.Changed()) != 0 {
		t.Errorf("test run on the configured system: exit %d, changes in %v", dry.Code, dry.Changed())
	}

	// A pillar change reaches the file and reloads nginx through the watch.
	c.Sh(t, "sed -i 's/Hello from brine/Hello again/; s/port: 8080/port: 8081/' /srv/example/pillar/webserver.sls")
	third := apply(t)
	if s := third.Get(t, "nginx", "service.running"); s.Comment != "Service reloaded" {
		t.Errorf("after a config change the service says %q, want a reload", s.Comment)
	}
	page = c.Sh(t, `bash -c 'exec 3<>/dev/tcp/127.0.0.1/8081; printf "GET / HTTP/1.0\r\n\r\n" >&3; cat <&3'`)
	if !strings.Contains(page, "Hello again") {
		t.Errorf("nginx did not pick up the new configuration:\n%s", page)
	}
}
