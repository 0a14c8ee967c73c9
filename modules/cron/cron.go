package cron

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/internal/platform"
)

// Check fails on hosts that are not Debian-family.
func Check(env *api.Env) error { return platform.RequireDebian(env, "cron") }

// userArgs adds -u USER unless the crontab is brine's own user's (crontab
// refuses -u to unprivileged callers, even for themselves).
func userArgs(name string) ([]string, error) {
	if name == "" || strings.HasPrefix(name, "-") || strings.ContainsAny(name, " \t\n/") {
		return nil, fmt.Errorf("%q is not a valid user name", name)
	}
	if me, err := user.Current(); err == nil && me.Username == name {
		return nil, nil
	}
	return []string{"-u", name}, nil
}

// Raw returns the user's crontab text ("" when the user has none).
func Raw(ctx context.Context, name string) (string, error) {
	u, err := userArgs(name)
	if err != nil {
		return "", err
	}
	res, err := platform.RunResult(ctx, append(append([]string{"crontab"}, u...), "-l"), platform.Options{})
	var te *platform.ToolError
	if errors.As(err, &te) && strings.Contains(te.Stderr, "no crontab for") {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return res.Stdout + "\n", nil
}

// Read parses the user's crontab.
func Read(ctx context.Context, name string) (Tab, error) {
	raw, err := Raw(ctx, name)
	if err != nil {
		return Tab{}, err
	}
	return Parse(raw), nil
}

// Write installs t as the user's crontab (crontab validates it first and
// leaves the old one in place when it refuses).
func Write(ctx context.Context, name string, t Tab) error {
	u, err := userArgs(name)
	if err != nil {
		return err
	}
	text := t.Render()
	_, err = platform.Run(ctx, append(append([]string{"crontab"}, u...), "-"), platform.Options{Stdin: &text})
	return err
}
