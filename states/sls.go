package states

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states/render"
)

// declaration is one state ID as written in an SLS file, before names and
// requisites are expanded. It may hold several module states (`file.managed`
// and `service.running` under one ID).
type declaration struct {
	ID           string
	SLS          string
	File         string
	Line         int
	IncludedFrom []string
	States       []*stateDecl
}

// stateDecl is one `module.function` entry of a declaration with its
// arguments in the order written.
type stateDecl struct {
	Module, Fun string
	Args        []argument
	Line        int
}

type argument struct {
	Key   string
	Value any
}

func (s *stateDecl) get(key string) (any, bool) {
	for _, a := range s.Args {
		if a.Key == key {
			return a.Value, true
		}
	}
	return nil, false
}

func (s *stateDecl) set(key string, v any) {
	for i, a := range s.Args {
		if a.Key == key {
			s.Args[i].Value = v
			return
		}
	}
	s.Args = append(s.Args, argument{key, v})
}

// extension is one `extend:` entry, applied once everything is loaded.
type extension struct {
	ID, SLS, File string
	Line          int
	States        []*stateDecl
}

// highstate is the loaded, not yet compiled SLS tree: declarations in
// Salt's declaration order (includes before their includer).
type highstate struct {
	Decls    []*declaration
	byID     map[string]*declaration
	extends  []extension
	excludes []exclusion
	loaded   map[string]bool
	errs     []string
}

type exclusion struct{ SLS, ID string }

// loader reads and renders SLS files through the environment's file client.
type loader struct {
	env  *api.Env
	high *highstate
}

func newHighstate() *highstate {
	return &highstate{byID: map[string]*declaration{}, loaded: map[string]bool{}}
}

func (l *loader) saltenv() string {
	if l.env.Saltenv == "" {
		return "base"
	}
	return l.env.Saltenv
}

// resolveSLS finds the file that holds an SLS name: a/b.sls or a/b/init.sls.
func (l *loader) resolveSLS(ctx context.Context, name string) (string, []byte, error) {
	if l.env.Files == nil {
		return "", nil, fmt.Errorf("no file_roots configured: cannot load SLS '%s'", name)
	}
	if name == "" || strings.ContainsAny(name, "/\\\x00") || strings.Contains(name, "..") {
		return "", nil, fmt.Errorf("invalid SLS name '%s'", name)
	}
	base := strings.ReplaceAll(name, ".", "/")
	for _, p := range []string{base + ".sls", base + "/init.sls"} {
		src, err := l.env.Files.Read(ctx, l.saltenv(), p)
		if err == nil {
			return p, src, nil
		}
		if !errors.Is(err, api.ErrFileNotFound) {
			return "", nil, fmt.Errorf("read SLS '%s': %w", name, err)
		}
	}
	return "", nil, errNoSLS
}

var errNoSLS = errors.New("no such SLS")

// load renders one SLS and, depth first, everything it includes. Its own
// declarations are appended after the included ones, as Salt orders them.
func (l *loader) load(ctx context.Context, name string, includedFrom []string) {
	h := l.high
	if h.loaded[name] {
		return
	}
	h.loaded[name] = true
	file, src, err := l.resolveSLS(ctx, name)
	if err != nil {
		if errors.Is(err, errNoSLS) {
			if len(includedFrom) > 0 {
				h.errs = append(h.errs, fmt.Sprintf("Specified SLS %s in saltenv %s is not available on the salt master or through a configured fileserver (included from SLS '%s')", name, l.saltenv(), includedFrom[0]))
			} else {
				h.errs = append(h.errs, fmt.Sprintf("No matching sls found for '%s' in env '%s'", name, l.saltenv()))
			}
			return
		}
		h.errs = append(h.errs, err.Error())
		return
	}
	doc, err := render.SLS(ctx, src, render.Context{Env: l.env, Path: file, SLS: name})
	if err != nil {
		h.errs = append(h.errs, fmt.Sprintf("Rendering SLS '%s:%s' failed: %s", l.saltenv(), name, renderMessage(err, file)))
		return
	}
	if doc == nil {
		return
	}
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return
	}
	if root.Kind != yaml.MappingNode {
		h.errs = append(h.errs, fmt.Sprintf("%s:%d: SLS '%s' does not render to a mapping of state IDs", file, root.Line, name))
		return
	}
	var own []*declaration
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		key := k.Value
		switch key {
		case "include":
			for _, inc := range l.includes(file, name, v) {
				l.load(ctx, inc, append([]string{name}, includedFrom...))
			}
		case "extend":
			l.extends(file, name, v)
		case "exclude":
			l.excludes(file, v)
		default:
			d, err := parseDeclaration(file, name, k, v)
			if err != nil {
				h.errs = append(h.errs, err.Error())
				continue
			}
			if d == nil {
				continue
			}
			d.IncludedFrom = includedFrom
			own = append(own, d)
		}
	}
	for _, d := range own {
		if prev, dup := h.byID[d.ID]; dup {
			h.errs = append(h.errs, fmt.Sprintf("Detected conflicting IDs, SLS IDs need to be globally unique.\n    The conflicting ID is '%s' and is found in SLS '%s:%s' and SLS '%s:%s' (%s:%d and %s:%d)",
				d.ID, l.saltenv(), prev.SLS, l.saltenv(), d.SLS, prev.File, prev.Line, d.File, d.Line))
			continue
		}
		h.byID[d.ID] = d
		h.Decls = append(h.Decls, d)
	}
}

