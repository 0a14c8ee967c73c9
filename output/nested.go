package output

import (
	"io"
	"sort"
	"strings"
)

// Nested prints Salt's default layout for non-state functions: an indented
// tree, keys sorted and followed by a colon, nested mappings introduced by
// "----------", list items by "- " (or "|_" for a nested list or mapping).
//
//	local:
//	    ----------
//	    os:
//	        Debian
func Nested(w io.Writer, id string, value any, o Options) error {
	v, err := plain(value)
	if err != nil {
		return err
	}
	n := nester{c: colors(o.Color), failed: o.Retcode != 0}
	lines := n.display(map[string]any{id: v}, 0, "", nil)
	return writeString(w, strings.Join(lines, "\n"))
}

// nested renders v at indent, the form highstate uses for changes.
func nested(v any, indent int, c palette) string {
	n := nester{c: c}
	return strings.Join(n.display(v, indent, "", nil), "\n")
}

type nester struct {
	c      palette
	failed bool
}

func (n nester) line(indent int, color, prefix, msg, suffix string) string {
	return strings.Repeat(" ", indent) + color + prefix + msg + n.c.endc + suffix
}

// ok returns color, or red when the function failed.
func (n nester) ok(color string) string {
	if n.failed {
		return n.c.red
	}
	return color
}

func (n nester) display(v any, indent int, prefix string, out []string) []string {
	switch x := v.(type) {
	case map[string]any:
		if indent > 0 {
			out = append(out, n.line(indent, n.ok(n.c.cyan), "", "----------", ""))
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, n.line(indent, n.ok(n.c.cyan), prefix, k, ":"))
			out = n.display(x[k], indent+4, "", out)
		}
	case []any:
		for _, item := range x {
			switch item.(type) {
			case map[string]any:
				out = append(out, n.line(indent, n.ok(n.c.green), "", "|_", ""))
				out = n.display(item, indent+2, "", out)
			case []any:
				out = append(out, n.line(indent, n.ok(n.c.green), "", "|_", ""))
				out = n.display(item, indent+2, "- ", out)
			default:
				out = n.display(item, indent, "- ", out)
			}
		}
	case string:
		for i, l := range splitLines(x) {
			p := prefix
			if i > 0 {
				p = strings.Repeat(" ", len(prefix))
			}
			out = append(out, n.line(indent, n.ok(n.c.green), p, l, ""))
		}
	default:
		out = append(out, n.line(indent, n.c.lightYellow, prefix, scalar(x), ""))
	}
	return out
}
