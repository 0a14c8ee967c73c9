package host

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/brine-cm/brine/modules/plugin"
)

// fingerprint says whether a file may have changed since it was hashed,
// without reading it: a synced plugin is renamed into place, so its inode
// and change time differ even when size and mtime happen to match.
type fingerprint struct {
	Size  int64       `json:"size"`
	MTime int64       `json:"mtime_ns"`
	Mode  fs.FileMode `json:"mode"`
	Inode uint64      `json:"inode,omitempty"`
	CTime int64       `json:"ctime_ns,omitempty"`
}

func fingerprintOf(fi fs.FileInfo) fingerprint {
	ino, ctime := sysStat(fi)
	return fingerprint{Size: fi.Size(), MTime: fi.ModTime().UnixNano(), Mode: fi.Mode(), Inode: ino, CTime: ctime}
}

// hashFile returns the hex sha256 of a file's content.
func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// infoCache keeps each plugin binary's Info by its sha256, and each path's
// fingerprint and hash, so that a host start registers every plugin's
// functions by reading one small file: no plugin starts and no binary is
// hashed unless it changed.
type infoCache struct {
	Version int                     `json:"version"`
	Files   map[string]cachedFile   `json:"files"`
	Infos   map[string]*plugin.Info `json:"infos"`
	dirty   bool
}

type cachedFile struct {
	fingerprint
	SHA256 string `json:"sha256"`
}

const cacheVersion = 1

func loadCache(path string) *infoCache {
	c := &infoCache{Version: cacheVersion, Files: map[string]cachedFile{}, Infos: map[string]*plugin.Info{}}
	if path == "" {
		return c
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return c
	}
	var disk infoCache
	if json.Unmarshal(b, &disk) != nil || disk.Version != cacheVersion {
		c.dirty = true // rewrite a damaged or older cache
		return c
	}
	if disk.Files != nil {
		c.Files = disk.Files
	}
	if disk.Infos != nil {
		c.Infos = disk.Infos
	}
	return c
}

// hash returns path's sha256, from the cache when the fingerprint matches.
func (c *infoCache) hash(path string, fp fingerprint) (string, error) {
	if f, ok := c.Files[path]; ok && f.fingerprint == fp && f.SHA256 != "" {
		return f.SHA256, nil
	}
	sum, err := hashFile(path)
	if err != nil {
		return "", err
	}
	c.Files[path] = cachedFile{fingerprint: fp, SHA256: sum}
	c.dirty = true
	return sum, nil
}

func (c *infoCache) info(sum string) *plugin.Info {
	info := c.Infos[sum]
	if info == nil || info.Check() != nil {
		return nil
	}
	return info
}

func (c *infoCache) put(sum string, info *plugin.Info) {
	c.Infos[sum] = info
	c.dirty = true
}

// prune forgets files that are gone and infos no file refers to.
func (c *infoCache) prune(seen map[string]bool) {
	used := map[string]bool{}
	for p, f := range c.Files {
		if !seen[p] {
			delete(c.Files, p)
			c.dirty = true
			continue
		}
		used[f.SHA256] = true
	}
	for sum := range c.Infos {
		if !used[sum] {
			delete(c.Infos, sum)
			c.dirty = true
		}
	}
}

// save writes the cache atomically when it changed.
func (c *infoCache) save(path string) error {
	if path == "" || !c.dirty {
		return nil
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("plugin info cache: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".plugin-info-*")
	if err != nil {
		return fmt.Errorf("plugin info cache: %w", err)
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("plugin info cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("plugin info cache: %w", err)
	}
	c.dirty = false
	return nil
}
