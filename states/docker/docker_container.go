package docker

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules/docker/engine"
	"github.com/brine-cm/brine/states"
)

// stoppedArgs are docker_container.stopped's arguments.
type stoppedArgs struct {
	// Containers names several containers at once (instead of name).
	Containers      []string
	ShutdownTimeout *int `arg:"shutdown_timeout"`
	Unpause         bool
	ErrorOnAbsent   *bool `arg:"error_on_absent"`
}

// absentArgs are docker_container.absent's arguments.
type absentArgs struct {
	// Force removes a running container (it is killed first).
	Force bool
	// Volumes removes the container's anonymous volumes with it.
	Volumes bool
}

func init() {
	states.Register(states.Def[runningArgs]{
		Name: "docker_container.running",
		Doc: `Ensure a container exists with the declared configuration and is running.

    web:
      docker_container.running:
        - image: app:1.0
        - command: /server --port 8080        # string (shell words) or list
        - entrypoint: [/server]
        - environment: {GREETING: hello}      # or [GREETING=hello] / [{GREETING: hello}]
        - port_bindings: ["8080:8080", "127.0.0.1:9090:9090/udp"]
        - ports: [8080]                        # exposed only
        - binds: [/srv/data:/data:ro, appdata:/var/lib/app]
        - volumes: [/cache]                    # anonymous volumes
        - networks:
          - appnet:
            - aliases: [web]
            - ipv4_address: 10.20.0.5
        - restart_policy: unless-stopped       # no, always, on-failure[:N]
        - labels: {tier: web}
        - hostname: web1
        - user: "1000"
        - working_dir: /srv
        - mem_limit: 256m
        - nano_cpus: 500000000                 # also cpu_shares, cpu_period, cpu_quota, cpuset_cpus

Other arguments: domainname, memswap_limit, privileged, read_only,
cap_add, cap_drop, dns, extra_hosts, tty, interactive, log_driver,
log_opt, stop_signal, stop_timeout, network_mode (instead of networks),
shutdown_timeout (seconds to wait when stopping), start (default True),
force (replace even if it matches), watch_action. Aliases: env,
publish, workdir, memory.

The running container is compared field by field with the declaration
merged over the image's defaults (as the engine merges them). A difference
replaces the container: the new one is created beside the old, the old is
stopped and renamed, the new takes the name and is started; if it cannot
start, it is removed and the old one is put back. changes name the fields
that differed, as Salt does: {container: {Config: {Env: {old, new}},
HostConfig: {PortBindings: {old, new}}}, container_id: {added, removed},
image: {old, new}, state: {old, new}}. Network differences alone are fixed
in place (connect/disconnect). A stopped container that matches is
started. A missing image is pulled.

watch: with watch_action force (the default) the container is replaced;
restart restarts it; a signal name (SIGHUP) is sent to it when it matches.
Test mode reads only: nothing is created, started, stopped or removed.`,
		Apply: func(ctx context.Context, req *states.Request, a *runningArgs) api.Result {
			return runContainer(ctx, req, a, a.Force, "")
		},
		ModWatch: func(ctx context.Context, req *states.Request, a *runningArgs) api.Result {
			if a.WatchAction == "" || a.WatchAction == "force" {
				return runContainer(ctx, req, a, true, "")
			}
			return runContainer(ctx, req, a, a.Force, a.WatchAction)
		},
	})
	states.Register(states.Def[stoppedArgs]{
		Name: "docker_container.stopped",
		Doc: `Ensure a container (the name, or each of containers) is not running.
Arguments: shutdown_timeout (seconds before the container is killed),
unpause (stop paused containers too; otherwise a paused one fails),
error_on_absent (default True). Changes per container:
{result, state: {old, new}}.`,
		Apply:    stopped,
		ModWatch: stopped,
	})
	states.Register(states.Def[absentArgs]{
		Name: "docker_container.absent",
		Doc: `Ensure a container is absent. A running container is removed only with
force: True. volumes: True removes its anonymous volumes too. Changes:
{removed: [name]}.`,
		Apply: absent,
	})
}

