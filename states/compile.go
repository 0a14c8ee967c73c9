package states

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/brine-cm/brine/api"
)

// Chunk is one low state: a single module function applied to a single
// name, with its requisites resolved. It is what `state.show_lowstate`
// prints and what the runner executes.
type Chunk struct {
	ID, Name, SLS, Module, Fun, Saltenv string
	// File and Line locate the declaration for error messages.
	File string
	Line int
	// Order is Salt's computed order number (10000+ for auto order).
	Order float64
	// IncludedFrom lists the SLS chain that pulled this SLS in.
	IncludedFrom []string
	// Args are the module's own arguments (no name, no engine keywords).
	Args map[string]any
	// Keywords holds the engine keywords as written (requisites, guards,
	// order, failhard...), for show_lowstate and the runner.
	Keywords map[string]any
	argOrder []string

	deps        []dep
	prerequired []*Chunk
	index       int
}

// Tag is Salt's result key for the chunk.
func (c *Chunk) Tag() string { return api.Tag(c.Module, c.ID, c.Name, c.Fun) }

func (c *Chunk) label() string { return c.SLS + "." + c.ID }

// dep is one resolved requisite: a kind ("require", "watch_any"...) and the
// chunks it points at.
type dep struct {
	Kind    string
	Targets []*Chunk
}

// requisiteKinds are the keywords that name other states.
var requisiteKinds = []string{
	"require", "watch", "onchanges", "onfail", "prereq", "use", "listen",
	"require_any", "watch_any", "onchanges_any", "onfail_any", "onfail_all",
}

// engineKeywords are arguments the engine consumes; modules never see them.
var engineKeywords = map[string]bool{
	"name": true, "names": true, "order": true, "failhard": true, "unless": true, "onlyif": true,
	"creates": true, "parallel": true, "fire_event": true, "reload_modules": true,
	"reload_pillar": true, "reload_grains": true, "check_cmd": true, "retry": true,
	"state": true, "fun": true, "__env__": true, "__sls__": true, "__id__": true,
}

func init() {
	for _, k := range requisiteKinds {
		engineKeywords[k] = true
		if !strings.HasSuffix(k, "_any") && k != "onfail_all" {
			engineKeywords[k+"_in"] = true
		}
	}
}

func isRequisiteKey(k string) bool {
	base := strings.TrimSuffix(k, "_in")
	for _, r := range requisiteKinds {
		if r == base {
			return true
		}
	}
	return false
}

// compile turns loaded declarations into ordered, validated low chunks.
func compile(h *highstate, saltenv string) ([]*Chunk, []string) {
	var errs []string
	var chunks []*Chunk
	iorder := 10000
	for _, d := range h.Decls {
		for _, sd := range d.States {
			if _, has := sd.get("order"); !has {
				sd.Args = append(sd.Args, argument{Key: "order", Value: iorder})
				iorder++
			}
		}
	}
	applyUse(h, &errs)
	for _, d := range h.Decls {
		for _, sd := range d.States {
			cs, err := expand(d, sd, saltenv)
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			chunks = append(chunks, cs...)
		}
	}
	assignOrder(chunks)
	sort.SliceStable(chunks, func(i, j int) bool {
		a, b := chunks[i], chunks[j]
		if a.Order != b.Order {
			return a.Order < b.Order
		}
		return a.Module+a.Name+a.Fun < b.Module+b.Name+b.Fun
	})
	for i, c := range chunks {
		c.index = i
	}
	errs = append(errs, resolveRequisites(chunks)...)
	if len(errs) == 0 {
		errs = append(errs, findCycles(chunks)...)
	}
	for _, c := range chunks {
		addCleanKeep(c)
		errs = append(errs, validate(c)...)
	}
	return chunks, errs
}

