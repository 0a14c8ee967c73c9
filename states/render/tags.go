package render

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nikolalohinski/gonja/v2/builtins"
	controlStructures "github.com/nikolalohinski/gonja/v2/builtins/control_structures"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// The tags below replace or extend gonja's. gonja's import and from only
// bind macros and never run the imported template, so a `{% set %}`
// variable cannot be imported, and errors inside the imported file name
// no file; include, set and macro are replaced so that files resolve
// through the salt:// file client, assigned values are mutable template
// values, and failures are recorded with the file they happened in.

func installTags(set *exec.ControlStructureSet) {
	replace := func(name string, p parser.ControlStructureParser) {
		if set.Exists(name) {
			_ = set.Replace(name, p)
		} else {
			_ = set.Register(name, p)
		}
	}
	replace("import", importParser)
	replace("from", fromParser)
	replace("include", includeParser)
	replace("set", setParser)
	if orig, ok := builtins.ControlStructures.Get("macro"); ok {
		replace("macro", macroParser(orig))
	}
	if orig, ok := builtins.ControlStructures.Get("call"); ok {
		replace("call", callParser(orig))
	}
	for _, kind := range []string{"yaml", "json", "text"} {
		replace("import_"+kind, importDataParser(kind))
		replace("load_"+kind, loadDataParser(kind))
	}
}

// valueErr returns the error an evaluated value carries.
func valueErr(v *exec.Value) error {
	if e, ok := v.Interface().(error); ok {
		return e
	}
	return v
}

// position is the token a tag reports its line with: its first argument.
func position(p, args *parser.Parser) *tokens.Token {
	if t := args.Current(); t != nil && t.Line > 0 {
		return t
	}
	return p.Current()
}

// parseWithContext reads an optional `with context` / `without context`.
func parseWithContext(args *parser.Parser, def bool) (bool, error) {
	tok := args.MatchName("with", "without")
	if tok == nil {
		return def, nil
	}
	if args.MatchName("context") == nil {
		return def, args.Error(fmt.Sprintf("expected 'context' after '%s'", tok.Val), args.Current())
	}
	return tok.Val == "with", nil
}

// templateName evaluates the file name expression of a tag.
func templateName(r *exec.Renderer, expr nodes.Expression) (string, error) {
	v := r.Eval(expr)
	if v.IsError() {
		return "", valueErr(v)
	}
	if !v.IsString() {
		return "", fmt.Errorf("template name must be a string, got %s", pyRepr(v.Interface()))
	}
	return v.String(), nil
}

func needState(r *exec.Renderer) (*state, error) {
	st := stateOf(r.Environment.Context)
	if st == nil {
		return nil, errors.New("template runs outside a brine render")
	}
	return st, nil
}

// importTag is {% import "file" as name [with context] %}.
type importTag struct {
	loc         *tokens.Token
	file        nodes.Expression
	as          string
	withContext bool
}

func (t *importTag) Position() *tokens.Token { return t.loc }
func (t *importTag) String() string          { return fmt.Sprintf("import %s as %s", t.file, t.as) }

// loadModule runs the template an import or from tag names and returns its
// top-level context (macros and {% set %} variables) and its path.
func loadModule(r *exec.Renderer, file nodes.Expression, withContext bool) (*exec.Context, string, error) {
	st, err := needState(r)
	if err != nil {
		return nil, "", err
	}
	name, err := templateName(r, file)
	if err != nil {
		return nil, "", err
	}
	return st.module(r, name, withContext)
}

func (t *importTag) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	ctx, p, err := loadModule(r, t.file, t.withContext)
	if err != nil {
		return err
	}
	r.Environment.Context.Set(t.as, &module{ctx: ctx, path: p})
	return nil
}

func importParser(p, args *parser.Parser) (nodes.ControlStructure, error) {
	t := &importTag{loc: position(p, args)}
	var err error
	t.file, t.as, t.withContext, err = parseSourceAs(args, "template", "import")
	if err != nil {
		return nil, err
	}
	return t, nil
}

// parseSourceAs reads the `"path" as name [with|without context]` that
// import and import_yaml/json/text share.
func parseSourceAs(args *parser.Parser, what, tag string) (nodes.Expression, string, bool, error) {
	expr, err := args.ParseExpression()
	if err != nil {
		return nil, "", false, err
	}
	if args.MatchName("as") == nil {
		return nil, "", false, args.Error("expected 'as' after the "+what+" name", args.Current())
	}
	name := args.Match(tokens.Name)
	if name == nil {
		return nil, "", false, args.Error("expected a name after 'as'", args.Current())
	}
	withContext, err := parseWithContext(args, false)
	if err != nil {
		return nil, "", false, err
	}
	if !args.End() {
		return nil, "", false, args.Error("unexpected text in "+tag+" tag", args.Current())
	}
	return expr, name.Val, withContext, nil
}

