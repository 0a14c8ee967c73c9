package render

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxValueDepth bounds nesting (and alias expansion) when converting a
// node, so that a hostile document cannot exhaust the stack.
const maxValueDepth = 10000

// value converts one node; depth counts nesting and alias hops.
func value(n *yaml.Node, depth int) (any, error) {
	if n == nil {
		return nil, nil
	}
	if depth > maxValueDepth {
		return nil, fmt.Errorf("line %d: data nested too deeply", n.Line)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return value(n.Content[0], depth+1)
	case yaml.AliasNode:
		return value(n.Alias, depth+1)
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := value(c, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		if err := mapping(n, out, depth); err != nil {
			return nil, err
		}
		return out, nil
	case yaml.ScalarNode:
		return scalar(n)
	case 0:
		return nil, nil
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

// mapping fills out from a mapping node. Explicit keys win over keys
// brought in by `<<` merges, whatever their order; among merged mappings
// the first listed wins, as the YAML merge key spec says.
func mapping(n *yaml.Node, out map[string]any, depth int) error {
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Style == 0 && (k.Tag == "!!merge" || k.Tag == "" || k.ShortTag() == "!!merge") {
			merges = append(merges, v)
			continue
		}
		key, err := keyOf(k, depth)
		if err != nil {
			return err
		}
		val, err := value(v, depth+1)
		if err != nil {
			return err
		}
		out[key] = val
	}
	for _, m := range merges {
		if err := merge(m, out, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// merge adds the keys of a `<<` value (a mapping, an alias to one, or a
// sequence of those) that out does not have yet.
func merge(m *yaml.Node, out map[string]any, depth int) error {
	if depth > maxValueDepth {
		return fmt.Errorf("line %d: data nested too deeply", m.Line)
	}
	for m.Kind == yaml.AliasNode {
		m = m.Alias
		depth++
		if m == nil || depth > maxValueDepth {
			return errors.New("bad alias in merge key")
		}
	}
	switch m.Kind {
	case yaml.MappingNode:
		tmp := map[string]any{}
		if err := mapping(m, tmp, depth); err != nil {
			return err
		}
		for k, v := range tmp {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
		return nil
	case yaml.SequenceNode:
		for _, c := range m.Content {
			if err := merge(c, out, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("line %d: the value of a '<<' merge key must be a mapping or a list of mappings", m.Line)
}

// keyOf is a mapping key as a string: a scalar key as written (so `1:`
// is "1", `true:` is "true", `0644:` is "0644"), any other key by its flow
// representation.
func keyOf(k *yaml.Node, depth int) (string, error) {
	for k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	if k.Kind == yaml.ScalarNode {
		return k.Value, nil
	}
	v, err := value(k, depth+1)
	if err != nil {
		return "", err
	}
	return dumpYAML(v, true)
}

// scalar resolves a scalar by its tag (YAML 1.2 core schema as yaml.v3
// reads it: yes/no/on/off are strings), with Salt's reading of leading-zero
// integers as decimal digits.
func scalar(n *yaml.Node) (any, error) {
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return n.Value, nil
	}
	tag := n.ShortTag()
	if (tag == "!!int" || tag == "!!float") && isDecimal(n.Value) {
		if v, ok := parseInt(n.Value); ok {
			return v, nil
		}
	}
	switch tag {
	case "!!null":
		return nil, nil
	case "!!bool":
		switch strings.ToLower(n.Value) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return n.Value, nil
	case "!!int":
		if v, ok := parseInt(n.Value); ok {
			return v, nil
		}
		if f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); err == nil {
			return f, nil
		}
		if n.Tag == "!!int" && n.Style == 0 {
			return n.Value, nil
		}
		return nil, fmt.Errorf("line %d: cannot read %q as an integer", n.Line, n.Value)
	case "!!float":
		return parseFloat(n)
	}
	return n.Value, nil
}

// parseInt reads YAML integers: decimal (leading zeros ignored, so 0644 is
// 644), 0o octal, 0x hex, 0b binary, with an optional sign and underscores.
func parseInt(s string) (int, bool) {
	t := strings.ReplaceAll(s, "_", "")
	neg := false
	switch {
	case strings.HasPrefix(t, "-"):
		neg, t = true, t[1:]
	case strings.HasPrefix(t, "+"):
		t = t[1:]
	}
	if t == "" {
		return 0, false
	}
	base := 10
	if len(t) > 2 && t[0] == '0' {
		switch t[1] {
		case 'o', 'O':
			base, t = 8, t[2:]
		case 'x', 'X':
			base, t = 16, t[2:]
		case 'b', 'B':
			base, t = 2, t[2:]
		}
	}
	u, err := strconv.ParseUint(t, base, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return int(-int64(u)), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int(u), true
}

func parseFloat(n *yaml.Node) (any, error) {
	s := strings.ReplaceAll(n.Value, "_", "")
	switch strings.ToLower(strings.TrimLeft(s, "+")) {
	case ".inf":
		return math.Inf(1), nil
	case "-.inf":
		return math.Inf(-1), nil
	case ".nan":
		return math.NaN(), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if n.Tag == "!!float" {
			return nil, fmt.Errorf("line %d: cannot read %q as a number", n.Line, n.Value)
		}
		return n.Value, nil
	}
	return f, nil
}

// isDecimal reports a plain run of digits with an optional sign ("0644",
// "-12", "08"), which Salt users mean as a decimal integer.
func isDecimal(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
