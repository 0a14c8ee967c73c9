package platform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/brine-cm/brine/api"
)

// DownloadTimeout bounds an http(s) download.
const DownloadTimeout = 30 * time.Minute

// Fetch makes source available as a local file: a salt:// path from the
// file server, a local path (or file:// URL) as it is, an http(s) URL
// downloaded to a temporary file. cleanup removes what Fetch created.
func Fetch(ctx context.Context, env *api.Env, source string) (local string, cleanup func(), err error) {
	nothing := func() {}
	switch {
	case strings.HasPrefix(source, "salt://"):
		if env == nil || env.Files == nil {
			return "", nothing, errors.New("no file server is configured for " + source)
		}
		rel, saltenv := strings.TrimPrefix(source, "salt://"), env.Saltenv
		if r, q, ok := strings.Cut(rel, "?"); ok {
			rel = r
			if v, err := url.ParseQuery(q); err == nil && v.Get("saltenv") != "" {
				saltenv = v.Get("saltenv")
			}
		}
		if saltenv == "" {
			saltenv = "base"
		}
		p, err := env.Files.Cache(ctx, saltenv, rel)
		if err != nil {
			return "", nothing, fmt.Errorf("%s: %w", source, err)
		}
		return p, nothing, nil
	case strings.HasPrefix(source, "file://"):
		source = strings.TrimPrefix(source, "file://")
		fallthrough
	case filepath.IsAbs(source):
		if _, err := os.Stat(source); err != nil {
			return "", nothing, fmt.Errorf("source file %s: %w", source, err)
		}
		return source, nothing, nil
	case strings.HasPrefix(source, "http://"), strings.HasPrefix(source, "https://"):
		return download(ctx, source)
	}
	return "", nothing, fmt.Errorf("unsupported source %q: use salt://, an absolute path, file:// or http(s)://", source)
}

func download(ctx context.Context, source string) (string, func(), error) {
	nothing := func() {}
	ctx, cancel := context.WithTimeout(ctx, DownloadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, source, nil)
	if err != nil {
		return "", nothing, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", nothing, fmt.Errorf("download %s: %w", source, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", nothing, fmt.Errorf("download %s: %s", source, resp.Status)
	}
	dir, err := os.MkdirTemp("", "brine-download-")
	if err != nil {
		return "", nothing, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	p := filepath.Join(dir, path.Base(req.URL.Path))
	f, err := os.Create(p)
	if err != nil {
		cleanup()
		return "", nothing, err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		cleanup()
		return "", nothing, fmt.Errorf("download %s: %w", source, err)
	}
	if err := f.Close(); err != nil {
		cleanup()
		return "", nothing, err
	}
	return p, cleanup, nil
}
