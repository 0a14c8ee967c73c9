package plugin

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules/plugin/pluginpb"
)

// Kind says which registry a function belongs in.
type Kind string

// The two kinds of function a plugin provides.
const (
	// KindExec is an execution function: brine call, salt['mod.fn'].
	KindExec Kind = "exec"
	// KindState is a state function, declared in SLS files.
	KindState Kind = "state"
)

// Argument types a plugin declares in its schema; the host checks SLS
// arguments against them at compile time with api.Decode's rules.
const (
	TypeString = "string"
	TypeBool   = "bool"
	TypeInt    = "int"
	TypeFloat  = "float"
	TypeList   = "list"
	TypeMap    = "map"
	TypeAny    = "any"
)

// Info is what a plugin says about itself through the Base service. The
// host caches it by the binary's hash, so that registering a plugin's
// functions does not start it.
type Info struct {
	Name            string     `json:"name"`
	Version         string     `json:"version"`
	ProtocolVersion int        `json:"protocol_version"`
	Functions       []Function `json:"functions"`
}

// Function describes one function a plugin provides.
type Function struct {
	// Name is the Salt name, "module.function".
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	Doc  string `json:"doc,omitempty"`
	// Params are an execution function's positional parameters, in order.
	Params []string `json:"params,omitempty"`
	// Args are the accepted arguments and their types. A state function's
	// arguments are checked against them before the run starts.
	Args []Arg `json:"args,omitempty"`
	// ModWatch is set when a state function implements mod_watch.
	ModWatch bool `json:"mod_watch,omitempty"`
}

// Arg is one declared argument.
type Arg struct {
	Name string `json:"name"`
	// Type is one of the Type* constants; "" means TypeAny.
	Type string `json:"type,omitempty"`
	Doc  string `json:"doc,omitempty"`
}

// ErrIncompatible reports a plugin whose Info does not fit this host: a
// different protocol version, no name, malformed function names.
var ErrIncompatible = errors.New("incompatible plugin")

// Check validates info as the host receives it.
func (info *Info) Check() error {
	if info.ProtocolVersion != ProtocolVersion {
		return fmt.Errorf("%w: it speaks protocol version %d, brine speaks %d", ErrIncompatible, info.ProtocolVersion, ProtocolVersion)
	}
	if !validPluginName(info.Name) {
		return fmt.Errorf("%w: invalid plugin name %q (letters, digits, '_' and '-')", ErrIncompatible, info.Name)
	}
	seen := map[string]bool{}
	for _, f := range info.Functions {
		mod, fn, ok := strings.Cut(f.Name, ".")
		if !ok || mod == "" || fn == "" || strings.ContainsAny(f.Name, " \t\n/") {
			return fmt.Errorf("%w: invalid function name %q (module.function)", ErrIncompatible, f.Name)
		}
		if f.Kind != KindExec && f.Kind != KindState {
			return fmt.Errorf("%w: function %s has unknown kind %q", ErrIncompatible, f.Name, f.Kind)
		}
		key := string(f.Kind) + " " + f.Name
		if seen[key] {
			return fmt.Errorf("%w: %s function %s declared twice", ErrIncompatible, f.Kind, f.Name)
		}
		seen[key] = true
		for _, a := range f.Args {
			if !validType(a.Type) {
				return fmt.Errorf("%w: %s argument '%s' has unknown type %q", ErrIncompatible, f.Name, a.Name, a.Type)
			}
		}
	}
	return nil
}

func validPluginName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func validType(t string) bool {
	switch t {
	case "", TypeString, TypeBool, TypeInt, TypeFloat, TypeList, TypeMap, TypeAny:
		return true
	}
	return false
}

// ArgNames lists the declared argument names, sorted, for `brine doc`.
func (f *Function) ArgNames() []string {
	out := make([]string, 0, len(f.Args))
	for _, a := range f.Args {
		out = append(out, a.Name)
	}
	sort.Strings(out)
	return out
}