// inspectContainer looks a container up; a missing one is not an error.
func inspectContainer(ctx context.Context, c *client.Client, name string) (*container.InspectResponse, error) {
	res, err := c.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if engine.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &res.Container, nil
}

func runContainer(ctx context.Context, req *states.Request, a *runningArgs, force bool, watchAction string) api.Result {
	name := req.Name
	if a.Image == "" {
		return api.Failed("The 'image' argument is required")
	}
	s, err := buildSpec(a)
	if err != nil {
		return api.Failed(err.Error())
	}
	start := a.Start == nil || *a.Start
	parent := ctx
	ctx, cancel, c, err := session(ctx)
	if err != nil {
		return api.Failed(err.Error())
	}
	defer func() { cancel() }()
	// The two lookups are independent; asking for both at once halves the
	// time a state that matches takes.
	type imageAnswer struct {
		img   client.ImageInspectResult
		found bool
		err   error
	}
	imgCh := make(chan imageAnswer, 1)
	go func() {
		img, found, err := inspectImage(ctx, c, a.Image)
		imgCh <- imageAnswer{img, found, err}
	}()
	cur, curErr := inspectContainer(ctx, c, name)
	ia := <-imgCh
	img, imgFound := ia.img, ia.found
	if ia.err != nil {
		return engineFailure(fmt.Sprintf("Failed to inspect image '%s'", a.Image), ia.err)
	}
	if curErr != nil {
		return engineFailure(fmt.Sprintf("Failed to inspect container '%s'", name), curErr)
	}
	var comments []string
	if !imgFound {
		if req.Test {
			changes := map[string]any{"image": map[string]any{"old": nil, "new": a.Image}}
			verb := "created"
			if cur != nil {
				changes["image"] = map[string]any{"old": cur.Image, "new": a.Image}
				verb = "replaced"
			}
			return api.Pending(fmt.Sprintf("Container '%s' would be %s; image '%s' is not present yet and would be pulled unless an earlier state provides it", name, verb, a.Image), changes)
		}
		pctx, pcancel := engine.Deadline(parent, engine.BuildTimeout)
		_, err := engine.Pull(pctx, c, a.Image)
		pcancel()
		if err != nil {
			return api.Failed(fmt.Sprintf("Image '%s' is not present and could not be pulled: %s", a.Image, err))
		}
		cancel() // the pull may have used up the first deadline
		ctx, cancel = engine.Deadline(parent, engine.CallTimeout)
		if img, imgFound, err = inspectImage(ctx, c, a.Image); err != nil || !imgFound {
			return api.Failed(fmt.Sprintf("Image '%s' not present despite a pull raising no errors", a.Image))
		}
		comments = append(comments, fmt.Sprintf("Pulled image '%s'", a.Image))
	}
	if cur == nil {
		return createNew(ctx, req, c, s, img.ID, start, comments)
	}
	pre := engine.State(cur.State)
	changes := map[string]any{}
	d := diff(cur, s, img.Config)
	nd := netDiff(cur, s)
	imageChanged := cur.Image != img.ID
	if force || imageChanged || len(d) > 0 {
		if len(nd) > 0 {
			d["Networks"] = nd
		}
		if len(d) > 0 {
			changes["container"] = d
		}
		if imageChanged {
			changes["image"] = map[string]any{"old": cur.Image, "new": img.ID}
		}
		if req.Test {
			if force && len(changes) == 0 {
				changes["forced_update"] = true
			}
			return api.Pending(strings.Join(append(comments, fmt.Sprintf("Container '%s' would be replaced", name)), ". "), changes)
		}
		newID, problem := replace(ctx, c, name, cur, s, start, a.ShutdownTimeout)
		if newID == "" {
			return api.Failed(strings.Join(append(comments, problem), ". "))
		}
		changes["container_id"] = map[string]any{"added": newID, "removed": []any{cur.ID}}
		if problem != "" {
			return api.FailedWith(strings.Join(append(comments, problem), ". "), changes)
		}
		comments = append(comments, fmt.Sprintf("Replaced container '%s'", name))
		if imageChanged {
			comments = append(comments, "Container has a new image")
		}
		return finish(ctx, c, name, pre, start, changes, comments)
	}
	if len(nd) > 0 {
		changes["container"] = map[string]any{"Networks": nd}
		if req.Test {
			comments = append(comments, "Network configuration would be updated")
		} else {
			msgs, problem := reconnect(ctx, c, cur, s, nd)
			comments = append(comments, msgs...)
			if problem != "" {
				return api.FailedWith(strings.Join(append(comments, problem), ". "), changes)
			}
		}
	}
	if start && pre != "running" {
		if req.Test {
			changes["state"] = map[string]any{"old": pre, "new": "running"}
			return api.Pending(strings.Join(append(comments, "Container would be started"), ". "), changes)
		}
		if err := startContainer(ctx, c, name, pre); err != nil {
			return api.FailedWith(strings.Join(append(comments, fmt.Sprintf("Failed to start container '%s': %s", name, engine.Message(err))), ". "), changes)
		}
		return finish(ctx, c, name, pre, start, changes, comments)
	}
	if watchAction != "" && pre == "running" {
		return watched(ctx, req, c, name, watchAction, changes, comments)
	}
	if len(changes) > 0 {
		if req.Test {
			return api.Pending(strings.Join(comments, ". "), changes)
		}
		return api.Succeeded(strings.Join(comments, ". "), changes)
	}
	return api.Succeeded(strings.Join(append(comments, fmt.Sprintf("Container '%s' is already configured as specified", name)), ". "), nil)
}

