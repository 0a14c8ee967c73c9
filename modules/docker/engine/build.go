package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// ContextHashLabel is the image label holding the hash of the build
// context (and build arguments) an image was built from; docker_image.present
// rebuilds when it no longer matches.
const ContextHashLabel = "io.brine.context-hash"

// BuildOptions are the parts of `docker build` brine offers.
type BuildOptions struct {
	// Tags name the image ("repo:tag"); the first is what is inspected after.
	Tags []string
	// Dockerfile is relative to the context root; "Dockerfile" when empty.
	Dockerfile string
	BuildArgs  map[string]string
	Labels     map[string]string
	NoCache    bool
	// Target is the stage of a multi-stage Dockerfile to build.
	Target string
}

// BuildResult is what a finished build left behind.
type BuildResult struct {
	// ID is the new image's full ID ("sha256:...").
	ID string
	// Output is the builder's text output.
	Output  string
	Elapsed time.Duration
}

// BuildError carries the engine's message for a failed build with the
// builder output that led to it.
type BuildError struct {
	Msg    string
	Output string
}

func (e *BuildError) Error() string { return e.Msg }

// Hash is the value of ContextHashLabel for an image built from bc with
// these options: the context's content plus everything else that shapes
// the image (Dockerfile name, target, build arguments, labels). Tags and
// NoCache do not change what is built, so they are left out.
func (o BuildOptions) Hash(bc *BuildContext) string {
	h := sha256.New()
	dockerfile := o.Dockerfile
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	fmt.Fprintf(h, "context %s\ndockerfile %q\ntarget %q\n", bc.Hash, dockerfile, o.Target)
	for _, part := range []struct {
		kind string
		m    map[string]string
	}{{"arg", o.BuildArgs}, {"label", o.Labels}} {
		keys := make([]string, 0, len(part.m))
		for k := range part.m {
			if k != ContextHashLabel {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(h, "%s %q=%q\n", part.kind, k, part.m[k])
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Build sends the context to the daemon's classic builder (the one every
// daemon API version has, and which needs no session) and waits for the
// image, labelled with ContextHashLabel. Intermediate containers are
// removed even when the build fails.
func Build(ctx context.Context, c *client.Client, bc *BuildContext, opts BuildOptions) (BuildResult, error) {
	start := time.Now()
	if opts.Dockerfile == "" {
		opts.Dockerfile = "Dockerfile"
	}
	if !bc.Has(opts.Dockerfile) {
		return BuildResult{}, &BuildError{Msg: fmt.Sprintf("no %s in build context %s", opts.Dockerfile, bc.Source)}
	}
	labels := maps.Clone(opts.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[ContextHashLabel] = opts.Hash(bc)
	args := make(map[string]*string, len(opts.BuildArgs))
	for k, v := range opts.BuildArgs {
		args[k] = &v
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(bc.Tar(ctx, pw)) }()
	defer pr.Close()
	resp, err := c.ImageBuild(ctx, pr, client.ImageBuildOptions{
		Tags:        opts.Tags,
		Dockerfile:  opts.Dockerfile,
		BuildArgs:   args,
		Labels:      labels,
		NoCache:     opts.NoCache,
		Remove:      true,
		ForceRemove: true,
		Target:      opts.Target,
		Version:     build.BuilderV1,
	})
	if err != nil {
		return BuildResult{}, &BuildError{Msg: Message(err)}
	}
	defer resp.Body.Close()
	out, id, err := readStream(ctx, resp.Body)
	if err != nil {
		return BuildResult{}, &BuildError{Msg: err.Error(), Output: out}
	}
	if id == "" && len(opts.Tags) > 0 {
		img, err := c.ImageInspect(ctx, opts.Tags[0])
		if err != nil {
			return BuildResult{}, fmt.Errorf("inspect %s after build: %w", opts.Tags[0], err)
		}
		id = img.ID
	}
	return BuildResult{ID: id, Output: out, Elapsed: time.Since(start)}, nil
}

// readStream follows a build, load or pull progress stream to its end. It
// returns the text output, the image ID an "aux" message announced, and the
// engine's error message when the stream reports one.
func readStream(ctx context.Context, r io.Reader) (string, string, error) {
	dec := json.NewDecoder(r)
	var out strings.Builder
	var id string
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out.String(), id, nil
			}
			if ctx.Err() != nil {
				return out.String(), id, ctx.Err()
			}
			return out.String(), id, fmt.Errorf("read engine progress: %w", err)
		}
		if m.Error != nil {
			return out.String(), id, errors.New(strings.TrimSpace(m.Error.Message))
		}
		out.WriteString(m.Stream)
		if m.Status != "" {
			out.WriteString(m.Status + "\n")
		}
		if m.Aux != nil {
			var aux struct{ ID string }
			if json.Unmarshal(*m.Aux, &aux) == nil && strings.HasPrefix(aux.ID, "sha256:") {
				id = aux.ID
			}
		}
	}
}

// Pull fetches ref from its registry and returns the engine's progress text.
func Pull(ctx context.Context, c *client.Client, ref string) (string, error) {
	resp, err := c.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err != nil {
		return "", errors.New(Message(err))
	}
	defer resp.Close()
	out, _, err := readStream(ctx, resp)
	return out, err
}

// Load imports a `docker save` archive and returns the engine's report
// ("Loaded image: app:1.0").
func Load(ctx context.Context, c *client.Client, archive io.Reader) (string, error) {
	resp, err := c.ImageLoad(ctx, archive, client.ImageLoadWithQuiet(true))
	if err != nil {
		return "", errors.New(Message(err))
	}
	defer resp.Close()
	out, _, err := readStream(ctx, resp)
	return strings.TrimSpace(out), err
}
