package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// entry is one archive member for the test writers: a directory when the
// name ends with "/", a symlink when link is set.
type entry struct {
	name, body, link string
}

func writeTarGz(t *testing.T, path string, entries []entry) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		switch {
		case e.link != "":
			h.Typeflag, h.Linkname, h.Size, h.Mode = tar.TypeSymlink, e.link, 0, 0o777
		case e.name[len(e.name)-1] == '/':
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeZip(t *testing.T, path string, entries []entry) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		switch {
		case e.link != "":
			h.SetMode(os.ModeSymlink | 0o777)
		case e.name[len(e.name)-1] == '/':
			h.SetMode(os.ModeDir | 0o755)
		default:
			h.SetMode(0o640)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		body := e.body
		if e.link != "" {
			body = e.link
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDetectFormat(t *testing.T) {
	dir := t.TempDir()
	tgz := filepath.Join(dir, "a.bin")
	writeTarGz(t, tgz, []entry{{name: "x", body: "1"}})
	zp := filepath.Join(dir, "b.bin")
	writeZip(t, zp, []entry{{name: "x", body: "1"}})
	named := filepath.Join(dir, "c.tar.xz")
	if err := os.WriteFile(named, []byte("not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	unknown := filepath.Join(dir, "d.bin")
	if err := os.WriteFile(unknown, []byte("plain text"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file, explicit, want string
		wantErr              bool
	}{
		{tgz, "", "tar", false},
		{zp, "", "zip", false},
		{named, "", "tar", false},
		{unknown, "", "", true},
		{unknown, "zip", "zip", false},
		{unknown, "rar", "", true},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file)+"/"+tc.explicit, func(t *testing.T) {
			got, err := DetectFormat(tc.file, tc.explicit)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("DetectFormat = %q, %v; want %q (error %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestAnalyze(t *testing.T) {
	c, err := Analyze([]string{"app/", "app/bin/run", "./app/README", "app/lib/"})
	if err != nil {
		t.Fatal(err)
	}
	want := Contents{
		Dirs:         []string{"app", "app/bin", "app/lib"},
		Files:        []string{"app/README", "app/bin/run"},
		TopLevelDirs: []string{"app"},
		TopFiles:     []string{},
		Names:        []string{"app", "app/bin/run", "app/README", "app/lib"},
	}
	if d := cmp.Diff(want, c); d != "" {
		t.Errorf("Analyze (-want +got):\n%s", d)
	}
	if !c.SingleTopLevel() {
		t.Error("SingleTopLevel = false for one directory")
	}
	bomb, _ := Analyze([]string{"README", "bin/run"})
	if bomb.SingleTopLevel() {
		t.Error("SingleTopLevel = true for a file next to a directory")
	}
	for _, bad := range []string{"/etc/passwd", "../escape", "app/../../escape", "a\x00b"} {
		if _, err := Analyze([]string{"app/", bad}); !errors.Is(err, ErrUnsafeMember) {
			t.Errorf("Analyze(%q) = %v, want ErrUnsafeMember", bad, err)
		}
	}
}

func TestMembersExtractMissing(t *testing.T) {
	for _, format := range []string{"tar", "zip"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "app."+format)
			entries := []entry{{name: "app/"}, {name: "app/bin/"}, {name: "app/bin/run", body: "#!/bin/sh\n"}, {name: "app/current", link: "bin/run"}}
			if format == "tar" {
				writeTarGz(t, file, entries)
			} else {
				writeZip(t, file, entries)
			}
			members, err := Members(context.Background(), file, format)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff([]string{"app/", "app/bin/", "app/bin/run", "app/current"}, members); d != "" {
				t.Errorf("Members (-want +got):\n%s", d)
			}
			c, err := Analyze(members)
			if err != nil {
				t.Fatal(err)
			}
			dest := filepath.Join(dir, "dest")
			if err := os.Mkdir(dest, 0o755); err != nil {
				t.Fatal(err)
			}
			if missing, _ := c.Missing(dest); len(missing) != 4 {
				t.Errorf("Missing before extraction = %v, want all 4", missing)
			}
			if err := Extract(context.Background(), file, format, dest, nil); err != nil {
				t.Fatal(err)
			}
			if missing, wrong := c.Missing(dest); len(missing)+len(wrong) != 0 {
				t.Errorf("after extraction missing %v wrong %v", missing, wrong)
			}
			if b, err := os.ReadFile(filepath.Join(dest, "app/current")); err != nil || string(b) != "#!/bin/sh\n" {
				t.Errorf("link target content = %q, %v", b, err)
			}
			if err := os.RemoveAll(filepath.Join(dest, "app/bin")); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dest, "app/bin"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			missing, wrong := c.Missing(dest)
			if d := cmp.Diff([]string{"app/bin"}, wrong); d != "" || len(missing) != 1 {
				t.Errorf("wrong type (-want +got):\n%s missing %v", d, missing)
			}
		})
	}
}

func TestZipRefusesEscapingLinks(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "evil.zip")
	writeZip(t, file, []entry{{name: "app/"}, {name: "app/passwd", link: "../../../etc/passwd"}})
	dest := filepath.Join(dir, "dest")
	if err := os.Mkdir(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Extract(context.Background(), file, "zip", dest, nil); !errors.Is(err, ErrUnsafeMember) {
		t.Errorf("Extract = %v, want ErrUnsafeMember", err)
	}
	if _, err := os.Lstat(filepath.Join(dest, "app/passwd")); err == nil {
		t.Error("the escaping link was created")
	}
}

func TestSums(t *testing.T) {
	const sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" // sha256("test")
	tests := []struct {
		spec    string
		want    Sum
		wantErr bool
	}{
		{spec: "sha256=" + sha, want: Sum{"sha256", sha}},
		{spec: "SHA256:" + sha, want: Sum{"sha256", sha}},
		{spec: sha, want: Sum{"sha256", sha}},
		{spec: "md5=098f6bcd4621d373cade4e832627b4f6", want: Sum{"md5", "098f6bcd4621d373cade4e832627b4f6"}},
		{spec: "sha256=abc", wantErr: true},
		{spec: "crc32=abcd", wantErr: true},
		{spec: "nothex", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := ParseSum(tc.spec)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("ParseSum = %v, %v; want %v (error %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
	list := sha + "  app-1.2.tar.gz\n" + "098f6bcd4621d373cade4e832627b4f6 *other.zip\n"
	if s, err := SumFromList(list, "salt://app/app-1.2.tar.gz"); err != nil || s.Digest != sha {
		t.Errorf("SumFromList by name = %v, %v", s, err)
	}
	if _, err := SumFromList(list, "missing.tar.gz"); err == nil {
		t.Error("SumFromList found a hash for a file the list does not name")
	}
	if s, err := SumFromList(sha+"\n", "anything"); err != nil || s.Digest != sha {
		t.Errorf("SumFromList single = %v, %v", s, err)
	}
	f := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(f, []byte("test"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := (Sum{"sha256", sha}).Verify(f, "f"); err != nil {
		t.Errorf("Verify of the right hash: %v", err)
	}
	if err := (Sum{"md5", "00000000000000000000000000000000"}).Verify(f, "f"); err == nil {
		t.Error("Verify accepted a wrong hash")
	}
}
