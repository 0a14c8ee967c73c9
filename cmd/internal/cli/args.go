package cli

import (
	"fmt"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/brine-cm/brine/states/render"
)

// parseArgs splits command-line arguments the way salt-call does:
// `key=value` is a keyword argument when key looks like an identifier
// (letters, digits, _ . -, not starting with a digit) and the value does not
// start with another "=", anything else is positional. Every value is then
// read as YAML (see yamlify).
func parseArgs(in []string) ([]any, map[string]any, error) {
	var args []any
	kwargs := map[string]any{}
	for i, a := range in {
		if key, val, ok := kwarg(a); ok {
			v, err := yamlify(val)
			if err != nil {
				return nil, nil, fmt.Errorf("argument '%s': %w", key, err)
			}
			kwargs[key] = v
			continue
		}
		v, err := yamlify(a)
		if err != nil {
			return nil, nil, fmt.Errorf("argument %d (%s): %w", i+1, a, err)
		}
		args = append(args, v)
	}
	return args, kwargs, nil
}

func kwarg(a string) (key, val string, ok bool) {
	key, val, ok = strings.Cut(a, "=")
	if !ok || key == "" || strings.HasPrefix(val, "=") {
		return "", "", false
	}
	for i, r := range key {
		switch {
		case r == '_' || unicode.IsLetter(r):
		case i > 0 && (unicode.IsDigit(r) || r == '.' || r == '-'):
		default:
			return "", "", false
		}
	}
	return key, val, true
}

// yamlify reads one argument value as Salt's yamlify_arg does, with brine's
// YAML rules (render.Value): True/False are booleans, 42 and 1.5 numbers,
// None/null nothing, '{"a": 1}' a mapping and '[1, 2]' a list. A value that
// only looks like a mapping or list in block form ("a: b", "- x") stays a
// string, as does anything whose YAML reading would lose text (a "#"
// comment, a lone "|" or "!"). A value starting with "{" or "[" that is not
// valid YAML/JSON is an error rather than a silently different string.
func yamlify(s string) (any, error) {
	if strings.TrimSpace(s) == "" {
		return s, nil
	}
	if s == "None" {
		return nil, nil
	}
	flow := strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(s), &doc); err != nil {
		if flow {
			return nil, fmt.Errorf("not a valid mapping or list (%s)", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return s, nil
	}
	if len(doc.Content) == 0 {
		return s, nil // only a comment, or nothing YAML can see
	}
	v, err := render.Value(doc.Content[0])
	if err != nil {
		if flow {
			return nil, fmt.Errorf("not a valid mapping or list (%w)", err)
		}
		return s, nil
	}
	if strings.Contains(s, "#") {
		switch v.(type) {
		case string, nil:
			return s, nil
		}
		return v, nil
	}
	switch x := v.(type) {
	case map[string]any:
		if !strings.HasPrefix(s, "{") {
			return s, nil
		}
	case []any:
		if !strings.HasPrefix(s, "[") {
			return s, nil
		}
	case string:
		if x == "" && (s == "|" || s == "!" || s == ">") {
			return s, nil
		}
	case nil:
		if s == "!" {
			return s, nil
		}
	case bool, int, int64, float64:
	default:
		return s, nil
	}
	return v, nil
}
