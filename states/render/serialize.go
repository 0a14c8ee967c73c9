package render

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The serializing filters print data the way Salt's do (Python's json
// module and PyYAML's safe_dump), so that a template produces the same text
// under brine as under Salt. Values arrive as plain Go data (see plain).

// jsonOptions mirrors the json.dumps arguments Salt's filters pass on.
type jsonOptions struct {
	sortKeys    bool
	indent      string // "" = one line
	ensureASCII bool
}

// dumpJSON prints v as Python's json.dumps would.
func dumpJSON(v any, o jsonOptions) (string, error) {
	var b strings.Builder
	if err := writeJSON(&b, v, o, 0); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writeJSON(b *strings.Builder, v any, o jsonOptions, level int) error {
	if level > 200 {
		return fmt.Errorf("data nested too deeply to serialize")
	}
	newline := func(l int) {
		if o.indent != "" {
			b.WriteByte('\n')
			b.WriteString(strings.Repeat(o.indent, l))
		}
	}
	itemSep := ", "
	if o.indent != "" {
		itemSep = ","
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case float64:
		switch {
		case math.IsNaN(x):
			b.WriteString("NaN")
		case math.IsInf(x, 1):
			b.WriteString("Infinity")
		case math.IsInf(x, -1):
			b.WriteString("-Infinity")
		default:
			b.WriteString(pyFloat(x))
		}
	case string:
		writeJSONString(b, x, o.ensureASCII)
	case map[string]any:
		if len(x) == 0 {
			b.WriteString("{}")
			return nil
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		if o.sortKeys {
			sort.Strings(keys)
		} else {
			keys = sortedKeys(x)
		}
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(itemSep)
			}
			newline(level + 1)
			writeJSONString(b, k, o.ensureASCII)
			b.WriteString(": ")
			if err := writeJSON(b, x[k], o, level+1); err != nil {
				return err
			}
		}
		newline(level)
		b.WriteByte('}')
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(itemSep)
			}
			newline(level + 1)
			if err := writeJSON(b, e, o, level+1); err != nil {
				return err
			}
		}
		newline(level)
		b.WriteByte(']')
	default:
		return fmt.Errorf("object of type %s is not JSON serializable", pyTypeName(v))
	}
	return nil
}

