// Package test provides Salt's test.* states: states that succeed, fail or
// pretend to change on demand, for trying out requisites, output and
// failhard without touching the host. They accept extra arguments the way
// Salt's do (most take **kwargs), so SLS files written for Salt load as is.
package test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states"
)

// fakeChange is the changes dictionary the test states pretend to make.
func fakeChange() map[string]any {
	return map[string]any{
		"testing": map[string]any{"old": "Unchanged", "new": "Something pretended to change"},
	}
}

func init() {
	register := func(name, doc string, args []string, apply func(ctx context.Context, req *states.Request) api.Result, validate func(map[string]any) error) {
		states.RegisterFunc(states.Func{
			Name:     name,
			Doc:      doc,
			Args:     args,
			Validate: validate,
			Apply:    apply,
			ModWatch: modWatch,
		})
	}
	register("test.nop",
		"Do nothing and succeed. Accepts and ignores any argument; useful with the use requisite or to keep a rendered SLS from being empty.",
		nil, func(_ context.Context, req *states.Request) api.Result {
			return api.Succeeded("Success!", nil)
		}, nil)
	register("test.succeed_without_changes",
		"Succeed without changes. comment replaces the default \"Success!\".",
		[]string{"comment"}, func(_ context.Context, req *states.Request) api.Result {
			return api.Succeeded(comment(req.Args, "Success!"), nil)
		}, nil)
	register("test.fail_without_changes",
		"Fail without changes (also in test mode). comment replaces the default \"Failure!\".",
		[]string{"comment"}, func(_ context.Context, req *states.Request) api.Result {
			if req.Test {
				return api.Failed("If we weren't testing, this would be a failure!")
			}
			return api.Failed(comment(req.Args, "Failure!"))
		}, nil)
	register("test.succeed_with_changes",
		"Succeed and report a pretend change (None in test mode). comment replaces the default \"Success!\".",
		[]string{"comment"}, func(_ context.Context, req *states.Request) api.Result {
			if req.Test {
				return api.Pending("If we weren't testing, this would be successful with changes", fakeChange())
			}
			return api.Succeeded(comment(req.Args, "Success!"), fakeChange())
		}, nil)
	register("test.fail_with_changes",
		"Fail and report a pretend change (None in test mode). comment replaces the default \"Failure!\".",
		[]string{"comment"}, func(_ context.Context, req *states.Request) api.Result {
			if req.Test {
				return api.Pending("If we weren't testing, this would be failed with changes", fakeChange())
			}
			return api.FailedWith(comment(req.Args, "Failure!"), fakeChange())
		}, nil)
	register("test.configurable_test_state",
		`Return exactly what you ask for.

changes: True (default), False or 'Random'; result: True (default), False or
'Random'; comment: the comment (default empty); warnings: a string or a list
of strings. In test mode the result is True when changes is False and None
otherwise, and an empty comment becomes "This is a test".`,
		[]string{"changes", "comment", "result", "warnings"}, configurable, onlyArgs("changes", "comment", "result", "warnings"))
	register("test.show_notification",
		"Succeed without changes, with text as the comment: a message in the state output.",
		[]string{"text"}, func(_ context.Context, req *states.Request) api.Result {
			text, _ := api.ScalarString(req.Args["text"])
			if text == "" {
				return exception("Missing required argument text.")
			}
			return api.Succeeded(text, nil)
		}, nil)
}

// comment returns the comment argument, or def when it is not given.
func comment(args map[string]any, def string) string {
	v, ok := args["comment"]
	if !ok {
		return def
	}
	if s, ok := api.ScalarString(v); ok {
		return s
	}
	return fmt.Sprint(v)
}

// exception is how Salt reports a state function that raised.
func exception(msg string) api.Result {
	return api.Failed("An exception occurred in this state: " + msg)
}

// onlyArgs is a validator for the test states whose Salt signature has no
// **kwargs.
func onlyArgs(names ...string) func(map[string]any) error {
	return func(args map[string]any) error {
		for k := range args {
			if !slices.Contains(names, k) {
				return &api.ArgError{Msg: fmt.Sprintf("unknown argument '%s'", k)}
			}
		}
		return nil
	}
}

// tristate reads True, False or 'Random'. YAML 1.1 spellings of booleans
// (yes/no/on/off) count as booleans, since Salt's YAML loader reads them so;
// anything else (notably "None") is invalid.
func tristate(v any) (val bool, random bool, ok bool) {
	switch x := v.(type) {
	case bool:
		return x, false, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "random":
			return false, true, true
		case "true", "yes", "on":
			return true, false, true
		case "false", "no", "off":
			return false, false, true
		}
	}
	return false, false, false
}

func configurable(_ context.Context, req *states.Request) api.Result {
	r := api.Result{Result: api.Tri(false), Comment: comment(req.Args, ""), Changes: map[string]any{}}

	changesFalse := false
	if v, given := req.Args["changes"]; !given {
		r.Changes = fakeChange()
	} else {
		val, random, ok := tristate(v)
		switch {
		case !ok:
			return exception("You have specified the state option 'changes' with invalid arguments. It must be either True, False, or 'Random'")
		case random:
			if rand.IntN(2) == 0 {
				r.Changes = fakeChange()
			}
		case val:
			r.Changes = fakeChange()
		default:
			changesFalse = true
		}
	}

	if v, given := req.Args["result"]; !given {
		r.Result = api.Tri(true)
	} else {
		val, random, ok := tristate(v)
		switch {
		case !ok:
			return exception("You have specified the state option 'result' with invalid arguments. It must be either True, False, or 'Random'")
		case random:
			r.Result = api.Tri(rand.IntN(2) == 0)
		default:
			r.Result = api.Tri(val)
		}
	}

	switch w := req.Args["warnings"].(type) {
	case nil:
	case string:
		r.Warnings = []string{w}
	case []any:
		for _, it := range w {
			s, ok := api.ScalarString(it)
			if !ok {
				s = fmt.Sprint(it)
			}
			r.Warnings = append(r.Warnings, s)
		}
	default:
		return exception("You have specified the state option 'warnings' with invalid arguments. It must be a string or a list of strings")
	}

	if req.Test {
		if changesFalse {
			r.Result = api.Tri(true)
		} else {
			r.Result = nil
		}
		if r.Comment == "" {
			r.Comment = "This is a test"
		}
	}
	return r
}

// modWatch is test.mod_watch, shared by every test.* state: "Watch
// statement fired." with the watched states that changed, listed as
// "<module>: <id>". A state's own result, comment or changes arguments
// override those, as in Salt.
func modWatch(_ context.Context, req *states.Request) api.Result {
	fired := []any{}
	tags := make([]string, 0, len(req.Changes))
	for tag := range req.Changes {
		tags = append(tags, tag)
	}
	slices.Sort(tags)
	for _, tag := range tags {
		if len(req.Changes[tag]) == 0 {
			continue
		}
		parts := strings.SplitN(tag, "_|-", 4)
		if len(parts) < 2 {
			continue
		}
		fired = append(fired, parts[0]+": "+parts[1])
	}
	r := api.Result{
		Result:  api.Tri(true),
		Comment: comment(req.Args, "Watch statement fired."),
		Changes: map[string]any{"Requisites with changes": fired},
	}
	if b, ok := req.Args["result"].(bool); ok {
		r.Result = api.Tri(b)
	}
	if c, ok := req.Args["changes"].(map[string]any); ok {
		r.Changes = c
	}
	return r
}