// finish records the container's state after a change and fails when it
// should run but does not.
func finish(ctx context.Context, c *client.Client, name, pre string, start bool, changes map[string]any, comments []string) api.Result {
	var post any
	if cur, err := inspectContainer(ctx, c, name); err == nil && cur != nil {
		post = engine.State(cur.State)
	}
	if pre != post {
		var old any
		if pre != "" {
			old = pre
			comments = append(comments, fmt.Sprintf("State changed from '%s' to '%v'", pre, post))
		}
		changes["state"] = map[string]any{"old": old, "new": post}
	}
	if start && post != "running" {
		return api.FailedWith(strings.Join(append(comments, "Container is not running"), ". "), changes)
	}
	return api.Succeeded(strings.Join(comments, ". "), changes)
}

// createNew makes a container that did not exist; when it cannot start it
// is removed again, so a failed state leaves the engine as it was.
func createNew(ctx context.Context, req *states.Request, c *client.Client, s *spec, imageID string, start bool, comments []string) api.Result {
	name := req.Name
	if req.Test {
		changes := map[string]any{"image": map[string]any{"old": nil, "new": imageID}}
		if start {
			changes["state"] = map[string]any{"old": nil, "new": "running"}
		}
		return api.Pending(strings.Join(append(comments, fmt.Sprintf("Container '%s' would be created", name)), ". "), changes)
	}
	id, err := create(ctx, c, name, s)
	if err != nil {
		return api.Failed(strings.Join(append(comments, fmt.Sprintf("Failed to create container '%s': %s", name, engine.Message(err))), ". "))
	}
	if start {
		if _, err := c.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
			msg := fmt.Sprintf("Failed to start container '%s': %s", name, engine.Message(err))
			if _, rerr := c.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true}); rerr != nil {
				msg += fmt.Sprintf(" (and removing it again failed: %s)", engine.Message(rerr))
			}
			return api.Failed(strings.Join(append(comments, msg), ". "))
		}
	}
	changes := map[string]any{"container_id": map[string]any{"added": id}}
	return finish(ctx, c, name, "", start, changes, append(comments, fmt.Sprintf("Created container '%s'", name)))
}

