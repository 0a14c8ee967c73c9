package archive_test

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"

	"github.com/brine-cm/brine/internal/systest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func zipOf(t *testing.T, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestArchiveExtractedInContainer(t *testing.T) {
	c := systest.Start(t)
	sum := strings.Fields(c.Sh(t, `
useradd -M app
mkdir -p /srv/src/app-1.0/bin /srv/src/app-1.0/conf
echo '#!/bin/sh' > /srv/src/app-1.0/bin/run
echo 'port = 8080' > /srv/src/app-1.0/conf/app.conf
tar -C /srv/src -cJf /root/app-1.0.tar.xz app-1.0
sha256sum /root/app-1.0.tar.xz`))[0]
	top := "base:\n  '*':\n    - app\n"
	sls := `
/opt/app:
  archive.extracted:
    - source: /root/app-1.0.tar.xz
    - source_hash: sha256=` + sum + `
    - user: app
    - group: app
/opt/web:
  archive.extracted:
    - source: salt://web.zip
`
	tree := map[string]string{"top.sls": top, "app.sls": sls, "web.zip": zipOf(t, map[string]string{"site/index.html": "<h1>hi</h1>\n"})}

	r := c.Apply(t, tree, nil)
	s := r.Get(t, "/opt/app", "archive.extracted")
	want := map[string]any{
		"extracted_files":     []any{"app-1.0", "app-1.0/bin", "app-1.0/bin/run", "app-1.0/conf", "app-1.0/conf/app.conf"},
		"directories_created": []any{"/opt/app"},
		"updated ownership":   true,
	}
	// extracted_files keeps the archive's order, which is tar's.
	sortAny := cmpopts.SortSlices(func(a, b any) bool { return a.(string) < b.(string) })
	if d := cmp.Diff(want, s.Changes, sortAny); d != "" || s.Comment != "/root/app-1.0.tar.xz extracted to /opt/app" {
		t.Errorf("tar.xz: %q (-want +got):\n%s", s.Comment, d)
	}
	if owners := c.Sh(t, "stat -c %U:%G /opt/app/app-1.0 /opt/app/app-1.0/conf/app.conf"); owners != "app:app\napp:app\n" {
		t.Errorf("owners = %q", owners)
	}
	if s := r.Get(t, "/opt/web", "archive.extracted"); s.Result == nil || !*s.Result {
		t.Errorf("zip: %v %q", s.Result, s.Comment)
	}
	c.Sh(t, "grep -q hi /opt/web/site/index.html")

	again := c.Apply(t, tree, nil)
	if changed := again.Changed(); len(changed) != 0 {
		t.Errorf("second run changed %v", changed)
	}
	c.Sh(t, "chown root /opt/app/app-1.0/bin/run")
	owner := c.Apply(t, tree, nil)
	if s := owner.Get(t, "/opt/app", "archive.extracted"); !cmp.Equal(s.Changes, map[string]any{"updated ownership": true}) {
		t.Errorf("ownership drift: %q %v", s.Comment, s.Changes)
	}

	bad := c.Apply(t, map[string]string{"top.sls": top, "app.sls": `
/opt/bad:
  archive.extracted:
    - source: /root/app-1.0.tar.xz
    - source_hash: sha256=` + strings.Repeat("0", 64) + `
independent:
  test.succeed_with_changes: []
`}, nil)
	if s := bad.Get(t, "/opt/bad", "archive.extracted"); s.Result == nil || *s.Result || !strings.Contains(s.Comment, "does not match the desired source_hash") {
		t.Errorf("hash mismatch: %v %q", s.Result, s.Comment)
	}
	if _, _, code := c.Exec(t, "test", "-e", "/opt/bad"); code == 0 {
		t.Error("a hash mismatch still created the destination")
	}
	if s := bad.Get(t, "independent", "test.succeed_with_changes"); s.Result == nil || !*s.Result {
		t.Errorf("independent state: %+v", s)
	}

	list := c.Call(t, "archive.list", "/root/app-1.0.tar.xz")
	if !cmp.Equal(list.Value, []any{"app-1.0/", "app-1.0/bin/", "app-1.0/bin/run", "app-1.0/conf/", "app-1.0/conf/app.conf"}, sortAny) {
		t.Errorf("archive.list = %v (%s)", list.Value, list.Stderr)
	}
}
