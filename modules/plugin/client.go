package plugin

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules/plugin/pluginpb"
)

// Client is the host's handle on one running plugin. Its methods are safe
// for concurrent use; each call's deadline is the context's, which gRPC
// carries to the plugin. An error that is not a *FuncError means the
// plugin did not answer (it crashed, hung past the deadline, or went away).
type Client struct {
	base     pluginpb.BaseClient
	mod      pluginpb.ModuleClient
	brokerID uint32
	calls    *callTable
	// hostServer serves the Host service over the broker.
	hostServer *grpc.Server
}

func newClient(broker *goplugin.GRPCBroker, conn *grpc.ClientConn) *Client {
	c := &Client{
		base:  pluginpb.NewBaseClient(conn),
		mod:   pluginpb.NewModuleClient(conn),
		calls: &callTable{envs: map[uint64]*api.Env{}},
	}
	if broker == nil {
		return c
	}
	// Accept (rather than go-plugin's AcceptAndServe) announces the
	// listener before returning, so that stopping a plugin right after
	// its start never races with the announcement.
	id := broker.NextId()
	ln, err := broker.Accept(id)
	if err != nil {
		return c // no callbacks; the plugin's env.Exec reports it
	}
	s := grpc.NewServer()
	pluginpb.RegisterHostServer(s, &hostServer{calls: c.calls})
	go s.Serve(ln)
	c.brokerID = id
	c.hostServer = s
	return c
}

// Close stops the callback service brine serves to the plugin. The
// go-plugin client that dispensed c closes the connection itself.
func (c *Client) Close() {
	if c.hostServer != nil {
		c.hostServer.Stop()
	}
}

// Info asks the plugin who it is and checks that it fits this host.
func (c *Client) Info(ctx context.Context) (*Info, error) {
	r, err := c.base.GetInfo(ctx, &pluginpb.InfoRequest{ProtocolVersion: ProtocolVersion, HostBrokerId: c.brokerID})
	if err != nil {
		return nil, err
	}
	info := infoFromPB(r)
	if err := info.Check(); err != nil {
		return nil, err
	}
	return info, nil
}

// Exec runs an execution function in the plugin.
func (c *Client) Exec(ctx context.Context, call *ExecCall) (any, error) {
	env, done, err := c.calls.open(call.Env)
	if err != nil {
		return nil, err
	}
	defer done()
	args, err := encode(call.Args)
	if err != nil {
		return nil, err
	}
	kwargs, err := encode(call.Kwargs)
	if err != nil {
		return nil, err
	}
	r, err := c.mod.Exec(ctx, &pluginpb.ExecRequest{Function: call.Function, Env: env, ArgsJson: args, KwargsJson: kwargs})
	if err != nil {
		return nil, err
	}
	if err := fromPBError(r.GetError()); err != nil {
		return nil, err
	}
	ret, err := decode(r.GetReturnJson())
	if err != nil {
		return nil, &FuncError{Msg: fmt.Sprintf("%s: the plugin's return: %v", call.Function, err)}
	}
	return ret, nil
}

// State runs a state function (or its mod_watch) in the plugin. A
// *FuncError means the plugin answered that it could not run it.
func (c *Client) State(ctx context.Context, call *StateCall) (api.Result, error) {
	env, done, err := c.calls.open(call.Env)
	if err != nil {
		return api.Result{}, err
	}
	defer done()
	args, err := encode(call.Args)
	if err != nil {
		return api.Result{}, err
	}
	req := &pluginpb.StateRequest{
		Function: call.Function, Env: env, Id: call.ID, Name: call.Name, Sls: call.SLS,
		ArgsJson: args, Test: call.Test, ModWatch: call.ModWatch,
	}
	if call.ModWatch {
		if req.WatchChangesJson, err = encode(call.Changes); err != nil {
			return api.Result{}, err
		}
	}
	r, err := c.mod.State(ctx, req)
	if err != nil {
		return api.Result{}, err
	}
	if err := fromPBError(r.GetError()); err != nil {
		return api.Result{}, err
	}
	changes, err := decodeMap(r.GetChangesJson())
	if err != nil {
		return api.Result{}, &FuncError{Msg: fmt.Sprintf("%s: the plugin's changes: %v", call.Function, err)}
	}
	res := api.Result{Comment: r.GetComment(), Changes: changes, Warnings: r.GetWarnings()}
	switch r.GetResult() {
	case pluginpb.StateResponse_RESULT_TRUE:
		res.Result = api.Tri(true)
	case pluginpb.StateResponse_RESULT_NONE:
		res.Result = nil
	default:
		res.Result = api.Tri(false)
	}
	return res, nil
}

// callTable maps the IDs of calls in flight to their environments, so
// that the plugin's callbacks run for the minion and with the pillar of
// the call that made them.
type callTable struct {
	next atomic.Uint64
	mu   sync.Mutex
	envs map[uint64]*api.Env
}

