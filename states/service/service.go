// Package service provides the service.* states: service.running,
// service.dead, service.enabled and service.disabled, with Salt's
// mod_watch: a running service whose watched state changed is restarted
// (or reloaded with `reload: True`), a stopped one is started. The init
// system work (systemctl, or /etc/init.d and update-rc.d where systemd is
// not running) is modules/service's, shared with service.* functions.
package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/brine-cm/brine/api"
	svc "github.com/brine-cm/brine/modules/service"
	"github.com/brine-cm/brine/states"
)

// args are the arguments of every service state. reload and full_restart
// matter only to mod_watch, as in Salt.
type args struct {
	// Enable also makes the service start (True) or not start (False) at
	// boot; unset leaves boot behaviour alone.
	Enable *bool
	// Sig is a string in the service's command line, to tell whether it
	// runs when the init script cannot.
	Sig string
	// InitDelay waits this many seconds after starting before checking
	// that the service still runs.
	InitDelay float64 `arg:"init_delay"`
	// Reload makes mod_watch reload instead of restart.
	Reload bool
	// FullRestart makes mod_watch stop and start instead of restart.
	FullRestart bool `arg:"full_restart"`
}

type bootArgs struct {
	Sig string
}

func init() {
	states.Register(states.Def[args]{
		Name: "service.running",
		Doc: `Make sure a service is running (and, with enable, starts at boot). When a
watched state changes, the service is restarted, or reloaded with
reload: True, or stopped and started with full_restart: True.

    nginx:
      service.running:
        - enable: True
        - reload: True
        - watch:
          - file: /etc/nginx/nginx.conf

Arguments: enable, reload, full_restart, init_delay (seconds to wait after
starting before checking), sig (a string in the process's command line
that tells it runs). Changes: {name: True}.`,
		Apply:    running,
		ModWatch: watchRunning,
	})
	states.Register(states.Def[args]{
		Name: "service.dead",
		Doc: `Make sure a service is stopped (and, with enable: False, does not start at
boot). A service that does not exist counts as dead. Arguments: enable,
sig, init_delay.`,
		Apply:    dead,
		ModWatch: watchDead,
	})
	states.Register(states.Def[bootArgs]{
		Name:  "service.enabled",
		Doc:   `Make sure a service starts at boot, without starting or stopping it now.`,
		Apply: func(ctx context.Context, req *states.Request, a *bootArgs) api.Result { return boot(ctx, req, true) },
		ModWatch: func(context.Context, *states.Request, *bootArgs) api.Result {
			return api.Failed("Unable to trigger watch for service.enabled")
		},
	})
	states.Register(states.Def[bootArgs]{
		Name:  "service.disabled",
		Doc:   `Make sure a service does not start at boot, without stopping it now.`,
		Apply: func(ctx context.Context, req *states.Request, a *bootArgs) api.Result { return boot(ctx, req, false) },
		ModWatch: func(context.Context, *states.Request, *bootArgs) api.Result {
			return api.Failed("Unable to trigger watch for service.disabled")
		},
	})
}

// describe is "running" or "dead", as Salt's enable comments say it.
func describe(on bool) string {
	if on {
		return "running"
	}
	return "dead"
}

func running(ctx context.Context, req *states.Request, a *args) api.Result {
	name := req.Name
	b, stop := backend(ctx, req, func(err error) api.Result {
		if err == nil && req.Test {
			// A package installed earlier in this run may bring it.
			return api.Pending(fmt.Sprintf("Service %s not present; if created in this state run, it would have been started", name), map[string]any{name: true})
		}
		return unavailable(name, err)
	})
	if stop != nil {
		return *stop
	}
	up, err := svc.Running(ctx, b, name, a.Sig)
	if err != nil {
		return api.Failed(err.Error())
	}
	changes := map[string]any{}
	var comments []string
	switch {
	case up:
		comments = append(comments, fmt.Sprintf("The service %s is already running", name))
	case req.Test:
		comments = append(comments, fmt.Sprintf("Service %s is set to start", name))
		changes[name] = true
	default:
		if err := b.Start(ctx, name); err != nil {
			return api.Failed(fmt.Sprintf("Service %s failed to start: %v", name, err))
		}
		if !settle(ctx, a.InitDelay) {
			return api.Failed(fmt.Sprintf("Service %s failed to start: %v", name, ctx.Err()))
		}
		if up, err = svc.Running(ctx, b, name, a.Sig); err != nil || !up {
			return api.FailedWith(fmt.Sprintf("Service %s failed to start", name), map[string]any{name: false})
		}
		comments = append(comments, fmt.Sprintf("Started service %s", name))
		changes[name] = true
		up = true
	}
	return withBoot(ctx, req, b, a.Enable, up || req.Test, comments, changes)
}

