package bus

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// Numbers replaces the json.Number values that a decoder with UseNumber
// left in v (maps and lists, recursively, in place) by an int when the
// number is integral and fits, else a float64. Pillar, grains and job
// arguments cross the bus as JSON; without this a port 8080 would arrive as
// the float 8080.0 and render as "8080.0" in a template, where the engine,
// which reads YAML, has an int.
func Numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 0); err == nil {
			return int(i)
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return string(x)
	case map[string]any:
		for k, e := range x {
			x[k] = Numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = Numbers(e)
		}
	}
	return v
}

// Unmarshal decodes JSON keeping integers integers (see Numbers) in
// every map and list it fills; strict also refuses unknown fields and
// trailing data.
func Unmarshal(data []byte, v any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	if strict && dec.More() {
		return errTrailing
	}
	numbersIn(v)
	return nil
}

var errTrailing = errors.New("trailing data after the JSON value")

// numbersIn applies Numbers to the generic values inside the message types
// of this package, and to v itself when it is a map or list.
func numbersIn(v any) {
	switch x := v.(type) {
	case *any:
		*x = Numbers(*x)
	case *map[string]any:
		Numbers(*x)
	case *[]any:
		Numbers(*x)
	case *Job:
		Numbers(x.Args)
		Numbers(x.Kwargs)
	case *PublishRequest:
		Numbers(x.Args)
		Numbers(x.Kwargs)
	case *PillarRequest:
		Numbers(x.Grains)
	case *PillarReply:
		Numbers(x.Pillar)
	case *StartEvent:
		Numbers(x.Grains)
	}
}
