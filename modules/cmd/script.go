package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path"
	"strconv"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states/render"
)

// ErrScriptCache is returned when a script's source cannot be fetched.
var ErrScriptCache = errors.New("unable to cache script")

// Script is a script to copy to a temporary file and run (cmd.script).
type Script struct {
	// Source is salt://path (fetched through the environment's file
	// client) or an absolute local path.
	Source string
	// Args is appended to the command line and parsed by the shell, so
	// `one "two words"` gives the script two arguments.
	Args string
	// Template is "" or "jinja": render the script before running it.
	Template string
	// Vars are extra template variables (Salt's defaults merged with
	// context).
	Vars map[string]any
	// Saltenv is the file server environment; env.Saltenv (or "base")
	// when empty.
	Saltenv string
}

// RunScript fetches sc.Source, renders it if asked, writes it to a private
// temporary file (mode 0700, owned by spec.Runas when set), runs it through
// the shell with sc.Args and removes it. spec.Command is ignored.
func RunScript(ctx context.Context, env *api.Env, sc Script, spec Spec) (*Result, error) {
	saltenv := sc.Saltenv
	if saltenv == "" && env != nil {
		saltenv = env.Saltenv
	}
	if saltenv == "" {
		saltenv = "base"
	}
	body, err := readSource(ctx, env, sc.Source, saltenv)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(sc.Template) {
	case "":
	case "jinja":
		out, err := render.Jinja(ctx, body, render.Context{
			Env:  env,
			Path: strings.TrimPrefix(sc.Source, "salt://"),
			Vars: sc.Vars,
		})
		if err != nil {
			return nil, fmt.Errorf("render %s: %w", sc.Source, err)
		}
		body = []byte(out)
	default:
		return nil, fmt.Errorf("unsupported template '%s' (brine renders jinja)", sc.Template)
	}

	ext := path.Ext(strings.TrimPrefix(sc.Source, "salt://"))
	f, err := os.CreateTemp("", "brine-script-*"+ext)
	if err != nil {
		return nil, fmt.Errorf("script temp file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, werr := f.Write(body)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return nil, fmt.Errorf("write script %s: %w", tmp, err)
	}
	if err := os.Chmod(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("chmod script %s: %w", tmp, err)
	}
	if spec.Runas != "" && os.Getuid() == 0 {
		if u, err := user.Lookup(spec.Runas); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			if err := os.Chown(tmp, uid, gid); err != nil {
				return nil, fmt.Errorf("chown script %s: %w", tmp, err)
			}
		}
	}
	spec.Argv = nil
	spec.Command = ShellQuote(tmp)
	if strings.TrimSpace(sc.Args) != "" {
		spec.Command += " " + sc.Args
	}
	return Run(ctx, spec)
}

func readSource(ctx context.Context, env *api.Env, source, saltenv string) ([]byte, error) {
	switch {
	case strings.HasPrefix(source, "salt://"):
		rel := strings.TrimPrefix(source, "salt://")
		if env == nil || env.Files == nil {
			return nil, fmt.Errorf("%w %s from saltenv '%s': no file server configured", ErrScriptCache, source, saltenv)
		}
		local, err := env.Files.Cache(ctx, saltenv, rel)
		if err != nil {
			return nil, fmt.Errorf("%w %s from saltenv '%s': %w", ErrScriptCache, source, saltenv, err)
		}
		body, err := os.ReadFile(local)
		if err != nil {
			return nil, fmt.Errorf("%w %s from saltenv '%s': %w", ErrScriptCache, source, saltenv, err)
		}
		return body, nil
	case strings.HasPrefix(source, "/"):
		body, err := os.ReadFile(source)
		if err != nil {
			return nil, fmt.Errorf("%w %s: %w", ErrScriptCache, source, err)
		}
		return body, nil
	case strings.Contains(source, "://"):
		return nil, fmt.Errorf("%w %s: only salt:// and local paths are supported", ErrScriptCache, source)
	default:
		return nil, fmt.Errorf("%w '%s': source must be salt://... or an absolute path", ErrScriptCache, source)
	}
}

// ShellQuote quotes s for /bin/sh.
func ShellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./-_", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}
