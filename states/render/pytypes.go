package render

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// Templates see dicts and lists through the two types below rather than
// through gonja's own representations. gonja evaluates a dict literal to an
// *exec.Dict and a list literal to an exec.ValuesList, and it runs methods
// such as update or append on a converted copy, so `{% do d.update(x) %}` and
// `{% do l.append(x) %}` silently change nothing. A pyDict is a Go map (a
// reference) and a *pyList a pointer to a slice, both still recognised by
// gonja as a dict and a list, and both answer their Python methods
// themselves (exec.AttributeGetter), so the mutation lands on the value the
// template holds, as in Python.

// pyDict is a template dict. Keys are strings (YAML and JSON keys are read
// as strings; other keys are converted with their string form).
type pyDict map[string]any

// pyList is a template list; templates always hold a *pyList.
type pyList []any

// dataDict is the type of the `pillar` variable and grainsDict that of
// `grains`: dicts whose get() also walks `a:b:c` paths and which offer
// filter_by, the way salt['pillar.get'] and salt['grains.filter_by'] do.
// They differ only in filter_by's default key (grains: os_family).
type (
	dataDict   map[string]any
	grainsDict map[string]any
)

// newList wraps items as a template list.
func newList(items []any) *pyList {
	l := pyList(items)
	return &l
}

// py converts a value to the template representation, deeply. Maps and
// slices that are not already template values are converted in place where
// they are Go maps and slices (callers hand over values they own: every
// value from outside a render is copied with pyCopy first).
func py(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int, float64, pyDict, *pyList, dataDict, grainsDict:
		return v
	case *exec.Value:
		if x == nil {
			return nil
		}
		return py(x.Interface())
	case map[string]any:
		for k, e := range x {
			x[k] = py(e)
		}
		return pyDict(x)
	case []any:
		for i, e := range x {
			x[i] = py(e)
		}
		return newList(x)
	case pyList:
		for i, e := range x {
			x[i] = py(e)
		}
		return &x
	case *exec.Dict:
		if x == nil {
			return pyDict{}
		}
		d := make(pyDict, len(x.Pairs))
		for _, p := range x.Pairs {
			d[keyString(p.Key.Interface())] = py(p.Value.Interface())
		}
		return d
	case exec.Dict:
		return py(&x)
	case exec.ValuesList:
		l := make(pyList, len(x))
		for i, e := range x {
			l[i] = py(e.Interface())
		}
		return &l
	case int64:
		return int(x)
	case int32:
		return int(x)
	case uint64:
		if x <= math.MaxInt64 {
			return int(x)
		}
		return float64(x)
	case float32:
		return float64(x)
	case []string:
		l := make(pyList, len(x))
		for i, e := range x {
			l[i] = e
		}
		return &l
	case exec.Macro, func(*exec.VarArgs) (any, error), *saltFuncs, *saltModule, *module:
		return v
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map:
		d := make(pyDict, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			d[keyString(it.Key().Interface())] = py(it.Value().Interface())
		}
		return d
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return v // bytes stay bytes
		}
		l := make(pyList, rv.Len())
		for i := range l {
			l[i] = py(rv.Index(i).Interface())
		}
		return &l
	case reflect.Int, reflect.Int8, reflect.Int16:
		return int(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return int(rv.Uint())
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
		if e := rv.Elem(); e.Kind() == reflect.Slice || e.Kind() == reflect.Map {
			return py(e.Interface())
		}
	}
	return v
}

// pyCopy converts plain Go data (as held by api.Env or returned by an
// execution module) to fresh template values, so that nothing a template
// does can change, or race with, data that outlives the render.
func pyCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		d := make(pyDict, len(x))
		for k, e := range x {
			d[k] = pyCopy(e)
		}
		return d
	case []any:
		l := make(pyList, len(x))
		for i, e := range x {
			l[i] = pyCopy(e)
		}
		return &l
	case pyDict:
		return pyCopy(map[string]any(x))
	case *pyList:
		if x == nil {
			return nil
		}
		return pyCopy([]any(*x))
	case dataDict:
		return pyCopy(map[string]any(x))
	case grainsDict:
		return pyCopy(map[string]any(x))
	case nil, string, bool, int, float64:
		return v
	}
	return py(v)
}

