// Package pkgrepo provides pkgrepo.managed and pkgrepo.absent for apt:
// a source line in a sources.list file, its key as a signed-by keyring
// (key_url or key_text), and a refresh of the package indexes after a
// change. The source and keyring handling is modules/pkg's.
package pkgrepo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/internal/platform"
	pkgmod "github.com/brine-cm/brine/modules/pkg"
	"github.com/brine-cm/brine/states"
)

type managedArgs struct {
	// File is the sources file (default /etc/apt/sources.list).
	File string
	// KeyURL (salt://, path, http(s)) or KeyText (armored) is stored as a
	// keyring and named in the line's signed-by option.
	KeyURL  string `arg:"key_url"`
	KeyText string `arg:"key_text"`
	// SignedBy is the keyring path (default /etc/apt/keyrings/<file>.gpg).
	SignedBy string `arg:"signedby"`
	// Refresh runs apt-get update after a change (default True);
	// refresh_db is Salt's older name for it.
	Refresh   *bool
	RefreshDB *bool `arg:"refresh_db"`
	Disabled  *bool
	Enabled   *bool
	// CleanFile makes the line the file's only content.
	CleanFile bool `arg:"clean_file"`
	// Architectures sets the arch option ("amd64,arm64").
	Architectures string
	// HumanName is accepted for Salt compatibility (yum only).
	HumanName string `arg:"humanname"`
	// AptKey False is what Salt 3007 recommends and what brine does
	// anyway; True (apt-key) is refused.
	AptKey    *bool  `arg:"aptkey"`
	KeyID     any    `arg:"keyid"`
	KeyServer string `arg:"keyserver"`
}

type absentArgs struct {
	File string
}

func init() {
	states.Register(states.Def[managedArgs]{
		Name: "pkgrepo.managed",
		Doc: `Make sure an apt source line (the state's name) is configured, with its
key stored as a signed-by keyring.

    nginx-repo:
      pkgrepo.managed:
        - name: deb http://nginx.org/packages/debian bookworm nginx
        - file: /etc/apt/sources.list.d/nginx.list
        - key_url: salt://keys/nginx.asc

Arguments: file (default /etc/apt/sources.list), key_url (salt://, path or
http(s)), key_text (an armored key), signedby (keyring path, default
/etc/apt/keyrings/<file name>.gpg), refresh / refresh_db (apt-get update
after a change, default True), disabled / enabled, clean_file,
architectures. keyid/keyserver (gpg) and aptkey: True are not supported.
Changes: {repo: line} for a new source, {repo: {old, new}} for a changed
one, {keyring: path} when the key file changed.`,
		Apply: managed,
	})
	states.Register(states.Def[absentArgs]{
		Name: "pkgrepo.absent",
		Doc: `Make sure no sources file configures the source (type, URI and suite of
the state's name); a .list file left without sources is deleted.
Changes: {repo: name}.`,
		Apply: absent,
	})
}

