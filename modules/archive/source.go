package archive

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/internal/platform"
	"github.com/brine-cm/brine/states/file/fsx"
)

// Sum is a parsed source_hash: a hash type and a lower-case hex digest.
type Sum struct {
	Form, Digest string
}

func (s Sum) String() string { return s.Form + "=" + s.Digest }

// ParseSum reads "sha256=<hex>" (or "sha256:<hex>"), or a bare hex digest
// whose type its length tells. A salt://, file:// or absolute path, or an
// http(s) URL, names a file of hashes instead; ReadSum handles those.
func ParseSum(spec string) (Sum, error) {
	spec = strings.TrimSpace(spec)
	for _, sep := range []string{"=", ":"} {
		if form, digest, ok := strings.Cut(spec, sep); ok {
			form, digest = strings.ToLower(strings.TrimSpace(form)), strings.ToLower(strings.TrimSpace(digest))
			if _, err := fsx.NewHash(form); err != nil {
				return Sum{}, fmt.Errorf("source_hash %q: %w", spec, err)
			}
			if fsx.FormForHex(digest) != form {
				return Sum{}, fmt.Errorf("source_hash %q: %q is not a %s digest", spec, digest, form)
			}
			return Sum{form, digest}, nil
		}
	}
	if form := fsx.FormForHex(spec); form != "" {
		return Sum{form, strings.ToLower(spec)}, nil
	}
	return Sum{}, fmt.Errorf("source_hash %q: expected <type>=<hex digest>, a bare hex digest or a file of hashes", spec)
}

// SumFromList picks the digest for sourceName from a file of hashes as
// sha256sum writes it: the line naming the file, else the only digest.
func SumFromList(text, sourceName string) (Sum, error) {
	base := path.Base(sourceName)
	var only []string
	for _, line := range strings.Split(text, "\n") {
		var digest string
		named := false
		for _, f := range strings.Fields(line) {
			f = strings.TrimPrefix(f, "*")
			if digest == "" && fsx.FormForHex(f) != "" {
				digest = f
			} else if path.Base(f) == base {
				named = true
			}
		}
		if digest == "" {
			continue
		}
		if named {
			return Sum{fsx.FormForHex(digest), strings.ToLower(digest)}, nil
		}
		only = append(only, digest)
	}
	if len(only) == 1 {
		return Sum{fsx.FormForHex(only[0]), strings.ToLower(only[0])}, nil
	}
	return Sum{}, fmt.Errorf("the source_hash file has no hash for %s", base)
}

// isLocation tells a source_hash that names a file from a digest.
func isLocation(s string) bool {
	return strings.Contains(s, "://") || filepath.IsAbs(s)
}

// ReadSum resolves a source_hash of any form for the source.
func ReadSum(ctx context.Context, env *api.Env, spec, source string) (Sum, error) {
	if !isLocation(spec) {
		return ParseSum(spec)
	}
	p, cleanup, err := platform.Fetch(ctx, env, spec)
	if err != nil {
		return Sum{}, fmt.Errorf("source_hash: %w", err)
	}
	defer cleanup()
	b, err := os.ReadFile(p)
	if err != nil {
		return Sum{}, fmt.Errorf("source_hash: %w", err)
	}
	return SumFromList(string(b), source)
}

// Verify checks a local file against the sum.
func (s Sum) Verify(file, source string) error {
	got, err := fsx.HashFile(s.Form, file)
	if err != nil {
		return err
	}
	if got != s.Digest {
		return fmt.Errorf("%s does not match the desired source_hash %s (its %s is %s)", source, s.Digest, s.Form, got)
	}
	return nil
}
