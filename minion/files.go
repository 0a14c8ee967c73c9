package minion

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/bus"
	"github.com/brine-cm/brine/fileserver"
)

// fileClient fetches salt:// files from the master and keeps them under
// <state dir>/cache/files/<saltenv>/<path>. A file is fetched only when the
// master's sha256 differs from the cached copy's, so a highstate whose
// files did not change transfers none of them: one stat per file and job.
type fileClient struct {
	a   *Agent
	dir string

	mu    sync.Mutex
	local map[string]localFile
}

// localFile remembers a cached copy's hash by size and modification time.
type localFile struct {
	size  int64
	mtime time.Time
	hash  string
}

// forJob returns the client one job uses: it remembers what the master said
// about each path for the rest of the job, so that an SLS tree that reads a
// file several times asks once.
func (f *fileClient) forJob() api.FileClient {
	return &jobFiles{fc: f, stats: map[string]api.FileInfo{}}
}

type jobFiles struct {
	fc    *fileClient
	mu    sync.Mutex
	stats map[string]api.FileInfo
}

var _ api.FileClient = (*jobFiles)(nil)

// checkEnv refuses a saltenv that cannot be a directory name.
func checkEnv(saltenv string) (string, error) {
	if saltenv == "" {
		return "base", nil
	}
	if strings.ContainsAny(saltenv, "/\\\x00") || saltenv == "." || saltenv == ".." {
		return "", fmt.Errorf("saltenv %q: %w", saltenv, api.ErrPathEscapes)
	}
	return saltenv, nil
}

// Stat implements api.FileClient.
func (j *jobFiles) Stat(ctx context.Context, saltenv, p string) (api.FileInfo, error) {
	env, err := checkEnv(saltenv)
	if err != nil {
		return api.FileInfo{}, err
	}
	rel, err := fileserver.Clean(p)
	if err != nil {
		return api.FileInfo{}, err
	}
	key := env + "\x00" + rel
	j.mu.Lock()
	fi, ok := j.stats[key]
	j.mu.Unlock()
	if ok {
		return fi, nil
	}
	var rep bus.FileStatReply
	if err := j.fc.a.request(ctx, bus.OpFileStat, bus.FileRequest{Saltenv: env, Path: rel}, &rep, 0); err != nil {
		return api.FileInfo{}, err
	}
	fi = rep.Info.Info()
	j.mu.Lock()
	j.stats[key] = fi
	j.mu.Unlock()
	return fi, nil
}

// List implements api.FileClient.
func (j *jobFiles) List(ctx context.Context, saltenv, dir string) ([]api.FileInfo, error) {
	env, err := checkEnv(saltenv)
	if err != nil {
		return nil, err
	}
	rel, err := fileserver.Clean(dir)
	if err != nil {
		return nil, err
	}
	var rep bus.FileListReply
	if err := j.fc.a.request(ctx, bus.OpFileList, bus.FileRequest{Saltenv: env, Path: rel}, &rep, 0); err != nil {
		return nil, err
	}
	out := make([]api.FileInfo, 0, len(rep.Files))
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, w := range rep.Files {
		fi := w.Info()
		if _, err := fileserver.Clean(fi.Path); err != nil {
			continue // the master never sends such a path; do not trust it either
		}
		out = append(out, fi)
		j.stats[env+"\x00"+fi.Path] = fi
	}
	return out, nil
}

// Read implements api.FileClient.
func (j *jobFiles) Read(ctx context.Context, saltenv, p string) ([]byte, error) {
	local, err := j.Cache(ctx, saltenv, p)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(local)
	if err != nil {
		return nil, fmt.Errorf("read cached salt://%s: %w", p, err)
	}
	return b, nil
}

// Cache implements api.FileClient.
func (j *jobFiles) Cache(ctx context.Context, saltenv, p string) (string, error) {
	fi, err := j.Stat(ctx, saltenv, p)
	if err != nil {
		return "", err
	}
	env, _ := checkEnv(saltenv)
	rel, _ := fileserver.Clean(p)
	if fi.Mode.IsDir() {
		return "", fmt.Errorf("salt://%s is a directory", rel)
	}
	local := filepath.Join(j.fc.dir, env, filepath.FromSlash(rel))
	if h, err := j.fc.localHash(local); err == nil && h == fi.Hash {
		return local, nil
	}
	if err := j.fc.fetch(ctx, env, rel, local, fi.Hash); err != nil {
		return "", err
	}
	return local, nil
}

func (f *fileClient) localHash(local string) (string, error) {
	st, err := os.Stat(local)
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", local)
	}
	f.mu.Lock()
	e, ok := f.local[local]
	f.mu.Unlock()
	if ok && e.size == st.Size() && e.mtime.Equal(st.ModTime()) {
		return e.hash, nil
	}
	h, err := hashFile(local)
	if err != nil {
		return "", err
	}
	f.remember(local, st, h)
	return h, nil
}

func (f *fileClient) remember(local string, st fs.FileInfo, hash string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.local == nil {
		f.local = map[string]localFile{}
	}
	f.local[local] = localFile{size: st.Size(), mtime: st.ModTime(), hash: hash}
}

func hashFile(name string) (string, error) {
	fh, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// fetch downloads salt://rel in chunks into a temporary file beside local,
// checks its sha256 against what the master announced, and renames it into
// place.
func (f *fileClient) fetch(ctx context.Context, env, rel, local, want string) error {
	if err := os.MkdirAll(filepath.Dir(local), 0o700); err != nil {
		return fmt.Errorf("cache salt://%s: %w", rel, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(local), ".fetch-*")
	if err != nil {
		return fmt.Errorf("cache salt://%s: %w", rel, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	var off int64
	var hash string
	for {
		var rep bus.FileReadReply
		if err := f.a.request(ctx, bus.OpFileRead, bus.FileRequest{Saltenv: env, Path: rel, Offset: off, Size: bus.FileChunk}, &rep, 0); err != nil {
			return err
		}
		if _, err := tmp.Write(rep.Data); err != nil {
			return fmt.Errorf("cache salt://%s: %w", rel, err)
		}
		h.Write(rep.Data)
		off += int64(len(rep.Data))
		hash = rep.Hash
		if rep.EOF {
			break
		}
		if len(rep.Data) == 0 || off > rep.Size {
			return fmt.Errorf("fetch salt://%s: the master sent no data at offset %d of %d", rel, off, rep.Size)
		}
	}
	got := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if got != hash || (want != "" && got != want) {
		return fmt.Errorf("fetch salt://%s: checksum mismatch (got %s, the master announced %s): the file changed during the transfer or was corrupted", rel, got, hash)
	}
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("cache salt://%s: %w", rel, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cache salt://%s: %w", rel, err)
	}
	if err := os.Rename(tmp.Name(), local); err != nil {
		return fmt.Errorf("cache salt://%s: %w", rel, err)
	}
	if st, err := os.Stat(local); err == nil {
		f.remember(local, st, got)
	}
	f.a.log.Info("fetched a file from the master", "path", "salt://"+rel, "saltenv", env, "bytes", off)
	return nil
}
