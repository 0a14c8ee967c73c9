// Package git drives the git binary for the git.latest state and Salt's
// git.* execution functions (git.clone, git.pull, git.revision ...). Every
// command runs with prompts disabled, so a repository that wants a
// password fails with git's message instead of hanging a state run.
package git

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/internal/platform"
)

// Check fails on hosts that are not Debian-family.
func Check(env *api.Env) error { return platform.RequireDebian(env, "git") }

// gitEnv keeps git from asking anything and from reading a terminal.
var gitEnv = map[string]string{
	"GIT_TERMINAL_PROMPT": "0",
	"GIT_ASKPASS":         "/bin/true",
	"SSH_ASKPASS":         "/bin/true",
	"GIT_SSH_COMMAND":     "ssh -o BatchMode=yes",
}

// Runner runs git in a working tree as a user ("" for brine's own).
type Runner struct {
	Dir  string
	User string
}

// Run runs `git ARGS...` and returns its stdout.
func (r Runner) Run(ctx context.Context, args ...string) (string, error) {
	cwd := r.Dir
	if cwd == "" {
		cwd = "/"
	}
	out, err := platform.Run(ctx, append([]string{"git"}, args...), platform.Options{Cwd: cwd, Runas: r.User, Env: gitEnv})
	if err != nil {
		return "", err
	}
	return out, nil
}

// ok runs git and reports whether it exited with 0.
func (r Runner) ok(ctx context.Context, args ...string) (bool, error) {
	cwd := r.Dir
	if cwd == "" {
		cwd = "/"
	}
	ok, _, err := platform.Quiet(ctx, append([]string{"git"}, args...), platform.Options{Cwd: cwd, Runas: r.User, Env: gitEnv})
	return ok, err
}

// Remote is what `git ls-remote --symref` says about a repository.
type Remote struct {
	// Refs maps full ref names (refs/heads/main, refs/tags/v1, HEAD) to
	// commit ids; annotated tags map to the commit they point at.
	Refs map[string]string
	// HeadBranch is the branch HEAD points at ("main"), when known.
	HeadBranch string
}

// ParseLsRemote reads `git ls-remote --symref` output.
func ParseLsRemote(out string) Remote {
	r := Remote{Refs: map[string]string{}}
	peeled := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		left, ref, ok := strings.Cut(strings.TrimSpace(line), "\t")
		if !ok {
			continue
		}
		if target, found := strings.CutPrefix(left, "ref: "); found {
			if ref == "HEAD" {
				r.HeadBranch = strings.TrimPrefix(target, "refs/heads/")
			}
			continue
		}
		if base, found := strings.CutSuffix(ref, "^{}"); found {
			peeled[base] = left
			continue
		}
		r.Refs[ref] = left
	}
	for ref, sha := range peeled {
		r.Refs[ref] = sha
	}
	return r
}

// Kind of revision a name resolved to.
const (
	KindBranch = "branch"
	KindTag    = "tag"
	KindCommit = "commit"
	KindHead   = "HEAD"
)

// ErrNoRevision is wrapped when the remote has no such branch, tag or
// commit.
var ErrNoRevision = errors.New("revision does not exist in the remote")

// Resolve finds rev in the remote: "HEAD", a branch, a tag, or a full
// commit id. It returns the commit, the kind, and for branches (and HEAD)
// the branch name.
func (r Remote) Resolve(rev string) (sha, kind, branch string, err error) {
	switch {
	case rev == "" || rev == "HEAD":
		sha, ok := r.Refs["HEAD"]
		if !ok {
			return "", "", "", fmt.Errorf("HEAD: %w (an empty repository?)", ErrNoRevision)
		}
		return sha, KindHead, r.HeadBranch, nil
	case r.Refs["refs/heads/"+rev] != "":
		return r.Refs["refs/heads/"+rev], KindBranch, rev, nil
	case r.Refs["refs/tags/"+rev] != "":
		return r.Refs["refs/tags/"+rev], KindTag, "", nil
	case isSHA(rev):
		return strings.ToLower(rev), KindCommit, "", nil
	}
	return "", "", "", fmt.Errorf("'%s': %w", rev, ErrNoRevision)
}

func isSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range strings.ToLower(s) {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// LsRemote asks the remote for its refs.
func LsRemote(ctx context.Context, url, user string) (Remote, error) {
	out, err := Runner{User: user}.Run(ctx, "ls-remote", "--symref", "--", url)
	if err != nil {
		return Remote{}, err
	}
	return ParseLsRemote(out), nil
}

// IsRepo reports whether dir is the top of a git working tree.
func IsRepo(ctx context.Context, dir, user string) bool {
	out, err := Runner{Dir: dir, User: user}.Run(ctx, "rev-parse", "--show-toplevel")
	if err != nil {
		return false
	}
	a, _ := filepath.EvalSymlinks(strings.TrimSpace(out))
	b, _ := filepath.EvalSymlinks(dir)
	return a == b
}

// Revision returns the commit id of rev ("HEAD" when empty).
func (r Runner) Revision(ctx context.Context, rev string, short bool) (string, error) {
	if rev == "" {
		rev = "HEAD"
	}
	args := []string{"rev-parse", "--verify", "--quiet"}
	if short {
		args = append(args, "--short")
	}
	out, err := r.Run(ctx, append(args, rev+"^{commit}")...)
	if err != nil {
		return "", fmt.Errorf("revision %s: %w", rev, err)
	}
	return strings.TrimSpace(out), nil
}

// HasCommit reports whether the object exists locally.
func (r Runner) HasCommit(ctx context.Context, sha string) bool {
	ok, _ := r.ok(ctx, "cat-file", "-e", sha+"^{commit}")
	return ok
}

// CurrentBranch is the checked-out branch, "" when HEAD is detached.
func (r Runner) CurrentBranch(ctx context.Context) string {
	out, err := r.Run(ctx, "symbolic-ref", "--short", "-q", "HEAD")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// Dirty reports uncommitted changes to tracked files.
func (r Runner) Dirty(ctx context.Context) (bool, error) {
	out, err := r.Run(ctx, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(out) != "", nil
}

// IsAncestor reports whether a is an ancestor of (or equal to) b.
func (r Runner) IsAncestor(ctx context.Context, a, b string) bool {
	ok, _ := r.ok(ctx, "merge-base", "--is-ancestor", a, b)
	return ok
}

// RemoteURL returns the URL of a remote ("" when there is none).
func (r Runner) RemoteURL(ctx context.Context, remote string) string {
	out, err := r.Run(ctx, "remote", "get-url", "--", remote)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// CloneOptions shape a clone.
type CloneOptions struct {
	// Branch checks out this branch or tag instead of the remote's HEAD.
	Branch string
	// Depth makes a shallow clone (0: full history).
	Depth  int
	Remote string
	User   string
}

// Clone clones url into target (which must be absent or empty).
func Clone(ctx context.Context, url, target string, o CloneOptions) error {
	args := []string{"clone", "--quiet"}
	if o.Remote != "" && o.Remote != "origin" {
		args = append(args, "--origin", o.Remote)
	}
	if o.Branch != "" {
		args = append(args, "--branch", o.Branch)
	}
	if o.Depth > 0 {
		args = append(args, "--depth", strconv.Itoa(o.Depth))
	}
	args = append(args, "--", url, target)
	_, err := Runner{User: o.User}.Run(ctx, args...)
	return err
}

// EmptyOrMissing reports whether dir does not exist or has no entries.
func EmptyOrMissing(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return len(entries) == 0, nil
}
