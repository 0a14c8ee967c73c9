// Package docker provides the container states: docker_image.present and
// absent, docker_container.running, stopped and absent, docker_network.present
// and absent, docker_volume.present and absent. Each compares what the
// Docker Engine holds with what the SLS declares and changes only what
// differs; in test mode it only reads from the engine. The engine is
// reached through modules/docker/engine, the client the docker execution
// module uses too.
package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/moby/client"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules/docker/engine"
	"github.com/brine-cm/brine/states"
)

// session opens the engine client and bounds the state's ordinary calls.
func session(ctx context.Context) (context.Context, context.CancelFunc, *client.Client, error) {
	c, err := engine.Connect()
	if err != nil {
		return ctx, func() {}, nil, err
	}
	ctx, cancel := engine.Deadline(ctx, engine.CallTimeout)
	return ctx, cancel, c, nil
}

// saltenv is the file server environment a state reads salt:// from.
func saltenv(req *states.Request, override string) string {
	if override != "" {
		return override
	}
	if req.Env != nil && req.Env.Saltenv != "" {
		return req.Env.Saltenv
	}
	return "base"
}

// isSalt tells a salt:// source from a local path.
func isSalt(src string) bool { return strings.HasPrefix(src, "salt://") }

// localPath checks a local source path: Salt reads these on the minion,
// and only an absolute path means the same thing in every run.
func localPath(src string) (string, error) {
	if !filepath.IsAbs(src) {
		return "", fmt.Errorf("'%s' must be an absolute path or a salt:// URL", src)
	}
	return filepath.Clean(src), nil
}

// openSource opens a salt:// or local file for reading.
func openSource(ctx context.Context, req *states.Request, src, env string) (*os.File, error) {
	if isSalt(src) {
		if req.Env == nil || req.Env.Files == nil {
			return nil, errors.New("no file server is configured for " + src)
		}
		p, err := req.Env.Files.Cache(ctx, env, strings.TrimPrefix(src, "salt://"))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		return os.Open(p)
	}
	p, err := localPath(src)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// engineFailure is a failed result carrying the engine's own message.
func engineFailure(what string, err error) api.Result {
	return api.Failed(fmt.Sprintf("%s: %s", what, engine.Message(err)))
}
