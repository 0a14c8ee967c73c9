package plugin

import (
	"context"
	"errors"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/modules/plugin/pluginpb"
)

// ExecCall is one call of a plugin's execution function. On the host, Env
// is the caller's environment; in the plugin, it is rebuilt from what
// crossed the boundary, with Exec and Files calling back into the host.
type ExecCall struct {
	Function string
	Env      *api.Env
	Args     []any
	Kwargs   map[string]any
}

// StateCall is one call of a plugin's state function, or of its
// mod_watch. It carries what states.Request carries.
type StateCall struct {
	Function string
	// ID, Name and SLS identify the state, for messages.
	ID, Name, SLS string
	// Args are the state's own arguments, `name` and engine keywords removed.
	Args map[string]any
	// Test is Salt's test=True: report, change nothing.
	Test bool
	// ModWatch asks for the function's mod_watch.
	ModWatch bool
	// Changes are, for mod_watch, the watched states' changes by tag.
	Changes map[string]map[string]any
	Env     *api.Env
}

// Server is the plugin side of the protocol; package sdk implements it for
// Go plugins. The context carries the host's deadline.
type Server interface {
	// Info describes the plugin. It is called once per process, before
	// anything else.
	Info(ctx context.Context) (*Info, error)
	// Exec runs an execution function. The error is the function's own
	// failure, reported to the caller as the function's error.
	Exec(ctx context.Context, call *ExecCall) (any, error)
	// State runs a state function. An error means the function could not
	// run at all (no such function); a state that ran and failed returns a
	// false result instead.
	State(ctx context.Context, call *StateCall) (api.Result, error)
}

// FuncError is an error reported by the other side of the boundary itself
// (a function that failed, a missing salt:// file), as opposed to a
// failure to reach it. errors.Is matches it against api.ErrFileNotFound,
// api.ErrPathEscapes and modules.ErrUnknownFunction.
type FuncError struct {
	Kind pluginpb.Error_Kind
	Msg  string
}

func (e *FuncError) Error() string { return e.Msg }

// Is lets the sentinel errors survive the trip across the boundary.
func (e *FuncError) Is(target error) bool {
	switch e.Kind {
	case pluginpb.Error_KIND_NOT_FOUND:
		return target == api.ErrFileNotFound
	case pluginpb.Error_KIND_PATH_ESCAPES:
		return target == api.ErrPathEscapes
	case pluginpb.Error_KIND_UNKNOWN_FUNCTION:
		return target == modules.ErrUnknownFunction
	}
	return false
}

func toPBError(err error) *pluginpb.Error {
	if err == nil {
		return nil
	}
	e := &pluginpb.Error{Message: err.Error()}
	switch {
	case errors.Is(err, api.ErrFileNotFound):
		e.Kind = pluginpb.Error_KIND_NOT_FOUND
	case errors.Is(err, api.ErrPathEscapes):
		e.Kind = pluginpb.Error_KIND_PATH_ESCAPES
	case errors.Is(err, modules.ErrUnknownFunction):
		e.Kind = pluginpb.Error_KIND_UNKNOWN_FUNCTION
	}
	return e
}

func fromPBError(e *pluginpb.Error) error {
	if e == nil {
		return nil
	}
	msg := e.GetMessage()
	if msg == "" {
		msg = "failed without a message"
	}
	return &FuncError{Kind: e.GetKind(), Msg: msg}
}
