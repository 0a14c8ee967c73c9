package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states"
	"github.com/brine-cm/brine/states/file/fsx"
	"github.com/brine-cm/brine/states/render"
)

// managedArgs are file.managed's arguments (Salt's names).
type managedArgs struct {
	// Source is a salt:// URL, a file:// URL or an absolute local path, or
	// a list of them (the first that exists is used; an item may be a
	// {source: source_hash} mapping).
	Source     any
	SourceHash string `arg:"source_hash"`
	// SourceHashName is accepted for Salt compatibility: a hash file is
	// searched for the source's file name anyway.
	SourceHashName string `arg:"source_hash_name"`
	SkipVerify     bool   `arg:"skip_verify"`
	// KeepSource is accepted and has no effect: brine keeps no separate
	// copy of sources besides the file client's cache.
	KeepSource *bool `arg:"keep_source"`
	User       string
	Group      string
	Mode       *api.Mode
	DirMode    *api.Mode `arg:"dir_mode"`
	Template   string
	Makedirs   bool
	Context    map[string]any
	Defaults   map[string]any
	Replace    *bool
	Create     *bool
	// Backup is accepted and ignored: brine keeps no backups of managed
	// files (Salt's backup: minion).
	Backup            any
	ShowChanges       *bool  `arg:"show_changes"`
	Contents          any    `arg:"contents"`
	ContentsPillar    any    `arg:"contents_pillar"`
	ContentsGrains    any    `arg:"contents_grains"`
	ContentsNewline   *bool  `arg:"contents_newline"`
	ContentsDelimiter string `arg:"contents_delimiter"`
	AllowEmpty        *bool  `arg:"allow_empty"`
	// FollowSymlinks: when name is a symlink its target's content is
	// managed (the link is never replaced by a file while it resolves).
	FollowSymlinks *bool `arg:"follow_symlinks"`
	// CheckCmd runs as `<check_cmd> <temporary file>` before a changed file
	// is put in place; a non-zero exit fails the state and leaves the file.
	CheckCmd string `arg:"check_cmd"`
}

const managedDoc = `Manage a file's content, mode and owner.

Content comes from contents (a string or a list of lines), contents_pillar or
contents_grains (a ':'-separated key), or source (salt://, file:// or an
absolute path; a list means the first that exists), optionally checked with
source_hash (sha256=<hex>, md5=<hex>, a bare digest or a file of digests) and
rendered with template: jinja (variables: defaults, then context). Without
any of them the file is only created empty if missing. mode, user and group
are set when they differ; makedirs creates missing parents (dir_mode, or mode
with search bits added); replace: False leaves existing content alone.
Writes are atomic (temporary file, fsync, rename).`

func registerManaged() {
	states.Register(states.Def[managedArgs]{
		Name: "file.managed",
		Doc:  managedDoc,
		Apply: func(ctx context.Context, req *states.Request, a *managedArgs) api.Result {
			return managed(ctx, req.Env, req.Name, req.Test, a)
		},
	})
}

