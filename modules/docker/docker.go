// Package docker provides Salt's docker.* execution functions: ps, images,
// inspect (and inspect_container, inspect_image, inspect_network,
// inspect_volume), logs, state, start, stop, restart, rm, build and
// version. They talk to the Docker Engine through modules/docker/engine,
// the client the docker_* states use, and return what Salt's functions
// return, shaped as the engine API shapes it.
package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/modules/docker/engine"
)

type psArgs struct {
	All     bool
	Verbose bool
	// Filters are the engine's list filters: {status: [exited], label: [a=b]}.
	Filters map[string][]string
}

type imagesArgs struct {
	All bool
}

type nameArgs struct {
	Name string
}

type logsArgs struct {
	Name string
	// Tail is a number of lines, or "all".
	Tail       string
	Since      string
	Until      string
	Timestamps bool
}

type stopArgs struct {
	Name    string
	Timeout *int
	Unpause bool
}

type rmArgs struct {
	Name    string
	Force   bool
	Volumes bool
	Stop    bool
	Timeout *int
}

type buildArgs struct {
	// Path is the build directory: salt://path or an absolute path.
	Path       string
	Repository string
	Tag        string
	Dockerfile string
	BuildArgs  map[string]string `arg:"buildargs"`
	Labels     map[string]string
	// Cache (default True) lets the builder reuse cached layers.
	Cache   *bool
	Target  string
	Saltenv string
}

type noArgs struct{}

func init() {
	reg := func(f modules.Func) { modules.Register(f) }
	reg(modules.Typed("docker.ps", `List running containers (all=True: every container), keyed by ID, with
the engine's fields (Names, Image, State, Status, Ports, Labels...),
Created as Time_Created_Epoch and Time_Created_Local. verbose=True adds
each container's inspect data under Info. filters is the engine's filter
mapping, e.g. filters='{"label": ["tier=web"]}'.`, nil, ps))
	reg(modules.Typed("docker.images", `List tagged images (all=True: untagged too), keyed by ID, with RepoTags,
RepoDigests, Size, Labels, Time_Created_Epoch and Time_Created_Local.`, nil, images))
	reg(modules.Typed("docker.inspect", `Inspect a container, image, network or volume, tried in that order:
brine call docker.inspect web1`, []string{"name"}, inspectAny))
	reg(modules.Typed("docker.inspect_container", `Return the engine's inspect data for a container.`, []string{"name"},
		func(ctx context.Context, _ *api.Env, a *nameArgs) (any, error) {
			return inspectOne(ctx, "container", a.Name)
		}))
	reg(modules.Typed("docker.inspect_image", `Return the engine's inspect data for an image.`, []string{"name"},
		func(ctx context.Context, _ *api.Env, a *nameArgs) (any, error) {
			return inspectOne(ctx, "image", a.Name)
		}))
	reg(modules.Typed("docker.inspect_network", `Return the engine's inspect data for a network.`, []string{"name"},
		func(ctx context.Context, _ *api.Env, a *nameArgs) (any, error) {
			return inspectOne(ctx, "network", a.Name)
		}))
	reg(modules.Typed("docker.inspect_volume", `Return the engine's inspect data for a volume.`, []string{"name"},
		func(ctx context.Context, _ *api.Env, a *nameArgs) (any, error) {
			return inspectOne(ctx, "volume", a.Name)
		}))
	reg(modules.Typed("docker.logs", `Return a container's logs (stdout and stderr) as text. tail: number of
lines from the end; since, until: a timestamp or a duration such as 10m;
timestamps: prefix each line with its time.`, []string{"name"}, logs))
	reg(modules.Typed("docker.state", `Return a container's state: running, paused or stopped.`, []string{"name"}, state))
	reg(modules.Typed("docker.start", `Start a container. Returns {result, state: {old, new}} (and a comment
when it was already running).`, []string{"name"}, func(ctx context.Context, _ *api.Env, a *nameArgs) (any, error) {
		return change(ctx, a.Name, "start", nil, false)
	}))
	reg(modules.Typed("docker.stop", `Stop a container (timeout: seconds before it is killed; unpause: stop a
paused container too). Returns {result, state: {old, new}}.`, []string{"name"}, func(ctx context.Context, _ *api.Env, a *stopArgs) (any, error) {
		return change(ctx, a.Name, "stop", a.Timeout, a.Unpause)
	}))
	reg(modules.Typed("docker.restart", `Restart a container (timeout: seconds before it is killed). Returns
{result, state: {old, new}}.`, []string{"name"}, func(ctx context.Context, _ *api.Env, a *stopArgs) (any, error) {
		return change(ctx, a.Name, "restart", a.Timeout, false)
	}))
	reg(modules.Typed("docker.rm", `Remove a container and return the names removed. A running container is
refused unless force=True (kill it) or stop=True (stop it first, waiting
timeout seconds); volumes=True removes its anonymous volumes.`, []string{"name"}, rm))
	reg(modules.Typed("docker.build", `Build an image from a directory holding a Dockerfile (path: salt://dir or
an absolute path) and tag it repository:tag. Other arguments: dockerfile,
buildargs, labels, target, cache (default True), saltenv. The image gets
the io.brine.context-hash label docker_image.present compares. Returns
{Id, Image, Time_Elapsed}.`, []string{"path"}, build))
	reg(modules.Typed("docker.version", `Return the Docker Engine's version information, with VersionInfo as a
list of integers.`, nil, version))
}