func dead(ctx context.Context, req *states.Request, a *args) api.Result {
	name := req.Name
	b, stop := backend(ctx, req, func(err error) api.Result {
		if err != nil {
			return api.Failed(err.Error())
		}
		// Salt: a service that does not exist is as dead as can be.
		return api.Succeeded(fmt.Sprintf("The named service %s is not available", name), nil)
	})
	if stop != nil {
		return *stop
	}
	up, err := svc.Running(ctx, b, name, a.Sig)
	if err != nil {
		return api.Failed(err.Error())
	}
	changes := map[string]any{}
	var comments []string
	switch {
	case !up:
		comments = append(comments, fmt.Sprintf("The service %s is already dead", name))
	case req.Test:
		comments = append(comments, fmt.Sprintf("Service %s is set to be killed", name))
		changes[name] = true
	default:
		if err := b.Stop(ctx, name); err != nil {
			return api.Failed(fmt.Sprintf("Service %s failed to die: %v", name, err))
		}
		if !settle(ctx, a.InitDelay) {
			return api.Failed(fmt.Sprintf("Service %s failed to die: %v", name, ctx.Err()))
		}
		if up, err = svc.Running(ctx, b, name, a.Sig); err != nil || up {
			return api.FailedWith(fmt.Sprintf("Service %s failed to die", name), map[string]any{name: false})
		}
		comments = append(comments, fmt.Sprintf("Service %s was killed", name))
		changes[name] = true
	}
	return withBoot(ctx, req, b, a.Enable, false, comments, changes)
}

// withBoot applies the optional enable argument after running/dead and
// assembles the result.
func withBoot(ctx context.Context, req *states.Request, b svc.Backend, enable *bool, up bool, comments []string, changes map[string]any) api.Result {
	if enable != nil {
		comment, changed, err := setBoot(ctx, req, b, *enable, up)
		if err != nil {
			return api.FailedWith(strings.Join(append(comments, err.Error()), "\n"), changes)
		}
		comments = append(comments, comment)
		if changed {
			changes[req.Name] = true
		}
	}
	comment := strings.Join(comments, "\n")
	if req.Test && len(changes) > 0 {
		return api.Pending(comment, changes)
	}
	return api.Succeeded(comment, changes)
}

// setBoot makes the boot setting what on says, returning Salt's comment.
func setBoot(ctx context.Context, req *states.Request, b svc.Backend, on, up bool) (string, bool, error) {
	name := req.Name
	verb := "enabled"
	if !on {
		verb = "disabled"
	}
	cur, err := b.Enabled(ctx, name)
	if err != nil {
		return "", false, err
	}
	if cur == on {
		return fmt.Sprintf("Service %s is already %s, and is %s", name, verb, describe(up)), false, nil
	}
	if req.Test {
		return fmt.Sprintf("Service %s set to be %s", name, verb), true, nil
	}
	do := b.Enable
	if !on {
		do = b.Disable
	}
	if err := do(ctx, name); err != nil {
		return "", false, fmt.Errorf("Failed when setting service %s to be %s: %w", name, verb, err)
	}
	return fmt.Sprintf("Service %s has been %s, and is %s", name, verb, describe(up)), true, nil
}

// backend finds the init system and asks it whether req.Name exists;
// missing answers for a service it does not have (err is the lookup's own
// failure, nil when the service is simply not there). A non-nil result
// means the state is decided.
func backend(ctx context.Context, req *states.Request, missing func(err error) api.Result) (svc.Backend, *api.Result) {
	b, err := svc.For(req.Env)
	if err != nil {
		res := api.Failed(err.Error())
		return nil, &res
	}
	if ok, err := b.Available(ctx, req.Name); err != nil || !ok {
		res := missing(err)
		return nil, &res
	}
	return b, nil
}

