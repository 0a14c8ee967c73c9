package render

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// This file holds the dict helpers behind pillar.get, grains.get and
// grains.filter_by. Templates reach them through the `pillar` and `grains`
// variables; the pillar and grains execution modules reuse them so that
// salt['grains.filter_by'](...) and grains.filter_by(...) cannot disagree.

// Traverse looks up a delimited key path ("a:b:c", delimiter ":" when
// empty) in nested maps and lists, as Salt's traverse_dict_and_list does:
// a list is indexed by a numeric path element, or, failing that, searched
// for a map holding the element as a key. ok is false when the path does
// not lead anywhere.
func Traverse(data any, key, delimiter string) (any, bool) {
	if delimiter == "" {
		delimiter = ":"
	}
	cur := data
	for _, part := range strings.Split(key, delimiter) {
		m, isMap := asMap(cur)
		if isMap {
			v, ok := m[part]
			if !ok {
				return nil, false
			}
			cur = v
			continue
		}
		l, isList := asList(cur)
		if !isList {
			return nil, false
		}
		if i, err := strconv.Atoi(part); err == nil {
			if i < 0 || i >= len(l) {
				return nil, false
			}
			cur = l[i]
			continue
		}
		found := false
		for _, e := range l {
			if m, ok := asMap(e); ok {
				if v, ok := m[part]; ok {
					cur, found = v, true
					break
				}
			}
		}
		if !found {
			return nil, false
		}
	}
	return cur, true
}

// asMap and asList accept plain data and template values alike.
func asMap(v any) (map[string]any, bool) {
	switch x := v.(type) {
	case map[string]any:
		return x, true
	case pyDict:
		return x, true
	case dataDict:
		return x, true
	case grainsDict:
		return x, true
	}
	return nil, false
}

func asList(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case *pyList:
		if x != nil {
			return *x, true
		}
	}
	return nil, false
}

// FilterBy is Salt's grains.filter_by: it reads the value of the key
// `grain` in data (a nested `a:b` path is allowed; "os_family" when empty),
// picks the entry of lookup whose key matches that value (exactly, else as
// a shell glob; for a list value, the first element that matches), falls
// back to the entry named defaultKey ("default" when empty), and deep-merges
// merge on top. The result is nil when nothing matched and merge is nil.
// Neither lookup nor merge is modified.
func FilterBy(data, lookup map[string]any, grain string, merge map[string]any, defaultKey string) (any, error) {
	return FilterByBase(data, lookup, grain, merge, defaultKey, "")
}

// FilterByBase is FilterBy with Salt's `base` argument: the lookup entry
// named base, when present, is the starting point the matched entry is
// deep-merged onto (both must then be dicts).
func FilterByBase(data, lookup map[string]any, grain string, merge map[string]any, defaultKey, base string) (any, error) {
	if grain == "" {
		grain = "os_family"
	}
	if defaultKey == "" {
		defaultKey = "default"
	}
	val, _ := Traverse(data, grain, ":")
	var candidates []any
	switch x := val.(type) {
	case nil:
	case []any:
		candidates = x
	default:
		candidates = []any{x}
	}
	keys := make([]string, 0, len(lookup))
	for k := range lookup {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var ret any
	found := false
	for _, c := range candidates {
		s := pyStr(c)
		if v, ok := lookup[s]; ok {
			ret, found = v, true
			break
		}
		for _, k := range keys {
			if fnmatch(k, s) {
				ret, found = lookup[k], true
				break
			}
		}
		if found {
			break
		}
	}
	if !found || ret == nil {
		ret = lookup[defaultKey]
	}
	ret = deepCopy(ret)
	if base != "" {
		if bv, ok := lookup[base]; ok {
			switch {
			case ret == nil:
				ret = deepCopy(bv)
			default:
				bm, bok := bv.(map[string]any)
				rm, rok := ret.(map[string]any)
				if bok {
					if !rok {
						return nil, fmt.Errorf("filter_by default and look-up values must both be dictionaries")
					}
					merged := deepCopy(bm).(map[string]any)
					MergeDeep(merged, rm)
					ret = merged
				}
			}
		}
	}
	if merge != nil {
		if ret == nil {
			return deepCopy(merge), nil
		}
		rm, ok := ret.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("filter_by: cannot merge a dictionary into %s", pyRepr(ret))
		}
		MergeDeep(rm, deepCopy(merge).(map[string]any))
	}
	return ret, nil
}

// MergeDeep merges src into dest recursively, as Salt's dictupdate.update:
// where both sides hold a map the maps are merged, otherwise src wins.
// Lists are replaced, not concatenated.
func MergeDeep(dest, src map[string]any) {
	for k, sv := range src {
		if sm, ok := sv.(map[string]any); ok {
			if dm, ok := dest[k].(map[string]any); ok {
				MergeDeep(dm, sm)
				continue
			}
		}
		dest[k] = sv
	}
}

// deepCopy copies plain maps and lists so that merging into the result
// cannot reach the caller's data.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}

// fnmatch is Python's fnmatch.fnmatchcase: `*`, `?`, `[seq]` and `[!seq]`,
// with no special meaning for `/`.
func fnmatch(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?[") {
		return pattern == s
	}
	var b strings.Builder
	b.WriteString("^(?s:")
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			j := i + 1
			if j < len(pattern) && pattern[j] == '!' {
				j++
			}
			if j < len(pattern) && pattern[j] == ']' {
				j++
			}
			for j < len(pattern) && pattern[j] != ']' {
				j++
			}
			if j >= len(pattern) {
				b.WriteString(`\[`)
				continue
			}
			set := strings.ReplaceAll(pattern[i+1:j], `\`, `\\`)
			if strings.HasPrefix(set, "!") {
				set = "^" + set[1:]
			} else if strings.HasPrefix(set, "^") {
				set = `\` + set
			}
			b.WriteString("[" + set + "]")
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(")$")
	re, err := regexp.Compile(b.String())
	return err == nil && re.MatchString(s)
}
