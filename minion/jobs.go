package minion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/bus"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/modules/saltutil"
	"github.com/brine-cm/brine/output"
	"github.com/brine-cm/brine/states"
	"github.com/brine-cm/brine/target"
)

// stateRuns are the functions Salt serialises on a minion: a second one
// waits (queue=True) or is refused while one runs.
var stateRuns = map[string]bool{
	"state.apply": true, "state.sls": true, "state.highstate": true, "state.single": true,
	"state.test": true, "state.top": true,
}

// noPillar lists modules known never to read pillar; their jobs skip the
// pillar round trip. Everything else gets a pillar.
var noPillar = map[string]bool{"test": true, "cmd": true, "grains": true, "file": true, "sys": true, "saltutil": true}

type runningJob struct {
	job   *bus.Job
	start time.Time
}

// onJob checks a job message and starts the job when it is for this minion.
func (a *Agent) onJob(msg *nats.Msg) {
	a.mu.Lock()
	v := a.verifier
	a.mu.Unlock()
	if v == nil {
		return
	}
	job, err := v.Verify(msg.Data)
	if err != nil {
		a.log.Warn("refused a job", "subject", msg.Subject, "error", err)
		return
	}
	ok, err := a.targeted(job)
	if err != nil {
		a.log.Warn("refused a job with a bad target", "jid", job.JID, "error", err)
		return
	}
	if !ok {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.runJob(a.ctx, job)
	}()
}

// targeted matches the job's target against this minion, as Salt's minion
// does for every published job.
func (a *Agent) targeted(job *bus.Job) (bool, error) {
	kind, err := target.ParseKind(job.Target.Kind)
	if err != nil {
		return false, err
	}
	expr, err := target.Compile(kind, job.Target.Expr, nil)
	if err != nil {
		return false, err
	}
	m := target.Minion{ID: a.id, Grains: a.grains}
	if strings.Contains(string(kind), "pillar") || strings.Contains(job.Target.Expr, "I@") || strings.Contains(job.Target.Expr, "J@") {
		p, err := a.currentPillar(context.Background(), false)
		if err != nil {
			return false, err
		}
		m.Pillar = p
	}
	return expr.Match(m), nil
}

// runJob runs one job and delivers its return.
func (a *Agent) runJob(ctx context.Context, job *bus.Job) {
	a.mu.Lock()
	a.running[job.JID] = &runningJob{job: job, start: time.Now()}
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.running, job.JID)
		a.mu.Unlock()
		a.idle()
	}()
	stop := a.heartbeat(job)
	ret := a.execute(ctx, job)
	stop()
	a.outbox.send(ctx, ret)
	a.announce(false)
}

// heartbeat reports the job as running every Heartbeat until stopped, so
// that the CLI keeps waiting for a long job past its --timeout.
func (a *Agent) heartbeat(job *bus.Job) func() {
	every := a.opts.Heartbeat
	if every <= 0 {
		every = 2 * time.Second
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		b, _ := json.Marshal(bus.JobEvent{JID: job.JID, Fun: job.Fun})
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = a.nc.Publish(bus.EventSubject(a.id, bus.OpHeartbeat), b)
			}
		}
	}()
	return func() { close(done) }
}

// execute runs the job's function and builds the return.
func (a *Agent) execute(ctx context.Context, job *bus.Job) *bus.Return {
	ret := &bus.Return{JID: job.JID, Fun: job.Fun}
	log := a.log.With("jid", job.JID, "fun", job.Fun)
	log.Info("running job", "target", job.Target.Expr)
	value, err := a.call(ctx, job)
	ret.Stamp = time.Now().UTC()
	var ce *states.CompileError
	switch {
	case errors.As(err, &ce):
		value, ret.Retcode, ret.Success = ce.Errors, 1, true
		ret.Out = "highstate"
	case err != nil:
		msg := err.Error()
		if !strings.HasPrefix(msg, job.Fun+":") && !strings.HasPrefix(msg, "'"+job.Fun+"'") {
			msg = job.Fun + ": " + msg
		}
		value, ret.Retcode, ret.Success = "ERROR: "+msg, 1, false
		ret.Out = "nested"
	default:
		ret.Success = true
		if run, ok := value.(*states.Run); ok && run != nil && run.Failed() {
			ret.Retcode = 2
		}
		ret.Out = output.DefaultFormat(value)
	}
	b, merr := json.Marshal(value)
	if merr != nil {
		b, _ = json.Marshal(fmt.Sprintf("ERROR: %s returned a value that cannot be sent: %v", job.Fun, merr))
		ret.Retcode, ret.Success, ret.Out = 1, false, "nested"
	}
	ret.Return = b
	log.Info("job done", "retcode", ret.Retcode)
	return ret
}