func (t *callTable) open(env *api.Env) (*pluginpb.CallEnv, func(), error) {
	if env == nil {
		env = &api.Env{}
	}
	out := &pluginpb.CallEnv{Id: env.ID, Saltenv: env.Saltenv}
	var err error
	if out.GrainsJson, err = encode(env.Grains); err != nil {
		return nil, nil, fmt.Errorf("grains: %w", err)
	}
	if out.PillarJson, err = encode(env.Pillar); err != nil {
		return nil, nil, fmt.Errorf("pillar: %w", err)
	}
	if out.OptsJson, err = encode(env.Opts); err != nil {
		return nil, nil, fmt.Errorf("opts: %w", err)
	}
	id := t.next.Add(1)
	out.CallId = id
	t.mu.Lock()
	t.envs[id] = env
	t.mu.Unlock()
	return out, func() {
		t.mu.Lock()
		delete(t.envs, id)
		t.mu.Unlock()
	}, nil
}

// errUnknownCall answers a callback for a call that has already returned.
var errUnknownCall = errors.New("no such call in flight (callbacks are only valid during the call that received the ID)")

func (t *callTable) get(id uint64) (*api.Env, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	env, ok := t.envs[id]
	if !ok {
		return nil, errUnknownCall
	}
	return env, nil
}

// hostServer is the Host service brine serves to a plugin.
type hostServer struct {
	pluginpb.UnimplementedHostServer
	calls *callTable
}

func (h *hostServer) Exec(ctx context.Context, req *pluginpb.HostExecRequest) (*pluginpb.HostExecResponse, error) {
	fail := func(err error) (*pluginpb.HostExecResponse, error) {
		return &pluginpb.HostExecResponse{Error: toPBError(err)}, nil
	}
	env, err := h.calls.get(req.GetCallId())
	if err != nil {
		return fail(err)
	}
	if env.Exec == nil {
		return fail(errors.New("execution modules are not available in this context"))
	}
	args, err := decodeList(req.GetArgsJson())
	if err != nil {
		return fail(err)
	}
	kwargs, err := decodeMap(req.GetKwargsJson())
	if err != nil {
		return fail(err)
	}
	ret, err := env.Exec(ctx, req.GetFunction(), args, kwargs)
	if err != nil {
		return fail(err)
	}
	b, err := encode(ret)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", req.GetFunction(), err))
	}
	return &pluginpb.HostExecResponse{ReturnJson: b}, nil
}

// ErrNoFileServer is returned to a plugin asking for salt:// files when
// the call's environment has none.
var ErrNoFileServer = errors.New("no salt:// file server is configured")

func (h *hostServer) files(req *pluginpb.FileRequest) (api.FileClient, string, error) {
	env, err := h.calls.get(req.GetCallId())
	if err != nil {
		return nil, "", err
	}
	if env.Files == nil {
		return nil, "", ErrNoFileServer
	}
	saltenv := req.GetSaltenv()
	if saltenv == "" {
		saltenv = env.Saltenv
	}
	if saltenv == "" {
		saltenv = "base"
	}
	return env.Files, saltenv, nil
}

func (h *hostServer) ReadFile(ctx context.Context, req *pluginpb.FileRequest) (*pluginpb.ReadFileResponse, error) {
	files, saltenv, err := h.files(req)
	if err != nil {
		return &pluginpb.ReadFileResponse{Error: toPBError(err)}, nil
	}
	b, err := files.Read(ctx, saltenv, req.GetPath())
	if err != nil {
		return &pluginpb.ReadFileResponse{Error: toPBError(err)}, nil
	}
	return &pluginpb.ReadFileResponse{Content: b}, nil
}

func (h *hostServer) StatFile(ctx context.Context, req *pluginpb.FileRequest) (*pluginpb.StatFileResponse, error) {
	files, saltenv, err := h.files(req)
	if err != nil {
		return &pluginpb.StatFileResponse{Error: toPBError(err)}, nil
	}
	fi, err := files.Stat(ctx, saltenv, req.GetPath())
	if err != nil {
		return &pluginpb.StatFileResponse{Error: toPBError(err)}, nil
	}
	return &pluginpb.StatFileResponse{Info: fileInfoToPB(fi)}, nil
}

func (h *hostServer) ListFiles(ctx context.Context, req *pluginpb.FileRequest) (*pluginpb.ListFilesResponse, error) {
	files, saltenv, err := h.files(req)
	if err != nil {
		return &pluginpb.ListFilesResponse{Error: toPBError(err)}, nil
	}
	list, err := files.List(ctx, saltenv, req.GetPath())
	if err != nil {
		return &pluginpb.ListFilesResponse{Error: toPBError(err)}, nil
	}
	out := &pluginpb.ListFilesResponse{Files: make([]*pluginpb.FileInfo, 0, len(list))}
	for _, f := range list {
		out.Files = append(out.Files, fileInfoToPB(f))
	}
	return out, nil
}

func (h *hostServer) CacheFile(ctx context.Context, req *pluginpb.FileRequest) (*pluginpb.CacheFileResponse, error) {
	files, saltenv, err := h.files(req)
	if err != nil {
		return &pluginpb.CacheFileResponse{Error: toPBError(err)}, nil
	}
	p, err := files.Cache(ctx, saltenv, req.GetPath())
	if err != nil {
		return &pluginpb.CacheFileResponse{Error: toPBError(err)}, nil
	}
	return &pluginpb.CacheFileResponse{LocalPath: p}, nil
}
