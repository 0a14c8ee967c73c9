package render

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
	"github.com/nikolalohinski/gonja/v2/parser"

	"github.com/brine-cm/brine/api"
)

// environment holds what every render shares and never changes once built:
// gonja's builtins plus Salt's filters, tests, tags and globals. Building it
// copies gonja's sets, so gonja's own package state is never modified.
type environment struct {
	cfg      *config.Config
	filters  *exec.FilterSet
	tests    *exec.TestSet
	controls *exec.ControlStructureSet
	methods  exec.Methods
	globals  *exec.Context
}

var (
	envOnce sync.Once
	envVal  *environment
)

// jinjaEnv returns the shared, read-only environment.
func jinjaEnv() *environment {
	envOnce.Do(func() {
		cfg := config.New()
		cfg.StrictUndefined = true // Salt's default (allow_undefined: False)
		cfg.KeepTrailingNewline = false
		e := &environment{
			cfg:      cfg,
			filters:  exec.NewFilterSet(map[string]exec.FilterFunction{}).Update(builtins.Filters),
			tests:    exec.NewTestSet(map[string]exec.TestFunction{}).Update(builtins.Tests),
			controls: exec.NewControlStructureSet(map[string]parser.ControlStructureParser{}).Update(builtins.ControlStructures),
			methods:  builtins.Methods,
			globals:  exec.EmptyContext().Update(builtins.GlobalFunctions).Update(builtins.GlobalVariables),
		}
		installFilters(e.filters)
		installTests(e.tests)
		installTags(e.controls)
		installGlobals(e.globals)
		envVal = e
	})
	return envVal
}

// stateKey names the per-render state in the template context. It is not a
// valid Jinja identifier, so templates cannot reach it.
const stateKey = "\x00brine.render"

// maxDepth bounds include/import/macro nesting: a template that includes
// itself must fail, not exhaust the stack.
const maxDepth = 64

// state is one call of Jinja: the host it renders for and what the tags
// need to find files, cache modules and report errors.
type state struct {
	ctx     context.Context
	env     *api.Env
	saltenv string
	cache   *Cache
	// globals is the Salt context (grains, pillar, salt, sls...): what an
	// import without context sees, as Salt makes the whole render context
	// the Jinja globals.
	globals *exec.Context
	// modules caches imports without context by path, as Jinja does.
	modules map[string]*exec.Context
	// located records failures with the file they happened in, innermost
	// first; see locate.
	located []located
	depth   int
	// callers are the contexts of the {% call %} blocks running.
	callers []*exec.Context
	// calls records failed execution module calls (gonja flattens their
	// errors to text).
	calls []string
	// sources keeps the text of every template read, for error snippets.
	sources map[string]string
}

// located is a failure seen at a file boundary (an imported template, an
// include, a macro body). gonja flattens errors raised in function calls to
// strings, so the final error is matched against these by text.
type located struct {
	file string
	line int
	text string
}

// stateOf finds the render state from inside a tag or filter.
func stateOf(ctx *exec.Context) *state {
	v, _ := ctx.Get(stateKey)
	st, _ := v.(*state)
	return st
}

// currentFile is the salt:// path of the template a renderer executes.
func currentFile(r *exec.Renderer) string {
	if r.RootNode != nil {
		return r.RootNode.Identifier
	}
	return ""
}

// Cache keeps parsed Jinja templates between renders, keyed by path and
// content, so that a run rendering the same template or importing the same
// map.jinja many times parses it once. A parsed template is immutable and
// a function of its text alone, so a cache changes speed, never results.
// A Cache is safe for concurrent use; call NewCache. Passing one in
// Context is optional (see sharedCache).
type Cache struct {
	mu  sync.Mutex
	m   map[cacheKey]*exec.Template
	max int
}

type cacheKey struct {
	path string
	sum  [sha256.Size]byte
}

// maxCached bounds a Cache; past it the cache starts over.
const maxCached = 4096

// NewCache returns an empty template cache.
func NewCache() *Cache { return &Cache{m: map[cacheKey]*exec.Template{}, max: maxCached} }

// sharedCache serves renders whose Context carries no Cache: state modules
// such as file.managed render templates with no run-wide object to hold
// one. It is a bounded memo of pure parses (see Cache), kept small so that
// an idle minion holds little.
var sharedCache = &Cache{m: map[cacheKey]*exec.Template{}, max: 256}