// applyUse copies the arguments of `use` targets that the user did not set.
func applyUse(h *highstate, errs *[]string) {
	for _, d := range h.Decls {
		for _, sd := range d.States {
			v, ok := sd.get("use")
			if !ok {
				continue
			}
			for _, item := range toList(v) {
				mod, id := splitReq(item)
				src, found := h.byID[id]
				if !found {
					*errs = append(*errs, fmt.Sprintf("%s:%d: state '%s' in SLS '%s': use: no state '%s' found", d.File, sd.Line, d.ID, d.SLS, id))
					continue
				}
				for _, ss := range src.States {
					if mod != "" && ss.Module != mod {
						continue
					}
					for _, a := range ss.Args {
						if a.Key == "name" || a.Key == "names" || a.Key == "order" || isRequisiteKey(a.Key) {
							continue
						}
						if _, has := sd.get(a.Key); !has {
							sd.Args = append(sd.Args, a)
						}
					}
				}
			}
		}
	}
}

// expand builds the chunks of one state declaration: one per name in
// `names`, with per-name argument overrides and fractional order.
func expand(d *declaration, sd *stateDecl, saltenv string) ([]*Chunk, error) {
	where := fmt.Sprintf("%s:%d: state '%s' in SLS '%s'", d.File, sd.Line, d.ID, d.SLS)
	type nameSpec struct {
		name      string
		overrides []argument
	}
	var names []nameSpec
	if v, ok := sd.get("names"); ok {
		list, isList := v.([]any)
		if !isList {
			return nil, fmt.Errorf("%s: names must be a list", where)
		}
		for _, item := range list {
			switch x := item.(type) {
			case map[string]any:
				if len(x) != 1 {
					return nil, fmt.Errorf("%s: each names entry must be a name or `name: [args]`", where)
				}
				for n, ov := range x {
					spec := nameSpec{name: n}
					for _, o := range toList(ov) {
						om, ok := o.(map[string]any)
						if !ok || len(om) != 1 {
							return nil, fmt.Errorf("%s: names entry '%s': overrides must be `- key: value` entries", where, n)
						}
						for k, v := range om {
							spec.overrides = append(spec.overrides, argument{k, v})
						}
					}
					names = append(names, spec)
				}
			default:
				s, ok := api.ScalarString(item)
				if !ok {
					return nil, fmt.Errorf("%s: names entries must be strings", where)
				}
				names = append(names, nameSpec{name: s})
			}
		}
	} else {
		name := d.ID
		if v, ok := sd.get("name"); ok {
			s, isScalar := api.ScalarString(v)
			if !isScalar {
				return nil, fmt.Errorf("%s: name must be a string", where)
			}
			name = s
		}
		names = []nameSpec{{name: name}}
	}
	var out []*Chunk
	for i, ns := range names {
		c := &Chunk{
			ID: d.ID, Name: ns.name, SLS: d.SLS, Module: sd.Module, Fun: sd.Fun, Saltenv: saltenv,
			File: d.File, Line: sd.Line, IncludedFrom: d.IncludedFrom,
			Args: map[string]any{}, Keywords: map[string]any{},
		}
		args := append(append([]argument{}, sd.Args...), ns.overrides...)
		for _, a := range args {
			if a.Key == "name" || a.Key == "names" {
				continue
			}
			if _, seen := c.Args[a.Key]; !seen {
				if _, seenKw := c.Keywords[a.Key]; !seenKw {
					c.argOrder = append(c.argOrder, a.Key)
				}
			}
			if engineKeywords[a.Key] {
				c.Keywords[a.Key] = a.Value
			} else {
				c.Args[a.Key] = a.Value
			}
		}
		if len(names) > 1 || hasKey(sd, "names") {
			c.Keywords["__name_order__"] = i + 1
		}
		out = append(out, c)
	}
	return out, nil
}

func hasKey(sd *stateDecl, k string) bool { _, ok := sd.get(k); return ok }

// assignOrder computes Salt's order numbers: first = 0, numbers as given,
// auto order from 10000, last and negatives after everything, names add a
// fraction per name.
func assignOrder(chunks []*Chunk) {
	capOrder := 1.0
	for _, c := range chunks {
		if n, ok := numericOrder(c.Keywords["order"]); ok && n > capOrder-1 && n > 0 {
			capOrder = n + 100
		}
	}
	for _, c := range chunks {
		raw := c.Keywords["order"]
		n, isNum := numericOrder(raw)
		switch {
		case isNum:
			c.Order = n
		case raw == "first":
			c.Order = 0
		case raw == "last":
			c.Order = capOrder + 1000000
		default:
			c.Order = capOrder
		}
		if no, ok := c.Keywords["__name_order__"].(int); ok {
			c.Order += float64(no) / 10000
		}
		if c.Order < 0 {
			c.Order += capOrder + 1000000
		}
	}
}

