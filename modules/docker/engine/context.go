package engine

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/brine-cm/brine/api"
)

// BuildContext is the set of files an image build sends to the daemon: a
// directory under salt:// or on local disk, less what its .dockerignore
// excludes. Its Hash covers every path, mode and content, so a state can
// tell whether an image built from it is still current without building.
type BuildContext struct {
	// Source is the directory as the user named it, for messages.
	Source string
	// Hash is "sha256:<hex>" over the sorted entries.
	Hash    string
	entries []entry
}

type entry struct {
	rel  string // slash-separated, relative to the context root
	mode fs.FileMode
	hash string // content hash of a regular file, target of a symlink
	open func(ctx context.Context) (*os.File, error)
}

// ErrNotDirectory is returned for a build context that is not a directory.
var ErrNotDirectory = errors.New("build context is not a directory")

// SaltContext reads the build context below a salt:// directory. The file
// server's listing already carries each file's hash, so nothing is fetched
// until Tar is called.
func SaltContext(ctx context.Context, files api.FileClient, saltenv, dir, dockerfile string) (*BuildContext, error) {
	if files == nil {
		return nil, fmt.Errorf("salt://%s: no file server is configured", dir)
	}
	dir = strings.Trim(strings.TrimPrefix(dir, "salt://"), "/")
	list, err := files.List(ctx, saltenv, dir)
	if err != nil {
		return nil, fmt.Errorf("build context salt://%s: %w", dir, err)
	}
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	var entries []entry
	for _, fi := range list {
		rel, ok := strings.CutPrefix(fi.Path, prefix)
		if !ok || rel == "" {
			continue
		}
		e := entry{rel: rel, mode: fi.Mode}
		if !fi.Mode.IsDir() {
			e.hash = fi.Hash
			full := fi.Path
			e.open = func(ctx context.Context) (*os.File, error) {
				p, err := files.Cache(ctx, saltenv, full)
				if err != nil {
					return nil, err
				}
				return os.Open(p)
			}
		}
		entries = append(entries, e)
	}
	ignore, err := files.Read(ctx, saltenv, prefix+".dockerignore")
	if err != nil && !errors.Is(err, api.ErrFileNotFound) {
		return nil, fmt.Errorf("build context salt://%s: %w", dir, err)
	}
	return newContext("salt://"+dir, entries, ignore, dockerfile)
}

// LocalContext reads the build context below a local directory. Symlinks
// are sent as symlinks, as the Docker CLI does.
func LocalContext(dir, dockerfile string) (*BuildContext, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("build context %s: %w", dir, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("build context %s: %w", dir, ErrNotDirectory)
	}
	var entries []entry
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		e := entry{rel: filepath.ToSlash(rel), mode: fi.Mode()}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			e.hash = "link:" + target
		case fi.Mode().IsRegular():
			sum, err := hashFile(p)
			if err != nil {
				return err
			}
			e.hash = sum
			full := p
			e.open = func(context.Context) (*os.File, error) { return os.Open(full) }
		case fi.IsDir():
		default:
			return nil // sockets, devices: not part of a context
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("build context %s: %w", dir, err)
	}
	ignore, err := os.ReadFile(filepath.Join(dir, ".dockerignore"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("build context %s: %w", dir, err)
	}
	return newContext(dir, entries, ignore, dockerfile)
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func newContext(source string, entries []entry, ignore []byte, dockerfile string) (*BuildContext, error) {
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	rules, err := parseIgnore(ignore)
	if err != nil {
		return nil, fmt.Errorf("%s/.dockerignore: %w", source, err)
	}
	kept := entries[:0]
	for _, e := range entries {
		// Like the Docker CLI, the Dockerfile and .dockerignore are always
		// sent, whatever .dockerignore says.
		if e.rel == ".dockerignore" || e.rel == dockerfile || !rules.excluded(e.rel) {
			kept = append(kept, e)
		}
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].rel < kept[j].rel })
	h := sha256.New()
	for _, e := range kept {
		fmt.Fprintf(h, "%s\x00%o\x00%s\n", e.rel, uint32(e.mode.Perm())|typeBits(e.mode), e.hash)
	}
	return &BuildContext{Source: source, Hash: "sha256:" + hex.EncodeToString(h.Sum(nil)), entries: kept}, nil
}

