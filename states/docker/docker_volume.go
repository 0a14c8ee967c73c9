package docker

import (
	"context"
	"fmt"
	"maps"

	"github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules/docker/engine"
	"github.com/brine-cm/brine/states"
)

// volumePresentArgs are docker_volume.present's arguments.
type volumePresentArgs struct {
	Driver     string
	DriverOpts KV `arg:"driver_opts"`
	Labels     KV
	// Force recreates a volume whose settings differ (its data is lost).
	Force bool
}

// volumeAbsentArgs: docker_volume.absent takes only the name.
type volumeAbsentArgs struct{}

func init() {
	states.Register(states.Def[volumePresentArgs]{
		Name: "docker_volume.present",
		Doc: `Ensure a named volume exists.

    appdata:
      docker_volume.present:
        - driver: local           # compared only when given
        - driver_opts: {type: tmpfs, device: tmpfs}
        - labels: {app: demo}

The declared driver, driver options and labels are compared with the
existing volume. A difference fails the state unless force: True, which
removes the volume (and its data) and creates it again. Changes:
{created: {Name, Driver, Labels, Options}}, plus removed: True on a
recreation.`,
		Apply: volumePresent,
	})
	states.Register(states.Def[volumeAbsentArgs]{
		Name:  "docker_volume.absent",
		Doc:   `Ensure a named volume is absent. Changes: {removed: True}.`,
		Apply: volumeAbsent,
	})
}

func inspectVolume(ctx context.Context, c *client.Client, name string) (*volume.Volume, error) {
	res, err := c.VolumeInspect(ctx, name, client.VolumeInspectOptions{})
	if engine.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &res.Volume, nil
}

func volumeInfo(v volume.Volume) map[string]any {
	return map[string]any{"Name": v.Name, "Driver": v.Driver, "Labels": strMap(v.Labels), "Options": strMap(v.Options)}
}

func volumePresent(ctx context.Context, req *states.Request, a *volumePresentArgs) api.Result {
	name := req.Name
	ctx, cancel, c, err := session(ctx)
	if err != nil {
		return api.Failed(err.Error())
	}
	defer cancel()
	v, err := inspectVolume(ctx, c, name)
	if err != nil {
		return engineFailure(fmt.Sprintf("Failed to inspect volume '%s'", name), err)
	}
	opts := client.VolumeCreateOptions{Name: name, Driver: a.Driver, DriverOpts: a.DriverOpts.Map(), Labels: a.Labels.Map()}
	changes := map[string]any{}
	if v != nil {
		d := map[string]any{}
		if a.Driver != "" && v.Driver != a.Driver {
			d["Driver"] = map[string]any{"old": v.Driver, "new": a.Driver}
		}
		if a.DriverOpts.Set && !maps.Equal(v.Options, opts.DriverOpts) && len(v.Options)+len(opts.DriverOpts) > 0 {
			d["Options"] = map[string]any{"old": strMap(v.Options), "new": strMap(opts.DriverOpts)}
		}
		if a.Labels.Set && !maps.Equal(v.Labels, opts.Labels) && len(v.Labels)+len(opts.Labels) > 0 {
			d["Labels"] = map[string]any{"old": strMap(v.Labels), "new": strMap(opts.Labels)}
		}
		if len(d) == 0 {
			return api.Succeeded(fmt.Sprintf("Volume '%s' already exists.", name), nil)
		}
		if !a.Force {
			return api.Failed(fmt.Sprintf("Volume '%s' exists with different settings (%s) and force is False", name, fieldNames(d)))
		}
		changes[name] = d
		if req.Test {
			return api.Pending(fmt.Sprintf("The volume '%s' will be replaced", name), changes)
		}
		if _, err := c.VolumeRemove(ctx, name, client.VolumeRemoveOptions{}); err != nil {
			return engineFailure(fmt.Sprintf("Failed to remove volume '%s'", name), err)
		}
		changes["removed"] = true
	} else if req.Test {
		driver := a.Driver
		if driver == "" {
			driver = "local"
		}
		info := map[string]any{"Name": name, "Driver": driver, "Labels": strMap(opts.Labels), "Options": strMap(opts.DriverOpts)}
		return api.Pending(fmt.Sprintf("The volume '%s' will be created", name), map[string]any{"created": info})
	}
	res, err := c.VolumeCreate(ctx, opts)
	if err != nil {
		return api.FailedWith(fmt.Sprintf("Failed to create volume '%s': %s", name, engine.Message(err)), changes)
	}
	changes["created"] = volumeInfo(res.Volume)
	return api.Succeeded(fmt.Sprintf("Volume '%s' created", name), changes)
}

func fieldNames(d map[string]any) string {
	out := ""
	for i, k := range sortedKeysAny(d) {
		if i > 0 {
			out += ", "
		}
		out += k
	}
	return out
}

func volumeAbsent(ctx context.Context, req *states.Request, _ *volumeAbsentArgs) api.Result {
	name := req.Name
	ctx, cancel, c, err := session(ctx)
	if err != nil {
		return api.Failed(err.Error())
	}
	defer cancel()
	v, err := inspectVolume(ctx, c, name)
	if err != nil {
		return engineFailure(fmt.Sprintf("Failed to inspect volume '%s'", name), err)
	}
	if v == nil {
		return api.Succeeded(fmt.Sprintf("Volume '%s' already absent", name), nil)
	}
	if req.Test {
		return api.Pending(fmt.Sprintf("Volume '%s' will be removed", name), nil)
	}
	if _, err := c.VolumeRemove(ctx, name, client.VolumeRemoveOptions{}); err != nil {
		return engineFailure(fmt.Sprintf("Failed to remove volume '%s'", name), err)
	}
	return api.Succeeded(fmt.Sprintf("Removed volume '%s'", name), map[string]any{"removed": true})
}
