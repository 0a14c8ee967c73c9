package api

import (
	"fmt"
	"io/fs"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// ArgError names the argument that could not be decoded. The engine adds the
// SLS file and state ID around it.
type ArgError struct {
	Arg string
	Msg string
}

func (e *ArgError) Error() string {
	if e.Arg == "" {
		return e.Msg
	}
	return fmt.Sprintf("argument '%s': %s", e.Arg, e.Msg)
}

// ArgUnmarshaler is implemented by argument types with their own reading of
// a rendered YAML value (file modes, for instance).
type ArgUnmarshaler interface {
	UnmarshalArg(v any) error
}

// Decode fills the struct pointed to by out from args, strictly: a key with
// no matching field (by its `arg` tag, else its lower-cased name) is an
// error, and so is a value of the wrong shape. Scalars are converted the way
// Salt users expect: numbers and booleans become strings where a string is
// wanted, yes/no/on/off/true/false (any case) become booleans, a single
// value becomes a one-element list.
func Decode(args map[string]any, out any) error {
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("decode: need a pointer to a struct, got %T", out)
	}
	return decodeStruct("", args, rv.Elem())
}

// ArgNames lists the argument names a struct accepts, sorted, for docs and
// plugin schemas. Names starting with "__" are supplied by the engine and
// left out.
func ArgNames(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	for name := range fieldIndex(t) {
		if !strings.HasPrefix(name, "__") { // engine-supplied, not for users
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

func fieldIndex(t reflect.Type) map[string][]int {
	idx := map[string][]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := f.Tag.Get("arg")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for n, sub := range fieldIndex(f.Type) {
				idx[n] = append([]int{i}, sub...)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		idx[name] = []int{i}
	}
	return idx
}

func decodeStruct(prefix string, args map[string]any, sv reflect.Value) error {
	idx := fieldIndex(sv.Type())
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		path := k
		if prefix != "" {
			path = prefix + ":" + k
		}
		fi, ok := idx[k]
		if !ok {
			return &ArgError{Msg: fmt.Sprintf("unknown argument '%s'", path)}
		}
		if err := decodeValue(path, args[k], sv.FieldByIndex(fi)); err != nil {
			return err
		}
	}
	return nil
}

var unmarshalerType = reflect.TypeFor[ArgUnmarshaler]()

func decodeValue(path string, v any, fv reflect.Value) error {
	if fv.CanAddr() && fv.Addr().Type().Implements(unmarshalerType) {
		if err := fv.Addr().Interface().(ArgUnmarshaler).UnmarshalArg(v); err != nil {
			return &ArgError{Arg: path, Msg: err.Error()}
		}
		return nil
	}
	if fv.Kind() == reflect.Pointer {
		if v == nil {
			fv.SetZero()
			return nil
		}
		p := reflect.New(fv.Type().Elem())
		if err := decodeValue(path, v, p.Elem()); err != nil {
			return err
		}
		fv.Set(p)
		return nil
	}
	bad := func(want string) error {
		return &ArgError{Arg: path, Msg: fmt.Sprintf("expected %s, got %s", want, describe(v))}
	}
	switch fv.Kind() {
	case reflect.Interface:
		if v == nil {
			fv.SetZero()
		} else {
			fv.Set(reflect.ValueOf(v))
		}
		return nil
	case reflect.String:
		s, ok := ScalarString(v)
		if !ok {
			return bad("a string")
		}
		fv.SetString(s)
	case reflect.Bool:
		b, ok := Bool(v)
		if !ok {
			return bad("a boolean (True/False)")
		}
		fv.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, ok := Int(v)
		if !ok {
			return bad("an integer")
		}
		fv.SetInt(n)
	case reflect.Float64:
		switch x := v.(type) {
		case int:
			fv.SetFloat(float64(x))
		case float64:
			fv.SetFloat(x)
		default:
			if s, ok := v.(string); ok {
				f, err := strconv.ParseFloat(s, 64)
				if err == nil {
					fv.SetFloat(f)
					return nil
				}
			}
			return bad("a number")
		}
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			if v == nil {
				fv.SetZero()
				return nil
			}
			if _, isMap := v.(map[string]any); isMap {
				return bad("a list")
			}
			list = []any{v}
		}
		out := reflect.MakeSlice(fv.Type(), len(list), len(list))
		for i, item := range list {
			if err := decodeValue(fmt.Sprintf("%s[%d]", path, i), item, out.Index(i)); err != nil {
				return err
			}
		}
		fv.Set(out)
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			if v == nil {
				fv.SetZero()
				return nil
			}
			return bad("a mapping")
		}
		out := reflect.MakeMapWithSize(fv.Type(), len(m))
		for k, item := range m {
			ev := reflect.New(fv.Type().Elem()).Elem()
			if err := decodeValue(path+":"+k, item, ev); err != nil {
				return err
			}
			out.SetMapIndex(reflect.ValueOf(k), ev)
		}
		fv.Set(out)
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return bad("a mapping")
		}
		return decodeStruct(path, m, fv)
	default:
		return &ArgError{Arg: path, Msg: fmt.Sprintf("unsupported field type %s", fv.Type())}
	}
	return nil
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing (null)"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	case string:
		return fmt.Sprintf("the string %q", x)
	default:
		return fmt.Sprintf("%T %v", v, v)
	}
}

// ScalarString renders a scalar the way Salt's str() would: booleans as
// True/False, numbers without a trailing .0 where they are whole.
func ScalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		if x {
			return "True", true
		}
		return "False", true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case nil:
		return "", true
	}
	return "", false
}

// Bool reads YAML 1.1 and Python spellings of a boolean, as yaml.v3 does when
// it decodes into a typed bool: yes/no, on/off, true/false, y/n, 1/0.
func Bool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case int:
		if x == 0 || x == 1 {
			return x == 1, true
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "yes", "on", "y", "1":
			return true, true
		case "false", "no", "off", "n", "0", "":
			return false, true
		}
	}
	return false, false
}

// Int reads an integer from an int, a whole float or a decimal string.
func Int(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	case float64:
		if x == math.Trunc(x) {
			return int64(x), true
		}
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err == nil {
			return n, true
		}
	}
	return 0, false
}

// Mode is a file permission argument. `mode: 644`, `mode: 0644` and
// `mode: '0644'` all mean rw-r--r--: every spelling is read as octal digits,
// the way Salt users write modes. (brine's SLS loader reads an unquoted
// 0644 as the digits 644, not as YAML 1.1's octal 420.)
type Mode fs.FileMode

// UnmarshalArg implements ArgUnmarshaler.
func (m *Mode) UnmarshalArg(v any) error {
	var s string
	switch x := v.(type) {
	case int:
		s = strconv.Itoa(x)
	case string:
		s = strings.TrimSpace(x)
	default:
		return fmt.Errorf("expected an octal mode such as '0644', got %s", describe(v))
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0o"), "0O")
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o7777 {
		return fmt.Errorf("expected an octal mode such as '0644', got %q", s)
	}
	*m = Mode(n)
	return nil
}

// Perm returns the mode as permission bits (with setuid/setgid/sticky).
func (m Mode) Perm() fs.FileMode {
	p := fs.FileMode(m) & fs.ModePerm
	if m&0o4000 != 0 {
		p |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		p |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		p |= fs.ModeSticky
	}
	return p
}

// String prints the mode as Salt reports it in changes: four octal digits.
func (m Mode) String() string { return fmt.Sprintf("%04o", uint32(m)) }