// fromTag is {% from "file" import a, b as c [with context] %}.
type fromTag struct {
	loc         *tokens.Token
	file        nodes.Expression
	names       [][2]string // name, alias
	withContext bool
}

func (t *fromTag) Position() *tokens.Token { return t.loc }
func (t *fromTag) String() string          { return fmt.Sprintf("from %s import ...", t.file) }

func (t *fromTag) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	ctx, p, err := loadModule(r, t.file, t.withContext)
	if err != nil {
		return err
	}
	for _, n := range t.names {
		v, ok := ctx.Get(n[0])
		if !ok {
			return fmt.Errorf("the template '%s' (imported on line %d) does not export the requested name '%s'", p, t.loc.Line, n[0])
		}
		r.Environment.Context.Set(n[1], v)
	}
	return nil
}

func fromParser(p, args *parser.Parser) (nodes.ControlStructure, error) {
	t := &fromTag{loc: position(p, args)}
	expr, err := args.ParseExpression()
	if err != nil {
		return nil, err
	}
	t.file = expr
	if args.MatchName("import") == nil {
		return nil, args.Error("expected 'import' after the template name", args.Current())
	}
	for !args.End() {
		if args.CurrentName("with", "without") != nil && len(t.names) > 0 {
			break
		}
		name := args.Match(tokens.Name)
		if name == nil {
			return nil, args.Error("expected a name to import", args.Current())
		}
		alias := name.Val
		if args.MatchName("as") != nil {
			a := args.Match(tokens.Name)
			if a == nil {
				return nil, args.Error("expected a name after 'as'", args.Current())
			}
			alias = a.Val
		}
		t.names = append(t.names, [2]string{name.Val, alias})
		if args.Match(tokens.Comma) == nil {
			break
		}
	}
	if len(t.names) == 0 {
		return nil, args.Error("expected a name to import", args.Current())
	}
	if t.withContext, err = parseWithContext(args, false); err != nil {
		return nil, err
	}
	if !args.End() {
		return nil, args.Error("unexpected text in from tag", args.Current())
	}
	return t, nil
}

// includeTag is {% include "file" [ignore missing] [without context] %}.
type includeTag struct {
	loc           *tokens.Token
	file          nodes.Expression
	ignoreMissing bool
	withContext   bool
}

func (t *includeTag) Position() *tokens.Token { return t.loc }
func (t *includeTag) String() string          { return fmt.Sprintf("include %s", t.file) }

func (t *includeTag) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	st, err := needState(r)
	if err != nil {
		return err
	}
	v := r.Eval(t.file)
	if v.IsError() {
		return valueErr(v)
	}
	var names []string
	switch x := py(v.Interface()).(type) {
	case string:
		names = []string{x}
	case *pyList:
		for _, e := range *x {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("include: template names must be strings, got %s", pyRepr(e))
			}
			names = append(names, s)
		}
	default:
		return fmt.Errorf("include: template name must be a string, got %s", pyRepr(x))
	}
	var last error
	for _, name := range names {
		_, _, err := st.renderFile(r, name, t.withContext, r.Output)
		var nf *notFoundError
		if errors.As(err, &nf) {
			last = err
			continue
		}
		return err
	}
	if t.ignoreMissing || last == nil {
		return nil
	}
	return last
}

func includeParser(p, args *parser.Parser) (nodes.ControlStructure, error) {
	t := &includeTag{loc: position(p, args)}
	expr, err := args.ParseExpression()
	if err != nil {
		return nil, err
	}
	t.file = expr
	if args.MatchName("ignore") != nil {
		if args.MatchName("missing") == nil {
			return nil, args.Error("expected 'missing' after 'ignore'", args.Current())
		}
		t.ignoreMissing = true
	}
	if t.withContext, err = parseWithContext(args, true); err != nil {
		return nil, err
	}
	if !args.End() {
		return nil, args.Error("unexpected text in include tag", args.Current())
	}
	return t, nil
}

// importDataTag is Salt's {% import_yaml "file" as name %} (and _json,
// _text): the file is rendered as Jinja, then loaded as data.
type importDataTag struct {
	loc         *tokens.Token
	kind        string
	file        nodes.Expression
	as          string
	withContext bool
}

func (t *importDataTag) Position() *tokens.Token { return t.loc }
func (t *importDataTag) String() string {
	return fmt.Sprintf("import_%s %s as %s", t.kind, t.file, t.as)
}