// plain converts template values back to plain Go data: map[string]any,
// []any and scalars. It is what execution modules receive and what the
// serializing filters print. The result shares nothing mutable with v.
func plain(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int, float64:
		return v
	case pyDict:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = plain(e)
		}
		return m
	case dataDict:
		return plain(pyDict(x))
	case grainsDict:
		return plain(pyDict(x))
	case *pyList:
		if x == nil {
			return nil
		}
		return plain([]any(*x))
	case map[string]any:
		return plain(pyDict(x))
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = plain(e)
		}
		return l
	case *exec.Value:
		if x == nil {
			return nil
		}
		return plain(x.Interface())
	case *module:
		return nil
	}
	switch x := py(v).(type) {
	case pyDict, *pyList, nil, string, bool, int, float64:
		return plain(x)
	default:
		return x
	}
}

// keyString renders a map key the way it reads in the template.
func keyString(k any) string {
	switch x := k.(type) {
	case string:
		return x
	case *exec.Value:
		return keyString(x.Interface())
	}
	return pyStr(k)
}

// sortedKeys orders keys like gonja's for loop over a dict does, so that
// d.items() and `for k in d` agree.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := strings.ToLower(keys[i]), strings.ToLower(keys[j])
		if a != b {
			return a < b
		}
		return keys[i] < keys[j]
	})
	return keys
}

// item returns m[k] as a template value, converting (and storing back)
// a value that was put there in its raw form.
func (d pyDict) item(k string) (any, bool) {
	v, ok := d[k]
	if !ok {
		return nil, false
	}
	switch v.(type) {
	case nil, string, bool, int, float64, pyDict, *pyList:
		return v, true
	}
	v = py(v)
	d[k] = v
	return v, true
}

// GetItem implements exec.ItemGetter: d['key'].
func (d pyDict) GetItem(key any) (*exec.Value, bool) {
	k, ok := key.(string)
	if !ok {
		k = keyString(key)
	}
	if v, ok := d.item(k); ok {
		return exec.AsValue(v), true
	}
	return exec.AsValue(nil), false
}

// GetAttribute implements exec.AttributeGetter: d.method and d.key (a
// method wins over a key of the same name, as in Jinja).
func (d pyDict) GetAttribute(name string) (*exec.Value, bool) {
	if m := d.method(name); m != nil {
		return exec.AsValue(m), true
	}
	return d.GetItem(name)
}

// String prints the dict as Python would (keys in sorted order).
func (d pyDict) String() string { return pyRepr(d) }

type method = func(*exec.VarArgs) (any, error)

