package plugin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules/plugin/pluginpb"
)

// server adapts a Server to the generated Base and Module services.
type server struct {
	pluginpb.UnimplementedBaseServer
	pluginpb.UnimplementedModuleServer

	impl   Server
	log    *slog.Logger
	broker *goplugin.GRPCBroker

	// The host's callback service, dialled once; hostReady is closed when
	// host or hostErr is set.
	hostOnce  sync.Once
	hostReady chan struct{}
	host      pluginpb.HostClient
	hostErr   error
}

func registerServer(s *grpc.Server, srv *server) {
	srv.hostReady = make(chan struct{})
	pluginpb.RegisterBaseServer(s, srv)
	pluginpb.RegisterModuleServer(s, srv)
}

// GetInfo answers the host's first call and dials the host's callback
// service at once: go-plugin's broker forgets an unclaimed stream after a
// few seconds, and the first callback may come much later.
func (s *server) GetInfo(ctx context.Context, req *pluginpb.InfoRequest) (*pluginpb.InfoResponse, error) {
	s.hostOnce.Do(func() {
		id := req.GetHostBrokerId()
		if id == 0 || s.broker == nil {
			s.hostErr = ErrNoHost
			close(s.hostReady)
			return
		}
		go func() {
			conn, err := s.broker.Dial(id)
			if err != nil {
				s.hostErr = fmt.Errorf("connect to brine: %w", err)
			} else {
				s.host = pluginpb.NewHostClient(conn)
			}
			close(s.hostReady)
		}()
	})
	info, err := s.impl.Info(ctx)
	if err != nil {
		return nil, err
	}
	return infoToPB(info), nil
}

func (s *server) Exec(ctx context.Context, req *pluginpb.ExecRequest) (*pluginpb.ExecResponse, error) {
	env, err := s.env(req.GetEnv())
	if err != nil {
		return &pluginpb.ExecResponse{Error: toPBError(err)}, nil
	}
	args, err := decodeList(req.GetArgsJson())
	if err != nil {
		return &pluginpb.ExecResponse{Error: toPBError(fmt.Errorf("arguments: %w", err))}, nil
	}
	kwargs, err := decodeMap(req.GetKwargsJson())
	if err != nil {
		return &pluginpb.ExecResponse{Error: toPBError(fmt.Errorf("keyword arguments: %w", err))}, nil
	}
	ret, err := s.impl.Exec(ctx, &ExecCall{Function: req.GetFunction(), Env: env, Args: args, Kwargs: kwargs})
	if err != nil {
		return &pluginpb.ExecResponse{Error: toPBError(err)}, nil
	}
	b, err := encode(ret)
	if err != nil {
		return &pluginpb.ExecResponse{Error: toPBError(fmt.Errorf("%s returned a value that cannot be sent: %w", req.GetFunction(), err))}, nil
	}
	return &pluginpb.ExecResponse{ReturnJson: b}, nil
}

func (s *server) State(ctx context.Context, req *pluginpb.StateRequest) (*pluginpb.StateResponse, error) {
	fail := func(err error) (*pluginpb.StateResponse, error) {
		return &pluginpb.StateResponse{Error: toPBError(err)}, nil
	}
	env, err := s.env(req.GetEnv())
	if err != nil {
		return fail(err)
	}
	args, err := decodeMap(req.GetArgsJson())
	if err != nil {
		return fail(fmt.Errorf("arguments: %w", err))
	}
	changes, err := decodeChanges(req.GetWatchChangesJson())
	if err != nil {
		return fail(err)
	}
	res, err := s.impl.State(ctx, &StateCall{
		Function: req.GetFunction(), ID: req.GetId(), Name: req.GetName(), SLS: req.GetSls(),
		Args: args, Test: req.GetTest(), ModWatch: req.GetModWatch(), Changes: changes, Env: env,
	})
	if err != nil {
		return fail(err)
	}
	b, err := encode(res.Changes)
	if err != nil {
		return fail(fmt.Errorf("%s returned changes that cannot be sent: %w", req.GetFunction(), err))
	}
	out := &pluginpb.StateResponse{Comment: res.Comment, ChangesJson: b, Warnings: res.Warnings}
	switch {
	case res.Result == nil:
		out.Result = pluginpb.StateResponse_RESULT_NONE
	case *res.Result:
		out.Result = pluginpb.StateResponse_RESULT_TRUE
	}
	return out, nil
}

// env rebuilds the caller's environment inside the plugin.
func (s *server) env(e *pluginpb.CallEnv) (*api.Env, error) {
	grains, err := decodeMap(e.GetGrainsJson())
	if err != nil {
		return nil, fmt.Errorf("grains: %w", err)
	}
	pillar, err := decodeMap(e.GetPillarJson())
	if err != nil {
		return nil, fmt.Errorf("pillar: %w", err)
	}
	opts, err := decodeMap(e.GetOptsJson())
	if err != nil {
		return nil, fmt.Errorf("opts: %w", err)
	}
	saltenv := e.GetSaltenv()
	if saltenv == "" {
		saltenv = "base"
	}
	call := &remoteCall{s: s, id: e.GetCallId(), saltenv: saltenv}
	return &api.Env{
		ID: e.GetId(), Saltenv: saltenv, Grains: grains, Pillar: pillar, Opts: opts,
		Log: s.log, Files: call, Exec: call.exec,
	}, nil
}

