// Package pillar compiles a minion's pillar the way Salt does: read the
// pillar top.sls, find the targets that match the minion, render each
// named pillar SLS (Jinja, then YAML) with its includes, and merge the
// results in order. The master compiles one pillar per minion and sends it
// to that minion only; a masterless run compiles its own.
//
// Where Salt records a problem in the pillar's `_errors` key and carries on
// with what it could read, brine stops and returns an error naming the
// file: a missing or broken pillar file should not half-configure a host.
package pillar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/states/render"
	"github.com/brine-cm/brine/target"
)

// Options describe the minion and where its pillar comes from.
type Options struct {
	// Roots serves the pillar_roots; nil means no pillar tree (the pillar
	// is then just Pillar).
	Roots api.FileClient
	// Saltenv is the pillar environment (Salt's pillarenv). Empty means
	// "base"'s top.sls with every environment section in it; set, only that
	// environment's top.sls and section are used.
	Saltenv string
	// ID and Grains are what the top file's targets are matched against,
	// and what pillar templates see as grains.
	ID     string
	Grains map[string]any
	// Opts is the configuration templates see as opts.
	Opts map[string]any
	// Pillar is extra pillar given on the command line (pillar='{...}'):
	// visible while rendering and merged over the result, as in Salt.
	Pillar map[string]any
	// Nodegroups are the master's nodegroups, for N@ targets in the top file.
	Nodegroups map[string]string
	// MergeLists is Salt's pillar_merge_lists: lists from later SLS files
	// extend earlier ones instead of replacing them.
	MergeLists bool
	// Exec runs salt['mod.fn'](...) calls in pillar templates; nil means
	// modules.Call, with an environment holding the minion's grains and the
	// pillar compiled so far.
	Exec func(ctx context.Context, env *api.Env, fun string, args []any, kwargs map[string]any) (any, error)
	// Log receives debug lines (skipped missing files and the like); nil
	// discards.
	Log *slog.Logger
}

// ErrNotFound is wrapped by the error for a pillar SLS that a top file or
// an include names but that does not exist.
var ErrNotFound = errors.New("pillar SLS not found")