func managed(ctx context.Context, env *api.Env, name string, test bool, a *managedArgs) api.Result {
	if msg := checkAbs(name); msg != "" {
		return api.Failed(msg)
	}
	srcs, err := parseSources(a.Source)
	if err != nil {
		return api.Failed(sentence(err))
	}
	nContents := 0
	for _, v := range []any{a.Contents, a.ContentsPillar, a.ContentsGrains} {
		if v != nil {
			nContents++
		}
	}
	switch {
	case nContents > 1:
		return api.Failed("Only one of 'contents', 'contents_pillar', and 'contents_grains' is permitted")
	case nContents > 0 && len(srcs) > 0:
		return api.Failed("'source' cannot be used in combination with 'contents', 'contents_pillar', or 'contents_grains'")
	}
	tmpl := strings.ToLower(a.Template)
	if tmpl != "" && tmpl != "jinja" {
		return api.Failed(fmt.Sprintf("Specified template format %s is not supported", a.Template))
	}
	p, msg := resolvePerms(a.User, a.Group, a.Mode)
	if msg != "" {
		return missingOwner(msg, test)
	}

	target := realPath(name)
	fi, err := os.Stat(target)
	present := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return api.Failed(fmt.Sprintf("Unable to check %s: %v", name, err))
	}
	if present && fi.IsDir() {
		return api.Failed(fmt.Sprintf("Specified target %s is a directory", name))
	}
	if !present && !boolOr(a.Create, true) {
		return api.Succeeded(fmt.Sprintf("File %s is not present and is not set for creation", name), nil)
	}
	if present && !boolOr(a.Replace, true) {
		return managedPermsOnly(name, target, fi, p, test)
	}

	want, manage, err := desiredContent(ctx, env, name, a, srcs, nContents > 0)
	if err != nil {
		return api.Failed(sentence(err))
	}
	showChanges := boolOr(a.ShowChanges, true)

	if !present {
		if test {
			return api.Pending(fmt.Sprintf("The file %s is set to be changed", name)+testNote, map[string]any{"newfile": name})
		}
		return createFile(ctx, name, target, want, manage, p, a)
	}

	changes := map[string]any{}
	var old []byte
	if manage {
		old, err = os.ReadFile(target)
		if err != nil {
			return api.Failed(fmt.Sprintf("Unable to read %s: %v", name, err))
		}
		if !bytes.Equal(old, want) {
			changes["diff"] = contentDiff(old, want, showChanges)
		}
	}
	maps.Copy(changes, p.diff(fi))
	if len(changes) == 0 {
		if test {
			return api.Succeeded(fmt.Sprintf("The file %s is in the correct state", name), nil)
		}
		return api.Succeeded(fmt.Sprintf("File %s is in the correct state", name), nil)
	}
	if test {
		return api.Pending(fmt.Sprintf("The file %s is set to be changed", name)+testNote, changes)
	}
	if msg := p.rootCheck(name, changes); msg != "" {
		return api.Failed(msg)
	}
	if _, ok := changes["diff"]; ok {
		if res, failed := runCheckCmd(ctx, a.CheckCmd, name, want); failed {
			return res
		}
		if err := fsx.AtomicWrite(target, want, fsx.WriteOptions{Mode: p.fileMode(), UID: p.uid, GID: p.gid}); err != nil {
			return api.Failed(fmt.Sprintf("Unable to manage file: %v", err))
		}
	} else if err := p.apply(target, changes, false); err != nil {
		return api.Failed(sentence(err))
	}
	return api.Succeeded(fmt.Sprintf("File %s updated", name), changes)
}

// managedPermsOnly is replace: False on an existing file: only the mode and
// owner are managed, the content is left as it is.
func managedPermsOnly(name, target string, fi fs.FileInfo, p perms, test bool) api.Result {
	ch := p.diff(fi)
	if len(ch) == 0 {
		if test {
			return api.Succeeded(fmt.Sprintf("File %s not updated", name), nil)
		}
		return api.Succeeded(fmt.Sprintf("File %s exists with proper permissions. No changes made.", name), nil)
	}
	if test {
		return api.Pending(fmt.Sprintf("File %s will be updated with permissions %s from its current state of %s",
			name, describePerms(p), fsx.OctalMode(fsx.PermBits(fi.Mode()))), ch)
	}
	if msg := p.rootCheck(name, ch); msg != "" {
		return api.Failed(msg)
	}
	if err := p.apply(target, ch, false); err != nil {
		return api.Failed(sentence(err))
	}
	return api.Succeeded(fmt.Sprintf("File %s updated", name), ch)
}

func describePerms(p perms) string {
	var parts []string
	if p.mode != nil {
		parts = append(parts, p.mode.String())
	}
	if p.user != "" || p.group != "" {
		parts = append(parts, p.user+":"+p.group)
	}
	return strings.Join(parts, " ")
}

