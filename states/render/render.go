// Package render turns template text into data: Jinja (gonja v2 with Salt's
// filters, tags and context) and YAML/JSON with line-aware errors. The SLS
// compiler, pillar and file.managed's `template: jinja` all render here.
package render

import (
	"context"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/brine-cm/brine/api"
)

// Context is what a template sees besides its own variables.
type Context struct {
	// Env supplies grains, pillar, opts, saltenv, salt['mod.fn'] (Env.Exec)
	// and the salt:// file client used by import/include/from.
	Env *api.Env
	// Path is the template's salt:// path relative to the file root
	// ("webapp/init.sls"); errors and relative imports use it.
	Path string
	// SLS is the dotted SLS name ("webapp"), empty for non-SLS templates.
	SLS string
	// Vars are extra variables (file.managed context/defaults merged).
	Vars map[string]any
	// Cache, when set, shares parsed templates between renders (one per
	// run is the intended use). Optional.
	Cache *Cache
}

// Error is a render or parse failure that names the file and line.
type Error struct {
	File string // salt:// path relative to the root, or a local path
	Line int    // 1-based; 0 when unknown
	Msg  string
	// Snippet is the source around the line, the line itself marked with
	// "    <======================" as in Salt's messages (without Salt's
	// "---" fences); empty when the line is unknown.
	Snippet string
}

// Error formats as "file:line: message".
func (e *Error) Error() string {
	if e.Line > 0 {
		return e.File + ":" + itoa(e.Line) + ": " + e.Msg
	}
	return e.File + ": " + e.Msg
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for n >= 10 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	i--
	b[i] = byte('0' + n)
	return string(b[i:])
}

// Jinja renders src as a Jinja template (Salt's context) and returns text.
// Errors are *Error and name the file and line where the failure happened,
// inside an imported or included file too.
func Jinja(ctx context.Context, src []byte, c Context) (string, error) {
	return renderJinja(newState(ctx, c), strings.TrimPrefix(string(src), "\ufeff"), c, fileName(c))
}

// SLS renders an SLS (or pillar) file through the renderer pipeline its
// shebang names (default jinja|yaml; #!yaml, #!jinja|yaml, #!json,
// #!jinja|json) and returns the parsed YAML document node (a DocumentNode,
// or nil for an empty file). JSON is read by the YAML parser so that key
// order and line numbers survive. Errors are *Error.
func SLS(ctx context.Context, src []byte, c Context) (*yaml.Node, error) {
	return renderSLS(func() *state { return newState(ctx, c) }, strings.TrimPrefix(string(src), "\ufeff"), c, fileName(c))
}

// Value converts a YAML node to plain Go values: map[string]any, []any,
// string, int, float64, bool, nil. Aliases and `<<` merges are resolved.
// Integers written with leading zeros (0644) are read as decimal digits
// (644), so that `mode: 0644` means what a Salt user means; 0o755 is octal.
// Booleans are YAML 1.2's (true/false): yes/no/on/off stay strings. Map
// keys that are not strings are turned into their text.
func Value(n *yaml.Node) (any, error) {
	return value(n, 0)
}

func fileName(c Context) string {
	if c.Path == "" {
		return "<template>"
	}
	return c.Path
}

// renderJinja renders src (the template at file) with st's context.
func renderJinja(st *state, src string, c Context, file string) (out string, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = "", &Error{File: file, Msg: fmt.Sprintf("Jinja error: internal error: %v", p)}
		}
	}()
	st.sources[file] = src
	tpl, err := st.cache.parse(file, src)
	if err != nil {
		return "", st.translate(err, file, src)
	}
	var b strings.Builder
	if err := st.execute(tpl, st.globals.Inherit(), &b); err != nil {
		return "", st.translate(err, file, src)
	}
	out = b.String()
	// Jinja drops the template's final newline; Salt puts it back.
	if strings.HasSuffix(src, "\n") {
		out += "\n"
	}
	return out, nil
}
