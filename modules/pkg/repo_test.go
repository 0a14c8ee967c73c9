package pkg

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRepo(t *testing.T) {
	tests := []struct {
		line     string
		want     Repo
		wantLine string
		wantErr  bool
	}{
		{
			line:     "deb http://deb.debian.org/debian bookworm main contrib",
			want:     Repo{Type: "deb", Options: map[string]string{}, URI: "http://deb.debian.org/debian", Suite: "bookworm", Components: []string{"main", "contrib"}},
			wantLine: "deb http://deb.debian.org/debian bookworm main contrib",
		},
		{
			line: "deb [signed-by=/etc/apt/keyrings/nginx.gpg arch=amd64]   http://nginx.org/packages/debian bookworm nginx",
			want: Repo{Type: "deb", Options: map[string]string{"signed-by": "/etc/apt/keyrings/nginx.gpg", "arch": "amd64"},
				URI: "http://nginx.org/packages/debian", Suite: "bookworm", Components: []string{"nginx"}},
			wantLine: "deb [arch=amd64 signed-by=/etc/apt/keyrings/nginx.gpg] http://nginx.org/packages/debian bookworm nginx",
		},
		{
			line:     "# deb-src http://deb.debian.org/debian bookworm main",
			want:     Repo{Type: "deb-src", Options: map[string]string{}, URI: "http://deb.debian.org/debian", Suite: "bookworm", Components: []string{"main"}, Disabled: true},
			wantLine: "# deb-src http://deb.debian.org/debian bookworm main",
		},
		{
			line:     "deb [trusted=yes] file:/srv/repo ./",
			want:     Repo{Type: "deb", Options: map[string]string{"trusted": "yes"}, URI: "file:/srv/repo", Suite: "./", Components: []string{}},
			wantLine: "deb [trusted=yes] file:/srv/repo ./",
		},
		{line: "# just a comment", wantErr: true},
		{line: "deb http://x", wantErr: true},
		{line: "deb [arch=amd64 http://x bookworm main", wantErr: true},
		{line: "deb [noequals] http://x bookworm main", wantErr: true},
		{line: "deb file:/srv/repo ./ main", wantErr: true},
		{line: "rpm http://x y", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			got, err := ParseRepo(tc.line)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseRepo error = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("ParseRepo (-want +got):\n%s", d)
			}
			if got.Line() != tc.wantLine {
				t.Errorf("Line() = %q, want %q", got.Line(), tc.wantLine)
			}
		})
	}
}

func TestSourceFileFind(t *testing.T) {
	f := &SourceFile{Lines: []string{
		"# deb http://example.com/debian bookworm main (a comment that looks like a line)",
		"deb http://deb.debian.org/debian bookworm main",
		"deb [signed-by=/k.gpg] http://example.com/debian/ bookworm main",
	}}
	r, _ := ParseRepo("deb http://example.com/debian bookworm main contrib")
	if i := f.Find(r); i != 0 {
		t.Errorf("Find = %d, want 0 (the commented-out line is the same source)", i)
	}
	f.Lines = f.Lines[1:]
	if i := f.Find(r); i != 1 {
		t.Errorf("Find = %d, want 1 (options, components and a trailing slash do not matter)", i)
	}
	other, _ := ParseRepo("deb-src http://example.com/debian bookworm main")
	if i := f.Find(other); i != -1 {
		t.Errorf("Find(deb-src) = %d, want -1", i)
	}
	if !f.HasSources() || (&SourceFile{Lines: []string{"# only a comment", ""}}).HasSources() {
		t.Error("HasSources is wrong")
	}
}

// armor wraps data the way gpg --armor does (the CRC is not checked).
func armor(data []byte, headers bool) string {
	var b strings.Builder
	b.WriteString(ArmorHeader + "\n")
	if headers {
		b.WriteString("Comment: brine test key\n\n")
	} else {
		b.WriteString("\n")
	}
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 64 {
		b.WriteString(enc[:64] + "\n")
		enc = enc[64:]
	}
	b.WriteString(enc + "\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n")
	return b.String()
}

func TestKeyFile(t *testing.T) {
	binary := bytes.Repeat([]byte{0x99, 0x01, 0x0d, 0x04, 0xff}, 40)
	for _, headers := range []bool{true, false} {
		got, err := KeyFile("/etc/apt/keyrings/x.gpg", []byte(armor(binary, headers)))
		if err != nil || !bytes.Equal(got, binary) {
			t.Errorf("dearmor (headers %v) = %x, %v", headers, got, err)
		}
	}
	if got, err := KeyFile("/etc/apt/keyrings/x.gpg", binary); err != nil || !bytes.Equal(got, binary) {
		t.Errorf("binary key for .gpg = %v", err)
	}
	armored := armor(binary, true)
	if got, err := KeyFile("/etc/apt/keyrings/x.asc", []byte(armored)); err != nil || string(got) != armored {
		t.Errorf("armored key for .asc = %v", err)
	}
	if _, err := KeyFile("/etc/apt/keyrings/x.asc", binary); err == nil {
		t.Error("a binary key was accepted for a .asc keyring")
	}
	if _, err := KeyFile("/k.gpg", []byte(ArmorHeader+"\n\nnot base64!!\n-----END PGP PUBLIC KEY BLOCK-----\n")); err == nil {
		t.Error("invalid armor was accepted")
	}
}