func writeJSONString(b *strings.Builder, s string, ascii bool) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20:
				fmt.Fprintf(b, `\u%04x`, r)
			case ascii && r > 0x7e:
				if r > 0xffff {
					r -= 0x10000
					fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
				} else {
					fmt.Fprintf(b, `\u%04x`, r)
				}
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// dumpYAML prints v as PyYAML's safe_dump(v, default_flow_style=flow)
// would, without the trailing newline and the "..." document end marker
// Salt's yaml filter strips. Long flow collections are not folded at 80
// columns as PyYAML does: one line is still valid YAML and safer to embed.
func dumpYAML(v any, flow bool) (string, error) {
	var b strings.Builder
	var err error
	if flow || !isCollection(v) || isEmptyCollection(v) {
		err = writeFlowYAML(&b, v, 0)
	} else {
		err = writeBlockYAML(&b, v, 0, false)
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

func isCollection(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

func isEmptyCollection(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

func writeFlowYAML(b *strings.Builder, v any, level int) error {
	if level > 200 {
		return fmt.Errorf("data nested too deeply to serialize")
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(yamlScalar(k, true))
			b.WriteString(": ")
			if err := writeFlowYAML(b, x[k], level+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := writeFlowYAML(b, e, level+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	default:
		s, err := yamlScalarValue(v, level > 0)
		if err != nil {
			return err
		}
		b.WriteString(s)
	}
	return nil
}

// writeBlockYAML writes a block collection at the given indentation;
// inline is true when the first line continues a "- " already written.
func writeBlockYAML(b *strings.Builder, v any, indent int, inline bool) error {
	if indent > 400 {
		return fmt.Errorf("data nested too deeply to serialize")
	}
	pad := strings.Repeat(" ", indent)
	first := true
	prefix := func() {
		if !(first && inline) {
			b.WriteString(pad)
		}
		first = false
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			prefix()
			b.WriteString(yamlScalar(k, false))
			b.WriteByte(':')
			e := x[k]
			switch {
			case isCollection(e) && !isEmptyCollection(e):
				b.WriteByte('\n')
				child := indent + 2
				if _, isList := e.([]any); isList {
					child = indent // PyYAML does not indent a list under a key
				}
				if err := writeBlockYAML(b, e, child, false); err != nil {
					return err
				}
			default:
				b.WriteByte(' ')
				if err := writeFlowYAML(b, e, 1); err != nil {
					return err
				}
				b.WriteByte('\n')
			}
		}
	case []any:
		for _, e := range x {
			prefix()
			b.WriteString("- ")
			if isCollection(e) && !isEmptyCollection(e) {
				if err := writeBlockYAML(b, e, indent+2, true); err != nil {
					return err
				}
				continue
			}
			if err := writeFlowYAML(b, e, 1); err != nil {
				return err
			}
			b.WriteByte('\n')
		}
	}
	return nil
}

// yamlScalarValue prints a scalar; inFlow is true inside a collection.
func yamlScalarValue(v any, inFlow bool) (string, error) {
	switch x := v.(type) {
	case nil:
		return "null", nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case float64:
		switch {
		case math.IsNaN(x):
			return ".nan", nil
		case math.IsInf(x, 1):
			return ".inf", nil
		case math.IsInf(x, -1):
			return "-.inf", nil
		}
		s := pyFloat(x)
		if strings.Contains(s, "e") && !strings.Contains(s, ".") {
			s = strings.Replace(s, "e", ".0e", 1)
		}
		return s, nil
	case string:
		return yamlScalar(x, inFlow), nil
	}
	return "", fmt.Errorf("cannot represent an object of type %T in YAML", v)
}

// yaml11Special matches plain scalars that a YAML 1.1 reader (PyYAML, so
// Salt) would not read back as a string.
var yaml11Special = regexp.MustCompile(`^(?:` +
	`y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF` +
	`|~|null|Null|NULL|<<|=` +
	`|[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+` +
	`|[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)` +
	`|[-+]?[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+` +
	`|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?` +
	`)$`)

// yamlScalar prints a string plain when PyYAML would, single-quoted when
// it needs quoting, double-quoted when it holds characters that only an
// escape can carry.
func yamlScalar(s string, inFlow bool) string {
	if needsDoubleQuotes(s) {
		return yamlDQuote(s)
	}
	if plainOK(s, inFlow) {
		return s
	}
	return yamlSQuote(s)
}

func needsDoubleQuotes(s string) bool {
	for _, r := range s {
		if r == '\n' || r == '\r' || r == '\t' || !unicode.IsPrint(r) && r != ' ' {
			return true
		}
	}
	return !utf8.ValidString(s)
}

func plainOK(s string, inFlow bool) bool {
	if s == "" || yaml11Special.MatchString(s) {
		return false
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	switch s[0] {
	case '-', '?', ':':
		if len(s) == 1 || s[1] == ' ' || inFlow && strings.IndexByte(",[]{}", s[1]) >= 0 {
			return false
		}
	case ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		return false
	}
	if strings.Contains(s, ": ") || strings.Contains(s, " #") || strings.HasSuffix(s, ":") {
		return false
	}
	if inFlow && strings.ContainsAny(s, ",[]{}") {
		return false
	}
	if strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...") {
		return false
	}
	return true
}

// yamlSQuote is Salt's yaml_squote: a single-quoted YAML scalar.
func yamlSQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// yamlDQuote is Salt's yaml_dquote: a double-quoted YAML scalar with every
// special or non-ASCII character escaped, as PyYAML's emitter writes it.
func yamlDQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case 0:
			b.WriteString(`\0`)
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\v':
			b.WriteString(`\v`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		case 0x1b:
			b.WriteString(`\e`)
		case 0x85:
			b.WriteString(`\N`)
		case 0xa0:
			b.WriteString(`\_`)
		case 0x2028:
			b.WriteString(`\L`)
		case 0x2029:
			b.WriteString(`\P`)
		default:
			switch {
			case r >= 0x20 && r <= 0x7e:
				b.WriteRune(r)
			case r <= 0xff:
				fmt.Fprintf(&b, `\x%02X`, r)
			case r <= 0xffff:
				fmt.Fprintf(&b, `\u%04X`, r)
			default:
				fmt.Fprintf(&b, `\U%08X`, r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// yamlEncode is Salt's yaml_encode: a scalar as YAML, strings always
// double-quoted.
func yamlEncode(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return yamlDQuote(x), nil
	case map[string]any, []any:
		return "", fmt.Errorf("yaml_encode() only works with YAML scalar data; failed for %s", pyTypeName(v))
	}
	return yamlScalarValue(v, false)
}

// pyTypeName names a value's type as Python would in messages.
func pyTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case map[string]any, pyDict, dataDict, grainsDict:
		return "dict"
	case []any, *pyList:
		return "list"
	}
	return fmt.Sprintf("%T", v)
}
