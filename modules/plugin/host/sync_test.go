package host

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/fileserver"
	"github.com/brine-cm/brine/modules"
)

func TestSyncFromDirectory(t *testing.T) {
	f := newFixture(t)
	master := t.TempDir() // a master's _plugins tree
	platform := Platform()
	install(t, "probe", filepath.Join(master, platform), "probe")
	install(t, "probe", filepath.Join(master, "windows_arm64"), "other") // not for this minion
	h := f.host(t)
	if err := h.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	src := DirSource{Root: master}

	res, err := h.Sync(t.Context(), src, f.dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(SyncResult{Added: []string{"probe"}}, res); diff != "" {
		t.Errorf("first sync (-want +got):\n%s", diff)
	}
	ping, err := call(t, "probe.ping", nil, nil)
	if err != nil || ping.(map[string]any)["version"] != "1.0.0" {
		t.Fatalf("after the first sync: %v, %v", ping, err)
	}
	oldPid := ping.(map[string]any)["pid"]

	res, err = h.Sync(t.Context(), src, f.dir)
	if err != nil || res.Changed() {
		t.Errorf("sync without changes: %+v, %v", res, err)
	}
	again, _ := call(t, "probe.ping", nil, nil)
	if again.(map[string]any)["pid"] != oldPid {
		t.Errorf("a sync that changed nothing restarted the plugin")
	}

	install(t, "probe-v2", filepath.Join(master, platform), "probe")
	res, err = h.Sync(t.Context(), src, f.dir)
	if err != nil || !cmp.Equal(res.Names(), []string{"plugins.probe"}) || len(res.Updated) != 1 {
		t.Fatalf("sync of an update: %+v, %v", res, err)
	}
	ping, err = call(t, "probe.ping", nil, nil)
	if err != nil || ping.(map[string]any)["version"] != "2.0.0" {
		t.Errorf("after the update the registry still reaches %v (%v)", ping, err)
	}
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if processAlive(oldPid.(int)) {
			return errors.New("the replaced plugin's process is still running")
		}
		return nil
	})
	if fi, err := os.Stat(filepath.Join(f.dir, "probe")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("synced plugin: %v, %v", fi, err)
	}

	if err := os.Remove(filepath.Join(master, platform, "probe")); err != nil {
		t.Fatal(err)
	}
	res, err = h.Sync(t.Context(), src, f.dir)
	if err != nil || !cmp.Equal(res.Removed, []string{"probe"}) {
		t.Errorf("sync of a removal: %+v, %v", res, err)
	}
	if _, ok := modules.Lookup("probe.ping"); ok {
		t.Errorf("probe.ping is still registered after its plugin was removed on the master")
	}
}

// lyingSource publishes a checksum its content does not have.
type lyingSource struct{ DirSource }

func (l lyingSource) List(ctx context.Context, platform string) ([]RemoteFile, error) {
	files, err := l.DirSource.List(ctx, platform)
	for i := range files {
		files[i].SHA256 = strings.Repeat("0", 64)
	}
	return files, err
}

func TestSyncRefusesBadChecksum(t *testing.T) {
	master := t.TempDir()
	dest := filepath.Join(t.TempDir(), "plugins")
	install(t, "probe", filepath.Join(master, Platform()), "probe")
	installed := install(t, "probe-v2", dest, "probe")
	before, _ := os.ReadFile(installed)

	res, err := Sync(t.Context(), lyingSource{DirSource{Root: master}}, Platform(), dest)
	if !errors.Is(err, ErrChecksum) || res.Changed() {
		t.Errorf("sync with a wrong checksum: %+v, %v", res, err)
	}
	after, _ := os.ReadFile(installed)
	if string(before) != string(after) {
		t.Errorf("a download with a bad checksum replaced the installed plugin")
	}
	entries, _ := os.ReadDir(dest)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

// TestSyncFunc runs saltutil.sync_plugins the way `brine call --local`
// does: from the local file_roots, salt://_plugins/<os>_<arch>/.
func TestSyncFunc(t *testing.T) {
	f := newFixture(t)
	roots := t.TempDir()
	install(t, "probe", filepath.Join(roots, "_plugins", Platform()), "probe")
	h := f.host(t)
	if err := h.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	fn := SyncFunc(h, f.dir)
	env := testEnv()
	env.Files = fileserver.Roots{Envs: map[string][]string{"base": {roots}}}
	got, err := fn.Run(t.Context(), env, nil, map[string]any{})
	if err != nil || !cmp.Equal(got, []string{"plugins.probe"}) {
		t.Fatalf("saltutil.sync_plugins = %v, %v", got, err)
	}
	if _, err := call(t, "probe.ping", nil, nil); err != nil {
		t.Errorf("synced plugin: %v", err)
	}
	got, err = fn.Run(t.Context(), env, nil, map[string]any{})
	if err != nil || !cmp.Equal(got, []string{}) {
		t.Errorf("second sync = %v, %v", got, err)
	}
	_, err = fn.Run(t.Context(), env, nil, map[string]any{"bogus": 1})
	if err == nil || !strings.Contains(err.Error(), "unknown argument 'bogus'") {
		t.Errorf("unknown argument: %v", err)
	}
}

func TestFilesSourceSkipsSubdirectories(t *testing.T) {
	roots := t.TempDir()
	dir := filepath.Join(roots, "_plugins", "linux_amd64")
	for _, p := range []string{"a", "sub/b", ".hidden"} {
		full := filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src := FilesSource{Files: fileserver.Roots{Envs: map[string][]string{"base": {roots}}}}
	files, err := src.List(t.Context(), "linux_amd64")
	if err != nil || len(files) != 1 || files[0].Name != "a" || files[0].SHA256 == "" {
		t.Fatalf("List = %+v, %v", files, err)
	}
	r, err := src.Open(t.Context(), "linux_amd64", "a")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if b, _ := io.ReadAll(r); string(b) != "a" {
		t.Errorf("Open read %q", b)
	}
	if none, err := src.List(t.Context(), "plan9_386"); err != nil || len(none) != 0 {
		t.Errorf("a platform with no plugins: %v, %v", none, err)
	}
	if _, err := src.Open(t.Context(), "linux_amd64", "../x"); err == nil {
		t.Errorf("Open accepted a path outside the platform directory")
	}
}
