// Package sdk is what a Go plugin author imports: declare execution and
// state functions the way brine's built-ins are declared (modules.Typed,
// states.Def), list them in a Plugin and call Serve from main.
//
//	func main() {
//		sdk.Serve(sdk.Plugin{
//			Name:    "ini",
//			Version: "1.0.0",
//			Exec:    []sdk.ExecFunc{sdk.Typed("ini.get_option", doc, params, getOption)},
//			States:  []sdk.StateDef{sdk.State[presentArgs]{Name: "ini.options_present", Apply: present}},
//		})
//	}
//
// Functions receive what a built-in receives: their arguments decoded
// strictly (api.Decode), the test flag, an api.Env with the minion's ID,
// grains, pillar and opts, env.Exec to call any execution module through
// brine (salt['mod.fn']), env.Files for salt:// files, env.Log (written to
// the minion's log with the plugin's name), and a context carrying the
// state's deadline.
package sdk

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"log/slog"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/modules/plugin"
)

// Plugin is one plugin binary: its name, version and functions.
type Plugin struct {
	// Name names the plugin in brine's logs and error messages: letters,
	// digits, '_' and '-'. It need not be a module name; one plugin may
	// provide several modules.
	Name    string
	Version string
	// Exec are the execution functions ("ini.get_option").
	Exec []ExecFunc
	// States are the state functions ("ini.options_present").
	States []StateDef
}

// ExecFunc is one execution function. Typed builds one from a function
// taking a typed argument struct, as modules.Typed does for built-ins.
type ExecFunc struct {
	// Name is the Salt name, "module.function".
	Name string
	// Doc is what `brine doc` prints.
	Doc string
	// Params names the positional parameters in order.
	Params []string
	// Args declares the keyword arguments, for `brine doc`; nil when the
	// function takes anything.
	Args []plugin.Arg
	// Run does the work, with positional and keyword arguments as given.
	Run func(ctx context.Context, env *api.Env, args []any, kwargs map[string]any) (any, error)
}

// Typed builds an ExecFunc whose arguments are bound to params and decoded
// strictly into A, exactly as modules.Typed does for a built-in.
func Typed[A any](name, doc string, params []string, run func(ctx context.Context, env *api.Env, a *A) (any, error)) ExecFunc {
	f := modules.Typed(name, doc, params, run)
	return ExecFunc{Name: name, Doc: doc, Params: params, Args: Schema[A](), Run: f.Run}
}

// Request is what a state function receives: the same fields as the
// engine's states.Request.
type Request struct {
	// ID is the state ID, Name the `name` argument (the ID when not given).
	ID, Name string
	// SLS is the SLS the state was declared in, for messages.
	SLS string
	// Args holds the function's own arguments, without `name`.
	Args map[string]any
	// Test is Salt's test=True: report what would change, touch nothing.
	Test bool
	// Env is the minion: grains, pillar, salt:// files, other modules.
	Env *api.Env
	// Changes holds, for mod_watch, the changes of the states that fired
	// the watch, keyed by their tag.
	Changes map[string]map[string]any
}

// StateFunc is one state function with untyped arguments. Most plugins
// use State instead.
type StateFunc struct {
	Name string
	Doc  string
	// Args declares the accepted arguments. brine checks SLS arguments
	// against it before a run starts, without starting the plugin.
	Args []plugin.Arg
	// Apply checks and, unless req.Test, changes what differs.
	Apply func(ctx context.Context, req *Request) api.Result
	// ModWatch runs when a watched state changed; nil runs Apply again.
	ModWatch func(ctx context.Context, req *Request) api.Result
}

// StateDef is anything that declares a state function: a State[A] or a
// StateFunc.
type StateDef interface {
	Func() StateFunc
}

// Func implements StateDef.
func (f StateFunc) Func() StateFunc { return f }

// State declares a state function with typed arguments A, as states.Def
// does for built-ins: arguments are decoded strictly (api.Decode), and an
// unknown argument is refused before the run starts.
type State[A any] struct {
	Name     string
	Doc      string
	Apply    func(ctx context.Context, req *Request, a *A) api.Result
	ModWatch func(ctx context.Context, req *Request, a *A) api.Result
}

// Func implements StateDef.
func (d State[A]) Func() StateFunc {
	wrap := func(fn func(context.Context, *Request, *A) api.Result) func(context.Context, *Request) api.Result {
		return func(ctx context.Context, req *Request) api.Result {
			var a A
			if err := api.Decode(req.Args, &a); err != nil {
				return api.Failed(err.Error())
			}
			return fn(ctx, req, &a)
		}
	}
	f := StateFunc{Name: d.Name, Doc: d.Doc, Args: Schema[A]()}
	if d.Apply != nil {
		f.Apply = wrap(d.Apply)
	}
	if d.ModWatch != nil {
		f.ModWatch = wrap(d.ModWatch)
	}
	return f
}

// Schema describes the arguments api.Decode accepts into A: names from
// the `arg` tag or the lower-cased field name, types from the field's
// kind, and the text of a `doc` tag.
func Schema[A any]() []plugin.Arg {
	args := schemaOf(reflect.TypeFor[A]())
	sort.Slice(args, func(i, j int) bool { return args[i].Name < args[j].Name })
	return args
}

var unmarshaler = reflect.TypeFor[api.ArgUnmarshaler]()

func schemaOf(t reflect.Type) []plugin.Arg {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []plugin.Arg
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
			out = append(out, schemaOf(f.Type)...)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if strings.HasPrefix(name, "__") {
			continue
		}
		out = append(out, plugin.Arg{Name: name, Type: typeOf(f.Type), Doc: f.Tag.Get("doc")})
	}
	return out
}

