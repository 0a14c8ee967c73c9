package docker

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/moby/moby/client"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules/docker/engine"
	"github.com/brine-cm/brine/states"
)

// imagePresentArgs are docker_image.present's arguments (name is the
// repository, optionally with its tag).
type imagePresentArgs struct {
	Tag string
	// Build is a directory holding a Dockerfile: salt://path or an
	// absolute local path.
	Build      string
	Dockerfile string
	BuildArgs  KV `arg:"buildargs"`
	Labels     KV
	Target     string
	NoCache    bool `arg:"nocache"`
	// Load is a `docker save` archive: salt://path or an absolute path.
	Load    string
	Force   bool
	Saltenv string
}

// imageAbsentArgs are docker_image.absent's arguments.
type imageAbsentArgs struct {
	Images []string
	Force  bool
}

func init() {
	states.Register(states.Def[imagePresentArgs]{
		Name: "docker_image.present",
		Doc: `Ensure an image is present: built from a Dockerfile, loaded from an
archive, or pulled from its registry.

    app:
      docker_image.present:
        - tag: "1.0"                     # default: the name's tag, else latest
        - build: salt://docker/app       # or an absolute path on the minion
        - dockerfile: Dockerfile         # relative to the build directory
        - buildargs: {VERSION: "1.0"}
        - labels: {team: web}

build: the context is every file under the directory, less what its
.dockerignore excludes. Its content hash (with the Dockerfile name, target,
build arguments and labels) is stored as the image label
io.brine.context-hash; the image is rebuilt when the hash changes, when it
is missing, or with force: True. Other arguments: target (multi-stage),
nocache, saltenv.

load: a docker save archive (salt:// or absolute path), loaded when the
image is missing or with force, then tagged name:tag.

Neither: the image is pulled when missing (or always with force).

Changes on a build: {Id, Image, Time_Elapsed, context_hash: {old, new}}.
Test mode builds, loads and pulls nothing.`,
		Apply: imagePresent,
	})
	states.Register(states.Def[imageAbsentArgs]{
		Name: "docker_image.absent",
		Doc: `Ensure an image (the name, or each of images) is absent. A name without
a tag means :latest. An image a container uses is kept unless force: True.
Changes: {Tags: [untagged], Layers: [deleted]}.`,
		Apply: imageAbsent,
	})
}

// imageRef joins name and tag into "repo:tag"; a tag in the name stands
// unless tag overrides it; neither means latest.
func imageRef(name, tag string) string {
	if tag == "" {
		return engine.NormalizeRef(name)
	}
	slash := strings.LastIndex(name, "/")
	if i := strings.LastIndex(name, ":"); i > slash {
		name = name[:i]
	}
	return name + ":" + tag
}

func imagePresent(ctx context.Context, req *states.Request, a *imagePresentArgs) api.Result {
	if a.Build != "" && a.Load != "" {
		return api.Failed("Only one of 'build' or 'load' is permitted.")
	}
	ref := imageRef(req.Name, a.Tag)
	parent := ctx
	ctx, cancel, c, err := session(ctx)
	if err != nil {
		return api.Failed(err.Error())
	}
	defer cancel()
	img, found, err := inspectImage(ctx, c, ref)
	if err != nil {
		return engineFailure("Failed to inspect image "+ref, err)
	}
	switch {
	case a.Build != "":
		return imageBuild(ctx, parent, req, a, c, ref, img, found)
	case a.Load != "":
		return imageLoad(ctx, parent, req, a, c, ref, img, found)
	}
	if found && !a.Force {
		return api.Succeeded(fmt.Sprintf("Image %s already present", ref), nil)
	}
	if req.Test {
		return api.Pending(fmt.Sprintf("Image %s will be pulled", ref), map[string]any{"Image": ref})
	}
	pctx, pcancel := engine.Deadline(parent, engine.BuildTimeout)
	defer pcancel()
	if _, err := engine.Pull(pctx, c, ref); err != nil {
		return api.Failed(fmt.Sprintf("Encountered error pulling %s: %s", ref, err))
	}
	after, ok, err := inspectImage(pctx, c, ref)
	if err != nil || !ok {
		return api.Failed(fmt.Sprintf("Failed to inspect image '%s' after it was pulled: %v", ref, err))
	}
	if found && after.ID == img.ID {
		return api.Succeeded(fmt.Sprintf("Image '%s' was pulled, but there were no changes", ref), nil)
	}
	return api.Succeeded(fmt.Sprintf("Image '%s' was pulled", ref), map[string]any{"Image": ref, "Id": engine.ShortID(after.ID)})
}