// create makes a container from the spec, attached to every declared
// network (older engines take only one network at create time, so the
// others are connected before it starts).
func create(ctx context.Context, c *client.Client, name string, s *spec) (string, error) {
	cfg, host := s.cfg, s.host
	var nc *network.NetworkingConfig
	if len(s.nets) > 0 {
		host.NetworkMode = container.NetworkMode(s.nets[0].Name)
		nc = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{s.nets[0].Name: endpoint(s.nets[0])}}
	}
	res, err := c.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: &cfg, HostConfig: &host, NetworkingConfig: nc})
	if err != nil {
		return "", err
	}
	for _, n := range s.nets[min(1, len(s.nets)):] {
		if _, err := c.NetworkConnect(ctx, n.Name, client.NetworkConnectOptions{Container: res.ID, EndpointConfig: endpoint(n)}); err != nil {
			_, _ = c.ContainerRemove(ctx, res.ID, client.ContainerRemoveOptions{Force: true})
			return "", fmt.Errorf("connect to network '%s': %w", n.Name, err)
		}
	}
	return res.ID, nil
}

func startContainer(ctx context.Context, c *client.Client, name, pre string) error {
	if pre == "paused" {
		_, err := c.ContainerUnpause(ctx, name, client.ContainerUnpauseOptions{})
		return err
	}
	_, err := c.ContainerStart(ctx, name, client.ContainerStartOptions{})
	return err
}

// replace swaps the container for one made from the spec. The new one is
// created under a temporary name first (a bad configuration fails here,
// with nothing changed); then the old one is stopped and set aside, the
// new one takes the name and starts. If it does not start, it is removed
// and the old one restored.
//
// It returns the new container's ID, and a problem (a state comment) when
// something failed; both are set when only removing the old one failed.
func replace(ctx context.Context, c *client.Client, name string, cur *container.InspectResponse, s *spec, start bool, timeout *int) (newID, problem string) {
	tmpNew, tmpOld := name+"_brine_new", name+"_brine_old"
	for _, stale := range []string{tmpNew, tmpOld} {
		if _, err := c.ContainerRemove(ctx, stale, client.ContainerRemoveOptions{Force: true}); err != nil && !engine.IsNotFound(err) {
			return "", fmt.Sprintf("Failed to remove stale container '%s': %s", stale, engine.Message(err))
		}
	}
	newID, err := create(ctx, c, tmpNew, s)
	if err != nil {
		return "", fmt.Sprintf("Failed to create replacement for container '%s': %s", name, engine.Message(err))
	}
	dropNew := func() {
		_, _ = c.ContainerRemove(ctx, newID, client.ContainerRemoveOptions{Force: true})
	}
	wasRunning := cur.State != nil && (cur.State.Running || cur.State.Paused)
	if wasRunning {
		if _, err := c.ContainerStop(ctx, cur.ID, client.ContainerStopOptions{Timeout: timeout}); err != nil {
			dropNew()
			return "", fmt.Sprintf("Failed to stop container '%s': %s", name, engine.Message(err))
		}
	}
	restoreOld := func(renamed bool) string {
		var problems []string
		if renamed {
			if _, err := c.ContainerRename(ctx, cur.ID, client.ContainerRenameOptions{NewName: name}); err != nil {
				problems = append(problems, engine.Message(err))
			}
		}
		if wasRunning {
			if _, err := c.ContainerStart(ctx, cur.ID, client.ContainerStartOptions{}); err != nil {
				problems = append(problems, engine.Message(err))
			}
		}
		if len(problems) > 0 {
			return "; restoring the previous container failed: " + strings.Join(problems, "; ")
		}
		return "; the previous container was restored"
	}
	if _, err := c.ContainerRename(ctx, cur.ID, client.ContainerRenameOptions{NewName: tmpOld}); err != nil {
		dropNew()
		return "", fmt.Sprintf("Failed to set container '%s' aside: %s%s", name, engine.Message(err), restoreOld(false))
	}
	if _, err := c.ContainerRename(ctx, newID, client.ContainerRenameOptions{NewName: name}); err != nil {
		dropNew()
		return "", fmt.Sprintf("Failed to rename the replacement of '%s': %s%s", name, engine.Message(err), restoreOld(true))
	}
	if start {
		if _, err := c.ContainerStart(ctx, newID, client.ContainerStartOptions{}); err != nil {
			dropNew()
			return "", fmt.Sprintf("Failed to start container '%s': %s%s", name, engine.Message(err), restoreOld(true))
		}
	}
	if _, err := c.ContainerRemove(ctx, cur.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
		return newID, fmt.Sprintf("Replaced container '%s', but removing the old one (%s) failed: %s", name, tmpOld, engine.Message(err))
	}
	return newID, ""
}

