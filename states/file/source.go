package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states/file/fsx"
)

// missingSource is a source that does not exist, so that a list of sources
// can move on to the next one; its text is Salt's comment.
type missingSource struct{ msg string }

func (e *missingSource) Error() string { return e.msg }

func isMissing(err error) bool {
	var m *missingSource
	return errors.As(err, &m)
}

// sourceRef is one entry of a source argument.
type sourceRef struct {
	raw  string // as written, for messages
	hash string // per-source hash from the {url: hash} list form
}

// parseSources reads `source`: a string, or a list whose items are strings
// or one-key mappings {url: source_hash}.
func parseSources(v any) ([]sourceRef, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		if x == "" {
			return nil, nil
		}
		return []sourceRef{{raw: x}}, nil
	case []any:
		var out []sourceRef
		for i, item := range x {
			switch it := item.(type) {
			case string:
				out = append(out, sourceRef{raw: it})
			case map[string]any:
				if len(it) != 1 {
					return nil, fmt.Errorf("source[%d]: a mapping must have exactly one key, the source", i)
				}
				for k, h := range it {
					hs, _ := api.ScalarString(h)
					out = append(out, sourceRef{raw: k, hash: hs})
				}
			default:
				return nil, fmt.Errorf("source[%d]: expected a string or a {source: hash} mapping", i)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("source: expected a string or a list, got %T", v)
}

// location is a source resolved to where it is read from.
type location struct {
	saltPath string // salt:// path relative to the root, "" for local files
	saltenv  string
	local    string // absolute local path
}

// renderPath is the path a template names in its errors and resolves
// relative imports against.
func (l location) renderPath() string {
	if l.saltPath != "" {
		return l.saltPath
	}
	return l.local
}

func (l location) String() string {
	if l.saltPath != "" {
		return "salt://" + l.saltPath
	}
	return l.local
}

// resolveSource parses salt://path[?saltenv=x], file:///path and /path.
func resolveSource(raw, saltenv string) (location, error) {
	switch {
	case strings.HasPrefix(raw, "salt://"):
		rest := strings.TrimPrefix(raw, "salt://")
		env := saltenv
		if p, q, ok := strings.Cut(rest, "?"); ok {
			vals, err := url.ParseQuery(q)
			if err != nil {
				return location{}, fmt.Errorf("source %s: %w", raw, err)
			}
			if e := vals.Get("saltenv"); e != "" {
				env = e
			}
			rest = p
		}
		return location{saltPath: strings.TrimPrefix(path.Clean("/"+rest), "/"), saltenv: env}, nil
	case strings.HasPrefix(raw, "file://"):
		p := strings.TrimPrefix(raw, "file://")
		if !filepath.IsAbs(p) {
			return location{}, fmt.Errorf("source %s: a file:// URL needs an absolute path", raw)
		}
		return location{local: p}, nil
	case filepath.IsAbs(raw):
		return location{local: raw}, nil
	case strings.Contains(raw, "://"):
		return location{}, fmt.Errorf("source %s: only salt://, file:// and absolute local paths are supported", raw)
	}
	return location{}, fmt.Errorf("source %s: not a salt:// URL or an absolute path", raw)
}

// read fetches a source's bytes; a missing one is a *missingSource.
func (l location) read(ctx context.Context, env *api.Env) ([]byte, error) {
	if l.saltPath == "" {
		b, err := os.ReadFile(l.local)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &missingSource{fmt.Sprintf("source file %s not found", l.local)}
		}
		if err != nil {
			return nil, fmt.Errorf("read source %s: %w", l.local, err)
		}
		return b, nil
	}
	if env == nil || env.Files == nil {
		return nil, fmt.Errorf("source %s: no salt:// file server is configured", l)
	}
	b, err := env.Files.Read(ctx, l.saltenv, l.saltPath)
	if errors.Is(err, api.ErrFileNotFound) {
		return nil, &missingSource{fmt.Sprintf("source file %s not found in saltenv '%s'", l, l.saltenv)}
	}
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", l, err)
	}
	return b, nil
}

