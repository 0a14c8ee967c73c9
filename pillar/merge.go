package pillar

import (
	"reflect"

	"github.com/brine-cm/brine/target"
)

// Merge merges src into dst the way Salt merges pillar SLS files (the
// default `pillar_source_merging_strategy: smart`, which is `recurse` for
// YAML): mappings are merged key by key, recursively; anything else in src
// (a scalar, a list, a mapping over a non-mapping) replaces what dst had.
// Values taken from src are copied, so later changes to dst never reach
// src. A nil dst is not allowed.
func Merge(dst, src map[string]any) {
	merge(dst, src, false)
}

// MergeLists is Merge with Salt's `pillar_merge_lists: True`: a list in src
// is appended to a list in dst, skipping items dst already has.
func MergeLists(dst, src map[string]any) {
	merge(dst, src, true)
}

func merge(dst, src map[string]any, lists bool) {
	for k, v := range src {
		switch sv := v.(type) {
		case map[string]any:
			if dm, ok := dst[k].(map[string]any); ok {
				merge(dm, sv, lists)
				continue
			}
		case []any:
			if dl, ok := dst[k].([]any); ok && lists {
				dst[k] = appendMissing(dl, sv)
				continue
			}
		}
		dst[k] = Copy(v)
	}
}

func appendMissing(dst, src []any) []any {
	out := append([]any(nil), dst...)
	for _, item := range src {
		found := false
		for _, have := range out {
			if reflect.DeepEqual(have, item) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, Copy(item))
		}
	}
	return out
}

// Copy returns a deep copy of plain data (mappings, lists, scalars), so that
// a template mutating what pillar.get returned cannot change the pillar.
func Copy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Copy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Copy(e)
		}
		return out
	}
	return v
}

// Get looks up a delimited path (`webapp:server:port`) in m and returns its
// value, or def when any part is missing. An empty delimiter means ":".
// It is the lookup behind pillar.get and grains.get; paths into lists work
// as in Salt (see target.Lookup). The value is returned as stored, not
// copied.
func Get(m map[string]any, path string, def any, delim string) any {
	if v, ok := target.Lookup(m, path, delim); ok {
		return v
	}
	return def
}