// parse returns the parsed template for src at path, parsing it once.
func (c *Cache) parse(path, src string) (*exec.Template, error) {
	k := cacheKey{path, sha256.Sum256([]byte(src))}
	c.mu.Lock()
	t, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := parseTemplate(path, src)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = t
	c.mu.Unlock()
	return t, nil
}

// srcLoader hands gonja the one template being parsed. Template
// inheritance ({% extends %}) would read other files at parse time, which
// the cache cannot key on; it is refused with a clear message.
type srcLoader struct{ path, src string }

func (l srcLoader) Read(p string) (io.Reader, error) {
	if p == l.path {
		return strings.NewReader(l.src), nil
	}
	return nil, fmt.Errorf("template inheritance ({%% extends %q %%}) is not supported; use import or include", p)
}

func (l srcLoader) Resolve(p string) (string, error) { return p, nil }

func (l srcLoader) Inherit(string) (loaders.Loader, error) { return l, nil }

// parseTemplate lexes and parses src. gonja panics on a few malformed
// inputs; those become syntax errors.
func parseTemplate(path, src string) (t *exec.Template, err error) {
	defer func() {
		if p := recover(); p != nil {
			t, err = nil, &syntaxError{msg: fmt.Sprint(p)}
		}
	}()
	if tooDeep(src) {
		return nil, &syntaxError{msg: fmt.Sprintf("brackets nested more than %d deep", maxNesting)}
	}
	src = rewriteSource(src)
	t, err = exec.NewTemplate(path, jinjaEnv().cfg, srcLoader{path, src}, &exec.Environment{
		Filters:           jinjaEnv().filters,
		Tests:             jinjaEnv().tests,
		ControlStructures: jinjaEnv().controls,
		Methods:           jinjaEnv().methods,
		Context:           jinjaEnv().globals,
	})
	if err != nil {
		// NewTemplate wraps the parser's error with the whole source.
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		return nil, &syntaxError{msg: err.Error(), cause: err}
	}
	return t, nil
}

// maxNesting bounds bracket nesting: gonja's parser recurses per level.
const maxNesting = 512

// tooDeep reports brackets nested beyond maxNesting anywhere in src (data
// included: an over-estimate that costs one pass).
func tooDeep(src string) bool {
	depth := 0
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case '(', '[', '{':
			depth++
			if depth > maxNesting {
				return true
			}
		case ')', ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return false
}

// syntaxError marks a template that does not parse.
type syntaxError struct {
	msg   string
	cause error
}

func (e *syntaxError) Error() string { return e.msg }
func (e *syntaxError) Unwrap() error { return e.cause }

// execute runs tpl with ctx as its context, writing to out.
func (st *state) execute(tpl *exec.Template, ctx *exec.Context, out io.Writer) error {
	e := jinjaEnv()
	r := exec.NewRenderer(&exec.Environment{
		Filters:           e.filters,
		Tests:             e.tests,
		ControlStructures: e.controls,
		Methods:           e.methods,
		Context:           ctx,
	}, out, e.cfg, srcLoader{}, tpl)
	return r.Execute()
}

// newState prepares the render of c: the Salt context as globals.
func newState(ctx context.Context, c Context) *state {
	st := &state{
		ctx:     ctx,
		env:     c.Env,
		saltenv: "base",
		cache:   c.Cache,
		modules: map[string]*exec.Context{},
		sources: map[string]string{},
	}
	if st.cache == nil {
		st.cache = sharedCache
	}
	g := map[string]any{}
	if env := c.Env; env != nil {
		if env.Saltenv != "" {
			st.saltenv = env.Saltenv
		}
		g["grains"] = grainsDict(pyCopyMap(env.Grains))
		g["pillar"] = dataDict(pyCopyMap(env.Pillar))
		g["opts"] = pyDict(pyCopyMap(env.Opts))
		g["minion_id"] = env.ID
	} else {
		g["grains"] = grainsDict{}
		g["pillar"] = dataDict{}
		g["opts"] = pyDict{}
	}
	g["saltenv"] = st.saltenv
	g["salt"] = &saltFuncs{st: st}
	for k, v := range slsContext(c.Path, c.SLS) {
		g[k] = v
	}
	for k, v := range c.Vars {
		g[k] = pyCopy(v)
	}
	st.globals = jinjaEnv().globals.Inherit()
	for k, v := range g {
		st.globals.Set(k, v)
	}
	st.globals.Set(stateKey, st)
	return st
}

func pyCopyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return map[string]any(pyCopy(m).(pyDict))
}