// rootCheck fails early, and clearly, when a change of owning user is
// needed and brine is not root.
func (p perms) rootCheck(name string, changes map[string]any) string {
	if _, ok := changes["user"]; ok && os.Geteuid() != 0 {
		return fmt.Sprintf("Cannot change the owner of %s to %s: brine runs as uid %d, and only root may give files away", name, p.user, os.Geteuid())
	}
	return ""
}

func createFile(ctx context.Context, name, target string, want []byte, manage bool, p perms, a *managedArgs) api.Result {
	changes := p.createChanges()
	if msg := p.rootCheck(name, changes); msg != "" {
		return api.Failed(msg)
	}
	if parent := filepath.Dir(target); !isDir(parent) {
		if !a.Makedirs {
			return api.Failed("Parent directory not present")
		}
		if _, err := fsx.MakeDirs(parent, dirModeFor(a.DirMode, a.Mode), p.uid, p.gid); err != nil {
			return api.Failed(fmt.Sprintf("Unable to manage file: %v", err))
		}
	}
	if manage {
		if res, failed := runCheckCmd(ctx, a.CheckCmd, name, want); failed {
			return res
		}
	}
	if err := fsx.AtomicWrite(target, want, fsx.WriteOptions{Mode: p.fileMode(), UID: p.uid, GID: p.gid}); err != nil {
		return api.Failed(fmt.Sprintf("Unable to manage file: %v", err))
	}
	if !manage {
		changes["new"] = fmt.Sprintf("file %s created", name)
		return api.Succeeded("Empty file", changes)
	}
	changes["diff"] = "New file"
	return api.Succeeded(fmt.Sprintf("File %s updated", name), changes)
}

// dirModeFor picks the mode of directories created for a file: dir_mode,
// else the file's mode with search bits added (Salt's rule), else the umask.
func dirModeFor(dirMode, mode *api.Mode) *fs.FileMode {
	switch {
	case dirMode != nil:
		m := dirMode.Perm()
		return &m
	case mode != nil:
		m := fsx.DirModeFor(mode.Perm())
		return &m
	}
	return nil
}

// contentDiff is changes.diff for a file whose content changes.
func contentDiff(old, new []byte, show bool) string {
	switch {
	case !show:
		return "<show_changes=False>"
	case fsx.IsBinary(old) || fsx.IsBinary(new):
		return "Replace binary file"
	}
	return fsx.Diff(string(old), string(new))
}