func numericOrder(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// splitReq reads one requisite entry: `{module: target}` or a bare target.
func splitReq(item any) (mod, target string) {
	switch x := item.(type) {
	case map[string]any:
		for k, v := range x {
			s, _ := api.ScalarString(v)
			return k, s
		}
	default:
		s, _ := api.ScalarString(item)
		return "", s
	}
	return "", ""
}

// resolveRequisites turns requisite keywords (and their _in forms) into deps.
func resolveRequisites(chunks []*Chunk) []string {
	var errs []string
	byID := map[string][]*Chunk{}
	byName := map[string][]*Chunk{}
	bySLS := map[string][]*Chunk{}
	for _, c := range chunks {
		byID[c.ID] = append(byID[c.ID], c)
		byName[c.Name] = append(byName[c.Name], c)
		bySLS[c.SLS] = append(bySLS[c.SLS], c)
	}
	find := func(mod, target string) []*Chunk {
		if mod == "sls" {
			return bySLS[target]
		}
		var out []*Chunk
		for _, c := range byID[target] {
			if mod == "" || c.Module == mod {
				out = append(out, c)
			}
		}
		if len(out) == 0 {
			for _, c := range byName[target] {
				if mod == "" || c.Module == mod {
					out = append(out, c)
				}
			}
		}
		return out
	}
	missing := func(c *Chunk, kind, mod, target string) {
		ref := target
		if mod != "" {
			ref = mod + ": " + target
		}
		errs = append(errs, fmt.Sprintf("%s:%d: state '%s' in SLS '%s' has a %s requisite on '%s', which is not part of the run", c.File, c.Line, c.ID, c.SLS, kind, ref))
	}
	addDep := func(c *Chunk, kind string, targets []*Chunk) {
		for i := range c.deps {
			if c.deps[i].Kind == kind && !strings.HasSuffix(kind, "_any") && kind != "onfail_all" {
				c.deps[i].Targets = append(c.deps[i].Targets, targets...)
				return
			}
		}
		c.deps = append(c.deps, dep{Kind: kind, Targets: targets})
	}
	for _, c := range chunks {
		for _, kind := range requisiteKinds {
			v, ok := c.Keywords[kind]
			if !ok || kind == "use" {
				continue
			}
			var all []*Chunk
			for _, item := range toList(v) {
				mod, target := splitReq(item)
				ts := find(mod, target)
				if len(ts) == 0 {
					missing(c, kind, mod, target)
					continue
				}
				all = append(all, ts...)
			}
			if len(all) > 0 {
				addDep(c, kind, all)
			}
		}
		for _, kind := range requisiteKinds {
			v, ok := c.Keywords[kind+"_in"]
			if !ok {
				continue
			}
			for _, item := range toList(v) {
				mod, target := splitReq(item)
				ts := find(mod, target)
				if len(ts) == 0 {
					missing(c, kind+"_in", mod, target)
					continue
				}
				for _, t := range ts {
					addDep(t, kind, []*Chunk{c})
				}
			}
		}
	}
	for _, c := range chunks {
		for _, d := range c.deps {
			if d.Kind != "prereq" {
				continue
			}
			for _, t := range d.Targets {
				t.prerequired = append(t.prerequired, c)
				showRequisite(t, "prerequired", c)
			}
		}
		for _, kind := range requisiteKinds {
			if _, ok := c.Keywords[kind+"_in"]; !ok {
				continue
			}
			for _, item := range toList(c.Keywords[kind+"_in"]) {
				for _, t := range find(splitReq(item)) {
					showRequisite(t, kind, c)
				}
			}
		}
	}
	return errs
}

// showRequisite records an inverted requisite (`require_in`, `prereq`) on
// its target the way Salt's lowstate shows it: `{module: id}` appended to
// the target's own list. The runner uses the resolved deps, not this.
func showRequisite(t *Chunk, kind string, from *Chunk) {
	entry := map[string]any{from.Module: from.ID}
	list := toList(t.Keywords[kind])
	for _, e := range list {
		if m, ok := e.(map[string]any); ok && len(m) == 1 && m[from.Module] == from.ID {
			return
		}
	}
	if _, had := t.Keywords[kind]; !had {
		t.argOrder = append(t.argOrder, kind)
	}
	t.Keywords[kind] = append(list, entry)
}

// edges are the "must run before" links: requisites, and for prereq the
// reverse (the prereq'd state runs after the state that declared it).
func edges(c *Chunk) []*Chunk {
	var out []*Chunk
	for _, d := range c.deps {
		if d.Kind == "listen" || d.Kind == "prereq" {
			continue
		}
		out = append(out, d.Targets...)
	}
	out = append(out, c.prerequired...)
	return out
}

// findCycles reports every requisite cycle once, naming the states in it.
func findCycles(chunks []*Chunk) []string {
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(chunks))
	var stack []*Chunk
	var errs []string
	var visit func(c *Chunk)
	visit = func(c *Chunk) {
		color[c.index] = grey
		stack = append(stack, c)
		for _, t := range edges(c) {
			switch color[t.index] {
			case white:
				visit(t)
			case grey:
				var names []string
				start := 0
				for i, s := range stack {
					if s == t {
						start = i
					}
				}
				for _, s := range stack[start:] {
					names = append(names, fmt.Sprintf("'%s' (%s:%d)", s.ID, s.File, s.Line))
				}
				names = append(names, fmt.Sprintf("'%s'", t.ID))
				errs = append(errs, fmt.Sprintf("A recursive requisite was found, SLS \"%s\": %s", c.SLS, strings.Join(names, " requires ")))
			}
		}
		stack = stack[:len(stack)-1]
		color[c.index] = black
	}
	for _, c := range chunks {
		if color[c.index] == white {
			visit(c)
		}
	}
	return errs
}

