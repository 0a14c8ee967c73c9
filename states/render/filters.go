package render

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"path"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/exec"
)

// installFilters adds Salt's Jinja filters (salt.utils.jinja and the
// serializer extension) next to gonja's builtins, replacing gonja's where
// Salt's behave differently (tojson, default).
func installFilters(set *exec.FilterSet) {
	// gonja's own filters know their dict and list literals only partly
	// (dictsort of a literal is empty): hand them template values.
	for _, name := range filterNames(builtins.Filters) {
		if f, ok := set.Get(name); ok {
			_ = set.Replace(name, literalsAsValues(f))
		}
	}
	add := func(name string, f exec.FilterFunction) {
		if set.Exists(name) {
			_ = set.Replace(name, f)
		} else {
			_ = set.Register(name, f)
		}
	}
	add("json", filter(filterJSON))
	add("tojson", filter(filterToJSON))
	add("yaml", filter(filterYAML))
	add("yaml_dquote", filter(stringFilter("yaml_dquote", yamlDQuote)))
	add("yaml_squote", filter(stringFilter("yaml_squote", yamlSQuote)))
	add("yaml_encode", filter(func(in any, a *exec.VarArgs) (any, error) {
		if err := noArgs(a, "yaml_encode"); err != nil {
			return nil, err
		}
		return yamlEncode(plain(in))
	}))
	for _, kind := range []string{"yaml", "json", "text"} {
		add("load_"+kind, filter(func(in any, a *exec.VarArgs) (any, error) {
			if err := noArgs(a, "load_"+kind); err != nil {
				return nil, err
			}
			return loadData(kind, pyStr(plain(in)))
		}))
	}
	add("python", filter(func(in any, a *exec.VarArgs) (any, error) { return pyRepr(in), nil }))
	add("to_bool", filter(filterToBool))
	add("quote", filter(stringFilter("quote", shellQuote)))
	add("regex_escape", filter(stringFilter("regex_escape", regexp.QuoteMeta)))
	add("regex_match", filter(regexFilter("regex_match", true)))
	add("regex_search", filter(regexFilter("regex_search", false)))
	add("regex_replace", filter(filterRegexReplace))
	add("md5", filter(hashFilter("md5", md5.New)))
	add("sha1", filter(hashFilter("sha1", sha1.New)))
	add("sha256", filter(hashFilter("sha256", sha256.New)))
	add("sha512", filter(hashFilter("sha512", sha512.New)))
	add("base64_encode", filter(stringFilter("base64_encode", func(s string) string {
		return base64.StdEncoding.EncodeToString([]byte(s))
	})))
	add("base64_decode", filter(func(in any, a *exec.VarArgs) (any, error) {
		b, err := base64.StdEncoding.DecodeString(pyStr(in))
		if err != nil {
			return nil, fmt.Errorf("base64_decode: %w", err)
		}
		return string(b), nil
	}))
	add("traverse", filter(filterTraverse))
	add("to_num", filter(filterToNum))
	add("sequence", filter(func(in any, a *exec.VarArgs) (any, error) {
		if l, ok := py(in).(*pyList); ok {
			return l, nil
		}
		return newList([]any{in}), nil
	}))
	add("path_join", filter(func(in any, a *exec.VarArgs) (any, error) {
		parts := []string{pyStr(in)}
		for _, v := range a.Args {
			p := pyStr(plain(v.Interface()))
			if strings.HasPrefix(p, "/") {
				parts = parts[:0]
			}
			parts = append(parts, p)
		}
		return path.Join(parts...), nil
	}))
	add("format", filter(filterFormat))
	add("pymod", filter(filterPyMod))
	add("default", filterDefault)
	add("d", filterDefault)
}

// filterNames lists the names in a gonja FilterSet, which has no exported
// way to enumerate them.
func filterNames(fs *exec.FilterSet) []string {
	v := reflect.ValueOf(fs).Elem().FieldByName("filters")
	if !v.IsValid() || v.Kind() != reflect.Map {
		return nil
	}
	names := make([]string, 0, v.Len())
	for _, k := range v.MapKeys() {
		names = append(names, k.String())
	}
	return names
}

