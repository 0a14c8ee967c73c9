package docker

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/client"

	"github.com/brine-cm/brine/modules/docker/engine"
)

// TestImageSources: a build from a local directory honours .dockerignore
// (an ignored file changes nothing), build arguments count in the hash, a
// saved archive loads under a new tag, and absent refuses an image in use
// unless forced.
func TestImageSources(t *testing.T) {
	c := dockerOrSkip(t)
	p := prefix(t, c)
	env, root := saltTree(t, "FROM scratch\nARG FLAVOUR=plain\nLABEL flavour=$FLAVOUR\nCOPY server /server\nENTRYPOINT [\"/server\"]\n")
	dir := filepath.Join(root, "app")
	write(t, filepath.Join(dir, ".dockerignore"), "*.log\nnotes/\n")
	ref := p + "local:1"
	args := func(flavour string) map[string]any {
		return map[string]any{"build": dir, "buildargs": map[string]any{"FLAVOUR": flavour}, "labels": map[string]any{"brine.test": p}}
	}
	r := must(t, apply(t, env, "docker_image.present", ref, args("plain"), false), yes)
	first, _ := r.Changes["Id"].(string)
	if first == "" {
		t.Fatalf("build changes %s", js(r.Changes))
	}
	img, err := c.ImageInspect(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if img.Config.Labels["flavour"] != "plain" || !strings.HasPrefix(img.Config.Labels[engine.ContextHashLabel], "sha256:") {
		t.Errorf("image labels %v", img.Config.Labels)
	}

	if err := os.MkdirAll(filepath.Join(dir, "notes"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "build.log"), "ignored\n")
	write(t, filepath.Join(dir, "notes", "todo.txt"), "ignored too\n")
	if r := must(t, apply(t, env, "docker_image.present", ref, args("plain"), false), yes); len(r.Changes) != 0 {
		t.Errorf("ignored files triggered a rebuild: %s", js(r.Changes))
	}
	r = must(t, apply(t, env, "docker_image.present", ref, args("fancy"), false), yes)
	if r.Changes["Id"] == nil || r.Changes["Id"] == first {
		t.Errorf("a new build argument did not rebuild: %s", js(r.Changes))
	}
	r = must(t, apply(t, env, "docker_image.present", ref, map[string]any{"build": "app", "tag": "1"}, false), no)
	if !strings.Contains(r.Comment, "absolute path or a salt:// URL") {
		t.Errorf("relative build path: %q", r.Comment)
	}

	// Save the image, drop its tag, load it back under another name.
	rc, err := c.ImageSave(context.Background(), []string{ref})
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(root, "app.tar")
	f, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	f.Close()
	loaded := p + "loaded"
	must(t, apply(t, env, "docker_image.present", loaded, map[string]any{"load": "salt://app.tar", "tag": "2"}, true), nil)
	r = must(t, apply(t, env, "docker_image.present", loaded, map[string]any{"load": "salt://app.tar", "tag": "2"}, false), yes)
	if r.Changes["Image"] != loaded+":2" {
		t.Errorf("load changes %s", js(r.Changes))
	}
	if r := must(t, apply(t, env, "docker_image.present", loaded, map[string]any{"load": "salt://app.tar", "tag": "2"}, false), yes); len(r.Changes) != 0 {
		t.Errorf("load again: %s", js(r.Changes))
	}

	// absent: an image a container uses stays unless forced.
	must(t, apply(t, env, "docker_container.running", p+"user", map[string]any{"image": loaded + ":2", "start": false}, false), yes)
	r = must(t, apply(t, env, "docker_image.absent", p+"x", map[string]any{"images": []any{loaded + ":2", ref}}, true), nil)
	if !strings.Contains(r.Comment, loaded+":2") || !strings.Contains(r.Comment, ref) {
		t.Errorf("test-mode absent comment %q", r.Comment)
	}
	// loaded:2 shares its image with ref, so removing it only untags.
	r = must(t, apply(t, env, "docker_image.absent", loaded+":2", nil, false), yes)
	if diff := cmp.Diff(map[string]any{"Tags": []any{loaded + ":2"}}, plain(t, r.Changes)); diff != "" {
		t.Errorf("absent of a second tag (-want +got):\n%s", diff)
	}
	r = must(t, apply(t, env, "docker_image.absent", ref, nil, false), no)
	if !strings.Contains(r.Comment, "conflict") {
		t.Errorf("absent on an image in use: %q", r.Comment)
	}
	r = must(t, apply(t, env, "docker_image.absent", ref, map[string]any{"force": true}, false), yes)
	if diff := cmp.Diff([]any{ref}, plain(t, r.Changes["Tags"])); diff != "" {
		t.Errorf("forced absent (-want +got):\n%s", diff)
	}
	for _, gone := range []string{loaded + ":2", ref} {
		if _, err := c.ImageInspect(context.Background(), gone); !engine.IsNotFound(err) {
			t.Errorf("image %s still there: %v", gone, err)
		}
	}
}

// TestVolumePresent: a volume whose labels differ fails without force and
// is recreated with it; absent removes it; a container's anonymous
// volumes go with it when asked.
func TestVolumePresent(t *testing.T) {
	c := dockerOrSkip(t)
	p := prefix(t, c)
	name := p + "vol"
	r := must(t, apply(t, nil, "docker_volume.present", name, map[string]any{"labels": map[string]any{"v": "1"}}, false), yes)
	if diff := cmp.Diff(map[string]any{"Name": name, "Driver": "local", "Labels": map[string]any{"v": "1"}, "Options": nil}, plain(t, r.Changes["created"])); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	if r := must(t, apply(t, nil, "docker_volume.present", name, map[string]any{"labels": map[string]any{"v": "1"}}, false), yes); len(r.Changes) != 0 {
		t.Errorf("again: %s", js(r.Changes))
	}
	r = must(t, apply(t, nil, "docker_volume.present", name, map[string]any{"labels": map[string]any{"v": "2"}}, false), no)
	if !strings.Contains(r.Comment, "force") {
		t.Errorf("comment %q", r.Comment)
	}
	r = must(t, apply(t, nil, "docker_volume.present", name, map[string]any{"labels": map[string]any{"v": "2"}, "force": true}, false), yes)
	if r.Changes["removed"] != true || r.Changes["created"] == nil {
		t.Errorf("forced recreate: %s", js(r.Changes))
	}
	v, err := c.VolumeInspect(context.Background(), name, client.VolumeInspectOptions{})
	if err != nil || v.Volume.Labels["v"] != "2" {
		t.Errorf("volume after recreate: %+v %v", v.Volume, err)
	}
	must(t, apply(t, nil, "docker_volume.present", name, map[string]any{"driver": "nosuchdriver"}, false), no)
	must(t, apply(t, nil, "docker_volume.absent", name, nil, true), nil)
	must(t, apply(t, nil, "docker_volume.absent", name, nil, false), yes)
	if _, err := c.VolumeInspect(context.Background(), name, client.VolumeInspectOptions{}); !engine.IsNotFound(err) {
		t.Errorf("volume still there: %v", err)
	}
}