func (d pyDict) method(name string) method {
	switch name {
	case "get":
		return func(a *exec.VarArgs) (any, error) {
			var key, def any
			if err := takeArgs(a, "get", 1, []string{"key", "default"}, nil, &key, &def); err != nil {
				return nil, err
			}
			if v, ok := d.item(keyString(key)); ok {
				return v, nil
			}
			return def, nil
		}
	case "keys":
		return func(a *exec.VarArgs) (any, error) {
			if err := noArgs(a, "keys"); err != nil {
				return nil, err
			}
			keys := sortedKeys(d)
			l := make(pyList, len(keys))
			for i, k := range keys {
				l[i] = k
			}
			return &l, nil
		}
	case "values":
		return func(a *exec.VarArgs) (any, error) {
			if err := noArgs(a, "values"); err != nil {
				return nil, err
			}
			keys := sortedKeys(d)
			l := make(pyList, len(keys))
			for i, k := range keys {
				l[i], _ = d.item(k)
			}
			return &l, nil
		}
	case "items", "iteritems":
		return func(a *exec.VarArgs) (any, error) {
			if err := noArgs(a, name); err != nil {
				return nil, err
			}
			keys := sortedKeys(d)
			l := make(pyList, len(keys))
			for i, k := range keys {
				v, _ := d.item(k)
				l[i] = newList([]any{k, v})
			}
			return &l, nil
		}
	case "update":
		return func(a *exec.VarArgs) (any, error) {
			if len(a.Args) > 1 {
				return nil, fmt.Errorf("update expected at most 1 argument, got %d", len(a.Args))
			}
			if len(a.Args) == 1 {
				src, err := asDict(a.Args[0].Interface(), "update")
				if err != nil {
					return nil, err
				}
				if err := checkInsert(d, src); err != nil {
					return nil, err
				}
				for k, v := range src {
					d[k] = v
				}
			}
			for k, v := range a.KwArgs {
				e := py(v.Interface())
				if err := checkInsert(d, e); err != nil {
					return nil, err
				}
				d[k] = e
			}
			return nil, nil
		}
	case "setdefault":
		return func(a *exec.VarArgs) (any, error) {
			var key, def any
			if err := takeArgs(a, "setdefault", 1, []string{"key", "default"}, nil, &key, &def); err != nil {
				return nil, err
			}
			k := keyString(key)
			if v, ok := d.item(k); ok {
				return v, nil
			}
			e := py(def)
			if err := checkInsert(d, e); err != nil {
				return nil, err
			}
			d[k] = e
			return e, nil
		}
	case "pop":
		return func(a *exec.VarArgs) (any, error) {
			if len(a.Args) < 1 || len(a.Args) > 2 || len(a.KwArgs) > 0 {
				return nil, fmt.Errorf("pop expected 1 or 2 arguments, got %d", len(a.Args))
			}
			k := keyString(a.Args[0])
			if v, ok := d.item(k); ok {
				delete(d, k)
				return v, nil
			}
			if len(a.Args) == 2 {
				return py(a.Args[1].Interface()), nil
			}
			return nil, fmt.Errorf("KeyError: %s", pyRepr(k))
		}
	case "copy":
		return func(a *exec.VarArgs) (any, error) {
			if err := noArgs(a, "copy"); err != nil {
				return nil, err
			}
			c := make(pyDict, len(d))
			for k, v := range d {
				c[k] = v
			}
			return c, nil
		}
	case "clear":
		return func(a *exec.VarArgs) (any, error) {
			if err := noArgs(a, "clear"); err != nil {
				return nil, err
			}
			clear(d)
			return nil, nil
		}
	}
	return nil
}

// asDict reads the argument of update() and friends: a dict or a list of
// pairs, converted to template values.
func asDict(v any, fn string) (pyDict, error) {
	switch x := py(v).(type) {
	case pyDict:
		return x, nil
	case dataDict:
		return pyDict(x), nil
	case grainsDict:
		return pyDict(x), nil
	case *pyList:
		d := pyDict{}
		for _, e := range *x {
			pair, ok := e.(*pyList)
			if !ok || len(*pair) != 2 {
				return nil, fmt.Errorf("%s: sequence elements must be (key, value) pairs", fn)
			}
			d[keyString((*pair)[0])] = (*pair)[1]
		}
		return d, nil
	case nil:
		return nil, fmt.Errorf("%s: 'NoneType' object is not iterable", fn)
	default:
		return nil, fmt.Errorf("%s: expected a dict, got %s", fn, pyRepr(x))
	}
}

// GetItem implements exec.ItemGetter: l[i], negative indexes included.
func (l *pyList) GetItem(key any) (*exec.Value, bool) {
	i, ok := key.(int)
	if !ok {
		return exec.AsValue(nil), false
	}
	if i < 0 {
		i += len(*l)
	}
	if i < 0 || i >= len(*l) {
		return exec.AsValue(nil), false
	}
	return exec.AsValue((*l)[i]), true
}

