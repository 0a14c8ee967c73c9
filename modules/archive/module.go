package archive

import (
	"context"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/internal/platform"
	"github.com/brine-cm/brine/modules"
)

type listArgs struct {
	Name          string
	ArchiveFormat string `arg:"archive_format"`
	SourceHash    string `arg:"source_hash"`
	// StripComponents drops that many leading path parts, as tar's
	// --strip-components would on extraction.
	StripComponents int `arg:"strip_components"`
}

func init() {
	modules.Register(modules.Typed("archive.list", `The members of a tar or zip archive (salt://, an absolute path or
http(s)://), in archive order; directories end with "/".

    brine call archive.list salt://app/app-1.2.tar.gz

Arguments: archive_format (tar or zip; default: from the file), source_hash
(checked before listing), strip_components.`, []string{"name", "archive_format"},
		func(ctx context.Context, env *api.Env, a *listArgs) (any, error) {
			if err := Check(env); err != nil {
				return nil, err
			}
			file, cleanup, err := platform.Fetch(ctx, env, a.Name)
			if err != nil {
				return nil, err
			}
			defer cleanup()
			if a.SourceHash != "" {
				sum, err := ReadSum(ctx, env, a.SourceHash, a.Name)
				if err != nil {
					return nil, err
				}
				if err := sum.Verify(file, a.Name); err != nil {
					return nil, err
				}
			}
			format, err := DetectFormat(file, a.ArchiveFormat)
			if err != nil {
				return nil, err
			}
			members, err := Members(ctx, file, format)
			if err != nil {
				return nil, err
			}
			out := []string{}
			for _, m := range members {
				if a.StripComponents > 0 {
					parts := strings.SplitN(m, "/", a.StripComponents+1)
					if len(parts) <= a.StripComponents || parts[a.StripComponents] == "" {
						continue
					}
					m = parts[a.StripComponents]
				}
				out = append(out, m)
			}
			return out, nil
		}))
}
