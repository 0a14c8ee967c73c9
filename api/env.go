package api

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
)

// Env is the host a module runs against: who this minion is, what it knows
// about itself and its pillar, and how it reaches salt:// files. The engine
// builds one per run; the masterless CLI and the minion agent fill it from
// different sources, and modules cannot tell which.
type Env struct {
	// ID is the minion ID (Salt's opts['id']).
	ID string
	// Saltenv is the file server environment, "base" unless asked otherwise.
	Saltenv string
	Grains  map[string]any
	Pillar  map[string]any
	// Opts is the minion configuration as Salt exposes it to templates.
	Opts map[string]any
	// Files serves salt:// URLs; nil when no file server is configured.
	Files FileClient
	// Log receives module diagnostics; never nil once the engine has set it up.
	Log *slog.Logger
	// Exec calls an execution module by name, as salt['mod.fn'](...) does.
	// It is set by the engine so that modules can call each other without
	// importing the registry's users.
	Exec func(ctx context.Context, fun string, args []any, kwargs map[string]any) (any, error)
}

// Logger returns the environment's logger, or a discarding one.
func (e *Env) Logger() *slog.Logger {
	if e == nil || e.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Log
}

// ErrFileNotFound is returned by a FileClient for a salt:// path that does
// not exist in the requested environment.
var ErrFileNotFound = errors.New("file not found")

// ErrPathEscapes is returned for a salt:// path that would leave its root
// (`..`, absolute, NUL, or a symlink pointing outside).
var ErrPathEscapes = errors.New("path leaves the file root")

// FileInfo describes one entry under a salt:// directory.
type FileInfo struct {
	// Path is the slash-separated path relative to the file root.
	Path string
	Mode fs.FileMode
	// Hash is "sha256:<hex>" for regular files, empty for directories.
	Hash string
	Size int64
}

// FileClient fetches salt:// files. Paths are relative to the file root,
// slash-separated and without the salt:// prefix. A masterless run reads the
// local file_roots; a minion fetches from the master and caches by hash.
type FileClient interface {
	// Read returns a file's content.
	Read(ctx context.Context, saltenv, path string) ([]byte, error)
	// Cache makes the file available on local disk and returns its path,
	// which the caller must treat as read-only.
	Cache(ctx context.Context, saltenv, path string) (string, error)
	// Stat describes one file or directory.
	Stat(ctx context.Context, saltenv, path string) (FileInfo, error)
	// List returns every file and directory below dir (recursively, dir
	// itself excluded), sorted by path.
	List(ctx context.Context, saltenv, dir string) ([]FileInfo, error)
}
