// Package git provides git.latest: keep a working tree at the newest
// commit of a branch, tag or commit of a remote repository, cloning it
// first when needed, and never discarding local changes unless told to
// (force_reset). The git commands are modules/git's, shared with the
// git.* execution functions.
package git

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/brine-cm/brine/api"
	gitmod "github.com/brine-cm/brine/modules/git"
	"github.com/brine-cm/brine/states"
)

type latestArgs struct {
	Target string
	// Rev is a branch, tag or commit id; HEAD (default) is the remote's
	// default branch.
	Rev string
	// Branch is the local branch to check the revision out into.
	Branch string
	Remote string
	// ForceReset discards local changes and commits that stand in the way.
	ForceReset bool `arg:"force_reset"`
	// ForceClone replaces a non-git directory at target.
	ForceClone bool `arg:"force_clone"`
	Depth      int
	User       string
	Submodules bool
	// FetchTags also fetches tags (default True).
	FetchTags *bool `arg:"fetch_tags"`
}

func init() {
	states.Register(states.Def[latestArgs]{
		Name: "git.latest",
		Doc: `Make sure target is a clone of the repository (the state's name) at the
newest commit of rev.

    https://example.com/app.git:
      git.latest:
        - target: /srv/app
        - rev: main
        - depth: 1
        - user: deploy

Arguments: target, rev (branch, tag or commit id; default HEAD), branch
(local branch name), remote (default origin), force_reset (discard local
changes or diverged commits), force_clone (replace a non-git directory),
depth (shallow clone), user, submodules, fetch_tags (default True).
Changes: new ("URL => target") and revision {old, new} on a clone;
revision {old, new} on an update.`,
		Apply: latest,
	})
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func latest(ctx context.Context, req *states.Request, a *latestArgs) api.Result {
	url := req.Name
	if err := gitmod.Check(req.Env); err != nil {
		return api.Failed(err.Error())
	}
	if !filepath.IsAbs(a.Target) {
		return api.Failed(fmt.Sprintf("target %q must be an absolute path", a.Target))
	}
	target := filepath.Clean(a.Target)
	remote := a.Remote
	if remote == "" {
		remote = "origin"
	}
	rev := a.Rev
	if rev == "" {
		rev = "HEAD"
	}
	refs, err := gitmod.LsRemote(ctx, url, a.User)
	if err != nil {
		return api.Failed(fmt.Sprintf("Failed to check remote repository %s: %v", url, err))
	}
	want, kind, remoteBranch, err := refs.Resolve(rev)
	if err != nil {
		return api.Failed(fmt.Sprintf("Revision %s of %s: %v", rev, url, err))
	}
	localBranch := a.Branch
	if localBranch == "" && (kind == gitmod.KindBranch || kind == gitmod.KindHead) {
		localBranch = remoteBranch
	}

	empty, err := gitmod.EmptyOrMissing(target)
	if err != nil {
		return api.Failed(err.Error())
	}
	if !empty && !gitmod.IsRepo(ctx, target, a.User) {
		if !a.ForceClone {
			return api.Failed(fmt.Sprintf("Target '%s' exists, is non-empty and is not a git repository. Set the 'force_clone' option to True to remove this directory's contents and proceed with cloning the remote repository", target))
		}
		if !req.Test {
			if err := os.RemoveAll(target); err != nil {
				return api.Failed(err.Error())
			}
		}
		empty = true
	}
	if empty {
		return clone(ctx, req, a, url, target, remote, rev, kind, want, localBranch)
	}
	return update(ctx, req, a, url, target, remote, kind, want, localBranch)
}

func clone(ctx context.Context, req *states.Request, a *latestArgs, url, target, remote, rev, kind, want, localBranch string) api.Result {
	changes := map[string]any{"new": url + " => " + target, "revision": map[string]any{"old": nil, "new": want}}
	if req.Test {
		return api.Pending(fmt.Sprintf("Repository %s would be cloned to %s", url, target), changes)
	}
	opt := gitmod.CloneOptions{Depth: a.Depth, Remote: remote, User: a.User}
	if kind == gitmod.KindBranch || kind == gitmod.KindTag {
		opt.Branch = rev
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return api.Failed(err.Error())
	}
	if err := gitmod.Clone(ctx, url, target, opt); err != nil {
		return api.Failed(fmt.Sprintf("Clone of %s failed: %v", url, err))
	}
	g := gitmod.Runner{Dir: target, User: a.User}
	if kind == gitmod.KindCommit || a.Branch != "" && a.Branch != g.CurrentBranch(ctx) {
		if err := checkout(ctx, g, remote, kind, want, localBranch, a.Depth, true); err != nil {
			return api.FailedWith(fmt.Sprintf("Cloned %s to %s, but checking out %s failed: %v", url, target, rev, err), changes)
		}
	}
	if a.Submodules {
		if _, err := g.Run(ctx, "submodule", "update", "--init", "--recursive"); err != nil {
			return api.FailedWith(fmt.Sprintf("Submodule update failed: %v", err), changes)
		}
	}
	if got, err := g.Revision(ctx, "HEAD", false); err != nil || got != want {
		return api.FailedWith(fmt.Sprintf("Cloned %s to %s, but HEAD is %s instead of %s", url, target, short(got), short(want)), changes)
	}
	return api.Succeeded(fmt.Sprintf("Repository %s cloned to %s", url, target), changes)
}

// checkout puts the working tree on want: the local branch reset to it
// (branch revisions), or a detached HEAD (tags, commits).
func checkout(ctx context.Context, g gitmod.Runner, remote, kind, want, localBranch string, depth int, force bool) error {
	if !g.HasCommit(ctx, want) {
		args := []string{"fetch", "--quiet"}
		if depth > 0 {
			args = append(args, "--depth", strconv.Itoa(depth))
		}
		if _, err := g.Run(ctx, append(args, remote, want)...); err != nil {
			return err
		}
	}
	args := []string{"checkout", "--quiet"}
	if force {
		args = append(args, "--force")
	}
	if localBranch != "" {
		if _, err := g.Run(ctx, append(args, "-B", localBranch, want)...); err != nil {
			return err
		}
		if kind == gitmod.KindBranch || kind == gitmod.KindHead {
			// Track the remote branch, as a clone would; failure only means
			// the remote-tracking ref is missing (shallow single-branch).
			_, _ = g.Run(ctx, "branch", "--quiet", "--set-upstream-to="+remote+"/"+localBranch, localBranch)
		}
		return nil
	}
	_, err := g.Run(ctx, append(args, "--detach", want)...)
	return err
}

func update(ctx context.Context, req *states.Request, a *latestArgs, url, target, remote, kind, want, localBranch string) api.Result {
	g := gitmod.Runner{Dir: target, User: a.User}
	changes := map[string]any{}
	var comments []string
	if cur := g.RemoteURL(ctx, remote); cur != url {
		changes["remote"] = map[string]any{"old": cur, "new": url}
		if !req.Test {
			verb := "set-url"
			if cur == "" {
				verb = "add"
			}
			if _, err := g.Run(ctx, "remote", verb, remote, url); err != nil {
				return api.Failed(fmt.Sprintf("Failed to set remote %s to %s: %v", remote, url, err))
			}
		}
		comments = append(comments, fmt.Sprintf("Remote %s changed from '%s' to '%s'", remote, cur, url))
	}
	have, err := g.Revision(ctx, "HEAD", false)
	if err != nil {
		have = "" // an empty repository
	}
	curBranch := g.CurrentBranch(ctx)
	branchOK := localBranch == "" && curBranch == "" || localBranch != "" && curBranch == localBranch
	if have == want && branchOK {
		comments = append(comments, fmt.Sprintf("Repository %s is up-to-date", target))
		return finish(req, comments, changes)
	}
	dirty, err := g.Dirty(ctx)
	if err != nil {
		return api.Failed(err.Error())
	}
	if dirty && !a.ForceReset {
		return api.Failed(fmt.Sprintf("Repository %s would be updated from %s to %s, but there are uncommitted changes. Set 'force_reset' to True to force this update and discard these changes.", target, short(have), short(want)))
	}
	fastForward := have == "" || g.HasCommit(ctx, want) && g.IsAncestor(ctx, have, want)
	if !req.Test && !g.HasCommit(ctx, want) {
		args := []string{"fetch", "--quiet"}
		if a.Depth > 0 {
			args = append(args, "--depth", strconv.Itoa(a.Depth))
		}
		if a.FetchTags == nil || *a.FetchTags {
			args = append(args, "--tags")
		}
		if _, err := g.Run(ctx, append(args, remote)...); err != nil {
			return api.Failed(fmt.Sprintf("Failed to fetch from %s: %v", remote, err))
		}
		fastForward = have == "" || g.HasCommit(ctx, want) && g.IsAncestor(ctx, have, want)
	}
	if have != want && !fastForward && !a.ForceReset && (!req.Test || g.HasCommit(ctx, want)) {
		return api.Failed(fmt.Sprintf("Repository %s cannot be fast-forwarded from %s to %s (local commits would be lost). Set 'force_reset' to True to reset it to %s.", target, short(have), short(want), short(want)))
	}
	if have != want {
		changes["revision"] = map[string]any{"old": have, "new": want}
	}
	if !branchOK {
		changes["local_branch"] = map[string]any{"old": curBranch, "new": localBranch}
	}
	if req.Test {
		if have != want {
			comments = append(comments, fmt.Sprintf("Repository %s would be updated from %s to %s", target, short(have), short(want)))
		} else {
			comments = append(comments, fmt.Sprintf("Repository %s would be switched to branch '%s'", target, localBranch))
		}
		return finish(req, comments, changes)
	}
	if err := checkout(ctx, g, remote, kind, want, localBranch, a.Depth, a.ForceReset); err != nil {
		return api.FailedWith(fmt.Sprintf("Failed to update %s to %s: %v", target, short(want), err), changes)
	}
	if a.ForceReset {
		if _, err := g.Run(ctx, "reset", "--hard", "--quiet", want); err != nil {
			return api.FailedWith(fmt.Sprintf("Failed to reset %s to %s: %v", target, short(want), err), changes)
		}
	}
	if a.Submodules {
		if _, err := g.Run(ctx, "submodule", "update", "--init", "--recursive"); err != nil {
			return api.FailedWith(fmt.Sprintf("Submodule update failed: %v", err), changes)
		}
	}
	if got, err := g.Revision(ctx, "HEAD", false); err != nil || got != want {
		return api.FailedWith(fmt.Sprintf("Repository %s is at %s instead of %s after the update", target, short(got), short(want)), changes)
	}
	if have != want {
		how := "fast-forwarded"
		if !fastForward {
			how = "reset"
		}
		comments = append(comments, fmt.Sprintf("Repository %s updated: %s => %s (%s)", target, short(have), short(want), how))
	} else {
		comments = append(comments, fmt.Sprintf("Repository %s switched to branch '%s'", target, localBranch))
	}
	return finish(req, comments, changes)
}

func finish(req *states.Request, comments []string, changes map[string]any) api.Result {
	comment := strings.Join(comments, "\n")
	if req.Test && len(changes) > 0 {
		return api.Pending(comment, changes)
	}
	return api.Succeeded(comment, changes)
}