// slsContext computes Salt's template path variables (see Salt's
// generate_sls_context): for webapp/init.sls rendered as SLS webapp, sls and
// slspath and tpldir are all "webapp"; for a root-level file tpldir is ".".
// Templates that are not SLS files get only the tpl* variables.
func slsContext(tplPath, sls string) map[string]any {
	out := map[string]any{}
	if tplPath != "" {
		template := tplPath
		slspath := strings.ReplaceAll(sls, ".", "/")
		if sls != "" {
			switch {
			case strings.HasSuffix(template, slspath+".sls"):
				template = template[len(template)-len(slspath)-4:]
			case strings.HasSuffix(template, slspath+"/init.sls"):
				template = template[len(template)-len(slspath)-9:]
			}
		}
		dir := ""
		if i := strings.LastIndexByte(template, '/'); i >= 0 {
			dir = template[:i]
		}
		tpldir := dir
		if tpldir == "" {
			tpldir = "."
		}
		out["tplpath"] = tplPath
		out["tplfile"] = template
		out["tpldir"] = tpldir
		out["tpldot"] = strings.ReplaceAll(dir, "/", ".")
		if sls == "" {
			return out
		}
		slsContextVars(out, sls, dir)
		return out
	}
	if sls != "" {
		slsContextVars(out, sls, strings.ReplaceAll(sls, ".", "/"))
	}
	return out
}

func slsContextVars(out map[string]any, sls, slspath string) {
	out["sls"] = sls
	out["slspath"] = slspath
	out["sls_path"] = strings.ReplaceAll(slspath, "/", "_")
	out["slsdotpath"] = strings.ReplaceAll(slspath, "/", ".")
	out["slscolonpath"] = strings.ReplaceAll(slspath, "/", ":")
}

// resolvePath turns a name used in import/include/from into a path below
// the file root: "./x" and "../x" are relative to the importing template,
// anything else to the root (a salt:// prefix or leading / is allowed).
func resolvePath(from, name string) (string, error) {
	name = strings.TrimPrefix(name, "salt://")
	var p string
	if strings.HasPrefix(name, "./") || strings.HasPrefix(name, "../") {
		p = path.Join(path.Dir(from), name)
	} else {
		p = path.Clean(strings.TrimLeft(name, "/"))
	}
	if name == "" || p == "." || p == ".." || strings.HasPrefix(p, "../") || strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("template %q: %w", name, api.ErrPathEscapes)
	}
	return p, nil
}

// load reads and parses the template at p (a resolved path).
func (st *state) load(p string) (*exec.Template, error) {
	src, ok := st.sources[p]
	if !ok {
		if st.env == nil || st.env.Files == nil {
			return nil, fmt.Errorf("template not found: %s (no file server configured)", p)
		}
		b, err := st.env.Files.Read(st.ctx, st.saltenv, p)
		if err != nil {
			if errors.Is(err, api.ErrFileNotFound) {
				return nil, &notFoundError{path: p, saltenv: st.saltenv}
			}
			return nil, fmt.Errorf("read template %s: %w", p, err)
		}
		src = string(b)
		st.sources[p] = src
	}
	t, err := st.cache.parse(p, src)
	if err != nil {
		st.locate(err, p)
		return nil, err
	}
	return t, nil
}

// notFoundError is a missing import or include.
type notFoundError struct{ path, saltenv string }

func (e *notFoundError) Error() string {
	return fmt.Sprintf("template not found: %s (saltenv %s)", e.path, e.saltenv)
}

func (e *notFoundError) Unwrap() error { return api.ErrFileNotFound }

// enter guards nesting depth; the returned func leaves.
func (st *state) enter() (func(), error) {
	if st.depth >= maxDepth {
		return nil, fmt.Errorf("templates nested more than %d deep (an include, import or macro calls itself?)", maxDepth)
	}
	st.depth++
	return func() { st.depth-- }, nil
}

// renderFile renders the template at p (relative to the template running
// in r) with a context that sees the caller's variables (withContext) or
// only the Salt globals. It returns the module context and the output.
func (st *state) renderFile(r *exec.Renderer, name string, withContext bool, out io.Writer) (*exec.Context, string, error) {
	from := currentFile(r)
	p, err := resolvePath(from, name)
	if err != nil {
		return nil, "", err
	}
	leave, err := st.enter()
	if err != nil {
		return nil, "", err
	}
	defer leave()
	tpl, err := st.load(p)
	if err != nil {
		return nil, p, err
	}
	var ctx *exec.Context
	if withContext {
		ctx = r.Environment.Context.Inherit()
	} else {
		ctx = st.globals.Inherit()
	}
	if err := st.execute(tpl, ctx, out); err != nil {
		st.locate(err, p)
		return nil, p, err
	}
	return ctx, p, nil
}