// Compile returns the pillar of the minion described by opts.
//
// Each pillar SLS is rendered with grains, opts, salt[...] and `pillar`
// holding what the SLS files before it produced (plus opts.Pillar); Salt
// gives pillar templates only the latter. The results are merged
// recursively in top-file order (later files win, lists are replaced unless
// MergeLists), included files before the file including them.
func Compile(ctx context.Context, opts Options) (map[string]any, error) {
	c := &compiler{
		opts:  opts,
		log:   opts.Log,
		cache: render.NewCache(),
		out:   map[string]any{},
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if opts.Roots != nil {
		if err := c.run(ctx); err != nil {
			return nil, err
		}
	}
	c.merge(c.out, opts.Pillar)
	return c.out, nil
}

type compiler struct {
	opts  Options
	log   *slog.Logger
	cache *render.Cache
	out   map[string]any
	// avail lists the SLS names per environment, read on first need.
	avail map[string][]string
}

// topEntry is one matched SLS: its name and whether the top file allows
// it to be missing.
type topEntry struct {
	sls           string
	ignoreMissing bool
	line          int
}

func (c *compiler) run(ctx context.Context) error {
	topEnv := c.opts.Saltenv
	if topEnv == "" {
		topEnv = "base"
	}
	src, err := c.opts.Roots.Read(ctx, topEnv, "top.sls")
	if errors.Is(err, api.ErrFileNotFound) {
		c.log.Debug("no pillar top file", "saltenv", topEnv)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read pillar top file in saltenv '%s': %w", topEnv, err)
	}
	doc, err := render.SLS(ctx, src, render.Context{Env: c.env(ctx, topEnv), Path: "top.sls", Cache: c.cache})
	if err != nil {
		return fmt.Errorf("render pillar top file: %w", err)
	}
	sections, err := c.topMatches(doc)
	if err != nil {
		return err
	}
	for _, sec := range sections {
		st := &sfState{env: sec.env, mods: map[string]map[string]any{}}
		for _, e := range sec.entries {
			names, err := c.expand(ctx, sec.env, e.sls)
			if err != nil {
				return err
			}
			if len(names) == 0 {
				if e.ignoreMissing {
					c.log.Debug("no pillar SLS matches, ignored", "sls", e.sls, "saltenv", sec.env)
					continue
				}
				return fmt.Errorf("pillar top.sls:%d: %w: no SLS matches '%s' in saltenv '%s'", e.line, ErrNotFound, e.sls, sec.env)
			}
			for _, name := range names {
				if err := ctx.Err(); err != nil {
					return err
				}
				data, err := c.renderSLS(ctx, st, name, nil)
				var missing *missingError
				if errors.As(err, &missing) && missing.name == name {
					if e.ignoreMissing {
						c.log.Debug("pillar SLS not found, ignored", "sls", name, "saltenv", sec.env)
						continue
					}
					return fmt.Errorf("pillar top.sls:%d: %w", e.line, err)
				}
				if err != nil {
					return err
				}
				c.merge(c.out, data)
			}
		}
	}
	return nil
}

// missingError is a pillar SLS that does not exist.
type missingError struct {
	name, env string
}

func (e *missingError) Error() string {
	p := slsPath(e.name)
	return fmt.Sprintf("%s: '%s' in saltenv '%s' (looked for %s.sls and %s/init.sls)", ErrNotFound, e.name, e.env, p, p)
}

func (e *missingError) Unwrap() error { return ErrNotFound }

type section struct {
	env     string
	entries []topEntry
}

// topMatches reads the rendered top file: environment -> target -> list of
// SLS names and options ({match: grain}, {ignore_missing: True}), and keeps
// the entries whose target matches this minion.
func (c *compiler) topMatches(doc *yaml.Node) ([]section, error) {
	if doc == nil || len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc
	if root.Kind == yaml.DocumentNode {
		root = root.Content[0]
	}
	if isNull(root) {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, topError(root, "the top file must be a mapping of environments to targets")
	}
	minion := target.Minion{ID: c.opts.ID, Grains: c.opts.Grains, Pillar: c.opts.Pillar}
	var out []section
	for i := 0; i+1 < len(root.Content); i += 2 {
		envName, body := root.Content[i].Value, root.Content[i+1]
		if c.opts.Saltenv != "" && envName != c.opts.Saltenv {
			continue
		}
		if isNull(body) {
			continue
		}
		if body.Kind != yaml.MappingNode {
			return nil, topError(body, fmt.Sprintf("environment '%s' must map targets to lists of SLS names", envName))
		}
		sec := section{env: envName}
		seen := map[string]bool{}
		for j := 0; j+1 < len(body.Content); j += 2 {
			tgtNode, items := body.Content[j], body.Content[j+1]
			entries, kind, err := readTargetItems(tgtNode.Value, items)
			if err != nil {
				return nil, err
			}
			ok, err := target.Match(kind, tgtNode.Value, minion, c.opts.Nodegroups)
			if err != nil {
				return nil, topError(tgtNode, err.Error())
			}
			if !ok {
				continue
			}
			for _, e := range entries {
				if !seen[e.sls] {
					seen[e.sls] = true
					sec.entries = append(sec.entries, e)
				}
			}
		}
		out = append(out, sec)
	}
	return out, nil
}

// readTargetItems reads the list under one target. Without a `match:`
// item the target is a compound expression, as in Salt's top files (a
// plain glob is a valid compound expression).
func readTargetItems(tgt string, items *yaml.Node) ([]topEntry, target.Kind, error) {
	kind := target.Compound
	var list []*yaml.Node
	switch items.Kind {
	case yaml.SequenceNode:
		list = items.Content
	case yaml.ScalarNode:
		if isNull(items) {
			return nil, kind, nil
		}
		list = []*yaml.Node{items}
	default:
		return nil, kind, topError(items, fmt.Sprintf("target '%s' must have a list of SLS names", tgt))
	}
	ignoreMissing := false
	var entries []topEntry
	for _, it := range list {
		switch it.Kind {
		case yaml.ScalarNode:
			if isNull(it) || it.Value == "" {
				return nil, kind, topError(it, fmt.Sprintf("empty SLS name under target '%s'", tgt))
			}
			entries = append(entries, topEntry{sls: it.Value, line: it.Line})
		case yaml.MappingNode:
			for k := 0; k+1 < len(it.Content); k += 2 {
				key, val := it.Content[k], it.Content[k+1]
				switch key.Value {
				case "match":
					parsed, err := target.ParseKind(val.Value)
					if err != nil {
						return nil, kind, topError(val, err.Error())
					}
					kind = parsed
				case "ignore_missing":
					b, ok := api.Bool(val.Value)
					if !ok {
						return nil, kind, topError(val, "ignore_missing must be True or False")
					}
					ignoreMissing = b
				default:
					return nil, kind, topError(key, fmt.Sprintf("unknown option '%s' under target '%s' (expected match or ignore_missing)", key.Value, tgt))
				}
			}
		default:
			return nil, kind, topError(it, fmt.Sprintf("target '%s': expected an SLS name or an option", tgt))
		}
	}
	for i := range entries {
		entries[i].ignoreMissing = ignoreMissing
	}
	return entries, kind, nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func topError(n *yaml.Node, msg string) error {
	return fmt.Errorf("pillar top.sls:%d: %s", n.Line, msg)
}

// sfState is the render state of one environment: SLS already rendered
// (Salt's mods), so that a file included twice is rendered once.
type sfState struct {
	env  string
	mods map[string]map[string]any
}

// renderSLS renders one pillar SLS and its includes and returns the merged
// result (included files first, the file itself last).
func (c *compiler) renderSLS(ctx context.Context, st *sfState, name string, vars map[string]any) (map[string]any, error) {
	file, src, err := c.readSLS(ctx, st.env, name)
	if err != nil {
		return nil, err
	}
	env := c.env(ctx, st.env)
	doc, err := render.SLS(ctx, src, render.Context{Env: env, Path: file, SLS: name, Vars: vars, Cache: c.cache})
	if err != nil {
		return nil, fmt.Errorf("render pillar SLS '%s': %w", name, err)
	}
	var state map[string]any
	if doc != nil {
		v, err := render.Value(doc)
		if err != nil {
			return nil, fmt.Errorf("render pillar SLS '%s': %w", name, err)
		}
		switch x := v.(type) {
		case nil:
		case map[string]any:
			state = x
		default:
			return nil, fmt.Errorf("pillar SLS '%s' (%s): must be a mapping, rendered to %s", name, file, describe(v))
		}
	}
	if state == nil {
		state = map[string]any{}
	}
	inc, hasInclude := state["include"]
	delete(state, "include")
	st.mods[name] = state
	if !hasInclude {
		return state, nil
	}
	list, ok := inc.([]any)
	if !ok {
		return nil, fmt.Errorf("pillar SLS '%s' (%s): include must be a list", name, file)
	}
	merged := map[string]any{}
	for _, item := range list {
		sub, key, defaults, err := readInclude(item)
		if err != nil {
			return nil, fmt.Errorf("pillar SLS '%s' (%s): %w", name, file, err)
		}
		if strings.HasPrefix(sub, ".") {
			sub = resolveRelative(name, file, sub)
		}
		names, err := c.expand(ctx, st.env, sub)
		if err != nil {
			return nil, err
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("pillar SLS '%s' (%s): %w: no SLS matches the include '%s' in saltenv '%s'",
				name, file, ErrNotFound, sub, st.env)
		}
		for _, n := range names {
			data, done := st.mods[n]
			if !done {
				data, err = c.renderSLS(ctx, st, n, defaults)
				var missing *missingError
				if errors.As(err, &missing) && missing.name == n {
					return nil, fmt.Errorf("pillar SLS '%s' (%s) includes '%s': %w", name, file, n, err)
				}
				if err != nil {
					return nil, err
				}
			}
			data = Copy(data).(map[string]any)
			if key != "" {
				parts := strings.Split(key, ":")
				for i := len(parts) - 1; i >= 0; i-- {
					data = map[string]any{parts[i]: data}
				}
			}
			c.merge(merged, data)
		}
	}
	c.merge(merged, state)
	return merged, nil
}

// readInclude reads one include entry: "name", or {name: {defaults: {...},
// key: 'a:b'}}.
func readInclude(item any) (name, key string, defaults map[string]any, err error) {
	switch x := item.(type) {
	case string:
		return x, "", nil, nil
	case map[string]any:
		if len(x) != 1 {
			return "", "", nil, fmt.Errorf("an include entry with options must have exactly one SLS name, got %d", len(x))
		}
		for n, v := range x {
			name = n
			if v == nil {
				return name, "", nil, nil
			}
			opts, ok := v.(map[string]any)
			if !ok {
				return "", "", nil, fmt.Errorf("include '%s': options must be a mapping (defaults, key)", n)
			}
			for k, ov := range opts {
				switch k {
				case "defaults":
					d, ok := ov.(map[string]any)
					if !ok && ov != nil {
						return "", "", nil, fmt.Errorf("include '%s': defaults must be a mapping", n)
					}
					defaults = d
				case "key":
					s, ok := api.ScalarString(ov)
					if !ok {
						return "", "", nil, fmt.Errorf("include '%s': key must be a string", n)
					}
					key = s
				default:
					return "", "", nil, fmt.Errorf("include '%s': unknown option '%s' (expected defaults or key)", n, k)
				}
			}
		}
		return name, key, defaults, nil
	}
	return "", "", nil, fmt.Errorf("an include entry must be an SLS name, got %s", describe(item))
}

// resolveRelative turns `.sub` into a name relative to the including SLS:
// its package for a/b.sls, itself for a/b/init.sls. Each further leading
// dot goes one level up, as for state includes.
func resolveRelative(from, file, rel string) string {
	parts := strings.Split(from, ".")
	if !strings.HasSuffix(file, "/init.sls") && file != "init.sls" {
		parts = parts[:len(parts)-1]
	}
	rest := rel[1:]
	for strings.HasPrefix(rest, ".") && len(parts) > 0 {
		parts = parts[:len(parts)-1]
		rest = rest[1:]
	}
	return strings.Join(append(parts, rest), ".")
}

// expand returns the SLS names matching name, which may be a shell glob
// (`users.*`, sorted matches); a plain name is returned as is.
func (c *compiler) expand(ctx context.Context, env, name string) ([]string, error) {
	if !strings.ContainsAny(name, "*?[") {
		return []string{name}, nil
	}
	avail, err := c.available(ctx, env)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range avail {
		if target.Fnmatch(name, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// available lists the SLS names of an environment.
func (c *compiler) available(ctx context.Context, env string) ([]string, error) {
	if names, ok := c.avail[env]; ok {
		return names, nil
	}
	files, err := c.opts.Roots.List(ctx, env, "")
	if err != nil && !errors.Is(err, api.ErrFileNotFound) {
		return nil, fmt.Errorf("list pillar files in saltenv '%s': %w", env, err)
	}
	set := map[string]bool{}
	for _, f := range files {
		p := f.Path
		if f.Hash == "" && f.Mode.IsDir() || !strings.HasSuffix(p, ".sls") {
			continue
		}
		p = strings.TrimSuffix(p, ".sls")
		if p == "init" {
			continue
		}
		p = strings.TrimSuffix(p, "/init")
		set[strings.ReplaceAll(p, "/", ".")] = true
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	if c.avail == nil {
		c.avail = map[string][]string{}
	}
	c.avail[env] = names
	return names, nil
}

func slsPath(name string) string { return strings.ReplaceAll(name, ".", "/") }

// readSLS finds a/b.sls or a/b/init.sls for the SLS name a.b.
func (c *compiler) readSLS(ctx context.Context, env, name string) (string, []byte, error) {
	base := slsPath(name)
	for _, p := range []string{base + ".sls", path.Join(base, "init.sls")} {
		src, err := c.opts.Roots.Read(ctx, env, p)
		if err == nil {
			return p, src, nil
		}
		if !errors.Is(err, api.ErrFileNotFound) {
			return "", nil, fmt.Errorf("read pillar SLS '%s': %w", name, err)
		}
	}
	return "", nil, &missingError{name: name, env: env}
}

// env is what a pillar template sees: the minion's grains, the pillar so
// far (with the command-line pillar over it), salt[...] and opts.
func (c *compiler) env(ctx context.Context, saltenv string) *api.Env {
	sofar := Copy(c.out).(map[string]any)
	c.merge(sofar, c.opts.Pillar)
	env := &api.Env{
		ID:      c.opts.ID,
		Saltenv: saltenv,
		Grains:  c.opts.Grains,
		Pillar:  sofar,
		Opts:    c.opts.Opts,
		Files:   c.opts.Roots,
		Log:     c.log,
	}
	exec := c.opts.Exec
	if exec == nil {
		exec = modules.Call
	}
	env.Exec = func(ctx context.Context, fun string, args []any, kwargs map[string]any) (any, error) {
		return exec(ctx, env, fun, args, kwargs)
	}
	return env
}

func (c *compiler) merge(dst, src map[string]any) {
	merge(dst, src, c.opts.MergeLists)
}

func describe(v any) string {
	switch v.(type) {
	case []any:
		return "a list"
	case string:
		return "a string"
	default:
		return fmt.Sprintf("%T", v)
	}
}