// literalsAsValues converts a dict or list literal given to f.
func literalsAsValues(f exec.FilterFunction) exec.FilterFunction {
	return func(e *exec.Evaluator, in *exec.Value, a *exec.VarArgs) *exec.Value {
		switch in.Interface().(type) {
		case *exec.Dict, exec.ValuesList:
			if err := literalErr(in.Interface()); err != nil {
				return exec.AsValue(err)
			}
			in = exec.AsValue(py(in.Interface()))
		}
		return f(e, in, a)
	}
}

// filter adapts a Go function to a gonja filter: errors in the input pass
// through, errors of the function become the expression's error.
func filter(fn func(in any, a *exec.VarArgs) (any, error)) exec.FilterFunction {
	return func(_ *exec.Evaluator, in *exec.Value, a *exec.VarArgs) *exec.Value {
		if in.IsError() {
			return in
		}
		if err := literalErr(in.Interface()); err != nil {
			return exec.AsValue(err)
		}
		out, err := fn(in.Interface(), a)
		if err != nil {
			return exec.AsValue(err)
		}
		return exec.AsValue(out)
	}
}

func stringFilter(name string, fn func(string) string) func(any, *exec.VarArgs) (any, error) {
	return func(in any, a *exec.VarArgs) (any, error) {
		if err := noArgs(a, name); err != nil {
			return nil, err
		}
		return fn(pyStr(plain(in))), nil
	}
}

// filterDefault is Jinja's default(value, default_value, boolean=False):
// it replaces an undefined value (and, with boolean, a false one). Other
// errors are not hidden, and None is a defined value.
func filterDefault(_ *exec.Evaluator, in *exec.Value, a *exec.VarArgs) *exec.Value {
	var def, boolean any = "", false
	if err := takeArgs(a, "default", 0, []string{"default_value", "boolean"}, nil, &def, &boolean); err != nil {
		return exec.AsValue(err)
	}
	if in.IsError() {
		if isUndefined(in.Error()) {
			return exec.AsValue(def)
		}
		return in
	}
	if b, _ := boolean.(bool); b && !in.IsTrue() {
		return exec.AsValue(def)
	}
	return in
}

func filterJSON(in any, a *exec.VarArgs) (any, error) {
	var sortKeys, indent any = true, nil
	if err := takeArgs(a, "json", 0, []string{"sort_keys", "indent"}, nil, &sortKeys, &indent); err != nil {
		return nil, err
	}
	return jsonFilter(in, sortKeys, indent, true)
}

func filterToJSON(in any, a *exec.VarArgs) (any, error) {
	var indent, sortKeys, ascii any = nil, false, true
	if err := takeArgs(a, "tojson", 0, []string{"indent", "sort_keys", "ensure_ascii"}, nil, &indent, &sortKeys, &ascii); err != nil {
		return nil, err
	}
	b, _ := ascii.(bool)
	return jsonFilter(in, sortKeys, indent, b)
}

