package grains

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/brine-cm/brine/target"
)

// FilterByArgs are the arguments of Salt's grains.filter_by.
type FilterByArgs struct {
	// Lookup maps grain values (or shell globs of them) to results.
	Lookup map[string]any
	// Grain is the grain to look at, a `:` path; "" means os_family.
	Grain string
	// Merge, when not nil, is deep-merged over the result (pillar
	// overrides, typically); it must be a mapping.
	Merge any
	// Default is the Lookup key used when nothing matches; "" means
	// "default".
	Default string
	// Base, when set and present in Lookup, is the mapping the result is
	// merged over.
	Base string
}

// FilterBy is Salt's grains.filter_by, the heart of every formula's
// map.jinja: pick the entry of a lookup table that matches a grain.
//
// The grain's value (each element in turn, for a list grain) is matched
// against the keys as shell globs; the first match wins. Then Default's
// entry is used when nothing matched, Base's entry is merged under the
// result, and Merge over it. The result is a copy, free to modify.
//
// Python dictionaries keep their insertion order, so Salt tries the keys
// in the order they were written; a Go map has none. When several keys
// match, brine prefers an exact key, then the longest pattern (the most
// specific), then the alphabetically first.
func FilterBy(grains map[string]any, a FilterByArgs) (any, error) {
	grain := a.Grain
	if grain == "" {
		grain = "os_family"
	}
	def := a.Default
	if def == "" {
		def = "default"
	}
	var values []any
	if v, ok := target.Lookup(grains, grain, ":"); ok {
		if list, isList := v.([]any); isList {
			values = list
		} else {
			values = []any{v}
		}
	}
	keys := orderedKeys(a.Lookup)
	var ret any
	for _, v := range values {
		s := pyStr(v)
		for _, k := range keys {
			if target.Fnmatch(k, s) {
				ret = a.Lookup[k]
				break
			}
		}
		if ret != nil {
			break
		}
	}
	if ret == nil {
		ret = a.Lookup[def]
	}
	ret = deepCopy(ret)
	if a.Base != "" {
		if baseValues, ok := a.Lookup[a.Base]; ok {
			switch {
			case ret == nil:
				ret = deepCopy(baseValues)
			case isMap(baseValues):
				rm, ok := ret.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("filter_by: the %q entry and the looked-up value must both be mappings", a.Base)
				}
				merged := deepCopy(baseValues).(map[string]any)
				mergeDeep(merged, rm)
				ret = merged
			}
		}
	}
	if a.Merge != nil && !isEmpty(a.Merge) {
		mm, ok := a.Merge.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("filter_by: merge must be a mapping, got %T", a.Merge)
		}
		switch rm := ret.(type) {
		case nil:
			ret = deepCopy(mm)
		case map[string]any:
			mergeDeep(rm, mm)
		default:
			return nil, fmt.Errorf("filter_by: cannot merge a mapping into the looked-up %T", ret)
		}
	}
	return ret, nil
}

// orderedKeys sorts lookup keys into the order they are tried: literal
// keys first, then patterns from the longest.
func orderedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		gi, gj := isGlob(keys[i]), isGlob(keys[j])
		if gi != gj {
			return !gi
		}
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) > len(keys[j])
		}
		return keys[i] < keys[j]
	})
	return keys
}

func isGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

func isMap(v any) bool { _, ok := v.(map[string]any); return ok }

// isEmpty is Python's falsiness for a merge argument: None, {} and "" do
// nothing.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(x) == 0
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case bool:
		return !x
	}
	return false
}

// pyStr renders a grain value as Python's str() for comparison with a key.
func pyStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") {
			s += ".0"
		}
		return s
	}
	return fmt.Sprint(v)
}
