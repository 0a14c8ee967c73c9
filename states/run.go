package states

import (
	"context"
	"fmt"
	"maps"
	"runtime/debug"
	"strings"
	"time"

	"github.com/brine-cm/brine/api"
	cmdmod "github.com/brine-cm/brine/modules/cmd"
)

// runner executes compiled chunks once, in order, honouring requisites.
type runner struct {
	e        *Engine
	env      *api.Env
	test     bool
	failhard bool
	chunks   []*Chunk
	done     map[*Chunk]*api.StateReturn
	active   map[*Chunk]bool
	runNum   int
	stopped  bool
	out      map[string]*api.StateReturn
}

func (e *Engine) run(ctx context.Context, chunks []*Chunk, test bool) *Run {
	env := e.env()
	fh, _ := api.Bool(env.Opts["failhard"])
	r := &runner{
		e: e, env: env, test: test, failhard: fh, chunks: chunks,
		done:   map[*Chunk]*api.StateReturn{},
		active: map[*Chunk]bool{},
		out:    map[string]*api.StateReturn{},
	}
	for _, c := range chunks {
		if r.stopped {
			break
		}
		r.call(ctx, c)
	}
	if !r.stopped {
		r.listeners(ctx)
	}
	return &Run{Returns: r.out}
}

// call runs c after its requisites, unless it already ran.
func (r *runner) call(ctx context.Context, c *Chunk) *api.StateReturn {
	if ret, ok := r.done[c]; ok {
		return ret
	}
	if r.active[c] {
		// Unreachable after cycle detection; refuse rather than recurse.
		return r.record(c, api.Failed("requisite recursion detected"), time.Now(), 0)
	}
	r.active[c] = true
	defer delete(r.active, c)
	for _, d := range c.deps {
		if d.Kind == "listen" {
			continue
		}
		for _, t := range d.Targets {
			if r.stopped {
				return nil
			}
			if t != c {
				r.call(ctx, t)
			}
		}
	}
	if ret, ok := r.done[c]; ok || r.stopped {
		return ret // ran as the target of its own prereq, or failhard stopped the run
	}
	if len(c.prerequired) > 0 {
		r.prereq(ctx, c)
		var failed []string
		for _, p := range c.prerequired {
			if ret, ok := r.done[p]; ok && !ret.OK() {
				failed = append(failed, p.label())
			}
		}
		if len(failed) > 0 {
			return r.record(c, api.Failed("One or more requisite failed: "+strings.Join(failed, ", ")), time.Now(), 0)
		}
	}
	start := time.Now()
	if res, skip := r.checkRequisites(c); skip {
		return r.record(c, res, start, 0)
	}
	if res, skip := r.guards(ctx, c); skip {
		return r.record(c, res, start, 0)
	}
	res := r.apply(ctx, c, false)
	extra := 0
	if r.watchFired(c) && len(res.Changes) == 0 && res.Result != nil && *res.Result {
		// Salt runs the state normally and, when that changed nothing, its
		// mod_watch; the first run still uses up a run number.
		extra = 1
		res = r.apply(ctx, c, true)
	}
	ret := r.record(c, res, start, extra)
	if !res.OK() && !r.test && (r.failhard || chunkFailhard(c)) {
		r.stopped = true
	}
	return ret
}

func chunkFailhard(c *Chunk) bool {
	b, _ := api.Bool(c.Keywords["failhard"])
	return b
}

// prereq handles the states that declared `prereq` on c: c is tried in test
// mode first, and they run only if it would change something.
func (r *runner) prereq(ctx context.Context, c *Chunk) {
	probe := r.applyWith(ctx, c, false, true)
	wouldChange := len(probe.Changes) > 0 && probe.OK()
	for _, p := range c.prerequired {
		if _, ran := r.done[p]; ran {
			continue
		}
		if !wouldChange {
			r.record(p, api.Succeeded("No changes detected", nil), time.Now(), 0)
			continue
		}
		// p's own requisites other than the prereq itself run first.
		for _, t := range edges(p) {
			if t != c && !r.active[t] {
				r.call(ctx, t)
			}
		}
		r.runPrereqd(ctx, p)
	}
}