func jsonFilter(in, sortKeys, indent any, ascii bool) (any, error) {
	o := jsonOptions{ensureASCII: ascii}
	o.sortKeys, _ = sortKeys.(bool)
	switch x := indent.(type) {
	case int:
		o.indent = strings.Repeat(" ", max(0, x))
		if x <= 0 {
			o.indent = ""
		}
	case string:
		o.indent = x
	}
	s, err := dumpJSON(plain(in), o)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func filterYAML(in any, a *exec.VarArgs) (any, error) {
	var flow any = true
	if err := takeArgs(a, "yaml", 0, []string{"flow_style"}, nil, &flow); err != nil {
		return nil, err
	}
	f, ok := flow.(bool)
	if !ok && flow != nil {
		return nil, fmt.Errorf("yaml: flow_style must be True or False")
	}
	return dumpYAML(plain(in), f)
}

// filterToBool is Salt's to_bool.
func filterToBool(in any, a *exec.VarArgs) (any, error) {
	switch x := plain(in).(type) {
	case nil:
		return false, nil
	case bool:
		return x, nil
	case string:
		switch strings.ToLower(x) {
		case "yes", "1", "true":
			return true, nil
		}
		return false, nil
	case int:
		return x > 0, nil
	case float64:
		return false, nil
	case map[string]any:
		return len(x) > 0, nil
	case []any:
		return len(x) > 0, nil
	}
	return false, nil
}

// shellQuote is Python's shlex.quote.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./-_", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// compileRegex compiles a Python-style pattern with its flags.
func compileRegex(pattern string, ignoreCase, multiline any) (*regexp.Regexp, error) {
	flags := ""
	if b, _ := ignoreCase.(bool); b {
		flags += "i"
	}
	if b, _ := multiline.(bool); b {
		flags += "m"
	}
	if flags != "" {
		pattern = "(?" + flags + ")" + pattern
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("bad regular expression: %w", err)
	}
	return re, nil
}

// regexFilter is Salt's regex_match (anchored at the start) and
// regex_search: the groups of the first match, or None.
func regexFilter(name string, anchored bool) func(any, *exec.VarArgs) (any, error) {
	return func(in any, a *exec.VarArgs) (any, error) {
		var rgx, ic, ml any
		if err := takeArgs(a, name, 1, []string{"rgx", "ignorecase", "multiline"}, nil, &rgx, &ic, &ml); err != nil {
			return nil, err
		}
		pattern := pyStr(plain(rgx))
		if anchored {
			pattern = `\A(?:` + pattern + `)`
		}
		re, err := compileRegex(pattern, ic, ml)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		m := re.FindStringSubmatchIndex(pyStr(plain(in)))
		if m == nil {
			return nil, nil
		}
		s := pyStr(plain(in))
		groups := pyList{}
		for i := 2; i+1 < len(m); i += 2 {
			if m[i] < 0 {
				groups = append(groups, nil)
			} else {
				groups = append(groups, s[m[i]:m[i+1]])
			}
		}
		return &groups, nil
	}
}

var pyBackref = regexp.MustCompile(`\\(\d+)|\\g<(\w+)>`)

// filterRegexReplace is Salt's regex_replace (Python's re.sub): \1 and
// \g<name> in the replacement name groups.
func filterRegexReplace(in any, a *exec.VarArgs) (any, error) {
	var rgx, repl, ic, ml any
	if err := takeArgs(a, "regex_replace", 2, []string{"rgx", "val", "ignorecase", "multiline"}, nil, &rgx, &repl, &ic, &ml); err != nil {
		return nil, err
	}
	re, err := compileRegex(pyStr(plain(rgx)), ic, ml)
	if err != nil {
		return nil, fmt.Errorf("regex_replace: %w", err)
	}
	r := strings.ReplaceAll(pyStr(plain(repl)), "$", "$$")
	r = pyBackref.ReplaceAllStringFunc(r, func(m string) string {
		sub := pyBackref.FindStringSubmatch(m)
		if sub[1] != "" {
			return "${" + sub[1] + "}"
		}
		return "${" + sub[2] + "}"
	})
	return re.ReplaceAllString(pyStr(plain(in)), r), nil
}

func hashFilter(name string, h func() hash.Hash) func(any, *exec.VarArgs) (any, error) {
	return func(in any, a *exec.VarArgs) (any, error) {
		if err := noArgs(a, name); err != nil {
			return nil, err
		}
		d := h()
		_, _ = io.WriteString(d, pyStr(plain(in)))
		return hex.EncodeToString(d.Sum(nil)), nil
	}
}

// filterTraverse is Salt's traverse(data, key, default=None, delimiter=':').
func filterTraverse(in any, a *exec.VarArgs) (any, error) {
	var key, def, delim any = nil, nil, ":"
	if err := takeArgs(a, "traverse", 1, []string{"key", "default", "delimiter"}, nil, &key, &def, &delim); err != nil {
		return nil, err
	}
	sep, _ := delim.(string)
	if v, ok := Traverse(plain(in), pyStr(plain(key)), sep); ok {
		return pyCopy(v), nil
	}
	return py(def), nil
}

// filterToNum is Salt's to_num: an int or float when the text is one.
func filterToNum(in any, a *exec.VarArgs) (any, error) {
	s, ok := in.(string)
	if !ok {
		return in, nil
	}
	if i, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
		return i, nil
	}
	if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
		return f, nil
	}
	return in, nil
}

// lineError is a data parse error with the line it happened on.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("%s (line %d)", e.msg, e.line)
	}
	return e.msg
}

// loadData parses text as YAML, JSON or plain text into template values.
func loadData(kind, text string) (any, error) {
	switch kind {
	case "text":
		return text, nil
	case "json":
		v, err := parseJSONValue(text)
		if err != nil {
			return nil, err
		}
		return py(v), nil
	}
	doc, err := parseYAML(text)
	if err != nil {
		return nil, err
	}
	v, err := Value(doc)
	if err != nil {
		return nil, err
	}
	return py(v), nil
}

