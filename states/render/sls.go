package render

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// pipeline reads the renderer pipeline from a shebang on the first line
// ("#!jinja|yaml"); without one it is Salt's default, jinja|yaml. The
// last stage parses data (yaml or json); the ones before it render text.
func pipeline(src string) ([]string, error) {
	if !strings.HasPrefix(src, "#!") {
		return []string{"jinja", "yaml"}, nil
	}
	line, _, _ := strings.Cut(src[2:], "\n")
	line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
	var stages []string
	for _, s := range strings.Split(line, "|") {
		s = strings.TrimSpace(s)
		// Renderer options after a space (`#!yaml strict`) are ignored.
		if name, _, ok := strings.Cut(s, " "); ok {
			s = name
		}
		switch s {
		case "jinja", "yaml", "json":
		default:
			return nil, fmt.Errorf("unknown renderer '%s' in shebang '#!%s' (supported: jinja, yaml, json)", s, line)
		}
		stages = append(stages, s)
	}
	last := stages[len(stages)-1]
	if last == "jinja" {
		return nil, fmt.Errorf("renderer pipeline '%s' does not end in a data renderer (yaml or json)", line)
	}
	for _, s := range stages[:len(stages)-1] {
		if s != "jinja" {
			return nil, fmt.Errorf("renderer pipeline '%s' is not supported: %s must come last", line, s)
		}
	}
	return stages, nil
}

// renderSLS runs the pipeline; errors are *Error.
func renderSLS(st func() *state, src string, c Context, file string) (*yaml.Node, error) {
	stages, err := pipeline(src)
	if err != nil {
		return nil, &Error{File: file, Line: 1, Msg: err.Error(), Snippet: snippet(src, 1)}
	}
	text := src
	if strings.HasPrefix(text, "#!") {
		// Blank the shebang but keep its line, so line numbers hold.
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			text = text[i:]
		} else {
			text = ""
		}
	}
	for _, stage := range stages[:len(stages)-1] {
		if stage == "jinja" {
			out, err := renderJinja(st(), text, c, file)
			if err != nil {
				return nil, err
			}
			text = out
		}
	}
	var doc *yaml.Node
	switch stages[len(stages)-1] {
	case "json":
		doc, err = parseJSONDoc(text)
	default:
		doc, err = parseYAML(text)
	}
	if err != nil {
		e := &Error{File: file, Msg: err.Error()}
		var le *lineError
		if errors.As(err, &le) {
			e.Line, e.Msg = le.line, le.msg
			e.Snippet = snippet(text, le.line)
		}
		return nil, e
	}
	return doc, nil
}

// parseYAML parses one YAML document into a node, nil for an empty one.
// Duplicate keys in a mapping are an error (Salt's loader refuses them:
// "found conflicting ID"), and so is a second document.
func parseYAML(text string) (doc *yaml.Node, err error) {
	defer func() {
		if p := recover(); p != nil {
			doc, err = nil, &lineError{msg: fmt.Sprintf("YAML parser failed: %v", p)}
		}
	}()
	dec := yaml.NewDecoder(strings.NewReader(text))
	var n yaml.Node
	if err := dec.Decode(&n); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlError(err, text)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, yamlError(err, text)
	default:
		line := extra.Line
		if len(extra.Content) > 0 {
			line = extra.Content[0].Line
		}
		// Point at the `---` that starts the second document.
		lines := strings.Split(text, "\n")
		for i := min(line, len(lines)) - 1; i >= 0; i-- {
			if strings.HasPrefix(lines[i], "---") {
				line = i + 1
				break
			}
		}
		return nil, &lineError{line: line, msg: "expected a single document in the stream, but found another document"}
	}
	if n.Kind == 0 {
		return nil, nil
	}
	if err := checkDuplicates(&n, 0); err != nil {
		return nil, err
	}
	return &n, nil
}

var yamlErrRe = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// yamlError turns a yaml.v3 error into a lineError. yaml.v3 reports the
// line where the enclosing construct began ("while parsing a block
// mapping"), not the line of the problem; the problem line is found as the
// shortest prefix of the text (in lines) failing with the same error.
func yamlError(err error, text string) error {
	msg := err.Error()
	m := yamlErrRe.FindStringSubmatch(msg)
	if m == nil {
		return &lineError{msg: strings.TrimPrefix(msg, "yaml: ")}
	}
	line, _ := strconv.Atoi(m[1])
	if p := yamlProblemLine(text, msg, line); p > 0 {
		line = p
	}
	return &lineError{line: line, msg: m[2]}
}

func yamlProblemLine(text, msg string, from int) int {
	lines := strings.SplitAfter(text, "\n")
	same := func(k int) bool {
		var n yaml.Node
		err := yaml.NewDecoder(strings.NewReader(strings.Join(lines[:k], ""))).Decode(&n)
		return err != nil && err.Error() == msg
	}
	lo, hi := max(1, from), len(lines)
	if lo > hi || !same(hi) {
		return 0
	}
	for lo < hi {
		mid := (lo + hi) / 2
		if same(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// checkDuplicates refuses a mapping that repeats a key. Aliases are not
// followed: their target is checked where it is defined.
func checkDuplicates(n *yaml.Node, depth int) error {
	if depth > maxValueDepth {
		return &lineError{line: n.Line, msg: "data nested too deeply"}
	}
	if n.Kind == yaml.MappingNode {
		seen := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.Value == "<<" {
				continue
			}
			if first, dup := seen[k.Value]; dup {
				return &lineError{line: k.Line, msg: fmt.Sprintf("found conflicting ID '%s' (first defined on line %d)", k.Value, first)}
			}
			seen[k.Value] = k.Line
		}
	}
	for _, c := range n.Content {
		if err := checkDuplicates(c, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// parseJSONDoc parses JSON into a YAML node, so that key order and line
// numbers are kept like for YAML. The text is validated as JSON first, for
// JSON's error messages, then the few things valid JSON may hold that YAML
// reads differently are rewritten (see jsonForYAML).
func parseJSONDoc(text string) (*yaml.Node, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	if _, err := parseJSONValue(text); err != nil {
		return nil, err
	}
	return parseYAML(jsonForYAML(text))
}

// jsonForYAML rewrites valid JSON for a YAML parser without moving any
// line: tabs between tokens become spaces, the `\/` escape becomes `/`,
// and a UTF-16 surrogate pair `\uD83D\uDE00` becomes one `\U0001F600`.
func jsonForYAML(text string) string {
	var b strings.Builder
	b.Grow(len(text))
	inString := false
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case !inString && c == '\t':
			b.WriteByte(' ')
		case c == '"':
			inString = !inString
			b.WriteByte(c)
		case inString && c == '\\' && i+1 < len(text):
			next := text[i+1]
			switch {
			case next == '/':
				b.WriteByte('/')
				i++
			case next == 'u' && i+11 < len(text) && text[i+6] == '\\' && text[i+7] == 'u':
				hi, err1 := strconv.ParseUint(text[i+2:i+6], 16, 32)
				lo, err2 := strconv.ParseUint(text[i+8:i+12], 16, 32)
				if err1 == nil && err2 == nil && hi >= 0xd800 && hi < 0xdc00 && lo >= 0xdc00 && lo < 0xe000 {
					r := (hi-0xd800)<<10 + (lo - 0xdc00) + 0x10000
					fmt.Fprintf(&b, "\\U%08X", r)
					i += 11
					continue
				}
				b.WriteString(text[i : i+2])
				i++
			default:
				b.WriteString(text[i : i+2])
				i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