// module renders an imported template once per render (without context)
// or every time (with context), as Jinja does.
func (st *state) module(r *exec.Renderer, name string, withContext bool) (*exec.Context, string, error) {
	if !withContext {
		if p, err := resolvePath(currentFile(r), name); err == nil {
			if ctx, ok := st.modules[p]; ok {
				return ctx, p, nil
			}
		}
	}
	ctx, p, err := st.renderFile(r, name, withContext, io.Discard)
	if err == nil && !withContext {
		st.modules[p] = ctx
	}
	return ctx, p, err
}

// locate records that err happened in file, at the innermost line its
// text names. Recording is cheap and the final error picks the innermost
// record it still contains.
func (st *state) locate(err error, file string) {
	if err == nil || file == "" {
		return
	}
	text := err.Error()
	for _, l := range st.located {
		if l.text == text {
			return
		}
	}
	st.located = append(st.located, located{file: file, line: innermostLine(err), text: text})
}

// callFailed returns the failed execution module call a final error
// text contains, or "".
func (st *state) callFailed(text string) string {
	for _, c := range st.calls {
		if strings.Contains(text, c) {
			return c
		}
	}
	return ""
}

// saltFuncs is the `salt` variable: salt['mod.fn'](...) and
// salt.mod.fn(...) call execution modules through Env.Exec.
type saltFuncs struct{ st *state }

// GetItem implements exec.ItemGetter: salt['mod.fn'].
func (s *saltFuncs) GetItem(key any) (*exec.Value, bool) {
	name, ok := key.(string)
	if !ok || !strings.Contains(name, ".") {
		return exec.AsValue(nil), false
	}
	return exec.AsValue(s.st.saltFunc(name)), true
}

// GetAttribute implements exec.AttributeGetter: salt.mod.
func (s *saltFuncs) GetAttribute(name string) (*exec.Value, bool) {
	return exec.AsValue(&saltModule{st: s.st, mod: name}), true
}

func (s *saltFuncs) String() string { return "<salt execution modules>" }

// saltModule is salt.mod in salt.mod.fn(...).
type saltModule struct {
	st  *state
	mod string
}

// GetAttribute implements exec.AttributeGetter: salt.mod.fn.
func (m *saltModule) GetAttribute(name string) (*exec.Value, bool) {
	return exec.AsValue(m.st.saltFunc(m.mod + "." + name)), true
}

func (m *saltModule) String() string { return "<salt module " + m.mod + ">" }

// saltCallError is an execution module failing inside a template.
type saltCallError struct {
	fun string
	err error
}

func (e *saltCallError) Error() string { return e.fun + ": " + e.err.Error() }
func (e *saltCallError) Unwrap() error { return e.err }

// saltFunc returns the callable for one execution module function.
// Positional and keyword arguments reach Env.Exec as they were written.
func (st *state) saltFunc(name string) method {
	return func(a *exec.VarArgs) (any, error) {
		if st.env == nil || st.env.Exec == nil {
			return nil, &saltCallError{name, errors.New("execution modules are not available here")}
		}
		if err := st.ctx.Err(); err != nil {
			return nil, &saltCallError{name, err}
		}
		args := make([]any, len(a.Args))
		for i, v := range a.Args {
			args[i] = plain(v.Interface())
		}
		var kwargs map[string]any
		if len(a.KwArgs) > 0 {
			kwargs = make(map[string]any, len(a.KwArgs))
			for k, v := range a.KwArgs {
				kwargs[k] = plain(v.Interface())
			}
		}
		res, err := st.env.Exec(st.ctx, name, args, kwargs)
		if err != nil {
			e := &saltCallError{name, err}
			st.calls = append(st.calls, e.Error())
			return nil, e
		}
		return pyCopy(res), nil
	}
}

// module is the value bound by {% import "x" as m %}: m.name reads the
// template's top-level variables and macros.
type module struct {
	ctx  *exec.Context
	path string
}

// GetAttribute implements exec.AttributeGetter.
func (m *module) GetAttribute(name string) (*exec.Value, bool) {
	v, ok := m.ctx.Get(name)
	if !ok {
		return exec.AsValue(nil), false
	}
	return exec.ToValue(v), true
}

func (m *module) String() string { return "<template module '" + m.path + "'>" }