// parseJSONValue decodes JSON into plain values, integers as int.
func parseJSONValue(text string) (any, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonError(text, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &lineError{line: lineAt(text, int(dec.InputOffset())), msg: "extra data after the JSON value"}
	}
	return fromJSON(v), nil
}

// jsonError gives a JSON syntax error its line.
func jsonError(text string, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &lineError{line: lineAt(text, int(se.Offset)), msg: se.Error()}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &lineError{line: lineAt(text, len(text)), msg: "unexpected end of JSON input"}
	}
	return &lineError{msg: err.Error()}
}

// lineAt is the 1-based line of a byte offset.
func lineAt(text string, off int) int {
	off = max(0, min(off, len(text)))
	return bytes.Count([]byte(text[:off]), []byte("\n")) + 1
}

func fromJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.Atoi(x.String()); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = fromJSON(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = fromJSON(e)
		}
		return x
	}
	return v
}

// installTests adds Salt's `list` test and makes defined/undefined mean
// what they mean in Jinja: None is defined; only a missing name,
// attribute or item is not.
func installTests(set *exec.TestSet) {
	add := func(name string, fn exec.TestFunction) {
		if set.Exists(name) {
			_ = set.Replace(name, fn)
		} else {
			_ = set.Register(name, fn)
		}
	}
	defined := func(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) (bool, error) {
		if in.IsError() {
			if isUndefined(in.Error()) {
				return false, nil
			}
			return false, errors.New(in.Error())
		}
		return true, nil
	}
	add("defined", defined)
	add("undefined", func(e *exec.Evaluator, in *exec.Value, a *exec.VarArgs) (bool, error) {
		d, err := defined(e, in, a)
		return !d, err
	})
	add("list", func(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) (bool, error) {
		return in.IsList(), nil
	})
	add("match", func(_ *exec.Evaluator, in *exec.Value, a *exec.VarArgs) (bool, error) {
		if len(a.Args) < 1 {
			return false, errors.New("match needs a regular expression")
		}
		re, err := compileRegex(`\A(?:`+a.Args[0].String()+`)`, nil, nil)
		if err != nil {
			return false, err
		}
		return re.MatchString(in.String()), nil
	})
}

// literalErr finds an error inside a list or dict literal: gonja keeps
// a failed element (an undefined name) in the literal instead of failing.
func literalErr(v any) error {
	switch x := v.(type) {
	case *exec.Value:
		if x == nil {
			return nil
		}
		if x.IsError() {
			return valueErr(x)
		}
		return literalErr(x.Interface())
	case exec.ValuesList:
		for _, e := range x {
			if err := literalErr(e); err != nil {
				return err
			}
		}
	case *exec.Dict:
		if x == nil {
			return nil
		}
		for _, p := range x.Pairs {
			if err := literalErr(p.Key); err != nil {
				return err
			}
			if err := literalErr(p.Value); err != nil {
				return err
			}
		}
	case error:
		return x
	}
	return nil
}

// installGlobals adds Salt's Jinja globals: raise() to fail a render on
// purpose, odict() as an (ordered, here sorted) dict constructor.
func installGlobals(ctx *exec.Context) {
	ctx.Set("none", nil) // Jinja accepts none as well as None
	ctx.Set("raise", method(func(a *exec.VarArgs) (any, error) {
		if len(a.Args) == 0 {
			return nil, errors.New("raise() called")
		}
		return nil, errors.New(a.Args[0].String())
	}))
	ctx.Set("odict", method(func(a *exec.VarArgs) (any, error) {
		d := pyDict{}
		if len(a.Args) > 0 {
			src, err := asDict(a.Args[0].Interface(), "odict")
			if err != nil {
				return nil, err
			}
			for k, v := range src {
				d[k] = v
			}
		}
		for k, v := range a.KwArgs {
			d[k] = py(v.Interface())
		}
		return d, nil
	}))
}

var pyFormatRe = regexp.MustCompile(`%(?:\(([^)]*)\))?([-+ 0#]*)(\*|\d+)?(?:\.(\*|\d+))?([diouxXeEfFgGcrsa%])`)

