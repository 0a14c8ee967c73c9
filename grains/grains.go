// Package grains collects the facts a minion knows about itself (Salt's
// core grains: os, os_family, osrelease, kernel, cpuarch, ipv4, fqdn,
// virtual ...) and merges the static grains from the minion configuration
// over them.
//
// The collectors are a closed set, listed in collectors(); each reads a few
// files under /proc, /sys and /etc or makes a system call, never runs a
// program, is bounded by a deadline and, when it fails, is logged and left
// out rather than failing the whole collection. A full collection takes a
// fraction of a millisecond (BenchmarkCollect).
package grains

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"
)

// Options tells Collect who the minion is and what the configuration says.
type Options struct {
	// ID is the minion ID (the `id` grain). Empty means the fqdn grain,
	// Salt's default minion ID.
	ID string
	// Static holds the `grains:` section of the minion configuration. It is
	// deep-merged over the collected grains: a static value wins, a static
	// mapping is merged key by key into a collected mapping.
	Static map[string]any
	// Log receives one line per collector that failed or ran out of time;
	// nil discards.
	Log *slog.Logger
	// Timeout bounds the whole collection; collectors still running when it
	// expires are left out. Zero means DefaultTimeout.
	Timeout time.Duration
}

// DefaultTimeout bounds a collection when Options.Timeout is zero. The
// collectors normally finish in well under a millisecond; the bound is for
// a hung /proc or NSS lookup.
const DefaultTimeout = 2 * time.Second

// Collect gathers the grains of this host. It never fails: a collector that
// errs or hangs is logged and its grains are missing.
func Collect(ctx context.Context, opts Options) map[string]any {
	return collect(ctx, opts, liveHost())
}

// collector fills g with the grains it knows. Returning an error logs it;
// whatever was put in g before the error is kept.
type collector struct {
	name string
	fn   func(ctx context.Context, h *host, g map[string]any) error
}

// collectors is the closed list of grain sources, in merge order: when two
// collectors set the same grain, the later one wins.
func collectors() []collector {
	return []collector{
		{"kernel", kernelGrains},
		{"os", osGrains},
		{"cpu", cpuGrains},
		{"memory", memGrains},
		{"hardware", hardwareGrains},
		{"virtual", virtualGrains},
		{"init", initGrains},
		{"network", networkGrains},
		{"hostname", hostnameGrains},
		{"machine_id", machineIDGrains},
		{"user", userGrains},
		{"process", processGrains},
	}
}

type result struct {
	idx    int
	grains map[string]any
	err    error
}

func collect(ctx context.Context, opts Options, h *host) map[string]any {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	list := collectors()
	// Buffered so that a collector finishing after the deadline does not
	// block forever on its send.
	results := make(chan result, len(list))
	for i, c := range list {
		go func() {
			g := map[string]any{}
			var err error
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
				}
				results <- result{idx: i, grains: g, err: err}
			}()
			err = c.fn(ctx, h, g)
		}()
	}
	parts := make([]map[string]any, len(list))
	pending := len(list)
wait:
	for pending > 0 {
		select {
		case r := <-results:
			pending--
			if r.err != nil {
				log.Warn("grain collector failed", "collector", list[r.idx].name, "err", r.err)
			}
			parts[r.idx] = r.grains
		case <-ctx.Done():
			break wait
		}
	}
	grains := map[string]any{}
	for i, p := range parts {
		if p == nil {
			log.Warn("grain collector timed out", "collector", list[i].name, "timeout", timeout)
			continue
		}
		maps.Copy(grains, p)
	}
	derive(grains, opts.ID)
	mergeDeep(grains, opts.Static)
	return grains
}

// derive sets the grains computed from other collectors' results.
func derive(g map[string]any, id string) {
	if id == "" {
		id, _ = g["fqdn"].(string)
	}
	g["id"] = id
	// Salt's server_id: sha256 of the ID as a number, modulo 2**31 (a
	// stable per-minion number for MySQL server-id and the like). 2**31
	// divides 2**256, so that is the hash's low 31 bits.
	sum := sha256.Sum256([]byte(id))
	g["server_id"] = int(binary.BigEndian.Uint32(sum[28:]) & 0x7fffffff)
	family, _ := g["os_family"].(string)
	cpuarch, _ := g["cpuarch"].(string)
	if cpuarch != "" {
		g["osarch"] = osArch(family, cpuarch)
	}
}

// mergeDeep merges src into dst: mappings merge key by key, anything else in
// src replaces what dst had. src values are copied, never shared.
func mergeDeep(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeDeep(dm, sm)
				continue
			}
		}
		dst[k] = deepCopy(v)
	}
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// host is where collectors look: a filesystem root (testdata in tests, "/"
// for real) and the few system calls that have no file behind them.
type host struct {
	root       string
	uname      func() (utsname, error)
	hostname   func() (string, error)
	interfaces func() ([]netInterface, error)
	user       func() (userInfo, error)
	getenv     func(string) string
	pid        func() int
}

type utsname struct {
	sysname, nodename, release, version, machine string
}

type userInfo struct {
	username, groupname string
	uid, gid            int
}

// maxFileSize bounds what a collector reads from one file; /proc/cpuinfo on
// a large machine is a few hundred KiB.
const maxFileSize = 4 << 20

// read returns the content of an absolute path below the host root.
func (h *host) read(path string) ([]byte, error) {
	f, err := os.Open(filepath.Join(h.root, path))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxFileSize))
}

// exists reports whether an absolute path below the host root exists.
func (h *host) exists(path string) bool {
	_, err := os.Lstat(filepath.Join(h.root, path))
	return err == nil
}