func typeOf(t reflect.Type) string {
	if reflect.PointerTo(t).Implements(unmarshaler) || t.Implements(unmarshaler) {
		return plugin.TypeAny
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
		if reflect.PointerTo(t).Implements(unmarshaler) {
			return plugin.TypeAny
		}
	}
	switch t.Kind() {
	case reflect.String:
		return plugin.TypeString
	case reflect.Bool:
		return plugin.TypeBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return plugin.TypeInt
	case reflect.Float32, reflect.Float64:
		return plugin.TypeFloat
	case reflect.Slice, reflect.Array:
		return plugin.TypeList
	case reflect.Map, reflect.Struct:
		return plugin.TypeMap
	}
	return plugin.TypeAny
}

// NewServer checks p and returns the plugin.Server that serves it. Serve
// uses it; tests use it to run a plugin in-process (see package sdktest).
func NewServer(p Plugin) (plugin.Server, error) {
	s := &server{exec: map[string]ExecFunc{}, states: map[string]StateFunc{}}
	info := &plugin.Info{Name: p.Name, Version: p.Version, ProtocolVersion: plugin.ProtocolVersion}
	for _, f := range p.Exec {
		if f.Run == nil {
			return nil, fmt.Errorf("plugin %s: execution function %s has no Run", p.Name, f.Name)
		}
		if _, dup := s.exec[f.Name]; dup {
			return nil, fmt.Errorf("plugin %s: execution function %s declared twice", p.Name, f.Name)
		}
		s.exec[f.Name] = f
		info.Functions = append(info.Functions, plugin.Function{Name: f.Name, Kind: plugin.KindExec, Doc: f.Doc, Params: f.Params, Args: f.Args})
	}
	for _, d := range p.States {
		f := d.Func()
		if f.Apply == nil {
			return nil, fmt.Errorf("plugin %s: state function %s has no Apply", p.Name, f.Name)
		}
		if _, dup := s.states[f.Name]; dup {
			return nil, fmt.Errorf("plugin %s: state function %s declared twice", p.Name, f.Name)
		}
		s.states[f.Name] = f
		info.Functions = append(info.Functions, plugin.Function{Name: f.Name, Kind: plugin.KindState, Doc: f.Doc, Args: f.Args, ModWatch: f.ModWatch != nil})
	}
	if err := info.Check(); err != nil {
		return nil, fmt.Errorf("plugin %s: %w", p.Name, err)
	}
	s.info = info
	return s, nil
}

type server struct {
	info   *plugin.Info
	exec   map[string]ExecFunc
	states map[string]StateFunc
}

func (s *server) Info(context.Context) (*plugin.Info, error) { return s.info, nil }

func (s *server) Exec(ctx context.Context, call *plugin.ExecCall) (ret any, err error) {
	f, ok := s.exec[call.Function]
	if !ok {
		return nil, fmt.Errorf("'%s' is not provided by plugin %s: %w", call.Function, s.info.Name, modules.ErrUnknownFunction)
	}
	defer func() {
		if r := recover(); r != nil {
			call.Env.Logger().Error("execution function panicked", "function", call.Function, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			ret, err = nil, fmt.Errorf("%s panicked: %v", call.Function, r)
		}
	}()
	kwargs := call.Kwargs
	if kwargs == nil {
		kwargs = map[string]any{}
	}
	return f.Run(ctx, call.Env, call.Args, kwargs)
}

func (s *server) State(ctx context.Context, call *plugin.StateCall) (res api.Result, err error) {
	f, ok := s.states[call.Function]
	if !ok {
		return api.Result{}, fmt.Errorf("state '%s' is not provided by plugin %s: %w", call.Function, s.info.Name, modules.ErrUnknownFunction)
	}
	req := &Request{ID: call.ID, Name: call.Name, SLS: call.SLS, Args: call.Args, Test: call.Test, Env: call.Env, Changes: call.Changes}
	if req.Args == nil {
		req.Args = map[string]any{}
	}
	run := f.Apply
	if call.ModWatch && f.ModWatch != nil {
		run = f.ModWatch
	}
	defer func() {
		if r := recover(); r != nil {
			call.Env.Logger().Error("state function panicked", "function", call.Function, "id", call.ID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			res, err = api.Failed(fmt.Sprintf("An exception occurred in state '%s' (ID '%s'): %v", call.Function, call.ID, r)), nil
		}
	}()
	return run(ctx, req), nil
}

// ServeConfig returns the go-plugin configuration Serve uses, for a plugin
// that needs to adjust it (a test plugin that speaks another protocol
// version, for instance).
func ServeConfig(p Plugin) (*goplugin.ServeConfig, error) {
	srv, err := NewServer(p)
	if err != nil {
		return nil, err
	}
	level := plugin.ParseLevel(os.Getenv(plugin.EnvLogLevel))
	log := slog.New(plugin.PluginLogHandler(os.Stderr, level))
	return &goplugin.ServeConfig{
		HandshakeConfig: plugin.Handshake(),
		Plugins:         plugin.ServePlugins(srv, log),
		GRPCServer:      goplugin.DefaultGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:       p.Name,
			Output:     os.Stderr,
			JSONFormat: true,
			Level:      hclog.LevelFromString(plugin.LevelName(level)),
		}),
	}, nil
}

// Serve runs the plugin until brine stops it. Call it from main. A plugin
// run by hand, without brine, says so and exits 1; so does one whose
// declaration is invalid.
func Serve(p Plugin) {
	cfg, err := ServeConfig(p)
	if err != nil {
		fmt.Fprintf(os.Stderr, "brine plugin: %v\n", err)
		os.Exit(1)
	}
	goplugin.Serve(cfg)
}
