package cmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/brine-cm/brine/api"
)

// parseStateful reads the `stateful` argument: True/False, or Salt's
// `[{test_name: <command to run in test mode>}]`.
func parseStateful(v any) (stateful bool, testName string, err error) {
	switch x := v.(type) {
	case nil:
		return false, "", nil
	case []any:
		if len(x) == 0 {
			return false, "", nil
		}
		m, ok := x[0].(map[string]any)
		if !ok {
			return false, "", errors.New("argument 'stateful': expected True/False or a list with a test_name mapping")
		}
		tn, ok := m["test_name"]
		if !ok {
			return false, "", errors.New("argument 'stateful': expected True/False or a list with a test_name mapping")
		}
		s, ok := api.ScalarString(tn)
		if !ok {
			return false, "", errors.New("argument 'stateful': test_name must be a command line")
		}
		return true, s, nil
	case bool:
		return x, "", nil
	default:
		b, ok := api.Bool(x)
		if !ok {
			return false, "", fmt.Errorf("argument 'stateful': expected True/False, got %v", x)
		}
		return b, "", nil
	}
}

// reinterpret applies Salt's stateful protocol to a cmd result whose
// changes hold the run_all dictionary. The command's stdout is either a JSON
// object or ends with a line of key=value pairs (shell-quoted); `changed`
// says whether anything changed, `comment` becomes the state's comment, and
// the other keys, with pid/retcode/stdout/stderr, become the changes when
// changed is true. Without stdout there are no changes and stderr is the
// comment.
//
// One quirk is kept on purpose so results match Salt 3007's byte for byte:
// the key=value line is cut from stdout at the last newline, and when
// stdout is that single line Salt's slice drops its last character
// ("extra=value" shows as "extra=valu"). See salt-reference/02-cmd.
func reinterpret(r api.Result) api.Result {
	ret := r.Changes
	r.Changes = map[string]any{}
	r.Comment = ""

	out, _ := ret["stdout"].(string)
	if out == "" {
		if stderr, _ := ret["stderr"].(string); stderr != "" {
			r.Comment = stderr
		}
		return r
	}

	var data map[string]any
	isJSON := false
	idx := -1
	if raw, ok := decodeJSON(out); ok {
		m, isObject := raw.(map[string]any)
		if !isObject {
			return failout(r, "script JSON output must be a JSON object (e.g., {})!")
		}
		data, isJSON = m, true
	} else {
		idx = strings.LastIndex(strings.TrimRightFunc(out, unicode.IsSpace), "\n")
		line := out
		if idx != -1 {
			line = out[idx+1:]
		}
		data = map[string]any{}
		items, err := shlexSplit(line)
		for _, item := range items {
			k, v, ok := strings.Cut(item, "=")
			if !ok || strings.Contains(v, "=") {
				err = errors.New("not key=value")
				break
			}
			data[k] = v
		}
		if err != nil {
			r = failout(r, "Failed parsing script output! Stdout must be JSON or a line of name=value pairs.")
			for k, v := range ret {
				r.Changes[k] = v
			}
			return r
		}
	}

	changedVal, ok := data["changed"]
	if !ok {
		changedVal = "no"
	}
	changed, err := isTrue(changedVal)
	if err != nil {
		return failout(r, err.Error())
	}
	if c, ok := data["comment"]; ok {
		if s, isScalar := api.ScalarString(c); isScalar {
			r.Comment = s
		} else {
			r.Comment = fmt.Sprint(c)
		}
		delete(data, "comment")
	}
	if changed {
		for k, v := range ret {
			if _, set := data[k]; !set {
				data[k] = v
			}
		}
		if isJSON {
			data["stdout"] = ""
		} else {
			s, _ := data["stdout"].(string)
			data["stdout"] = pySliceTo(s, idx)
		}
		r.Changes = data
	}
	return r
}

func failout(r api.Result, msg string) api.Result {
	r.Comment = msg
	r.Result = api.Tri(false)
	return r
}

// isTrue is the stateful protocol's boolean: true/yes/1 or false/no/0, any
// case.
func isTrue(v any) (bool, error) {
	s, ok := api.ScalarString(v)
	if ok {
		switch strings.ToLower(s) {
		case "true", "yes", "1":
			return true, nil
		case "false", "no", "0":
			return false, nil
		}
	}
	return false, fmt.Errorf("failed parsing boolean value: %v", v)
}

// pySliceTo is Python's s[:idx] for idx from LastIndex (or -1, which drops
// the last character).
func pySliceTo(s string, idx int) string {
	if idx >= 0 {
		if idx > len(s) {
			return s
		}
		return s[:idx]
	}
	if s == "" {
		return ""
	}
	_, size := utf8.DecodeLastRuneInString(s)
	return s[:len(s)-size]
}

// decodeJSON parses a whole string as one JSON value; whole numbers come
// back as int, like Python's json module.
func decodeJSON(s string) (any, bool) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if dec.More() {
		return nil, false
	}
	var rest bytes.Buffer
	if _, err := rest.ReadFrom(dec.Buffered()); err == nil && strings.TrimSpace(rest.String()) != "" {
		return nil, false
	}
	return numbers(v), true
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return int(n)
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}

// shlexSplit splits a line the way Python's shlex does in POSIX mode with
// whitespace_split (Salt's salt.utils.args.shlex_split): whitespace
// separates words, single quotes are literal, double quotes allow \" and
// \\, a backslash outside quotes escapes the next character.
func shlexSplit(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	const (
		plain = iota
		single
		double
	)
	state := plain
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch state {
		case plain:
			switch {
			case unicode.IsSpace(r):
				if inWord {
					words = append(words, cur.String())
					cur.Reset()
					inWord = false
				}
			case r == '\'':
				state, inWord = single, true
			case r == '"':
				state, inWord = double, true
			case r == '\\':
				if i+1 >= len(rs) {
					return nil, errors.New("no escaped character")
				}
				i++
				cur.WriteRune(rs[i])
				inWord = true
			default:
				cur.WriteRune(r)
				inWord = true
			}
		case single:
			if r == '\'' {
				state = plain
			} else {
				cur.WriteRune(r)
			}
		case double:
			switch {
			case r == '"':
				state = plain
			case r == '\\' && i+1 < len(rs) && (rs[i+1] == '"' || rs[i+1] == '\\'):
				i++
				cur.WriteRune(rs[i])
			default:
				cur.WriteRune(r)
			}
		}
	}
	if state != plain {
		return nil, errors.New("no closing quotation")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