func typeBits(m fs.FileMode) uint32 {
	switch {
	case m.IsDir():
		return 0o40000
	case m&fs.ModeSymlink != 0:
		return 0o120000
	}
	return 0o100000
}

// Has reports whether the context holds a file at rel.
func (b *BuildContext) Has(rel string) bool {
	for _, e := range b.entries {
		if e.rel == rel && !e.mode.IsDir() {
			return true
		}
	}
	return false
}

// tarEpoch is the modification time every entry gets, so that the same
// content always makes the same archive.
var tarEpoch = time.Unix(0, 0).UTC()

// Tar writes the context as the uncompressed tar archive the build API
// expects.
func (b *BuildContext) Tar(ctx context.Context, w io.Writer) error {
	tw := tar.NewWriter(w)
	for _, e := range b.entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr := &tar.Header{Name: e.rel, Mode: int64(e.mode.Perm()), ModTime: tarEpoch, Format: tar.FormatPAX}
		switch {
		case e.mode.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, e.rel+"/"
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
		case e.mode&fs.ModeSymlink != 0:
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, strings.TrimPrefix(e.hash, "link:")
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
		default:
			if err := writeFile(ctx, tw, hdr, e); err != nil {
				return fmt.Errorf("%s/%s: %w", b.Source, e.rel, err)
			}
		}
	}
	return tw.Close()
}

func writeFile(ctx context.Context, tw *tar.Writer, hdr *tar.Header, e entry) error {
	f, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, fi.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// ignoreRule is one line of a .dockerignore file.
type ignoreRule struct {
	re     *regexp.Regexp
	negate bool
}

type ignoreRules []ignoreRule

// parseIgnore reads .dockerignore the way Docker does: one pattern per
// line, '#' comments, a leading '!' re-includes, '**' matches any number of
// directories, and a pattern that matches a directory excludes what it
// holds. The last matching line wins.
func parseIgnore(b []byte) (ignoreRules, error) {
	var rules ignoreRules
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		negate := strings.HasPrefix(line, "!")
		line = strings.TrimSpace(strings.TrimPrefix(line, "!"))
		line = strings.TrimPrefix(path.Clean("/"+line), "/")
		if line == "" {
			continue
		}
		re, err := globRegexp(line)
		if err != nil {
			return nil, err
		}
		rules = append(rules, ignoreRule{re: re, negate: negate})
	}
	return rules, sc.Err()
}

func (rs ignoreRules) excluded(rel string) bool {
	out := false
	for _, r := range rs {
		if r.matches(rel) {
			out = !r.negate
		}
	}
	return out
}

// matches is true when the pattern names rel or one of its parents.
func (r ignoreRule) matches(rel string) bool {
	for p := rel; p != "." && p != ""; p = path.Dir(p) {
		if r.re.MatchString(p) {
			return true
		}
		if !strings.Contains(p, "/") {
			break
		}
	}
	return false
}

func globRegexp(pattern string) (*regexp.Regexp, error) {
	var sb strings.Builder
	sb.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch c {
		case '*':
			if i+1 < len(pattern) && pattern[i+1] == '*' {
				i++
				if i+1 < len(pattern) && pattern[i+1] == '/' {
					i++
					sb.WriteString("(?:.*/)?")
				} else {
					sb.WriteString(".*")
				}
			} else {
				sb.WriteString("[^/]*")
			}
		case '?':
			sb.WriteString("[^/]")
		case '[':
			end := strings.IndexByte(pattern[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("pattern %q: unterminated '['", pattern)
			}
			class := pattern[i+1 : i+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			sb.WriteString("[" + class + "]")
			i += end
		case '\\':
			if i+1 < len(pattern) {
				i++
				sb.WriteString(regexp.QuoteMeta(string(pattern[i])))
			}
		default:
			sb.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	sb.WriteString("$")
	re, err := regexp.Compile(sb.String())
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", pattern, err)
	}
	return re, nil
}