// boot is service.enabled and service.disabled.
func boot(ctx context.Context, req *states.Request, on bool) api.Result {
	name := req.Name
	b, stop := backend(ctx, req, func(err error) api.Result {
		switch {
		case err == nil && !on:
			return api.Succeeded(fmt.Sprintf("The named service %s is not available", name), nil)
		case err == nil && req.Test:
			return api.Pending(fmt.Sprintf("Service %s not present; if created in this state run, it would have been enabled", name), map[string]any{name: true})
		}
		return unavailable(name, err)
	})
	if stop != nil {
		return *stop
	}
	up, err := b.Status(ctx, name)
	if err != nil {
		return api.Failed(err.Error())
	}
	comment, changed, err := setBoot(ctx, req, b, on, up)
	if err != nil {
		return api.Failed(err.Error())
	}
	if !changed {
		return api.Succeeded(comment, nil)
	}
	if req.Test {
		return api.Pending(comment, map[string]any{name: true})
	}
	return api.Succeeded(comment, map[string]any{name: true})
}

func unavailable(name string, err error) api.Result {
	if err != nil {
		return api.Failed(err.Error())
	}
	return api.Failed(fmt.Sprintf("The named service %s is not available", name))
}

// settle waits init_delay seconds, or less if ctx ends (false then).
func settle(ctx context.Context, seconds float64) bool {
	if seconds <= 0 {
		return true
	}
	t := time.NewTimer(time.Duration(seconds * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// watchRunning is service.running's mod_watch: restart (or reload, or stop
// and start) a running service, start a stopped one.
func watchRunning(ctx context.Context, req *states.Request, a *args) api.Result {
	name := req.Name
	b, stop := backend(ctx, req, func(err error) api.Result {
		if err == nil && req.Test {
			return api.Pending(fmt.Sprintf("Service %s not present; if created in this state run, it would have been started", name), map[string]any{name: true})
		}
		return unavailable(name, err)
	})
	if stop != nil {
		return *stop
	}
	up, err := svc.Running(ctx, b, name, a.Sig)
	if err != nil {
		return api.Failed(err.Error())
	}
	verb, done := "start", "started"
	action := b.Start
	switch {
	case !up:
	case a.Reload:
		verb, done, action = "reload", "reloaded", b.Reload
	case a.FullRestart:
		verb, done = "full-restart", "full-restarted"
		action = func(ctx context.Context, n string) error {
			if err := b.Stop(ctx, n); err != nil {
				return err
			}
			return b.Start(ctx, n)
		}
	default:
		verb, done, action = "restart", "restarted", b.Restart
	}
	if req.Test {
		return api.Pending("Service is set to be "+done, map[string]any{name: true})
	}
	if err := action(ctx, name); err != nil {
		return api.FailedWith(fmt.Sprintf("Failed to %s the service: %v", verb, err), map[string]any{name: false})
	}
	if !settle(ctx, a.InitDelay) {
		return api.Failed(ctx.Err().Error())
	}
	if up, err := svc.Running(ctx, b, name, a.Sig); err != nil || !up {
		return api.FailedWith(fmt.Sprintf("Service %s is not running after the %s", name, verb), map[string]any{name: false})
	}
	return api.Succeeded("Service "+done, map[string]any{name: true})
}

// watchDead is service.dead's mod_watch: stop the service if it runs.
func watchDead(ctx context.Context, req *states.Request, a *args) api.Result {
	name := req.Name
	b, stop := backend(ctx, req, func(err error) api.Result {
		if err != nil {
			return api.Failed(err.Error())
		}
		return api.Succeeded(fmt.Sprintf("The named service %s is not available", name), nil)
	})
	if stop != nil {
		return *stop
	}
	up, err := svc.Running(ctx, b, name, a.Sig)
	if err != nil {
		return api.Failed(err.Error())
	}
	if !up {
		return api.Succeeded("Service is already stopped", nil)
	}
	if req.Test {
		return api.Pending("Service is set to be stopped", map[string]any{name: true})
	}
	if err := b.Stop(ctx, name); err != nil {
		return api.FailedWith(fmt.Sprintf("Failed to stop the service: %v", err), map[string]any{name: false})
	}
	return api.Succeeded("Service stopped", map[string]any{name: true})
}
