package plugin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Values cross the boundary as JSON: every language reads it, and the
// shapes brine works with (YAML-derived maps, lists and scalars) survive
// the trip. Numbers come back as int when they are whole and written
// without a fraction or exponent, float64 otherwise, the way the SLS
// loader reads them.

// encode marshals v; nil becomes JSON null.
func encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode value: %w", err)
	}
	return b, nil
}

// decode reads JSON into plain values. Empty input is nil.
func decode(b []byte) (any, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode value: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("decode value: trailing data after the JSON value")
	}
	return normalize(v), nil
}

func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eE") {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= math.MinInt && n <= math.MaxInt {
				return int(n)
			}
		}
		f, err := x.Float64()
		if err != nil {
			return s
		}
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	}
	return v
}

// decodeMap reads a JSON object; empty input or null is an empty map.
func decodeMap(b []byte) (map[string]any, error) {
	v, err := decode(b)
	if err != nil {
		return nil, err
	}
	switch m := v.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return m, nil
	}
	return nil, fmt.Errorf("decode value: expected a JSON object, got %T", v)
}

// decodeList reads a JSON array; empty input or null is nil.
func decodeList(b []byte) ([]any, error) {
	v, err := decode(b)
	if err != nil {
		return nil, err
	}
	switch l := v.(type) {
	case nil:
		return nil, nil
	case []any:
		return l, nil
	}
	return nil, fmt.Errorf("decode value: expected a JSON array, got %T", v)
}

// decodeChanges reads mod_watch's changes by state tag.
func decodeChanges(b []byte) (map[string]map[string]any, error) {
	m, err := decodeMap(b)
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]any, len(m))
	for tag, v := range m {
		c, ok := v.(map[string]any)
		if !ok && v != nil {
			return nil, fmt.Errorf("decode value: changes of %s: expected a JSON object, got %T", tag, v)
		}
		out[tag] = c
	}
	return out, nil
}