// GetAttribute implements exec.AttributeGetter for list methods.
func (l *pyList) GetAttribute(name string) (*exec.Value, bool) {
	if m := l.method(name); m != nil {
		return exec.AsValue(m), true
	}
	return exec.AsValue(nil), false
}

// String prints the list as Python would.
func (l *pyList) String() string { return pyRepr(l) }

func (l *pyList) method(name string) method {
	switch name {
	case "append":
		return func(a *exec.VarArgs) (any, error) {
			if len(a.Args) != 1 || len(a.KwArgs) > 0 {
				return nil, fmt.Errorf("append expected exactly one argument, got %d", len(a.Args))
			}
			e := py(a.Args[0].Interface())
			if err := checkInsert(l, e); err != nil {
				return nil, err
			}
			*l = append(*l, e)
			return nil, nil
		}
	case "extend":
		return func(a *exec.VarArgs) (any, error) {
			if len(a.Args) != 1 || len(a.KwArgs) > 0 {
				return nil, fmt.Errorf("extend expected exactly one argument, got %d", len(a.Args))
			}
			items, err := iterate(a.Args[0].Interface())
			if err != nil {
				return nil, fmt.Errorf("extend: %w", err)
			}
			if err := checkInsert(l, newList(items)); err != nil {
				return nil, err
			}
			*l = append(*l, items...)
			return nil, nil
		}
	case "insert":
		return func(a *exec.VarArgs) (any, error) {
			if len(a.Args) != 2 || !a.Args[0].IsInteger() {
				return nil, fmt.Errorf("insert expected an index and a value")
			}
			i := a.Args[0].Integer()
			n := len(*l)
			if i < 0 {
				i = max(0, i+n)
			}
			i = min(i, n)
			e := py(a.Args[1].Interface())
			if err := checkInsert(l, e); err != nil {
				return nil, err
			}
			*l = append(*l, nil)
			copy((*l)[i+1:], (*l)[i:])
			(*l)[i] = e
			return nil, nil
		}
	case "pop":
		return func(a *exec.VarArgs) (any, error) {
			n := len(*l)
			i := n - 1
			if len(a.Args) == 1 {
				if !a.Args[0].IsInteger() {
					return nil, fmt.Errorf("pop: index must be an integer")
				}
				i = a.Args[0].Integer()
				if i < 0 {
					i += n
				}
			} else if len(a.Args) > 1 {
				return nil, fmt.Errorf("pop expected at most 1 argument, got %d", len(a.Args))
			}
			if i < 0 || i >= n {
				return nil, fmt.Errorf("pop index out of range")
			}
			v := (*l)[i]
			*l = append((*l)[:i], (*l)[i+1:]...)
			return v, nil
		}
	case "remove":
		return func(a *exec.VarArgs) (any, error) {
			if len(a.Args) != 1 {
				return nil, fmt.Errorf("remove expected exactly one argument, got %d", len(a.Args))
			}
			for i, e := range *l {
				if pyEqual(e, a.Args[0].Interface()) {
					*l = append((*l)[:i], (*l)[i+1:]...)
					return nil, nil
				}
			}
			return nil, fmt.Errorf("list.remove(x): x not in list")
		}
	case "index":
		return func(a *exec.VarArgs) (any, error) {
			if len(a.Args) != 1 {
				return nil, fmt.Errorf("index expected exactly one argument, got %d", len(a.Args))
			}
			for i, e := range *l {
				if pyEqual(e, a.Args[0].Interface()) {
					return i, nil
				}
			}
			return nil, fmt.Errorf("%s is not in list", pyRepr(a.Args[0].Interface()))
		}
	case "count":
		return func(a *exec.VarArgs) (any, error) {
			if len(a.Args) != 1 {
				return nil, fmt.Errorf("count expected exactly one argument, got %d", len(a.Args))
			}
			n := 0
			for _, e := range *l {
				if pyEqual(e, a.Args[0].Interface()) {
					n++
				}
			}
			return n, nil
		}
	case "reverse":
		return func(a *exec.VarArgs) (any, error) {
			if err := noArgs(a, "reverse"); err != nil {
				return nil, err
			}
			for i, j := 0, len(*l)-1; i < j; i, j = i+1, j-1 {
				(*l)[i], (*l)[j] = (*l)[j], (*l)[i]
			}
			return nil, nil
		}
	case "sort":
		return func(a *exec.VarArgs) (any, error) {
			reverse := false
			if r, ok := a.KwArgs["reverse"]; ok {
				reverse = r.IsTrue()
			}
			sort.SliceStable(*l, func(i, j int) bool {
				if reverse {
					return pyLess((*l)[j], (*l)[i])
				}
				return pyLess((*l)[i], (*l)[j])
			})
			return nil, nil
		}
	case "copy":
		return func(a *exec.VarArgs) (any, error) {
			if err := noArgs(a, "copy"); err != nil {
				return nil, err
			}
			return newList(append([]any(nil), *l...)), nil
		}
	case "clear":
		return func(a *exec.VarArgs) (any, error) {
			if err := noArgs(a, "clear"); err != nil {
				return nil, err
			}
			*l = (*l)[:0]
			return nil, nil
		}
	}
	return nil
}

