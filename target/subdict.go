package target

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Lookup resolves a delimited path (`webapp:server:port`) in nested data
// the way Salt's traverse_dict_and_list does, for grains.get, pillar.get
// and the grain and pillar matchers:
//
//   - in a mapping, a part is a key;
//   - in a list, a numeric part is an index (negative counts from the end),
//     unless a mapping in the list has that key; a non-numeric part picks the
//     first mapping in the list that has it;
//   - anything else (a string, a number) ends the walk: not found.
//
// An empty delimiter means ":".
func Lookup(data any, path, delim string) (any, bool) {
	if delim == "" {
		delim = ":"
	}
	return lookupParts(data, strings.Split(path, delim))
}

func lookupParts(data any, parts []string) (any, bool) {
	ptr := data
	for _, part := range parts {
		switch v := ptr.(type) {
		case map[string]any:
			next, ok := v[part]
			if !ok {
				return nil, false
			}
			ptr = next
		case []any:
			next, ok := lookupInList(v, part)
			if !ok {
				return nil, false
			}
			ptr = next
		case []string:
			items := make([]any, len(v))
			for i, s := range v {
				items[i] = s
			}
			next, ok := lookupInList(items, part)
			if !ok {
				return nil, false
			}
			ptr = next
		default:
			return nil, false
		}
	}
	return ptr, true
}

func lookupInList(list []any, part string) (any, bool) {
	for _, item := range list {
		if m, ok := item.(map[string]any); ok {
			if v, ok := m[part]; ok {
				return v, true
			}
		}
	}
	idx, err := strconv.Atoi(strings.TrimSpace(part))
	if err != nil {
		return nil, false
	}
	if idx < 0 {
		idx += len(list)
	}
	if idx < 0 || idx >= len(list) {
		return nil, false
	}
	return list[idx], true
}

type matchMode int

const (
	matchGlob matchMode = iota
	matchRegex
	matchExact
)

func fromGrains(m *Minion) map[string]any { return m.Grains }
func fromPillar(m *Minion) map[string]any { return m.Pillar }

// subdictNode is Salt's subdict_match: `key:sub:value` where the split
// between path and value is not known in advance (values may contain the
// delimiter, as in `ipv6:::1`), so every split is tried, the longest path
// first. Comparison is case-insensitive, as in Salt.
type subdictNode struct {
	data  func(*Minion) map[string]any
	expr  string
	delim string
	mode  matchMode
	// regexes holds the compiled pattern for every suffix of expr that may
	// be used as a value pattern; nil where the suffix is not a valid regex.
	regexes map[string]*regexp.Regexp
	// extra caches patterns met at match time that were not precompiled
	// (only possible with a non-default delimiter and `*:` wildcards).
	extra sync.Map
}

func newSubdict(data func(*Minion) map[string]any, expr, delim string, mode matchMode) (node, error) {
	if !strings.Contains(expr, delim) {
		return nil, fmt.Errorf("expected key%svalue (a path and a value separated by '%s')", delim, delim)
	}
	n := &subdictNode{data: data, expr: expr, delim: delim, mode: mode}
	if mode == matchRegex {
		splits := strings.Split(expr, delim)
		n.regexes = map[string]*regexp.Regexp{}
		var firstErr error
		valid := 0
		for i := 1; i < len(splits); i++ {
			pat := strings.Join(splits[i:], delim)
			re, err := compileValueRegex(pat)
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if re != nil {
				valid++
			}
			n.regexes[pat] = re
		}
		if valid == 0 {
			return nil, fmt.Errorf("bad regular expression: %w", firstErr)
		}
	}
	return n, nil
}

// compileValueRegex compiles a value pattern like Python's re.match on a
// lower-cased value: anchored at the start only, case-insensitive. (Salt
// lower-cases the pattern itself, which turns \D into \d; brine uses (?i).)
func compileValueRegex(pat string) (*regexp.Regexp, error) {
	if pat == "" {
		return regexp.MustCompile(`^`), nil
	}
	re, err := regexp.Compile(`(?i)^(?:` + pat + `)`)
	if err != nil {
		return nil, unwrapRegexp(err)
	}
	return re, nil
}

func (n *subdictNode) match(m *Minion) bool {
	data := n.data(m)
	if data == nil {
		return false
	}
	return n.subdict(data, n.expr)
}

func (n *subdictNode) subdict(data map[string]any, expr string) bool {
	splits := strings.Split(expr, n.delim)
	if len(splits) == 1 {
		return false
	}
	for idx := len(splits) - 1; idx > 0; idx-- {
		key := strings.Join(splits[:idx], n.delim)
		var (
			pattern string
			value   any
		)
		if key == "*" {
			// Everything under the top level: the wildcard applies to data.
			pattern, value = expr, data
		} else {
			pattern = strings.Join(splits[idx:], n.delim)
			v, ok := lookupParts(data, splits[:idx])
			if !ok {
				continue
			}
			value = v
		}
		switch v := value.(type) {
		case map[string]any:
			if len(v) > 0 && n.dictMatch(v, pattern) {
				return true
			}
		case []any:
			for _, member := range v {
				if sub, ok := member.(map[string]any); ok && n.dictMatch(sub, pattern) {
					return true
				}
				if n.leaf(member, pattern) {
					return true
				}
			}
		case []string:
			for _, member := range v {
				if n.leaf(member, pattern) {
					return true
				}
			}
		default:
			if n.leaf(v, pattern) {
				return true
			}
		}
	}
	return false
}

// dictMatch is Salt's _dict_match: the pattern may name a key that exists,
// go deeper, or (after a leading `*:`) match any value one level down.
func (n *subdictNode) dictMatch(target map[string]any, pattern string) bool {
	wildcard := strings.HasPrefix(pattern, "*"+n.delim)
	if wildcard {
		pattern = pattern[1+len(n.delim):]
	}
	if pattern == "*" {
		return true
	}
	if _, ok := target[pattern]; ok {
		return true
	}
	if n.subdict(target, pattern) {
		return true
	}
	if !wildcard {
		return false
	}
	for _, v := range target {
		switch x := v.(type) {
		case map[string]any:
			if n.dictMatch(x, pattern) {
				return true
			}
		case []any:
			for _, item := range x {
				if n.leaf(item, pattern) {
					return true
				}
			}
		default:
			if n.leaf(x, pattern) {
				return true
			}
		}
	}
	return false
}

func (n *subdictNode) leaf(value any, pattern string) bool {
	target := strings.ToLower(pyStr(value))
	switch n.mode {
	case matchRegex:
		re, ok := n.regexes[pattern]
		if !ok {
			if cached, hit := n.extra.Load(pattern); hit {
				re = cached.(*regexp.Regexp)
			} else {
				re, _ = compileValueRegex(pattern)
				n.extra.Store(pattern, re)
			}
		}
		return re != nil && re.MatchString(target)
	case matchExact:
		return target == strings.ToLower(pattern)
	default:
		return Fnmatch(strings.ToLower(pattern), target)
	}
}

// pyStr renders a value as Python's str() would, since Salt compares grain
// values through str(): True/False, None, 12.0.
func pyStr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") {
			s += ".0"
		}
		return s
	default:
		return fmt.Sprint(v)
	}
}

var errEmpty = errors.New("empty expression")