// filterFormat is Jinja's format filter, Python's printf-style
// `"%s-%d" % (a, b)`, also with a dict: `"%(name)s" % {...}`.
func filterFormat(in any, a *exec.VarArgs) (any, error) {
	args := make([]any, len(a.Args))
	for i, v := range a.Args {
		args[i] = py(v.Interface())
	}
	var named pyDict
	if len(args) == 1 {
		named, _ = args[0].(pyDict)
	}
	if len(a.KwArgs) > 0 {
		named = pyDict{}
		for k, v := range a.KwArgs {
			named[k] = py(v.Interface())
		}
	}
	return percentFormat(pyStr(in), args, named)
}

// filterPyMod is Python's `%` operator (see rewriteSource): string
// formatting when the left side is a string, modulo for numbers.
func filterPyMod(in any, a *exec.VarArgs) (any, error) {
	if len(a.Args) != 1 {
		return nil, errors.New("% needs one right operand")
	}
	right := py(a.Args[0].Interface())
	switch l := plainScalar(in).(type) {
	case string:
		switch r := right.(type) {
		case *pyList:
			return percentFormat(l, append([]any(nil), *r...), nil)
		case pyDict:
			return percentFormat(l, []any{r}, r)
		default:
			return percentFormat(l, []any{r}, nil)
		}
	case int:
		switch r := right.(type) {
		case int:
			if r == 0 {
				return nil, errors.New("integer division or modulo by zero")
			}
			m := l % r
			if m != 0 && (m < 0) != (r < 0) {
				m += r
			}
			return m, nil
		case float64:
			return floatMod(float64(l), r)
		}
	case float64:
		if r, ok := number(right); ok {
			return floatMod(l, r)
		}
	}
	return nil, fmt.Errorf("unsupported operand type(s) for %%: '%s' and '%s'", pyTypeName(plainScalar(in)), pyTypeName(right))
}

func plainScalar(v any) any {
	if x, ok := v.(*exec.Value); ok {
		return plainScalar(x.Interface())
	}
	return py(v)
}

// floatMod is Python's float modulo: the result has the divisor's sign.
func floatMod(a, b float64) (any, error) {
	if b == 0 {
		return nil, errors.New("float modulo by zero")
	}
	m := math.Mod(a, b)
	if m != 0 && (m < 0) != (b < 0) {
		m += b
	}
	return m, nil
}

// percentFormat is Python's printf-style formatting.
func percentFormat(format string, args []any, named pyDict) (any, error) {
	next := 0
	var ferr error
	out := pyFormatRe.ReplaceAllStringFunc(format, func(spec string) string {
		m := pyFormatRe.FindStringSubmatch(spec)
		key, flags, width, prec, verb := m[1], m[2], m[3], m[4], m[5]
		if verb == "%" {
			return "%"
		}
		var v any
		switch {
		case m[0][1] == '(':
			if named == nil {
				ferr = errors.New("format requires a mapping")
				return ""
			}
			v = named[key]
		case next < len(args):
			v = args[next]
			next++
		default:
			ferr = errors.New("not enough arguments for format string")
			return ""
		}
		gospec := "%" + flags + width
		if prec != "" {
			gospec += "." + prec
		}
		switch verb {
		case "s", "a":
			return fmt.Sprintf(gospec+"s", pyStr(v))
		case "r":
			return fmt.Sprintf(gospec+"s", pyRepr(v))
		case "c":
			if n, ok := v.(int); ok {
				return string(rune(n))
			}
			return pyStr(v)
		case "d", "i", "u", "o", "x", "X":
			n, ok := v.(int)
			if f, isF := v.(float64); isF {
				n, ok = int(f), true
			}
			if !ok {
				ferr = fmt.Errorf("%%%s format: a number is required, not %s", verb, pyTypeName(v))
				return ""
			}
			goVerb := map[string]string{"d": "d", "i": "d", "u": "d", "o": "o", "x": "x", "X": "X"}[verb]
			return fmt.Sprintf(gospec+goVerb, n)
		default:
			f, ok := number(v)
			if !ok {
				ferr = fmt.Errorf("%%%s format: a number is required, not %s", verb, pyTypeName(v))
				return ""
			}
			if prec == "" && strings.ContainsAny(verb, "eEfF") {
				gospec += ".6"
			}
			return fmt.Sprintf(gospec+strings.ToLower(verb), f)
		}
	})
	if ferr != nil {
		return nil, fmt.Errorf("format: %w", ferr)
	}
	if next < len(args) && named == nil {
		return nil, errors.New("not all arguments converted during string formatting")
	}
	return out, nil
}