// iterate lists the items of an iterable template value (a dict yields its
// keys, a string its characters).
func iterate(v any) ([]any, error) {
	switch x := py(v).(type) {
	case *pyList:
		return append([]any(nil), *x...), nil
	case pyDict:
		keys := sortedKeys(x)
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = k
		}
		return out, nil
	case dataDict:
		return iterate(pyDict(x))
	case grainsDict:
		return iterate(pyDict(x))
	case string:
		out := make([]any, 0, len(x))
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%s is not iterable", pyRepr(x))
	}
}

// GetAttribute implements exec.AttributeGetter: get() walks `a:b` paths,
// filter_by looks a key up by the value of a pillar key.
func (d dataDict) GetAttribute(name string) (*exec.Value, bool) { return dataAttr(pyDict(d), name, "") }

// GetItem implements exec.ItemGetter.
func (d dataDict) GetItem(key any) (*exec.Value, bool) { return pyDict(d).GetItem(key) }

// String prints the dict as Python would.
func (d dataDict) String() string { return pyRepr(pyDict(d)) }

// GetAttribute implements exec.AttributeGetter: get() walks `a:b` paths,
// filter_by looks a key up by the value of a grain (os_family by default).
func (d grainsDict) GetAttribute(name string) (*exec.Value, bool) {
	return dataAttr(pyDict(d), name, "os_family")
}

// GetItem implements exec.ItemGetter.
func (d grainsDict) GetItem(key any) (*exec.Value, bool) { return pyDict(d).GetItem(key) }

// String prints the dict as Python would.
func (d grainsDict) String() string { return pyRepr(pyDict(d)) }

func dataAttr(d pyDict, name, grain string) (*exec.Value, bool) {
	switch name {
	case "get":
		return exec.AsValue(method(func(a *exec.VarArgs) (any, error) {
			var k, def, delim any = nil, nil, ":"
			if err := takeArgs(a, "get", 1, []string{"key", "default", "delimiter"}, nil, &k, &def, &delim); err != nil {
				return nil, err
			}
			key := keyString(k)
			if v, ok := d.item(key); ok {
				return v, nil
			}
			sep, _ := delim.(string)
			if v, ok := Traverse(d, key, sep); ok {
				return py(v), nil
			}
			return py(def), nil
		})), true
	case "filter_by":
		return exec.AsValue(method(func(a *exec.VarArgs) (any, error) {
			return filterByCall(d, grain, a)
		})), true
	}
	return d.GetAttribute(name)
}

