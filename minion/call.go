package minion

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/brine-cm/brine/bus"
	"github.com/brine-cm/brine/grains"
)

// Call runs one function on this host as a job would run, with the pillar
// the master compiles for this minion and salt:// files from the master:
// Salt's salt-call without --local. It connects with the minion's own key,
// which must be accepted, subscribes to nothing and publishes no return.
func (a *Agent) Call(ctx context.Context, fun string, args []any, kwargs map[string]any) (any, error) {
	a.ctx = ctx
	if a.opts.Grains != nil {
		a.grains = a.opts.Grains
	} else {
		a.grains = grains.Collect(ctx, grains.Options{ID: a.id, Static: a.cfg.Grains, Log: a.log})
	}
	nc, err := nats.Connect(masterURL(a.cfg.Master),
		nats.Name(a.id),
		nats.Nkey(a.PublicKey(), a.key.Sign),
		nats.CustomInboxPrefix(bus.Inbox(a.id)),
		nats.Timeout(5*time.Second),
		nats.NoReconnect(),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrPermissionViolation) {
				select {
				case a.denied <- struct{}{}:
				default:
				}
			}
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the master at %s: %w", a.cfg.Master, err)
	}
	defer nc.Close()
	a.nc = nc
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-a.denied:
			cancel()
		case <-hctx.Done():
		}
	}()
	var hello bus.HelloReply
	if err := a.request(hctx, bus.OpHello, nil, &hello, 10*time.Second); err != nil {
		return nil, fmt.Errorf("the master does not serve minion %s: is its key accepted (brine key accept %s on the master; fingerprint %s)? (%w)",
			a.id, a.id, bus.Fingerprint(a.PublicKey()), err)
	}
	a.mu.Lock()
	pinned := a.pinned
	a.mu.Unlock()
	if pinned != "" && pinned != hello.Master {
		return nil, fmt.Errorf("the master's signing key %s differs from the pinned one %s", bus.Fingerprint(hello.Master), bus.Fingerprint(pinned))
	}
	job := &bus.Job{Fun: fun, Args: args, Kwargs: kwargs, Target: bus.Target{Kind: "list", Expr: a.id}}
	a.mu.Lock()
	a.running[""] = &runningJob{job: job, start: time.Now()}
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.running, "")
		a.mu.Unlock()
	}()
	return a.call(ctx, job)
}