// reconnect applies network differences to a container in place. It
// returns what it did and, when something failed, the problem.
func reconnect(ctx context.Context, c *client.Client, cur *container.InspectResponse, s *spec, nd map[string]any) (msgs []string, problem string) {
	declared := map[string]NetSpec{}
	for _, n := range s.nets {
		declared[n.Name] = n
	}
	for _, name := range sortedKeysAny(nd) {
		connected := cur.NetworkSettings != nil && cur.NetworkSettings.Networks[name] != nil
		if connected {
			if _, err := c.NetworkDisconnect(ctx, name, client.NetworkDisconnectOptions{Container: cur.ID}); err != nil {
				return msgs, fmt.Sprintf("Failed to disconnect from network '%s': %s", name, engine.Message(err))
			}
		}
		n, want := declared[name]
		if !want {
			msgs = append(msgs, fmt.Sprintf("Disconnected from network '%s'", name))
			continue
		}
		if _, err := c.NetworkConnect(ctx, name, client.NetworkConnectOptions{Container: cur.ID, EndpointConfig: endpoint(n)}); err != nil {
			return msgs, fmt.Sprintf("Failed to connect to network '%s': %s", name, engine.Message(err))
		}
		if connected {
			msgs = append(msgs, fmt.Sprintf("Reconnected to network '%s' with updated configuration", name))
		} else {
			msgs = append(msgs, fmt.Sprintf("Connected to network '%s'", name))
		}
	}
	return msgs, ""
}

// watched carries out a watch_action other than "force" on a container
// that already matches its declaration.
func watched(ctx context.Context, req *states.Request, c *client.Client, name, action string, changes map[string]any, comments []string) api.Result {
	if action == "restart" {
		if req.Test {
			return api.Pending(strings.Join(append(comments, "Container would be restarted"), ". "), map[string]any{"restarted": true})
		}
		if _, err := c.ContainerRestart(ctx, name, client.ContainerRestartOptions{}); err != nil {
			return engineFailure(fmt.Sprintf("Failed to restart container '%s'", name), err)
		}
		changes["restarted"] = true
		return api.Succeeded(strings.Join(append(comments, "Restarted container"), ". "), changes)
	}
	if req.Test {
		return api.Pending(strings.Join(append(comments, fmt.Sprintf("Signal %s would be sent to container", action)), ". "), map[string]any{"signal": action})
	}
	if _, err := c.ContainerKill(ctx, name, client.ContainerKillOptions{Signal: action}); err != nil {
		return engineFailure("Failed to signal container", err)
	}
	changes["signal"] = action
	return api.Succeeded(strings.Join(append(comments, fmt.Sprintf("Sent signal %s to container", action)), ". "), changes)
}

func sortedKeysAny(m map[string]any) []string {
	keys := make(map[string]bool, len(m))
	for k := range maps.Keys(m) {
		keys[k] = true
	}
	return sortedKeys(keys)
}