// inspectImage looks an image up; a missing image is not an error.
func inspectImage(ctx context.Context, c *client.Client, ref string) (client.ImageInspectResult, bool, error) {
	img, err := c.ImageInspect(ctx, ref)
	if engine.IsNotFound(err) {
		return img, false, nil
	}
	return img, err == nil, err
}

func imageLabel(img client.ImageInspectResult, key string) (string, bool) {
	if img.Config == nil {
		return "", false
	}
	v, ok := img.Config.Labels[key]
	return v, ok
}

func imageBuild(ctx, parent context.Context, req *states.Request, a *imagePresentArgs, c *client.Client, ref string, img client.ImageInspectResult, found bool) api.Result {
	env := saltenv(req, a.Saltenv)
	var bc *engine.BuildContext
	var err error
	if isSalt(a.Build) {
		var files api.FileClient
		if req.Env != nil {
			files = req.Env.Files
		}
		bc, err = engine.SaltContext(ctx, files, env, a.Build, a.Dockerfile)
	} else {
		var dir string
		if dir, err = localPath(a.Build); err == nil {
			bc, err = engine.LocalContext(dir, a.Dockerfile)
		}
	}
	if err != nil {
		return api.Failed(fmt.Sprintf("Encountered error building %s as %s: %v", a.Build, ref, err))
	}
	opts := engine.BuildOptions{
		Tags: []string{ref}, Dockerfile: a.Dockerfile, BuildArgs: a.BuildArgs.Map(),
		Labels: a.Labels.Map(), NoCache: a.NoCache, Target: a.Target,
	}
	want := opts.Hash(bc)
	have, labelled := imageLabel(img, engine.ContextHashLabel)
	if found && have == want && !a.Force {
		return api.Succeeded(fmt.Sprintf("Image %s already present", ref), nil)
	}
	hashChange := map[string]any{"old": nil, "new": want}
	if labelled {
		hashChange["old"] = have
	}
	if req.Test {
		why := "is not present"
		switch {
		case found && have != want:
			why = "was built from a different context"
		case found:
			why = "is forced to rebuild"
		}
		return api.Pending(fmt.Sprintf("Image %s will be built (it %s)", ref, why),
			map[string]any{"Image": ref, "context_hash": hashChange})
	}
	bctx, bcancel := engine.Deadline(parent, engine.BuildTimeout)
	defer bcancel()
	res, err := engine.Build(bctx, c, bc, opts)
	if err != nil {
		return api.Failed(fmt.Sprintf("Encountered error building %s as %s: %v", a.Build, ref, err))
	}
	if found && res.ID == img.ID {
		return api.Succeeded(fmt.Sprintf("Image '%s' was built, but there were no changes", ref), nil)
	}
	return api.Succeeded(fmt.Sprintf("Image '%s' was built", ref), map[string]any{
		"Id":           engine.ShortID(res.ID),
		"Image":        ref,
		"Time_Elapsed": math.Round(res.Elapsed.Seconds()*1000) / 1000,
		"context_hash": hashChange,
	})
}

// loadedRe finds what `docker load` reports: "Loaded image: repo:tag" or
// "Loaded image ID: sha256:...".
var loadedRe = regexp.MustCompile(`Loaded image(?: ID)?: (\S+)`)