// session opens the client with a deadline for ordinary calls.
func session(ctx context.Context) (context.Context, context.CancelFunc, *client.Client, error) {
	c, err := engine.Connect()
	if err != nil {
		return ctx, func() {}, nil, err
	}
	ctx, cancel := engine.Deadline(ctx, engine.CallTimeout)
	return ctx, cancel, c, nil
}

// plainJSON turns an engine value into maps and lists, as the outputters
// and Salt's JSON both show it.
func plainJSON(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return decodeRaw(b)
}

func decodeRaw(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return numbers(m).(map[string]any), nil
}

// numbers turns json.Number into int64 or float64.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
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

// created renames the engine's Created (epoch seconds) the way Salt does.
func created(m map[string]any) {
	if epoch, ok := m["Created"].(int64); ok {
		delete(m, "Created")
		m["Time_Created_Epoch"] = epoch
		m["Time_Created_Local"] = time.Unix(epoch, 0).Local().Format("2006-01-02 15:04:05 MST")
	}
}

func ps(ctx context.Context, _ *api.Env, a *psArgs) (any, error) {
	ctx, cancel, c, err := session(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	f := client.Filters{}
	for k, vs := range a.Filters {
		f.Add(k, vs...)
	}
	res, err := c.ContainerList(ctx, client.ContainerListOptions{All: a.All, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("docker.ps: %w", err)
	}
	out := map[string]any{}
	for _, ct := range res.Items {
		m, err := plainJSON(ct)
		if err != nil {
			return nil, err
		}
		delete(m, "Id")
		created(m)
		if a.Verbose {
			if m["Info"], err = inspectOne(ctx, "container", ct.ID); err != nil {
				return nil, err
			}
		}
		out[ct.ID] = m
	}
	return out, nil
}

func images(ctx context.Context, _ *api.Env, a *imagesArgs) (any, error) {
	ctx, cancel, c, err := session(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	res, err := c.ImageList(ctx, client.ImageListOptions{All: a.All})
	if err != nil {
		return nil, fmt.Errorf("docker.images: %w", err)
	}
	out := map[string]any{}
	for _, img := range res.Items {
		untagged := len(img.RepoTags) == 0 || len(img.RepoTags) == 1 && img.RepoTags[0] == "<none>:<none>"
		if untagged && !a.All {
			continue
		}
		m, err := plainJSON(img)
		if err != nil {
			return nil, err
		}
		delete(m, "Id")
		created(m)
		out[img.ID] = m
	}
	return out, nil
}

// ErrNotFound is returned by docker.inspect when nothing has the name.
var ErrNotFound = errors.New("no container, image, network or volume has this name")

func inspectAny(ctx context.Context, _ *api.Env, a *nameArgs) (any, error) {
	for _, kind := range []string{"container", "image", "network", "volume"} {
		v, err := inspectOne(ctx, kind, a.Name)
		if err == nil {
			return v, nil
		}
		if !engine.IsNotFound(err) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("docker.inspect %s: %w", a.Name, ErrNotFound)
}

// inspectOne returns the engine's own inspect document for one object.
func inspectOne(ctx context.Context, kind, name string) (map[string]any, error) {
	if name == "" {
		return nil, errors.New("a name is required")
	}
	ctx, cancel, c, err := session(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	var raw []byte
	switch kind {
	case "container":
		res, err := c.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
		if err != nil {
			return nil, err
		}
		raw = res.Raw
	case "image":
		var buf bytes.Buffer
		if _, err := c.ImageInspect(ctx, name, client.ImageInspectWithRawResponse(&buf)); err != nil {
			return nil, err
		}
		raw = buf.Bytes()
	case "network":
		res, err := c.NetworkInspect(ctx, name, client.NetworkInspectOptions{})
		if err != nil {
			return nil, err
		}
		raw = res.Raw
	case "volume":
		res, err := c.VolumeInspect(ctx, name, client.VolumeInspectOptions{})
		if err != nil {
			return nil, err
		}
		raw = res.Raw
	}
	return decodeRaw(raw)
}

func logs(ctx context.Context, _ *api.Env, a *logsArgs) (any, error) {
	ctx, cancel, c, err := session(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	return engine.Logs(ctx, c, a.Name, client.ContainerLogsOptions{Tail: a.Tail, Since: a.Since, Until: a.Until, Timestamps: a.Timestamps})
}

func state(ctx context.Context, _ *api.Env, a *nameArgs) (any, error) {
	ctx, cancel, c, err := session(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	res, err := c.ContainerInspect(ctx, a.Name, client.ContainerInspectOptions{})
	if err != nil {
		return nil, err
	}
	return engine.State(res.Container.State), nil
}

// change starts, stops or restarts a container and reports its state
// before and after, as Salt's docker.start/stop/restart do.
func change(ctx context.Context, name, action string, timeout *int, unpause bool) (any, error) {
	ctx, cancel, c, err := session(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	cur := func() (string, error) {
		res, err := c.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
		if err != nil {
			return "", err
		}
		return engine.State(res.Container.State), nil
	}
	pre, err := cur()
	if err != nil {
		return nil, err
	}
	expected := map[string]string{"start": "running", "stop": "stopped", "restart": "running"}[action]
	if action != "restart" && pre == expected {
		return map[string]any{"result": false, "state": map[string]any{"old": pre, "new": pre},
			"comment": fmt.Sprintf("Container '%s' already %s", name, expected)}, nil
	}
	switch action {
	case "start":
		if pre == "paused" {
			_, err = c.ContainerUnpause(ctx, name, client.ContainerUnpauseOptions{})
		} else {
			_, err = c.ContainerStart(ctx, name, client.ContainerStartOptions{})
		}
	case "stop":
		if pre == "paused" {
			if !unpause {
				return nil, fmt.Errorf("container '%s' is paused; pass unpause=True to stop it", name)
			}
			if _, err := c.ContainerUnpause(ctx, name, client.ContainerUnpauseOptions{}); err != nil {
				return nil, err
			}
		}
		_, err = c.ContainerStop(ctx, name, client.ContainerStopOptions{Timeout: timeout})
	case "restart":
		_, err = c.ContainerRestart(ctx, name, client.ContainerRestartOptions{Timeout: timeout})
	}
	if err != nil {
		return nil, err
	}
	post, err := cur()
	if err != nil {
		return nil, err
	}
	return map[string]any{"result": post == expected, "state": map[string]any{"old": pre, "new": post}}, nil
}

func rm(ctx context.Context, _ *api.Env, a *rmArgs) (any, error) {
	ctx, cancel, c, err := session(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	res, err := c.ContainerInspect(ctx, a.Name, client.ContainerInspectOptions{})
	if err != nil {
		return nil, err
	}
	if st := engine.State(res.Container.State); st != "stopped" && !a.Force {
		if !a.Stop {
			return nil, fmt.Errorf("container '%s' is %s: pass stop=True to stop it first, or force=True to kill it", a.Name, st)
		}
		if _, err := c.ContainerStop(ctx, res.Container.ID, client.ContainerStopOptions{Timeout: a.Timeout}); err != nil {
			return nil, err
		}
	}
	if _, err := c.ContainerRemove(ctx, res.Container.ID, client.ContainerRemoveOptions{Force: a.Force, RemoveVolumes: a.Volumes}); err != nil {
		return nil, err
	}
	return []any{strings.TrimPrefix(res.Container.Name, "/")}, nil
}

func build(ctx context.Context, env *api.Env, a *buildArgs) (any, error) {
	if a.Path == "" || a.Repository == "" {
		return nil, errors.New("docker.build needs a path and a repository")
	}
	c, err := engine.Connect()
	if err != nil {
		return nil, err
	}
	ctx, cancel := engine.Deadline(ctx, engine.BuildTimeout)
	defer cancel()
	var bc *engine.BuildContext
	if strings.HasPrefix(a.Path, "salt://") {
		saltenv := a.Saltenv
		var files api.FileClient
		if env != nil {
			files = env.Files
			if saltenv == "" {
				saltenv = env.Saltenv
			}
		}
		if saltenv == "" {
			saltenv = "base"
		}
		bc, err = engine.SaltContext(ctx, files, saltenv, a.Path, a.Dockerfile)
	} else {
		if !filepath.IsAbs(a.Path) {
			return nil, fmt.Errorf("path '%s' must be absolute or a salt:// URL", a.Path)
		}
		bc, err = engine.LocalContext(a.Path, a.Dockerfile)
	}
	if err != nil {
		return nil, err
	}
	ref := a.Repository
	if a.Tag != "" {
		ref += ":" + a.Tag
	}
	ref = engine.NormalizeRef(ref)
	res, err := engine.Build(ctx, c, bc, engine.BuildOptions{
		Tags: []string{ref}, Dockerfile: a.Dockerfile, BuildArgs: a.BuildArgs, Labels: a.Labels,
		NoCache: a.Cache != nil && !*a.Cache, Target: a.Target,
	})
	if err != nil {
		return nil, fmt.Errorf("build %s as %s: %w", a.Path, ref, err)
	}
	return map[string]any{"Id": engine.ShortID(res.ID), "Image": ref, "Time_Elapsed": math.Round(res.Elapsed.Seconds()*1000) / 1000}, nil
}

func version(ctx context.Context, _ *api.Env, _ *noArgs) (any, error) {
	ctx, cancel, c, err := session(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	v, err := c.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return nil, err
	}
	out, err := plainJSON(v)
	if err != nil {
		return nil, err
	}
	out["ApiVersion"] = out["APIVersion"]
	delete(out, "APIVersion")
	var info []any
	for _, part := range strings.FieldsFunc(strings.SplitN(v.Version, "+", 2)[0], func(r rune) bool { return r == '.' || r == '-' }) {
		var n int64
		if _, err := fmt.Sscanf(part, "%d", &n); err != nil {
			break
		}
		info = append(info, n)
	}
	out["VersionInfo"] = info
	return out, nil
}