// filterByCall implements grains.filter_by(lookup_dict, grain=...,
// merge=None, default='default', base=None) on data.
func filterByCall(data pyDict, defaultGrain string, a *exec.VarArgs) (any, error) {
	var lookup, grain, merge, def, base any = nil, defaultGrain, nil, "default", nil
	names := []string{"lookup_dict", "grain", "merge", "default", "base"}
	if err := takeArgs(a, "filter_by", 1, names, map[string]string{"pillar": "grain", "lookup": "grain"}, &lookup, &grain, &merge, &def, &base); err != nil {
		return nil, err
	}
	lk, err := asDict(lookup, "filter_by")
	if err != nil {
		return nil, err
	}
	var mg map[string]any
	if merge != nil {
		m, err := asDict(merge, "filter_by merge")
		if err != nil {
			return nil, fmt.Errorf("filter_by merge argument must be a dictionary")
		}
		mg = plain(m).(map[string]any)
	}
	g, _ := grain.(string)
	if g == "" {
		return nil, fmt.Errorf("filter_by: no key to look up (grain=...)")
	}
	dk, _ := def.(string)
	bk, _ := base.(string)
	out, err := FilterByBase(plain(data).(map[string]any), plain(lk).(map[string]any), g, mg, dk, bk)
	if err != nil {
		return nil, err
	}
	return pyCopy(out), nil
}

// takeArgs binds Python-style arguments: names lists every parameter in
// order (positional or keyword), the first `required` of which must be
// given; aliases maps extra keyword spellings to names; outs receives one
// value per name (defaults stay where not given). Unknown keywords are
// errors, as in Python.
func takeArgs(a *exec.VarArgs, fn string, required int, names []string, aliases map[string]string, outs ...*any) error {
	if len(a.Args) > len(names) {
		return fmt.Errorf("%s() takes at most %d arguments (%d given)", fn, len(names), len(a.Args))
	}
	set := make([]bool, len(names))
	for i, v := range a.Args {
		set[i] = true
		*outs[i] = v.Interface()
	}
	for k, v := range a.KwArgs {
		if alias, ok := aliases[k]; ok {
			k = alias
		}
		idx := -1
		for i, n := range names {
			if n == k {
				idx = i
			}
		}
		if idx < 0 {
			return fmt.Errorf("%s() got an unexpected keyword argument '%s'", fn, k)
		}
		if set[idx] {
			return fmt.Errorf("%s() got multiple values for argument '%s'", fn, k)
		}
		set[idx] = true
		*outs[idx] = v.Interface()
	}
	for i := 0; i < required; i++ {
		if !set[i] {
			return fmt.Errorf("%s() missing required argument '%s'", fn, names[i])
		}
	}
	return nil
}

func noArgs(a *exec.VarArgs, fn string) error {
	if len(a.Args) > 0 || len(a.KwArgs) > 0 {
		return fmt.Errorf("%s() takes no arguments", fn)
	}
	return nil
}

// pyEqual compares two template values as Python's == would.
func pyEqual(a, b any) bool {
	a, b = plain(a), plain(b)
	switch x := a.(type) {
	case int:
		switch y := b.(type) {
		case int:
			return x == y
		case float64:
			return float64(x) == y
		}
	case float64:
		switch y := b.(type) {
		case int:
			return x == float64(y)
		case float64:
			return x == y
		}
	}
	return reflect.DeepEqual(a, b)
}

// pyLess orders values for sort(): numbers numerically, everything else by
// its string form.
func pyLess(a, b any) bool {
	fa, aNum := number(a)
	fb, bNum := number(b)
	if aNum && bNum {
		return fa < fb
	}
	return pyStr(a) < pyStr(b)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// pyStr is Python's str(): strings as they are, everything else as repr.
func pyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return pyRepr(v)
}