func imageLoad(ctx, parent context.Context, req *states.Request, a *imagePresentArgs, c *client.Client, ref string, img client.ImageInspectResult, found bool) api.Result {
	if found && !a.Force {
		return api.Succeeded(fmt.Sprintf("Image %s already present", ref), nil)
	}
	if req.Test {
		return api.Pending(fmt.Sprintf("Image %s will be loaded", ref), map[string]any{"Image": ref})
	}
	f, err := openSource(ctx, req, a.Load, saltenv(req, a.Saltenv))
	if err != nil {
		return api.Failed(fmt.Sprintf("Encountered error loading %s as %s: %v", a.Load, ref, err))
	}
	defer f.Close()
	lctx, lcancel := engine.Deadline(parent, engine.BuildTimeout)
	defer lcancel()
	out, err := engine.Load(lctx, c, f)
	if err != nil {
		return api.Failed(fmt.Sprintf("Encountered error loading %s as %s: %v", a.Load, ref, err))
	}
	m := loadedRe.FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		return api.Failed(fmt.Sprintf("Loaded %s, but the engine named no image: %s", a.Load, out))
	}
	src := m[0][1]
	if src != ref {
		if _, err := c.ImageTag(lctx, client.ImageTagOptions{Source: src, Target: ref}); err != nil {
			return engineFailure(fmt.Sprintf("Loaded %s, but tagging it %s failed", src, ref), err)
		}
	}
	after, ok, err := inspectImage(lctx, c, ref)
	if err != nil || !ok {
		return api.Failed(fmt.Sprintf("Failed to inspect image '%s' after it was loaded: %v", ref, err))
	}
	if found && after.ID == img.ID {
		return api.Succeeded(fmt.Sprintf("Image '%s' was loaded, but there were no changes", ref), nil)
	}
	return api.Succeeded(fmt.Sprintf("Image '%s' was loaded", ref), map[string]any{
		"Id": engine.ShortID(after.ID), "Image": ref, "Path": a.Load,
	})
}

func imageAbsent(ctx context.Context, req *states.Request, a *imageAbsentArgs) api.Result {
	targets := splitList(a.Images)
	if len(targets) == 0 {
		targets = []string{req.Name}
	}
	ctx, cancel, c, err := session(ctx)
	if err != nil {
		return api.Failed(err.Error())
	}
	defer cancel()
	var present []string
	for _, t := range targets {
		ref := engine.NormalizeRef(t)
		_, found, err := inspectImage(ctx, c, ref)
		if err != nil {
			return engineFailure("Failed to inspect image "+ref, err)
		}
		if found {
			present = append(present, ref)
		}
	}
	if len(present) == 0 {
		if len(targets) == 1 {
			return api.Succeeded(fmt.Sprintf("Image %s is not present", targets[0]), nil)
		}
		return api.Succeeded("All specified images are not present", nil)
	}
	if req.Test {
		if len(present) == 1 {
			return api.Pending(fmt.Sprintf("Image %s will be removed", present[0]), nil)
		}
		return api.Pending("The following images will be removed: "+strings.Join(present, ", "), nil)
	}
	var tags, layers []any
	var errs []string
	for _, ref := range present {
		res, err := c.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: a.Force, PruneChildren: true})
		if err != nil {
			errs = append(errs, engine.Message(err))
			continue
		}
		for _, d := range res.Items {
			if d.Untagged != "" {
				tags = append(tags, d.Untagged)
			}
			if d.Deleted != "" {
				layers = append(layers, d.Deleted)
			}
		}
	}
	changes := map[string]any{}
	if len(tags) > 0 {
		changes["Tags"] = tags
	}
	if len(layers) > 0 {
		changes["Layers"] = layers
	}
	if len(errs) > 0 {
		return api.FailedWith("Failed to remove image(s): "+strings.Join(errs, "; "), changes)
	}
	return api.Succeeded("Removed the following images: "+strings.Join(present, ", "), changes)
}
