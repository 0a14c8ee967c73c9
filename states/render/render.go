// Package render turns template text into data: Jinja (gonja v2 with Salt's
// filters, tags and context) and YAML/JSON with line-aware errors. The SLS
// compiler, pillar and file.managed's `template: jinja` all render here.
package render

import (
	"context"

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
}

// Error is a render or parse failure that names the file and line.
type Error struct {
	File string // salt:// path relative to the root, or a local path
	Line int    // 1-based; 0 when unknown
	Msg  string
	// Snippet is the offending source with the line marked, Salt style.
	Snippet string
}

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
func Jinja(ctx context.Context, src []byte, c Context) (string, error) {
	panic("render.Jinja: not implemented yet")
}

// SLS renders an SLS (or pillar) file through the renderer pipeline its
// shebang names (default jinja|yaml; #!yaml, #!jinja|yaml, #!json) and
// returns the parsed YAML document node (a DocumentNode, or nil for an empty
// file). Errors are *Error.
func SLS(ctx context.Context, src []byte, c Context) (*yaml.Node, error) {
	panic("render.SLS: not implemented yet")
}

// Value converts a YAML node to plain Go values: map[string]any, []any,
// string, int, float64, bool, nil. Aliases and `<<` merges are resolved.
// Integers written with leading zeros (0644) are read as decimal digits
// (644), so that `mode: 0644` means what a Salt user means.
func Value(n *yaml.Node) (any, error) {
	panic("render.Value: not implemented yet")
}