// desiredContent works out what the file should hold; manage is false when
// neither source nor contents were given (only existence and perms count).
func desiredContent(ctx context.Context, env *api.Env, name string, a *managedArgs, srcs []sourceRef, hasContents bool) (want []byte, manage bool, err error) {
	var renderPath string
	switch {
	case hasContents:
		text, err := contentsText(env, a)
		if err != nil {
			return nil, false, err
		}
		want = []byte(text)
	case len(srcs) > 0:
		data, loc, ref, err := fetchFirst(ctx, env, srcs)
		if err != nil {
			return nil, false, err
		}
		if spec := firstNonEmpty(ref.hash, a.SourceHash); spec != "" && !a.SkipVerify {
			sum, err := parseSourceHash(ctx, env, spec, loc.String())
			if err != nil {
				return nil, false, err
			}
			if err := sum.verify(data, loc.String()); err != nil {
				return nil, false, err
			}
		}
		want, renderPath = data, loc.renderPath()
	default:
		return nil, false, nil
	}
	if strings.EqualFold(a.Template, "jinja") {
		vars := map[string]any{}
		maps.Copy(vars, a.Defaults)
		maps.Copy(vars, a.Context)
		out, err := render.Jinja(ctx, want, render.Context{Env: env, Path: renderPath, Vars: vars})
		if err != nil {
			return nil, false, fmt.Errorf("unable to manage file: %w", err)
		}
		want = []byte(out)
	}
	if len(want) == 0 && !boolOr(a.AllowEmpty, true) {
		return nil, false, fmt.Errorf("refusing to write empty content to %s: allow_empty is False", name)
	}
	return want, true, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// contentsText builds the text from contents, contents_pillar or
// contents_grains as Salt does: every line ends in "\n" (and a list is
// several lines), unless contents_newline is False, which strips the
// trailing line ends. Text with a NUL byte is written as it is.
func contentsText(env *api.Env, a *managedArgs) (string, error) {
	var parts []string
	switch {
	case a.Contents != nil:
		ps, err := textParts("contents", a.Contents)
		if err != nil {
			return "", err
		}
		parts = ps
	case a.ContentsPillar != nil, a.ContentsGrains != nil:
		arg, data, what := "contents_pillar", map[string]any(nil), "Pillar"
		keys := a.ContentsPillar
		if env != nil {
			data = env.Pillar
		}
		if a.ContentsGrains != nil {
			arg, what, keys = "contents_grains", "Grain", a.ContentsGrains
			data = nil
			if env != nil {
				data = env.Grains
			}
		}
		keyList, err := textParts(arg, keys)
		if err != nil {
			return "", err
		}
		delim := a.ContentsDelimiter
		if delim == "" {
			delim = ":"
		}
		for _, k := range keyList {
			v, ok := lookupPath(data, k, delim)
			if !ok {
				return "", fmt.Errorf("%s %s does not exist", strings.ToLower(what), k)
			}
			ps, err := textParts(arg+" "+k, v)
			if err != nil {
				return "", err
			}
			parts = append(parts, strings.Join(ps, "\n"))
		}
	}
	if len(parts) == 1 && strings.ContainsRune(parts[0], 0) {
		return parts[0], nil
	}
	var sb strings.Builder
	for _, part := range parts {
		for _, line := range splitLines(part) {
			sb.WriteString(strings.TrimRight(line, "\r"))
			sb.WriteByte('\n')
		}
	}
	text := sb.String()
	if !boolOr(a.ContentsNewline, true) {
		text = strings.TrimRight(strings.TrimRight(text, "\n"), "\r")
	}
	return text, nil
}

// textParts reads a string, a scalar or a list of scalars as text.
func textParts(arg string, v any) ([]string, error) {
	if list, ok := v.([]any); ok {
		out := make([]string, 0, len(list))
		for i, item := range list {
			s, ok := api.ScalarString(item)
			if !ok {
				return nil, fmt.Errorf("%s[%d]: expected a string, got a %T", arg, i, item)
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, ok := api.ScalarString(v)
	if !ok {
		return nil, fmt.Errorf("%s: expected a string or a list of lines, got a mapping", arg)
	}
	return []string{s}, nil
}

// splitLines splits text into lines without their "\n", like Python's
// str.splitlines(): a final line end adds no empty line.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// lookupPath walks nested mappings (and lists, by index) along key split by
// delim, as Salt's pillar.get does.
func lookupPath(data map[string]any, key, delim string) (any, bool) {
	var cur any = data
	for _, part := range strings.Split(key, delim) {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[part]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// runCheckCmd runs check_cmd against the new content in a private
// temporary file; failed is true when the state must stop with res.
func runCheckCmd(ctx context.Context, checkCmd, name string, data []byte) (res api.Result, failed bool) {
	if checkCmd == "" {
		return api.Result{}, false
	}
	f, err := os.CreateTemp("", "brine-check-*-"+filepath.Base(name))
	if err != nil {
		return api.Failed(fmt.Sprintf("Unable to run check_cmd: %v", err)), true
	}
	defer os.Remove(f.Name())
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr != nil || cerr != nil {
		return api.Failed(fmt.Sprintf("Unable to run check_cmd: %v", errors.Join(werr, cerr))), true
	}
	out, err := exec.CommandContext(ctx, "/bin/sh", "-c", checkCmd+" "+shellQuote(f.Name())).CombinedOutput()
	if err != nil {
		msg := "check_cmd execution failed"
		if s := strings.TrimSpace(string(out)); s != "" {
			msg += "\n" + s
		}
		return api.Failed(msg), true
	}
	return api.Result{}, false
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
