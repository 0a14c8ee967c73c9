package git

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
)

type cloneArgs struct {
	Cwd  string
	URL  string `arg:"url"`
	Name string
	// Opts are extra `git clone` options, split on spaces.
	Opts  string
	User  string
	Depth int
}

type pullArgs struct {
	Cwd  string
	Opts string
	User string
}

type revisionArgs struct {
	Cwd   string
	Rev   string
	Short bool
	User  string
}

func init() {
	modules.Register(modules.Typed("git.clone", `Clone a repository: git.clone CWD URL clones URL into CWD (or, with
name, into CWD/NAME). True on success; an error carries git's message.
Arguments: opts (extra clone options), user, depth.`, []string{"cwd", "url", "name", "opts"},
		func(ctx context.Context, env *api.Env, a *cloneArgs) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			if !filepath.IsAbs(a.Cwd) {
				return nil, fmt.Errorf("git.clone: cwd %q is not an absolute path", a.Cwd)
			}
			target := a.Cwd
			if a.Name != "" {
				target = filepath.Join(a.Cwd, a.Name)
			}
			args := []string{"clone", "--quiet"}
			args = append(args, strings.Fields(a.Opts)...)
			if a.Depth > 0 {
				args = append(args, "--depth", fmt.Sprint(a.Depth))
			}
			if _, err := (Runner{User: a.User}).Run(ctx, append(args, "--", a.URL, target)...); err != nil {
				return nil, err
			}
			return true, nil
		}))
	modules.Register(modules.Typed("git.pull", `Run git pull in a working tree and return its output. Arguments: opts,
user.`, []string{"cwd", "opts"},
		func(ctx context.Context, env *api.Env, a *pullArgs) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			return Runner{Dir: a.Cwd, User: a.User}.Run(ctx, append([]string{"pull"}, strings.Fields(a.Opts)...)...)
		}))
	modules.Register(modules.Typed("git.revision", `The commit id of a revision (default HEAD) in a working tree; short=True
for the abbreviated id.`, []string{"cwd", "rev"},
		func(ctx context.Context, env *api.Env, a *revisionArgs) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			return Runner{Dir: a.Cwd, User: a.User}.Revision(ctx, a.Rev, a.Short)
		}))
	modules.Register(modules.Typed("git.current_branch", `The branch checked out in a working tree ("" when HEAD is detached).`,
		[]string{"cwd"}, func(ctx context.Context, env *api.Env, a *pullArgs) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			return Runner{Dir: a.Cwd, User: a.User}.CurrentBranch(ctx), nil
		}))
}