// pyRepr is Python's repr() for template values.
func pyRepr(v any) string {
	var b strings.Builder
	writeRepr(&b, v, 0)
	return b.String()
}

func writeRepr(b *strings.Builder, v any, depth int) {
	if depth > 100 {
		b.WriteString("...")
		return
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int:
		b.WriteString(strconv.Itoa(x))
	case float64:
		b.WriteString(pyFloat(x))
	case string:
		writeQuoted(b, x)
	case pyDict:
		b.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b.WriteString(", ")
			}
			writeQuoted(b, k)
			b.WriteString(": ")
			writeRepr(b, x[k], depth+1)
		}
		b.WriteByte('}')
	case dataDict:
		writeRepr(b, pyDict(x), depth)
	case grainsDict:
		writeRepr(b, pyDict(x), depth)
	case *pyList:
		if x == nil {
			b.WriteString("None")
			return
		}
		b.WriteByte('[')
		for i, e := range *x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e, depth+1)
		}
		b.WriteByte(']')
	case *exec.Value:
		if x == nil {
			b.WriteString("None")
			return
		}
		writeRepr(b, x.Interface(), depth)
	case map[string]any, []any, *exec.Dict, exec.ValuesList:
		writeRepr(b, py(x), depth)
	case fmt.Stringer:
		b.WriteString(x.String())
	default:
		switch y := py(v).(type) {
		case pyDict, *pyList:
			writeRepr(b, y, depth)
		default:
			fmt.Fprint(b, v)
		}
	}
}

// pyFloat formats a float as Python's repr does (1.0, 1e+20, inf).
func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if e := strings.IndexByte(s, 'e'); e >= 0 {
		exp, _ := strconv.Atoi(s[e+1:])
		if exp >= -4 && exp < 16 {
			s = strconv.FormatFloat(f, 'f', -1, 64)
		} else {
			mant, expPart := s[:e], s[e+1:]
			sign := "+"
			if strings.HasPrefix(expPart, "-") {
				sign, expPart = "-", expPart[1:]
			} else {
				expPart = strings.TrimPrefix(expPart, "+")
			}
			if len(expPart) < 2 {
				expPart = "0" + expPart
			}
			return mant + "e" + sign + expPart
		}
	}
	if !strings.ContainsAny(s, ".eninf") {
		s += ".0"
	}
	return s
}

// writeQuoted writes a Python string literal: single quotes unless the
// text holds a single quote and no double quote.
func writeQuoted(b *strings.Builder, s string) {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
}

// refOf identifies a template container, for the cycle check.
func refOf(v any) uintptr {
	switch x := v.(type) {
	case pyDict:
		return reflect.ValueOf(x).Pointer()
	case dataDict:
		return reflect.ValueOf(x).Pointer()
	case grainsDict:
		return reflect.ValueOf(x).Pointer()
	case *pyList:
		return reflect.ValueOf(x).Pointer()
	}
	return 0
}

// errCycle refuses to put a container inside itself: Python allows it,
// but every printer and serializer would then recurse without end.
var errCycle = errors.New("cannot put a dict or list inside itself")

// checkInsert fails when v holds the container c (at any depth).
func checkInsert(c, v any) error {
	target := refOf(c)
	if target == 0 {
		return nil
	}
	var walk func(v any, depth int) bool
	walk = func(v any, depth int) bool {
		if depth > maxValueDepth {
			return true
		}
		if r := refOf(v); r == 0 {
			return false
		} else if r == target {
			return true
		}
		switch x := v.(type) {
		case pyDict:
			for _, e := range x {
				if walk(e, depth+1) {
					return true
				}
			}
		case dataDict:
			return walk(pyDict(x), depth)
		case grainsDict:
			return walk(pyDict(x), depth)
		case *pyList:
			for _, e := range *x {
				if walk(e, depth+1) {
					return true
				}
			}
		}
		return false
	}
	if walk(v, 0) {
		return errCycle
	}
	return nil
}