// CheckArgs checks args against the declared schema the way api.Decode
// would: an argument that is not declared is an error, and so is a value
// that cannot be read as the declared type. It runs on the host, so that a
// typo in an SLS file fails the run before anything starts, without
// starting the plugin.
func (f *Function) CheckArgs(args map[string]any) error {
	types := make(map[string]string, len(f.Args))
	for _, a := range f.Args {
		types[a.Name] = a.Type
	}
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t, ok := types[k]
		if !ok {
			return &api.ArgError{Msg: fmt.Sprintf("unknown argument '%s'", k)}
		}
		if msg := typeMismatch(t, args[k]); msg != "" {
			return &api.ArgError{Arg: k, Msg: msg}
		}
	}
	return nil
}

// typeMismatch returns why v cannot be read as type t, or "". Nothing
// (null) is left for the plugin to judge: optional arguments take it.
func typeMismatch(t string, v any) string {
	if v == nil {
		return ""
	}
	_, isMap := v.(map[string]any)
	switch t {
	case TypeString:
		if _, ok := api.ScalarString(v); !ok {
			return "expected a string, got " + describe(v)
		}
	case TypeBool:
		if _, ok := api.Bool(v); !ok {
			return "expected a boolean (True/False), got " + describe(v)
		}
	case TypeInt:
		if _, ok := api.Int(v); !ok {
			return "expected an integer, got " + describe(v)
		}
	case TypeFloat:
		switch x := v.(type) {
		case int, int64, float64:
		case string:
			if _, err := strconv.ParseFloat(x, 64); err != nil {
				return "expected a number, got " + describe(v)
			}
		default:
			return "expected a number, got " + describe(v)
		}
	case TypeList:
		if isMap {
			return "expected a list, got a mapping"
		}
	case TypeMap:
		if !isMap {
			return "expected a mapping, got " + describe(v)
		}
	}
	return ""
}

func describe(v any) string {
	switch x := v.(type) {
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	case string:
		return fmt.Sprintf("the string %q", x)
	}
	return fmt.Sprintf("%T %v", v, v)
}

func infoToPB(info *Info) *pluginpb.InfoResponse {
	out := &pluginpb.InfoResponse{Name: info.Name, Version: info.Version, ProtocolVersion: uint32(info.ProtocolVersion)}
	for _, f := range info.Functions {
		pf := &pluginpb.Function{Name: f.Name, Doc: f.Doc, Params: f.Params, ModWatch: f.ModWatch}
		switch f.Kind {
		case KindExec:
			pf.Kind = pluginpb.Function_KIND_EXEC
		case KindState:
			pf.Kind = pluginpb.Function_KIND_STATE
		}
		for _, a := range f.Args {
			pf.Args = append(pf.Args, &pluginpb.Argument{Name: a.Name, Type: a.Type, Doc: a.Doc})
		}
		out.Functions = append(out.Functions, pf)
	}
	return out
}

func infoFromPB(r *pluginpb.InfoResponse) *Info {
	info := &Info{Name: r.GetName(), Version: r.GetVersion(), ProtocolVersion: int(r.GetProtocolVersion())}
	for _, pf := range r.GetFunctions() {
		f := Function{Name: pf.GetName(), Doc: pf.GetDoc(), Params: pf.GetParams(), ModWatch: pf.GetModWatch()}
		switch pf.GetKind() {
		case pluginpb.Function_KIND_EXEC:
			f.Kind = KindExec
		case pluginpb.Function_KIND_STATE:
			f.Kind = KindState
		default:
			f.Kind = Kind(strings.ToLower(pf.GetKind().String()))
		}
		for _, a := range pf.GetArgs() {
			f.Args = append(f.Args, Arg{Name: a.GetName(), Type: a.GetType(), Doc: a.GetDoc()})
		}
		info.Functions = append(info.Functions, f)
	}
	return info
}