// addCleanKeep tells file.directory/file.recurse with clean: True which
// paths the states it requires manage, so clean leaves them alone (Salt's
// rule for clean).
func addCleanKeep(c *Chunk) {
	if c.Module != "file" || (c.Fun != "directory" && c.Fun != "recurse") {
		return
	}
	if clean, _ := api.Bool(c.Args["clean"]); !clean {
		return
	}
	var keep []any
	for _, d := range c.deps {
		if !strings.HasPrefix(d.Kind, "require") {
			continue
		}
		for _, t := range d.Targets {
			if t.Module == "file" {
				keep = append(keep, t.Name)
			}
		}
	}
	if len(keep) > 0 {
		c.Args["__keep__"] = keep
	}
}

// validate checks that the function exists and accepts the arguments.
func validate(c *Chunk) []string {
	fn := c.Module + "." + c.Fun
	f, ok := Lookup(fn)
	if !ok {
		return []string{fmt.Sprintf("%s:%d: State '%s' was not found in SLS '%s' (state ID '%s'): '%s' is not available", c.File, c.Line, fn, c.SLS, c.ID, fn)}
	}
	if f.Validate == nil {
		return nil
	}
	if err := f.Validate(c.Args); err != nil {
		return []string{fmt.Sprintf("%s:%d: state '%s' (%s) in SLS '%s': %v", c.File, c.Line, c.ID, fn, c.SLS, err)}
	}
	return nil
}

// Low returns the chunk as Salt's lowstate dictionary.
func (c *Chunk) Low() map[string]any {
	m := map[string]any{
		"state": c.Module, "fun": c.Fun, "name": c.Name, "__id__": c.ID,
		"__sls__": c.SLS, "__env__": c.Saltenv,
	}
	if len(c.IncludedFrom) > 0 {
		m["__sls_included_from__"] = c.IncludedFrom
	}
	for k, v := range c.Args {
		if k != "__keep__" {
			m[k] = v
		}
	}
	for k, v := range c.Keywords {
		if !strings.HasPrefix(k, "__") {
			m[k] = v
		}
	}
	if c.Order == math.Trunc(c.Order) {
		m["order"] = int(c.Order)
	} else {
		m["order"] = c.Order
	}
	return m
}
