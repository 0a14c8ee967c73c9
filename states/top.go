package states

import (
	"context"
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states/render"
	"github.com/brine-cm/brine/target"
)

// TopFile is the name of the top file in every environment's root.
const TopFile = "top.sls"

// Top reads top.sls for the engine's saltenv and returns the SLS names that
// match this minion, in the order the top file lists them (duplicates
// dropped). Targets are matched as Salt does: glob on the ID by default, or
// the `- match: grain|pcre|list|compound|...` entry of a target.
func (e *Engine) Top(ctx context.Context) (map[string][]string, error) {
	env := e.env()
	if env.Files == nil {
		return nil, errors.New("no file_roots configured: cannot read top.sls")
	}
	src, err := env.Files.Read(ctx, env.Saltenv, TopFile)
	if errors.Is(err, api.ErrFileNotFound) {
		return nil, &CompileError{Errors: []string{"No Top file or master_tops data matches found. Please see master log for details."}}
	}
	if err != nil {
		return nil, fmt.Errorf("read top file: %w", err)
	}
	doc, err := render.SLS(ctx, src, render.Context{Env: env, Path: TopFile})
	if err != nil {
		return nil, &CompileError{Errors: []string{fmt.Sprintf("Rendering top file failed: %s", renderMessage(err, TopFile))}}
	}
	return matchTop(doc, env)
}

func matchTop(doc *yaml.Node, env *api.Env) (map[string][]string, error) {
	out := map[string][]string{}
	if doc == nil {
		return out, nil
	}
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	bad := func(n *yaml.Node, msg string) error {
		return &CompileError{Errors: []string{fmt.Sprintf("%s:%d: %s", TopFile, n.Line, msg)}}
	}
	if root.Kind != yaml.MappingNode {
		return nil, bad(root, "top file must map environments to targets")
	}
	minion := target.Minion{ID: env.ID, Grains: env.Grains, Pillar: env.Pillar}
	nodegroups := nodegroupsOf(env.Opts)
	for i := 0; i+1 < len(root.Content); i += 2 {
		envName, targets := root.Content[i].Value, root.Content[i+1]
		if targets.Kind != yaml.MappingNode {
			return nil, bad(targets, fmt.Sprintf("environment '%s' must map targets to SLS lists", envName))
		}
		seen := map[string]bool{}
		for j := 0; j+1 < len(targets.Content); j += 2 {
			expr, list := targets.Content[j].Value, targets.Content[j+1]
			if list.Kind != yaml.SequenceNode {
				return nil, bad(list, fmt.Sprintf("target '%s' must have a list of SLS names", expr))
			}
			kind := "compound" // Salt matches top file targets as compound expressions by default
			var names []string
			for _, item := range list.Content {
				switch item.Kind {
				case yaml.ScalarNode:
					names = append(names, item.Value)
				case yaml.MappingNode:
					for k := 0; k+1 < len(item.Content); k += 2 {
						if item.Content[k].Value == "match" {
							kind = item.Content[k+1].Value
						}
					}
				}
			}
			k, err := target.ParseKind(kind)
			if err != nil {
				return nil, bad(list, fmt.Sprintf("target '%s': %v", expr, err))
			}
			ok, err := target.Match(k, expr, minion, nodegroups)
			if err != nil {
				return nil, bad(targets.Content[j], fmt.Sprintf("target '%s': %v", expr, err))
			}
			if !ok {
				continue
			}
			for _, n := range names {
				if !seen[n] {
					seen[n] = true
					out[envName] = append(out[envName], n)
				}
			}
		}
	}
	return out, nil
}

func nodegroupsOf(opts map[string]any) map[string]string {
	out := map[string]string{}
	if m, ok := opts["nodegroups"].(map[string]any); ok {
		for k, v := range m {
			if s, ok := v.(string); ok {
				out[k] = s
			}
		}
	}
	return out
}