// call runs the function, with state runs serialised.
func (a *Agent) call(ctx context.Context, job *bus.Job) (any, error) {
	if _, ok := modules.Lookup(job.Fun); !ok {
		return nil, fmt.Errorf("'%s' is not available on this minion", job.Fun)
	}
	if stateRuns[job.Fun] {
		queue, _ := api.Bool(job.Kwargs["queue"])
		if queue {
			select {
			case a.stateLock <- struct{}{}:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		} else {
			select {
			case a.stateLock <- struct{}{}:
			default:
				return nil, &states.CompileError{Errors: []string{a.conflict()}}
			}
		}
		a.mu.Lock()
		a.stateHolder = job.JID
		a.mu.Unlock()
		defer func() {
			a.mu.Lock()
			a.stateHolder = ""
			a.mu.Unlock()
			<-a.stateLock
		}()
	}
	env, err := a.env(ctx, job)
	if err != nil {
		return nil, err
	}
	ctx = saltutil.WithAgent(ctx, a)
	return modules.Call(ctx, env, job.Fun, job.Args, maps.Clone(job.Kwargs))
}

// conflict is Salt's message for a state run refused because another runs.
func (a *Agent) conflict() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.running[a.stateHolder]
	if !ok {
		return "Another state run is in progress on this minion"
	}
	started := r.start
	if t, err := bus.JIDTime(a.stateHolder); err == nil {
		started = t.Local()
	}
	return fmt.Sprintf("The function %q is running as PID %d and was started at %s with jid %s",
		r.job.Fun, os.Getpid(), started.Format("2006, Jan 02 15:04:05.000000"), a.stateHolder)
}

// env is the host environment of one job: this minion's grains, the pillar
// from the master, salt:// over the bus.
func (a *Agent) env(ctx context.Context, job *bus.Job) (*api.Env, error) {
	mod, _, _ := strings.Cut(job.Fun, ".")
	opts := a.cfg.Opts()
	opts["file_client"] = "remote"
	opts["local"] = false
	opts["master"] = a.cfg.Master
	env := &api.Env{
		ID:      a.id,
		Saltenv: a.cfg.Saltenv,
		Grains:  maps.Clone(a.grains),
		Opts:    opts,
		Files:   a.files.forJob(),
		Log:     a.log.With("jid", job.JID),
		Pillar:  map[string]any{},
	}
	env.Exec = func(ctx context.Context, fun string, args []any, kwargs map[string]any) (any, error) {
		return modules.Call(ctx, env, fun, args, kwargs)
	}
	if !noPillar[mod] {
		fresh := mod == "state" || mod == "pillar"
		p, err := a.currentPillar(ctx, fresh)
		if err != nil && mod == "state" {
			return nil, &states.CompileError{Errors: []string{"Pillar failed to render with the following messages:", err.Error()}}
		}
		if err != nil {
			return nil, fmt.Errorf("pillar: %w", err)
		}
		env.Pillar = p
	}
	return env, nil
}

// currentPillar returns the cached pillar, fetching it from the master when
// there is none or fresh is set.
func (a *Agent) currentPillar(ctx context.Context, fresh bool) (map[string]any, error) {
	a.mu.Lock()
	p := a.pillar
	a.mu.Unlock()
	if p != nil && !fresh {
		return p, nil
	}
	var rep bus.PillarReply
	if err := a.request(ctx, bus.OpPillar, bus.PillarRequest{Grains: a.grains}, &rep, 0); err != nil {
		return nil, err
	}
	if rep.Pillar == nil {
		rep.Pillar = map[string]any{}
	}
	a.mu.Lock()
	a.pillar = rep.Pillar
	a.mu.Unlock()
	return rep.Pillar, nil
}

// RefreshPillar implements saltutil.Agent.
func (a *Agent) RefreshPillar(ctx context.Context) error {
	_, err := a.currentPillar(ctx, true)
	return err
}

// Running implements saltutil.Agent.
func (a *Agent) Running() []map[string]any {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]map[string]any, 0, len(a.running))
	for jid, r := range a.running {
		args := r.job.Args
		if args == nil {
			args = []any{}
		}
		out = append(out, map[string]any{
			"jid": jid, "fun": r.job.Fun, "arg": args, "tgt": r.job.Target.Expr, "tgt_type": r.job.Target.Kind,
			"pid": os.Getpid(), "user": r.job.User,
		})
	}
	return out
}