func (t *importDataTag) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	st, err := needState(r)
	if err != nil {
		return err
	}
	name, err := templateName(r, t.file)
	if err != nil {
		return err
	}
	var out strings.Builder
	_, p, err := st.renderFile(r, name, t.withContext, &out)
	if err != nil {
		return err
	}
	v, err := loadData(t.kind, out.String())
	if err != nil {
		var le *lineError
		if errors.As(err, &le) {
			err = fmt.Errorf("%s is not valid %s: %s", p, strings.ToUpper(t.kind), le.msg)
			st.located = append(st.located, located{file: p, line: le.line, text: err.Error()})
		}
		return err
	}
	r.Environment.Context.Set(t.as, v)
	return nil
}

func importDataParser(kind string) parser.ControlStructureParser {
	return func(p, args *parser.Parser) (nodes.ControlStructure, error) {
		t := &importDataTag{loc: position(p, args), kind: kind}
		var err error
		t.file, t.as, t.withContext, err = parseSourceAs(args, "file", "import_"+kind)
		if err != nil {
			return nil, err
		}
		return t, nil
	}
}

// loadDataTag is Salt's {% load_yaml as name %}...{% endload %} (and
// _json, _text): the rendered body, loaded as data.
type loadDataTag struct {
	loc  *tokens.Token
	kind string
	as   string
	body *nodes.Wrapper
}

func (t *loadDataTag) Position() *tokens.Token { return t.loc }
func (t *loadDataTag) String() string          { return fmt.Sprintf("load_%s as %s", t.kind, t.as) }

func (t *loadDataTag) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	var out strings.Builder
	sub := r.Inherit()
	sub.Output = &out
	if err := sub.ExecuteWrapper(t.body); err != nil {
		return err
	}
	v, err := loadData(t.kind, out.String())
	if err != nil {
		return fmt.Errorf("load_%s: %w", t.kind, err)
	}
	r.Environment.Context.Set(t.as, v)
	return nil
}

func loadDataParser(kind string) parser.ControlStructureParser {
	return func(p, args *parser.Parser) (nodes.ControlStructure, error) {
		t := &loadDataTag{loc: position(p, args), kind: kind}
		if args.MatchName("as") == nil {
			return nil, args.Error("expected 'as'", args.Current())
		}
		name := args.Match(tokens.Name)
		if name == nil {
			return nil, args.Error("expected a name after 'as'", args.Current())
		}
		t.as = name.Val
		if !args.End() {
			return nil, args.Error("unexpected text in load_"+kind+" tag", args.Current())
		}
		body, endargs, err := p.WrapUntil("endload")
		if err != nil {
			return nil, err
		}
		if !endargs.End() {
			return nil, endargs.Error("endload takes no arguments", endargs.Current())
		}
		t.body = body
		return t, nil
	}
}

// setTag is {% set x = expr %} and {% set x %}...{% endset %}. The value
// is stored as a mutable template value, so that a later
// {% do x.update(...) %} or {% do x.append(...) %} changes it.
type setTag struct {
	loc         *tokens.Token
	target      nodes.Expression
	expr        nodes.Expression
	condition   nodes.Expression
	alternative nodes.Expression
	body        *nodes.Wrapper
}

func (t *setTag) Position() *tokens.Token { return t.loc }
func (t *setTag) String() string          { return fmt.Sprintf("set %s", t.target) }

func (t *setTag) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	var value any
	if t.body != nil {
		var out strings.Builder
		sub := r.Inherit()
		sub.Output = &out
		if err := sub.ExecuteWrapper(t.body); err != nil {
			return err
		}
		value = out.String()
	} else {
		expr := t.expr
		if t.condition != nil {
			c := r.Eval(t.condition)
			if c.IsError() {
				return valueErr(c)
			}
			if !c.IsTrue() {
				expr = t.alternative
			}
		}
		v := r.Eval(expr)
		if v.IsError() {
			return valueErr(v)
		}
		value = py(v.Interface())
	}
	switch n := t.target.(type) {
	case *nodes.Name:
		r.Environment.Context.Set(n.Name.Val, value)
		return nil
	case *nodes.GetAttribute:
		if n.Attribute == "" {
			return setItem(r, n.Node, exec.AsValue(n.Index), value)
		}
		return setItem(r, n.Node, exec.AsValue(n.Attribute), value)
	case *nodes.GetItem:
		k := r.Eval(n.Arg)
		if k.IsError() {
			return valueErr(k)
		}
		return setItem(r, n.Node, k, value)
	}
	return fmt.Errorf("cannot assign to %s", t.target)
}

