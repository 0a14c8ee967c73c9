// Package engine is brine's one way to the Docker Engine. The docker_*
// states and the docker execution module both go through it: it opens the
// official client (DOCKER_HOST, else /var/run/docker.sock, with API version
// negotiation), bounds calls with deadlines, and holds what both sides
// share: build contexts hashed from salt:// or local trees, the image build
// and pull streams, container states named as Salt names them, and log
// demultiplexing.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// CallTimeout bounds a state's or a function's ordinary engine calls
// (inspect, create, start, stop, remove...) when the caller's context
// allows longer.
const CallTimeout = 2 * time.Minute

// BuildTimeout bounds an image build, load or pull.
const BuildTimeout = 30 * time.Minute

// ErrNoDaemon is returned by Ping when no Docker daemon answers.
var ErrNoDaemon = errors.New("no Docker daemon answers")

// shared is the process's client. Connections to the daemon are pooled by
// the client and the API version is negotiated once, so one client serves
// every state of a run and every run of a minion; it holds no state of its
// own that a caller could change.
var shared = sync.OnceValues(func() (*client.Client, error) {
	return client.New(client.FromEnv, client.WithUserAgent("brine"))
})

// Connect returns the client for the daemon named by DOCKER_HOST (or the
// local socket). It does not contact the daemon: the first call does.
func Connect() (*client.Client, error) {
	c, err := shared()
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return c, nil
}

// Ping checks that a daemon answers within a few seconds.
func Ping(ctx context.Context, c *client.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return fmt.Errorf("%w at %s: %v", ErrNoDaemon, c.DaemonHost(), err)
	}
	return nil
}

// Deadline bounds ctx by d unless it already ends sooner.
func Deadline(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// IsNotFound reports whether err is the engine's "no such object" answer.
func IsNotFound(err error) bool { return cerrdefs.IsNotFound(err) }

// Message returns the engine's own wording of an error, without the
// client's "Error response from daemon: " prefix, for state comments.
func Message(err error) string {
	if err == nil {
		return ""
	}
	return strings.TrimPrefix(err.Error(), "Error response from daemon: ")
}

// State names a container's state the way Salt's docker.state does:
// "running", "paused" or "stopped" (created, exited and dead containers).
func State(s *container.State) string {
	switch {
	case s == nil:
		return "stopped"
	case s.Paused:
		return "paused"
	case s.Running || s.Restarting:
		return "running"
	}
	return "stopped"
}

// Logs reads a container's logs, stdout and stderr interleaved as one text
// (demultiplexed unless the container has a TTY).
func Logs(ctx context.Context, c *client.Client, name string, opts client.ContainerLogsOptions) (string, error) {
	info, err := c.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		return "", err
	}
	opts.ShowStdout, opts.ShowStderr = true, true
	rc, err := c.ContainerLogs(ctx, name, opts)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	var out strings.Builder
	if info.Container.Config != nil && info.Container.Config.Tty {
		_, err = io.Copy(&out, rc)
	} else {
		_, err = stdcopy.StdCopy(&out, &out, rc)
	}
	if err != nil {
		return "", fmt.Errorf("read logs of %s: %w", name, err)
	}
	return out.String(), nil
}

// ShortID is the 12-character form of an engine ID, as the CLI prints it.
func ShortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// NormalizeRef gives an image reference its implicit ":latest" tag, so that
// "app" and "app:latest" name the same thing. Digests are left alone.
func NormalizeRef(ref string) string {
	if strings.Contains(ref, "@") {
		return ref
	}
	slash := strings.LastIndex(ref, "/")
	if !strings.Contains(ref[slash+1:], ":") {
		return ref + ":latest"
	}
	return ref
}