// fetchFirst reads the first source that exists.
func fetchFirst(ctx context.Context, env *api.Env, refs []sourceRef) ([]byte, location, sourceRef, error) {
	saltenv := saltenvOf(env)
	var tried []string
	var lastErr error
	for _, ref := range refs {
		loc, err := resolveSource(ref.raw, saltenv)
		if err != nil {
			return nil, location{}, ref, err
		}
		b, err := loc.read(ctx, env)
		if isMissing(err) {
			tried = append(tried, ref.raw)
			lastErr = err
			continue
		}
		if err != nil {
			return nil, loc, ref, err
		}
		return b, loc, ref, nil
	}
	if len(refs) == 1 {
		return nil, location{}, refs[0], lastErr
	}
	return nil, location{}, sourceRef{}, &missingSource{fmt.Sprintf("none of the specified sources were found (%s)", strings.Join(tried, ", "))}
}

func saltenvOf(env *api.Env) string {
	if env == nil || env.Saltenv == "" {
		return "base"
	}
	return env.Saltenv
}

// sourceSum is a parsed source_hash.
type sourceSum struct {
	form, digest string
}

// parseSourceHash reads `sha256=<hex>`, `md5:<hex>`, a bare hex digest
// (its type guessed from its length), or a salt:// / local file of hashes
// in which the line naming the source's file name wins (`<hex>  name`, as
// sha256sum prints), else the only digest in it.
func parseSourceHash(ctx context.Context, env *api.Env, spec, sourceName string) (sourceSum, error) {
	spec = strings.TrimSpace(spec)
	if strings.HasPrefix(spec, "salt://") || strings.HasPrefix(spec, "file://") || filepath.IsAbs(spec) {
		loc, err := resolveSource(spec, saltenvOf(env))
		if err != nil {
			return sourceSum{}, err
		}
		b, err := loc.read(ctx, env)
		if err != nil {
			return sourceSum{}, fmt.Errorf("source_hash file: %w", err)
		}
		return hashFromFile(string(b), spec, sourceName)
	}
	for _, sep := range []string{"=", ":"} {
		if form, digest, ok := strings.Cut(spec, sep); ok {
			form = strings.ToLower(strings.TrimSpace(form))
			digest = strings.ToLower(strings.TrimSpace(digest))
			if _, err := fsx.NewHash(form); err != nil {
				return sourceSum{}, fmt.Errorf("source_hash %q: %w", spec, err)
			}
			if fsx.FormForHex(digest) != form {
				return sourceSum{}, fmt.Errorf("source_hash %q: %q is not a %s digest", spec, digest, form)
			}
			return sourceSum{form, digest}, nil
		}
	}
	if form := fsx.FormForHex(spec); form != "" {
		return sourceSum{form, strings.ToLower(spec)}, nil
	}
	return sourceSum{}, fmt.Errorf("source_hash %q: expected <type>=<hex digest>, a bare hex digest or a file of hashes", spec)
}

func hashFromFile(text, spec, sourceName string) (sourceSum, error) {
	base := path.Base(sourceName)
	var only []string
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		var digest string
		named := false
		for _, f := range fields {
			f = strings.TrimPrefix(f, "*") // sha256sum's binary-mode marker
			if fsx.FormForHex(f) != "" && digest == "" {
				digest = f
			} else if f == base || path.Base(f) == base {
				named = true
			}
		}
		if digest == "" {
			continue
		}
		if named {
			return sourceSum{fsx.FormForHex(digest), strings.ToLower(digest)}, nil
		}
		only = append(only, digest)
	}
	if len(only) == 1 {
		return sourceSum{fsx.FormForHex(only[0]), strings.ToLower(only[0])}, nil
	}
	return sourceSum{}, fmt.Errorf("source_hash file %s has no hash for %s", spec, base)
}

// verify checks data against the sum; the message names both digests.
func (s sourceSum) verify(data []byte, what string) error {
	got, err := fsx.HashBytes(s.form, data)
	if err != nil {
		return err
	}
	if got != s.digest {
		return fmt.Errorf("specified %s checksum for %s (%s) does not match actual checksum (%s)", s.form, what, s.digest, got)
	}
	return nil
}