// renderMessage formats a render error with its snippet, Salt style.
func renderMessage(err error, file string) string {
	var re *render.Error
	if errors.As(err, &re) {
		msg := re.Error()
		if re.Snippet != "" {
			msg += "\n\n---\n" + re.Snippet + "\n---"
		}
		return msg
	}
	return file + ": " + err.Error()
}

// includes resolves an include list; `.x` is relative to the including SLS's
// package (the SLS itself for an init.sls, its parent otherwise).
func (l *loader) includes(file, sls string, v *yaml.Node) []string {
	if v.Kind != yaml.SequenceNode {
		l.high.errs = append(l.high.errs, fmt.Sprintf("%s:%d: include in SLS '%s' must be a list", file, v.Line, sls))
		return nil
	}
	pkg := sls
	if path.Base(file) != "init.sls" {
		if i := strings.LastIndex(sls, "."); i >= 0 {
			pkg = sls[:i]
		} else {
			pkg = ""
		}
	}
	var out []string
	for _, item := range v.Content {
		name := item.Value
		if item.Kind == yaml.MappingNode && len(item.Content) == 2 {
			name = item.Content[0].Value // `- name: {saltenv: ..}` form
		}
		if item.Kind != yaml.ScalarNode && item.Kind != yaml.MappingNode || name == "" {
			l.high.errs = append(l.high.errs, fmt.Sprintf("%s:%d: include entries in SLS '%s' must be SLS names", file, item.Line, sls))
			continue
		}
		if strings.HasPrefix(name, ".") {
			rel := strings.TrimLeft(name, ".")
			up := len(name) - len(rel) - 1
			p := pkg
			for ; up > 0 && p != ""; up-- {
				if i := strings.LastIndex(p, "."); i >= 0 {
					p = p[:i]
				} else {
					p = ""
				}
			}
			if p != "" {
				name = p + "." + rel
			} else {
				name = rel
			}
		}
		out = append(out, name)
	}
	return out
}

func (l *loader) extends(file, sls string, v *yaml.Node) {
	if v.Kind != yaml.MappingNode {
		l.high.errs = append(l.high.errs, fmt.Sprintf("%s:%d: extend in SLS '%s' must be a mapping of state IDs", file, v.Line, sls))
		return
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		d, err := parseDeclaration(file, sls, v.Content[i], v.Content[i+1])
		if err != nil {
			l.high.errs = append(l.high.errs, err.Error())
			continue
		}
		if d != nil {
			l.high.extends = append(l.high.extends, extension{ID: d.ID, SLS: sls, File: file, Line: d.Line, States: d.States})
		}
	}
}

func (l *loader) excludes(file string, v *yaml.Node) {
	val, err := render.Value(v)
	list, ok := val.([]any)
	if err != nil || !ok {
		l.high.errs = append(l.high.errs, fmt.Sprintf("%s:%d: exclude must be a list of `- sls: NAME` or `- id: ID`", file, v.Line))
		return
	}
	for _, item := range list {
		switch x := item.(type) {
		case string:
			l.high.excludes = append(l.high.excludes, exclusion{SLS: x})
		case map[string]any:
			s, _ := x["sls"].(string)
			id, _ := x["id"].(string)
			l.high.excludes = append(l.high.excludes, exclusion{SLS: s, ID: id})
		}
	}
}

