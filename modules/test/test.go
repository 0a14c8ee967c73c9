// Package test provides Salt's test.* execution functions: test.ping to see
// which minions answer, test.echo, test.arg and test.sleep to try out
// argument passing and timeouts, test.version and test.versions_report.
package test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"strings"
	"time"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/version"
)

type echoArgs struct {
	Text string
}

type sleepArgs struct {
	// Length is in seconds; fractions are allowed.
	Length float64
}

type exceptionArgs struct {
	Message *string
}

type noArgs struct{}

func init() {
	modules.Register(modules.Typed("test.ping",
		`Return True. Used to see which minions answer: brine '*' test.ping`,
		nil, func(context.Context, *api.Env, *noArgs) (any, error) { return true, nil }))
	modules.Register(modules.Typed("test.true",
		`Return True.`,
		nil, func(context.Context, *api.Env, *noArgs) (any, error) { return true, nil }))
	modules.Register(modules.Typed("test.false",
		`Return False.`,
		nil, func(context.Context, *api.Env, *noArgs) (any, error) { return false, nil }))
	modules.Register(modules.Typed("test.echo",
		`Return the text given: brine call test.echo 'hello'`,
		[]string{"text"}, func(_ context.Context, _ *api.Env, a *echoArgs) (any, error) { return a.Text, nil }))
	modules.Register(modules.Typed("test.version",
		`Return the version of brine on the minion.`,
		nil, func(context.Context, *api.Env, *noArgs) (any, error) { return version.Version, nil }))
	modules.Register(modules.Typed("test.versions_information",
		`Return brine's, Go's and the system's versions as a mapping.`,
		nil, func(context.Context, *api.Env, *noArgs) (any, error) { return versions(), nil }))
	modules.Register(modules.Typed("test.versions_report",
		`Return brine's, Go's and the system's versions as readable text.`,
		nil, func(context.Context, *api.Env, *noArgs) (any, error) { return versionsReport(), nil }))
	modules.Register(modules.Typed("test.sleep",
		`Sleep for length seconds, then return True. The job's deadline or
cancellation ends the sleep early with an error.`,
		[]string{"length"}, func(ctx context.Context, _ *api.Env, a *sleepArgs) (any, error) {
			if a.Length < 0 {
				return nil, fmt.Errorf("length must not be negative, got %v", a.Length)
			}
			t := time.NewTimer(time.Duration(a.Length * float64(time.Second)))
			defer t.Stop()
			select {
			case <-t.C:
				return true, nil
			case <-ctx.Done():
				return nil, fmt.Errorf("sleep interrupted: %w", ctx.Err())
			}
		}))
	modules.Register(modules.Typed("test.exception",
		`Fail with the given message (default "Test Exception"), to see how errors are reported.`,
		[]string{"message"}, func(_ context.Context, _ *api.Env, a *exceptionArgs) (any, error) {
			msg := "Test Exception"
			if a.Message != nil {
				msg = *a.Message
			}
			return nil, errors.New(msg)
		}))
	modules.Register(modules.Func{
		Name: "test.arg",
		Doc: `Return the arguments as received: {"args": [...], "kwargs": {...}}.
Shows how the command line or an SLS call was parsed.`,
		Run: func(_ context.Context, _ *api.Env, args []any, kwargs map[string]any) (any, error) {
			if args == nil {
				args = []any{}
			}
			return map[string]any{"args": args, "kwargs": maps.Clone(kwargs)}, nil
		},
	})
	modules.Register(modules.Func{
		Name: "test.kwarg",
		Doc:  `Return the keyword arguments as received.`,
		Run: func(_ context.Context, _ *api.Env, args []any, kwargs map[string]any) (any, error) {
			if len(args) > 0 {
				return nil, errors.New("test.kwarg takes keyword arguments only")
			}
			return maps.Clone(kwargs), nil
		},
	})
	modules.Register(modules.Func{
		Name:   "test.outputter",
		Doc:    `Return data as given, to try out an outputter.`,
		Params: []string{"data"},
		Run: func(_ context.Context, _ *api.Env, args []any, kwargs map[string]any) (any, error) {
			m, err := modules.Bind("test.outputter", []string{"data"}, args, kwargs)
			if err != nil {
				return nil, err
			}
			for k := range m {
				if k != "data" {
					return nil, fmt.Errorf("test.outputter: unknown argument '%s'", k)
				}
			}
			return m["data"], nil
		},
	})
	modules.Register(modules.Typed("test.get_opts",
		`Return the minion configuration as modules and templates see it.`,
		nil, func(_ context.Context, env *api.Env, _ *noArgs) (any, error) {
			if env == nil || env.Opts == nil {
				return map[string]any{}, nil
			}
			return env.Opts, nil
		}))
}

func versions() map[string]any {
	return map[string]any{
		"Brine Version": map[string]any{"brine": version.Version},
		"Go Version":    map[string]any{"go": runtime.Version()},
		"System Versions": map[string]any{
			"os":   runtime.GOOS,
			"arch": runtime.GOARCH,
		},
	}
}

func versionsReport() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Brine Version:\n          brine: %s\n\n", version.Version)
	fmt.Fprintf(&b, "Go Version:\n             go: %s\n\n", runtime.Version())
	fmt.Fprintf(&b, "System Versions:\n             os: %s\n           arch: %s", runtime.GOOS, runtime.GOARCH)
	return b.String()
}