// runPrereqd runs a state that declared prereq, once its target would change.
func (r *runner) runPrereqd(ctx context.Context, p *Chunk) {
	start := time.Now()
	if res, skip := r.checkRequisitesExcept(p, "prereq"); skip {
		r.record(p, res, start, 0)
		return
	}
	if res, skip := r.guards(ctx, p); skip {
		r.record(p, res, start, 0)
		return
	}
	r.record(p, r.apply(ctx, p, false), start, 0)
}

func (r *runner) checkRequisites(c *Chunk) (api.Result, bool) {
	return r.checkRequisitesExcept(c, "")
}

// checkRequisitesExcept decides whether c may run, following Salt's
// precedence: a failed requisite first, then unmet onfail, then unmet
// onchanges. It returns the result to record when c must not run.
func (r *runner) checkRequisitesExcept(c *Chunk, skipKind string) (api.Result, bool) {
	var failed []string
	onfailSeen, onfailMet := false, false
	onchangesSeen, onchangesMet := false, false
	for _, d := range c.deps {
		if d.Kind == skipKind || d.Kind == "listen" || d.Kind == "prereq" {
			continue
		}
		rets := r.returns(d.Targets)
		switch d.Kind {
		case "onfail", "onfail_any", "onfail_all":
			onfailSeen = true
			all := len(rets) > 0
			for _, ret := range rets {
				notTrue := ret.Result.Result == nil || !*ret.Result.Result
				if notTrue {
					onfailMet = onfailMet || d.Kind != "onfail_all"
				} else {
					all = false
				}
			}
			if d.Kind == "onfail_all" && all {
				onfailMet = true
			}
		case "require_any", "watch_any":
			anyOK := false
			for _, ret := range rets {
				if ret.OK() {
					anyOK = true
				}
			}
			if !anyOK {
				for _, t := range d.Targets {
					failed = append(failed, t.label())
				}
			}
		default:
			for i, ret := range rets {
				if !ret.OK() {
					failed = append(failed, d.Targets[i].label())
				}
				if strings.HasPrefix(d.Kind, "onchanges") {
					onchangesSeen = true
					if len(ret.Changes) > 0 {
						onchangesMet = true
					}
				}
			}
		}
	}
	switch {
	case len(failed) > 0:
		return api.Failed("One or more requisite failed: " + strings.Join(dedupe(failed), ", ")), true
	case onfailSeen && !onfailMet:
		return api.Succeeded("State was not run because onfail req did not change", nil), true
	case onchangesSeen && !onchangesMet:
		return api.Succeeded("State was not run because none of the onchanges reqs changed", nil), true
	}
	return api.Result{}, false
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	out := in[:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// returns collects the recorded returns of targets (absent ones skipped:
// a target that never ran because of failhard cannot be judged).
func (r *runner) returns(targets []*Chunk) []*api.StateReturn {
	out := make([]*api.StateReturn, 0, len(targets))
	for _, t := range targets {
		if ret, ok := r.done[t]; ok {
			out = append(out, ret)
		}
	}
	return out
}

func (r *runner) watchFired(c *Chunk) bool {
	for _, d := range c.deps {
		if d.Kind != "watch" && d.Kind != "watch_any" {
			continue
		}
		for _, ret := range r.returns(d.Targets) {
			if len(ret.Changes) > 0 {
				return true
			}
		}
	}
	return false
}

// guards evaluates the global onlyif / unless / creates keywords with the
// state's own cwd, runas, shell and env (Salt runs guards like the command).
func (r *runner) guards(ctx context.Context, c *Chunk) (api.Result, bool) {
	_, hasOnlyif := c.Keywords["onlyif"]
	_, hasUnless := c.Keywords["unless"]
	if hasOnlyif || hasUnless {
		args := c.Args
		if c.Module != "cmd" {
			args = map[string]any{"cwd": c.Args["cwd"], "runas": c.Args["runas"], "shell": c.Args["shell"]}
		}
		opts, err := cmdmod.GuardOptsFrom(args)
		if err != nil {
			return api.Failed(err.Error()), true
		}
		for _, kind := range []string{"onlyif", "unless"} {
			v, ok := c.Keywords[kind]
			if !ok {
				continue
			}
			skip, comment, err := cmdmod.Guard(ctx, r.env, kind, v, opts)
			if err != nil {
				return api.Failed(fmt.Sprintf("%s: %v", kind, err)), true
			}
			if skip {
				return api.Succeeded(comment, nil), true
			}
		}
	}
	if v, ok := c.Keywords["creates"]; ok {
		if skip, comment := cmdmod.Creates(v); skip {
			return api.Succeeded(comment, nil), true
		}
	}
	return api.Result{}, false
}

func (r *runner) apply(ctx context.Context, c *Chunk, modWatch bool) api.Result {
	return r.applyWith(ctx, c, modWatch, r.test)
}

// applyWith calls the module with a deadline, turning a panic into a failed
// state so that one broken module cannot end the run.
func (r *runner) applyWith(ctx context.Context, c *Chunk, modWatch, test bool) (res api.Result) {
	fn := c.Module + "." + c.Fun
	f, ok := Lookup(fn)
	if !ok {
		return api.Failed(fmt.Sprintf("State '%s' is not available", fn))
	}
	timeout := r.e.StateTimeout
	if timeout <= 0 {
		timeout = DefaultStateTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req := &Request{ID: c.ID, Name: c.Name, SLS: c.SLS, Args: maps.Clone(c.Args), Test: test, Env: r.env}
	call := f.Apply
	if modWatch {
		req.Changes = r.watchedChanges(c)
		if f.ModWatch != nil {
			call = f.ModWatch
		}
	}
	defer func() {
		if p := recover(); p != nil {
			r.env.Logger().Error("state function panicked", "state", fn, "id", c.ID, "panic", p, "stack", string(debug.Stack()))
			res = api.Failed(fmt.Sprintf("An exception occurred in state '%s' (ID '%s'): %v", fn, c.ID, p))
		}
	}()
	res = call(ctx, req)
	if ctx.Err() == context.DeadlineExceeded && res.OK() {
		res = api.Failed(fmt.Sprintf("state '%s' (ID '%s') did not finish within %s", fn, c.ID, timeout))
	}
	if res.Changes == nil {
		res.Changes = map[string]any{}
	}
	return res
}

func (r *runner) watchedChanges(c *Chunk) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, d := range c.deps {
		if d.Kind != "watch" && d.Kind != "watch_any" && d.Kind != "listen" {
			continue
		}
		for _, t := range d.Targets {
			if ret, ok := r.done[t]; ok && len(ret.Changes) > 0 {
				out[t.Tag()] = ret.Changes
			}
		}
	}
	return out
}

// listeners runs mod_watch at the end of the run for every state whose
// `listen` targets changed, under the ID `<id>_listener` as Salt does.
func (r *runner) listeners(ctx context.Context) {
	for _, c := range r.chunks {
		fired := false
		for _, d := range c.deps {
			if d.Kind != "listen" {
				continue
			}
			for _, ret := range r.returns(d.Targets) {
				if len(ret.Changes) > 0 {
					fired = true
				}
			}
		}
		if !fired {
			continue
		}
		start := time.Now()
		res := r.apply(ctx, c, true)
		lc := *c
		lc.ID = c.ID + "_listener"
		lc.Fun = "mod_watch"
		r.record(&lc, res, start, 0)
	}
}

// record stores a result under its tag with Salt's bookkeeping fields.
func (r *runner) record(c *Chunk, res api.Result, start time.Time, skip int) *api.StateReturn {
	r.runNum += skip
	ret := &api.StateReturn{
		Result:    res,
		Name:      c.Name,
		ID:        c.ID,
		SLS:       c.SLS,
		RunNum:    r.runNum,
		StartTime: start.Format("15:04:05.000000"),
		Duration:  float64(time.Since(start).Microseconds()) / 1000,
	}
	r.runNum++
	r.done[c] = ret
	r.out[c.Tag()] = ret
	return ret
}