// parseDeclaration reads one `ID: {module.fun: [args]}` entry. The forms
// Salt accepts are all here: `ID: mod.fun`, `ID: {mod.fun: null}`,
// `ID: {mod: [fun, args...]}`, several modules under one ID.
func parseDeclaration(file, sls string, k, v *yaml.Node) (*declaration, error) {
	id := k.Value
	if k.Kind != yaml.ScalarNode {
		return nil, fmt.Errorf("%s:%d: state ID must be a string in SLS '%s'", file, k.Line, sls)
	}
	d := &declaration{ID: id, SLS: sls, File: file, Line: k.Line}
	where := func(n *yaml.Node) string { return fmt.Sprintf("%s:%d: state '%s' in SLS '%s'", file, n.Line, id, sls) }
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return nil, fmt.Errorf("%s: has no state function", where(v))
		}
		mod, fun, ok := strings.Cut(v.Value, ".")
		if !ok {
			return nil, fmt.Errorf("%s: '%s' is not a module.function", where(v), v.Value)
		}
		d.States = append(d.States, &stateDecl{Module: mod, Fun: fun, Line: v.Line})
		return d, nil
	case yaml.MappingNode:
	default:
		return nil, fmt.Errorf("%s: must be a mapping of module.function to arguments", where(v))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		mk, mv := v.Content[i], v.Content[i+1]
		if strings.HasPrefix(mk.Value, "__") {
			continue
		}
		mod, fun, _ := strings.Cut(mk.Value, ".")
		sd := &stateDecl{Module: mod, Fun: fun, Line: mk.Line}
		switch mv.Kind {
		case yaml.ScalarNode:
			if mv.Tag != "!!null" {
				return nil, fmt.Errorf("%s: arguments of %s must be a list", where(mv), mk.Value)
			}
		case yaml.SequenceNode:
			for _, item := range mv.Content {
				switch {
				case item.Kind == yaml.ScalarNode && sd.Fun == "":
					sd.Fun = item.Value
				case item.Kind == yaml.MappingNode && len(item.Content) == 2:
					val, err := render.Value(item.Content[1])
					if err != nil {
						return nil, fmt.Errorf("%s: argument '%s': %v", where(item), item.Content[0].Value, err)
					}
					sd.Args = append(sd.Args, argument{Key: item.Content[0].Value, Value: val})
				default:
					return nil, fmt.Errorf("%s: each argument of %s must be a single `key: value` entry", where(item), mk.Value)
				}
			}
		default:
			return nil, fmt.Errorf("%s: arguments of %s must be a list", where(mv), mk.Value)
		}
		if sd.Module == "" || sd.Fun == "" {
			return nil, fmt.Errorf("%s: no function given for module '%s'", where(mk), mod)
		}
		if seen[sd.Module] {
			return nil, fmt.Errorf("%s: module '%s' is used twice under one ID", where(mk), sd.Module)
		}
		seen[sd.Module] = true
		d.States = append(d.States, sd)
	}
	if len(d.States) == 0 {
		return nil, fmt.Errorf("%s: has no state function", where(v))
	}
	return d, nil
}

// applyExtends merges `extend:` entries into the declarations they name:
// requisite lists are appended to, other arguments replaced.
func (h *highstate) applyExtends(saltenv string) {
	for _, ex := range h.extends {
		d, ok := h.byID[ex.ID]
		if !ok {
			h.errs = append(h.errs, fmt.Sprintf("Cannot extend ID '%s' in '%s:%s' (%s:%d). It is not part of the high state.", ex.ID, saltenv, ex.SLS, ex.File, ex.Line))
			continue
		}
		for _, es := range ex.States {
			var target *stateDecl
			for _, s := range d.States {
				if s.Module == es.Module {
					target = s
				}
			}
			if target == nil {
				target = &stateDecl{Module: es.Module, Fun: es.Fun, Line: es.Line}
				d.States = append(d.States, target)
			}
			for _, a := range es.Args {
				if isRequisiteKey(a.Key) {
					old, _ := target.get(a.Key)
					target.set(a.Key, append(toList(old), toList(a.Value)...))
					continue
				}
				target.set(a.Key, a.Value)
			}
		}
	}
}

// applyExcludes drops excluded IDs and SLS files.
func (h *highstate) applyExcludes() {
	if len(h.excludes) == 0 {
		return
	}
	keep := h.Decls[:0]
	for _, d := range h.Decls {
		drop := false
		for _, ex := range h.excludes {
			if ex.ID == d.ID || ex.SLS != "" && ex.SLS == d.SLS {
				drop = true
			}
		}
		if drop {
			delete(h.byID, d.ID)
			continue
		}
		keep = append(keep, d)
	}
	h.Decls = keep
}

func toList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}