// setItem is {% set obj.key = value %} (Jinja allows it on namespaces).
func setItem(r *exec.Renderer, objExpr nodes.Expression, key *exec.Value, value any) error {
	obj := r.Eval(objExpr)
	if obj.IsError() {
		return valueErr(obj)
	}
	if err := checkInsert(obj.Interface(), value); err != nil {
		return err
	}
	switch o := obj.Interface().(type) {
	case pyDict:
		o[keyString(key.Interface())] = value
		return nil
	case dataDict:
		o[keyString(key.Interface())] = value
		return nil
	case grainsDict:
		o[keyString(key.Interface())] = value
		return nil
	case *pyList:
		i, ok := key.Interface().(int)
		if ok && i < 0 {
			i += len(*o)
		}
		if !ok || i < 0 || i >= len(*o) {
			return fmt.Errorf("list assignment index out of range")
		}
		(*o)[i] = value
		return nil
	}
	return obj.Set(key, value)
}

func setParser(p, args *parser.Parser) (nodes.ControlStructure, error) {
	t := &setTag{loc: position(p, args)}
	target, err := args.ParseVariableOrLiteral()
	if err != nil {
		return nil, err
	}
	switch target.(type) {
	case *nodes.Name, *nodes.GetItem, *nodes.GetAttribute:
		t.target = target
	default:
		return nil, args.Error(fmt.Sprintf("cannot assign to %s", target), target.Position())
	}
	if args.Match(tokens.Assign) == nil {
		if !args.End() {
			return nil, args.Error("expected '=' or the end of the set tag", args.Current())
		}
		body, endargs, err := p.WrapUntil("endset")
		if err != nil {
			return nil, err
		}
		if !endargs.End() {
			return nil, endargs.Error("endset takes no arguments", endargs.Current())
		}
		t.body = body
		return t, nil
	}
	if t.expr, err = args.ParseExpression(); err != nil {
		return nil, err
	}
	if t.condition, t.alternative, err = args.ParseCondition(); err != nil {
		return nil, err
	}
	if t.condition != nil && t.alternative == nil {
		t.alternative = &nodes.None{Location: t.loc}
	}
	if !args.End() {
		return nil, args.Error("unexpected text in set tag", args.Current())
	}
	return t, nil
}

// macroTag is gonja's macro with its calls watched: a failing call is
// recorded with the file the macro was defined in.
type macroTag struct {
	*controlStructures.MacroControlStructure
}

func (t *macroTag) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	fn, err := exec.MacroNodeToFunc(t.Macro, r)
	if err != nil {
		return err
	}
	st := stateOf(r.Environment.Context)
	file := currentFile(r)
	name := t.Name
	r.Environment.Context.Set(name, exec.Macro(func(params *exec.VarArgs) *exec.Value {
		if st == nil {
			return fn(params)
		}
		leave, err := st.enter()
		if err != nil {
			return exec.AsValue(fmt.Errorf("macro '%s': %w", name, err))
		}
		defer leave()
		st.handOverCaller(r.Environment.Context)
		v := fn(params)
		if v.IsError() {
			st.locate(valueErr(v), file)
		}
		return v
	}))
	return nil
}

func macroParser(orig parser.ControlStructureParser) parser.ControlStructureParser {
	return func(p, args *parser.Parser) (nodes.ControlStructure, error) {
		n, err := orig(p, args)
		if err != nil {
			return nil, err
		}
		m, ok := n.(*controlStructures.MacroControlStructure)
		if !ok {
			return n, nil
		}
		return &macroTag{m}, nil
	}
}

// callerKey is where gonja's {% call %} leaves caller() for the macro.
const callerKey = "__gonja_caller__"

// callTag is gonja's {% call macro() %}...{% endcall %}. gonja hands the
// body to the macro through the calling template's context, which a macro
// imported from another file cannot see; the call is recorded so that the
// macro can take it over (handOverCaller).
type callTag struct {
	*controlStructures.CallControlStructure
}

func (t *callTag) Execute(r *exec.Renderer, tag *nodes.ControlStructureBlock) error {
	if st := stateOf(r.Environment.Context); st != nil {
		st.callers = append(st.callers, r.Environment.Context)
		defer func() { st.callers = st.callers[:len(st.callers)-1] }()
	}
	return t.CallControlStructure.Execute(r, tag)
}

func callParser(orig parser.ControlStructureParser) parser.ControlStructureParser {
	return func(p, args *parser.Parser) (nodes.ControlStructure, error) {
		n, err := orig(p, args)
		if err != nil {
			return nil, err
		}
		if c, ok := n.(*controlStructures.CallControlStructure); ok {
			return &callTag{c}, nil
		}
		return n, nil
	}
}

// handOverCaller moves a pending caller() from the innermost {% call %}
// to the context the macro was defined in, where gonja looks for it.
func (st *state) handOverCaller(def *exec.Context) {
	n := len(st.callers)
	if n == 0 {
		return
	}
	from := st.callers[n-1]
	c, ok := from.Get(callerKey)
	if !ok || c == nil {
		return
	}
	from.Set(callerKey, nil)
	def.Set(callerKey, c)
}
