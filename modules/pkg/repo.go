package pkg

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// SourcesList and SourcesDir are where apt reads one-line sources.
const (
	SourcesList = "/etc/apt/sources.list"
	SourcesDir  = "/etc/apt/sources.list.d"
	// KeyringDir is where pkgrepo.managed stores keys given by key_url or
	// key_text, referenced with signed-by (apt-key is gone from Debian).
	KeyringDir = "/etc/apt/keyrings"
)

// Repo is one source line: `[# ]deb [opt=value ...] URI SUITE [COMPONENT...]`.
type Repo struct {
	Type string // deb or deb-src
	// Options are the bracketed options, e.g. signed-by, arch, trusted.
	Options    map[string]string
	URI        string
	Suite      string
	Components []string
	Disabled   bool
}

// ParseRepo reads a source line; a line commented out with "#" is a
// disabled repository.
func ParseRepo(line string) (Repo, error) {
	s := strings.TrimSpace(line)
	var r Repo
	if strings.HasPrefix(s, "#") {
		r.Disabled = true
		s = strings.TrimSpace(strings.TrimLeft(s, "#"))
	}
	typ, rest, _ := strings.Cut(s, " ")
	if typ != "deb" && typ != "deb-src" {
		return Repo{}, fmt.Errorf("%q is not an apt source line (deb or deb-src URI SUITE [COMPONENT...])", line)
	}
	r.Type = typ
	rest = strings.TrimSpace(rest)
	r.Options = map[string]string{}
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return Repo{}, fmt.Errorf("%q: unclosed option bracket", line)
		}
		for _, opt := range strings.Fields(rest[1:end]) {
			k, v, ok := strings.Cut(opt, "=")
			if !ok {
				return Repo{}, fmt.Errorf("%q: option %q is not key=value", line, opt)
			}
			r.Options[k] = v
		}
		rest = rest[end+1:]
	}
	f := strings.Fields(rest)
	if len(f) < 2 {
		return Repo{}, fmt.Errorf("%q: a source line needs a URI and a suite", line)
	}
	r.URI, r.Suite, r.Components = f[0], f[1], f[2:]
	if strings.HasSuffix(r.Suite, "/") && len(r.Components) > 0 {
		return Repo{}, fmt.Errorf("%q: a flat repository (suite ending in /) takes no components", line)
	}
	return r, nil
}

// Line writes the repository as apt reads it, options sorted.
func (r Repo) Line() string {
	var b strings.Builder
	if r.Disabled {
		b.WriteString("# ")
	}
	b.WriteString(r.Type)
	if len(r.Options) > 0 {
		keys := make([]string, 0, len(r.Options))
		for k := range r.Options {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString(" [")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(" ")
			}
			b.WriteString(k + "=" + r.Options[k])
		}
		b.WriteString("]")
	}
	b.WriteString(" " + r.URI + " " + r.Suite)
	for _, c := range r.Components {
		b.WriteString(" " + c)
	}
	return b.String()
}

// Same reports whether two lines name the same source (type, URI, suite),
// whatever their options, components or enabled state.
func (r Repo) Same(o Repo) bool {
	return r.Type == o.Type && strings.TrimSuffix(r.URI, "/") == strings.TrimSuffix(o.URI, "/") && r.Suite == o.Suite
}

// Equal reports whether two lines configure a source identically.
func (r Repo) Equal(o Repo) bool { return r.Line() == o.Line() }

// SourceFile is a sources.list style file: its lines, and which of them
// are repositories.
type SourceFile struct {
	Path  string
	Lines []string
}

// ReadSourceFile reads a sources file; a missing file is empty.
func ReadSourceFile(path string) (*SourceFile, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &SourceFile{Path: path}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	f := &SourceFile{Path: path}
	if len(b) > 0 {
		f.Lines = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
	return f, nil
}

// Render is the file's text.
func (f *SourceFile) Render() string {
	if len(f.Lines) == 0 {
		return ""
	}
	return strings.Join(f.Lines, "\n") + "\n"
}

// Find returns the index of the first line for the same source as r, or -1.
// Plain comments (not a commented-out source line) never match.
func (f *SourceFile) Find(r Repo) int {
	for i, l := range f.Lines {
		if got, err := ParseRepo(l); err == nil && got.Same(r) {
			return i
		}
	}
	return -1
}

// HasSources reports whether any enabled or disabled source line remains.
func (f *SourceFile) HasSources() bool {
	for _, l := range f.Lines {
		if _, err := ParseRepo(l); err == nil {
			return true
		}
	}
	return false
}

// SourceFiles lists sources.list and the .list files in sources.list.d.
func SourceFiles() []string {
	out := []string{SourcesList}
	matches, _ := filepath.Glob(filepath.Join(SourcesDir, "*.list"))
	sort.Strings(matches)
	return append(out, matches...)
}

// ArmorHeader starts an ASCII-armored OpenPGP key.
const ArmorHeader = "-----BEGIN PGP PUBLIC KEY BLOCK-----"

// Dearmor turns an ASCII-armored OpenPGP key into the binary form apt
// expects in a .gpg keyring; binary input is returned as is.
func Dearmor(key []byte) ([]byte, error) {
	text := string(bytes.TrimSpace(key))
	if !strings.HasPrefix(text, ArmorHeader) {
		return key, nil
	}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var body strings.Builder
	inBody := false
	for _, l := range lines[1:] {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "-----END"):
			b, err := base64.StdEncoding.DecodeString(body.String())
			if err != nil {
				return nil, fmt.Errorf("the key's armor is not valid base64: %w", err)
			}
			return b, nil
		case !inBody:
			if l == "" {
				inBody = true // headers end at the first blank line
			} else if !strings.Contains(l, ":") {
				inBody = true // no headers at all
				body.WriteString(l)
			}
		case strings.HasPrefix(l, "="):
			// the CRC24 checksum line
		default:
			body.WriteString(l)
		}
	}
	return nil, errors.New("the armored key has no END line")
}

// KeyFile returns what a keyring file at path must contain for key: the
// key as given for ".asc", binary for anything else.
func KeyFile(path string, key []byte) ([]byte, error) {
	if strings.HasSuffix(path, ".asc") {
		if !strings.HasPrefix(strings.TrimSpace(string(key)), ArmorHeader) {
			return nil, fmt.Errorf("%s ends in .asc but the key is not ASCII-armored", path)
		}
		return key, nil
	}
	return Dearmor(key)
}
