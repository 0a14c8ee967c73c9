package output

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/brine-cm/brine/api"
)

// StateReturns reads a state run that arrived as decoded JSON (from the
// network, or Salt's own --out json) back into state returns. Every entry
// must be a mapping with a "result" key, as Salt's highstate outputter
// requires; durations written as "12.5 ms" (older Salt) are accepted.
// Decode with json.Decoder.UseNumber so that integers in changes stay
// integers (pid: 0, not 0.0).
func StateReturns(v any) (map[string]*api.StateReturn, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: got %T, want a mapping of state tags", errNotStates, v)
	}
	out := make(map[string]*api.StateReturn, len(m))
	for tag, item := range m {
		e, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: %s is %T, not a mapping", errNotStates, tag, item)
		}
		ret, err := stateReturn(e)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", errNotStates, tag, err)
		}
		out[tag] = ret
	}
	return out, nil
}

func stateReturn(e map[string]any) (*api.StateReturn, error) {
	r, ok := e["result"]
	if !ok {
		return nil, fmt.Errorf("no result")
	}
	ret := &api.StateReturn{}
	switch x := r.(type) {
	case nil:
	case bool:
		ret.Result.Result = api.Tri(x)
	default:
		return nil, fmt.Errorf("result is %v, want true, false or null", r)
	}
	switch x := e["comment"].(type) {
	case string:
		ret.Comment = x
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = fmt.Sprint(p)
		}
		ret.Comment = strings.Join(parts, "\n")
	case nil:
	default:
		ret.Comment = fmt.Sprint(x)
	}
	switch x := e["changes"].(type) {
	case map[string]any:
		ret.Changes = x
	case nil:
		ret.Changes = map[string]any{}
	default:
		ret.Changes = map[string]any{"ret": x}
	}
	if w, ok := e["warnings"].([]any); ok {
		for _, item := range w {
			ret.Warnings = append(ret.Warnings, fmt.Sprint(item))
		}
	}
	ret.Name, _ = e["name"].(string)
	ret.ID, _ = e["__id__"].(string)
	ret.SLS, _ = e["__sls__"].(string)
	ret.StartTime, _ = e["start_time"].(string)
	if n, ok := number(e["__run_num__"]); ok {
		ret.RunNum = int(n)
	}
	switch x := e["duration"].(type) {
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(x, "ms")), 64)
		if err == nil {
			ret.Duration = f
		}
	default:
		if f, ok := number(x); ok {
			ret.Duration = f
		}
	}
	return ret, nil
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case interface{ Float64() (float64, error) }: // json.Number
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}