func stopped(ctx context.Context, req *states.Request, a *stoppedArgs) api.Result {
	targets := splitList(a.Containers)
	if len(targets) == 0 {
		targets = []string{req.Name}
	}
	ctx, cancel, c, err := session(ctx)
	if err != nil {
		return api.Failed(err.Error())
	}
	defer cancel()
	byState := map[string][]string{}
	for _, t := range targets {
		cur, err := inspectContainer(ctx, c, t)
		switch {
		case err != nil:
			return engineFailure(fmt.Sprintf("Failed to inspect container '%s'", t), err)
		case cur == nil:
			byState["absent"] = append(byState["absent"], t)
		default:
			st := engine.State(cur.State)
			byState[st] = append(byState[st], t)
		}
	}
	var errs []string
	if (a.ErrorOnAbsent == nil || *a.ErrorOnAbsent) && len(byState["absent"]) > 0 {
		errs = append(errs, "The following container(s) are absent: "+strings.Join(byState["absent"], ", "))
	}
	if !a.Unpause && len(byState["paused"]) > 0 {
		errs = append(errs, "The following container(s) are paused: "+strings.Join(byState["paused"], ", "))
	}
	if len(errs) > 0 {
		return api.Failed(strings.Join(errs, ". "))
	}
	toStop := append(byState["running"], byState["paused"]...)
	if len(toStop) == 0 {
		what := "All specified containers are "
		if len(targets) == 1 {
			what = fmt.Sprintf("Container '%s' is ", targets[0])
		}
		if len(byState["absent"]) > 0 {
			what += "absent or "
		}
		return api.Succeeded(what+"not running", nil)
	}
	if req.Test {
		return api.Pending("The following container(s) will be stopped: "+strings.Join(toStop, ", "), nil)
	}
	changes := map[string]any{}
	for _, t := range toStop {
		pre := "running"
		for _, p := range byState["paused"] {
			if p == t {
				pre = "paused"
				if _, err := c.ContainerUnpause(ctx, t, client.ContainerUnpauseOptions{}); err != nil {
					errs = append(errs, fmt.Sprintf("Failed to unpause container '%s': %s", t, engine.Message(err)))
				}
			}
		}
		if _, err := c.ContainerStop(ctx, t, client.ContainerStopOptions{Timeout: a.ShutdownTimeout}); err != nil {
			errs = append(errs, fmt.Sprintf("Failed to stop container '%s': %s", t, engine.Message(err)))
			continue
		}
		changes[t] = map[string]any{"result": true, "state": map[string]any{"old": pre, "new": "stopped"}}
	}
	if len(errs) > 0 {
		return api.FailedWith(strings.Join(errs, "; "), changes)
	}
	return api.Succeeded("The following container(s) were stopped: "+strings.Join(toStop, ", "), changes)
}

func absent(ctx context.Context, req *states.Request, a *absentArgs) api.Result {
	name := req.Name
	ctx, cancel, c, err := session(ctx)
	if err != nil {
		return api.Failed(err.Error())
	}
	defer cancel()
	cur, err := inspectContainer(ctx, c, name)
	if err != nil {
		return engineFailure(fmt.Sprintf("Failed to inspect container '%s'", name), err)
	}
	if cur == nil {
		return api.Succeeded(fmt.Sprintf("Container '%s' does not exist", name), nil)
	}
	pre := engine.State(cur.State)
	if pre != "stopped" && !a.Force {
		return api.Failed("Container is running, set force to True to forcibly remove it")
	}
	if req.Test {
		return api.Pending(fmt.Sprintf("Container '%s' will be removed", name), nil)
	}
	if _, err := c.ContainerRemove(ctx, cur.ID, client.ContainerRemoveOptions{Force: a.Force, RemoveVolumes: a.Volumes}); err != nil {
		return engineFailure(fmt.Sprintf("Failed to remove container '%s'", name), err)
	}
	method := "Successfully"
	if a.Force && pre != "stopped" {
		method = "Forcibly"
	}
	return api.Succeeded(fmt.Sprintf("%s removed container '%s'", method, name), map[string]any{"removed": []any{name}})
}