func managed(ctx context.Context, req *states.Request, a *managedArgs) api.Result {
	name := req.Name
	if err := pkgmod.Check(req.Env); err != nil {
		return api.Failed(err.Error())
	}
	switch {
	case strings.HasPrefix(name, "ppa:"):
		return api.Failed("PPA names are not supported: give the deb line of the PPA and its key_url")
	case a.KeyID != nil || a.KeyServer != "":
		return api.Failed("keyid/keyserver are not supported (they need gpg and a key server): give key_url or key_text, stored as a signed-by keyring")
	case a.AptKey != nil && *a.AptKey:
		return api.Failed("aptkey: True (apt-key) is not supported: keys are stored as signed-by keyrings")
	case a.KeyURL != "" && a.KeyText != "":
		return api.Failed("key_url and key_text cannot be used together")
	}
	repo, err := pkgmod.ParseRepo(name)
	if err != nil {
		return api.Failed(err.Error())
	}
	if a.Disabled != nil {
		repo.Disabled = *a.Disabled
	} else if a.Enabled != nil {
		repo.Disabled = !*a.Enabled
	}
	if a.Architectures != "" {
		repo.Options["arch"] = strings.Join(strings.Fields(strings.ReplaceAll(a.Architectures, ",", " ")), ",")
	}
	file := a.File
	if file == "" {
		file = pkgmod.SourcesList
	}
	if !filepath.IsAbs(file) {
		return api.Failed(fmt.Sprintf("file %q must be an absolute path", file))
	}

	changes := map[string]any{}
	var keyring string
	var keyData []byte
	if a.KeyURL != "" || a.KeyText != "" {
		keyring = a.SignedBy
		if keyring == "" {
			keyring = repo.Options["signed-by"]
		}
		if keyring == "" {
			base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
			keyring = filepath.Join(pkgmod.KeyringDir, base+".gpg")
		}
		raw := []byte(a.KeyText)
		if a.KeyURL != "" {
			p, cleanup, err := platform.Fetch(ctx, req.Env, a.KeyURL)
			if err != nil {
				return api.Failed(fmt.Sprintf("key_url: %v", err))
			}
			raw, err = os.ReadFile(p)
			cleanup()
			if err != nil {
				return api.Failed(fmt.Sprintf("key_url: %v", err))
			}
		}
		if keyData, err = pkgmod.KeyFile(keyring, raw); err != nil {
			return api.Failed(err.Error())
		}
		if cur, err := os.ReadFile(keyring); err != nil || !bytes.Equal(cur, keyData) {
			changes["keyring"] = keyring
		}
		repo.Options["signed-by"] = keyring
	} else if a.SignedBy != "" {
		repo.Options["signed-by"] = a.SignedBy
	}

	f, err := pkgmod.ReadSourceFile(file)
	if err != nil {
		return api.Failed(err.Error())
	}
	line := repo.Line()
	idx := f.Find(repo)
	switch {
	case a.CleanFile && (len(f.Lines) != 1 || idx != 0 || f.Lines[0] != line):
		if idx >= 0 {
			changes["repo"] = map[string]any{"old": f.Lines[idx], "new": line}
		} else {
			changes["repo"] = line
		}
		f.Lines = []string{line}
	case idx < 0:
		changes["repo"] = line
		f.Lines = append(f.Lines, line)
	case f.Lines[idx] != line:
		changes["repo"] = map[string]any{"old": f.Lines[idx], "new": line}
		f.Lines[idx] = line
	}
	if len(changes) == 0 {
		return api.Succeeded(fmt.Sprintf("Package repo '%s' already configured", name), nil)
	}
	if req.Test {
		return api.Pending(fmt.Sprintf("Package repo '%s' would be configured. This may cause pkg states to behave differently than stated if this action is repeated without test=True, due to the differences in the configured repositories.", name), changes)
	}
	if keyData != nil && changes["keyring"] != nil {
		if err := os.MkdirAll(filepath.Dir(keyring), 0o755); err != nil {
			return api.Failed(err.Error())
		}
		if err := platform.WriteFile(keyring, keyData, 0o644); err != nil {
			return api.Failed(err.Error())
		}
	}
	if changes["repo"] != nil {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return api.FailedWith(err.Error(), without(changes, "repo"))
		}
		if err := platform.WriteFile(file, []byte(f.Render()), 0o644); err != nil {
			return api.FailedWith(err.Error(), without(changes, "repo"))
		}
	}
	if refresh(a) {
		if _, err := pkgmod.RefreshDB(ctx); err != nil {
			return api.FailedWith(fmt.Sprintf("Configured package repo '%s', but refreshing the package database failed: %v", name, err), changes)
		}
	}
	return api.Succeeded(fmt.Sprintf("Configured package repo '%s'", name), changes)
}

func refresh(a *managedArgs) bool {
	switch {
	case a.Refresh != nil:
		return *a.Refresh
	case a.RefreshDB != nil:
		return *a.RefreshDB
	}
	return true
}

func without(m map[string]any, key string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func absent(_ context.Context, req *states.Request, a *absentArgs) api.Result {
	name := req.Name
	if err := pkgmod.Check(req.Env); err != nil {
		return api.Failed(err.Error())
	}
	repo, err := pkgmod.ParseRepo(name)
	if err != nil {
		return api.Failed(err.Error())
	}
	files := pkgmod.SourceFiles()
	if a.File != "" {
		files = []string{a.File}
	}
	var touched []*pkgmod.SourceFile
	for _, path := range files {
		f, err := pkgmod.ReadSourceFile(path)
		if err != nil {
			return api.Failed(err.Error())
		}
		removed := false
		for i := f.Find(repo); i >= 0; i = f.Find(repo) {
			f.Lines = append(f.Lines[:i], f.Lines[i+1:]...)
			removed = true
		}
		if removed {
			touched = append(touched, f)
		}
	}
	if len(touched) == 0 {
		return api.Succeeded(fmt.Sprintf("Package repo %s is absent", name), nil)
	}
	changes := map[string]any{"repo": name}
	if req.Test {
		return api.Pending(fmt.Sprintf("Package repo '%s' will be removed. This may cause pkg states to behave differently than stated if this action is repeated without test=True, due to the differences in the configured repositories.", name), changes)
	}
	for _, f := range touched {
		if !f.HasSources() && f.Path != pkgmod.SourcesList {
			if err := os.Remove(f.Path); err != nil {
				return api.Failed(err.Error())
			}
			continue
		}
		if err := platform.WriteFile(f.Path, []byte(f.Render()), 0o644); err != nil {
			return api.Failed(err.Error())
		}
	}
	return api.Succeeded(fmt.Sprintf("Removed repository %s", name), changes)
}