// ErrNoHost is returned by a plugin's env.Exec and env.Files when the host
// offered no callback service (a test harness, or a host that failed to
// start one).
var ErrNoHost = errors.New("brine offers no callbacks to this plugin")

func (s *server) hostClient(ctx context.Context) (pluginpb.HostClient, error) {
	s.hostOnce.Do(func() { // GetInfo never came: no callbacks
		s.hostErr = ErrNoHost
		close(s.hostReady)
	})
	select {
	case <-s.hostReady:
		return s.host, s.hostErr
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// remoteCall is api.Env's Exec and Files for one call, going back to the
// host with the call's ID so that they run with the caller's environment.
type remoteCall struct {
	s       *server
	id      uint64
	saltenv string
}

var _ api.FileClient = (*remoteCall)(nil)

func (c *remoteCall) exec(ctx context.Context, fun string, args []any, kwargs map[string]any) (any, error) {
	h, err := c.s.hostClient(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fun, err)
	}
	a, err := encode(args)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fun, err)
	}
	kw, err := encode(kwargs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fun, err)
	}
	r, err := h.Exec(ctx, &pluginpb.HostExecRequest{CallId: c.id, Function: fun, ArgsJson: a, KwargsJson: kw})
	if err != nil {
		return nil, fmt.Errorf("%s: call brine: %w", fun, err)
	}
	if err := fromPBError(r.GetError()); err != nil {
		return nil, err
	}
	return decode(r.GetReturnJson())
}

func (c *remoteCall) req(saltenv, path string) *pluginpb.FileRequest {
	if saltenv == "" {
		saltenv = c.saltenv
	}
	return &pluginpb.FileRequest{CallId: c.id, Saltenv: saltenv, Path: path}
}

// Read implements api.FileClient.
func (c *remoteCall) Read(ctx context.Context, saltenv, path string) ([]byte, error) {
	h, err := c.s.hostClient(ctx)
	if err != nil {
		return nil, err
	}
	r, err := h.ReadFile(ctx, c.req(saltenv, path))
	if err != nil {
		return nil, fmt.Errorf("read salt://%s: %w", path, err)
	}
	if err := fromPBError(r.GetError()); err != nil {
		return nil, err
	}
	return r.GetContent(), nil
}

// Cache implements api.FileClient.
func (c *remoteCall) Cache(ctx context.Context, saltenv, path string) (string, error) {
	h, err := c.s.hostClient(ctx)
	if err != nil {
		return "", err
	}
	r, err := h.CacheFile(ctx, c.req(saltenv, path))
	if err != nil {
		return "", fmt.Errorf("cache salt://%s: %w", path, err)
	}
	if err := fromPBError(r.GetError()); err != nil {
		return "", err
	}
	return r.GetLocalPath(), nil
}

// Stat implements api.FileClient.
func (c *remoteCall) Stat(ctx context.Context, saltenv, path string) (api.FileInfo, error) {
	h, err := c.s.hostClient(ctx)
	if err != nil {
		return api.FileInfo{}, err
	}
	r, err := h.StatFile(ctx, c.req(saltenv, path))
	if err != nil {
		return api.FileInfo{}, fmt.Errorf("stat salt://%s: %w", path, err)
	}
	if err := fromPBError(r.GetError()); err != nil {
		return api.FileInfo{}, err
	}
	return fileInfoFromPB(r.GetInfo()), nil
}

// List implements api.FileClient.
func (c *remoteCall) List(ctx context.Context, saltenv, dir string) ([]api.FileInfo, error) {
	h, err := c.s.hostClient(ctx)
	if err != nil {
		return nil, err
	}
	r, err := h.ListFiles(ctx, c.req(saltenv, dir))
	if err != nil {
		return nil, fmt.Errorf("list salt://%s: %w", dir, err)
	}
	if err := fromPBError(r.GetError()); err != nil {
		return nil, err
	}
	out := make([]api.FileInfo, 0, len(r.GetFiles()))
	for _, f := range r.GetFiles() {
		out = append(out, fileInfoFromPB(f))
	}
	return out, nil
}

func fileInfoFromPB(f *pluginpb.FileInfo) api.FileInfo {
	mode := fs.FileMode(f.GetPerm()) & fs.ModePerm
	if f.GetDir() {
		mode |= fs.ModeDir
	}
	return api.FileInfo{Path: f.GetPath(), Mode: mode, Hash: f.GetHash(), Size: f.GetSize()}
}

func fileInfoToPB(f api.FileInfo) *pluginpb.FileInfo {
	return &pluginpb.FileInfo{Path: f.Path, Perm: uint32(f.Mode.Perm()), Dir: f.Mode.IsDir(), Hash: f.Hash, Size: f.Size}
}
