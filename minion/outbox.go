package minion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/brine-cm/brine/bus"
)

// outbox delivers returns to the job cache and keeps those it could not
// deliver. A return is published as a request: the master's JetStream
// stream captures it and acknowledges to this minion's inbox. Without an
// acknowledgement (master down, network cut) the return is spooled to
// <state dir>/returns and retried until acknowledged, oldest first; the
// spool survives a minion restart and holds at most max returns (the
// oldest are dropped, with a log line). A Nats-Msg-Id header lets the
// stream drop a copy it already has when only the acknowledgement was lost.
type outbox struct {
	a   *Agent
	dir string
	max int

	mu       sync.Mutex
	queue    []string
	flushing bool
	retrying bool
}

// load reads returns spooled by an earlier run.
func (o *outbox) load() error {
	entries, err := os.ReadDir(o.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			o.queue = append(o.queue, e.Name())
		}
	}
	sort.Strings(o.queue)
	return nil
}

func (o *outbox) pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.queue)
}

// send delivers r, or spools it when it cannot be delivered now.
func (o *outbox) send(ctx context.Context, r *bus.Return) {
	data, err := json.Marshal(r)
	if err != nil {
		o.a.log.Error("cannot encode a return", "jid", r.JID, "error", err)
		return
	}
	if o.pending() == 0 {
		err := o.publish(r.JID, data)
		if err == nil {
			return
		}
		o.a.log.Warn("return not acknowledged; keeping it to retry", "jid", r.JID, "error", err)
	}
	if err := o.spool(r.JID, data); err != nil {
		o.a.log.Error("cannot spool a return; it is lost", "jid", r.JID, "error", err)
		return
	}
	o.retry(ctx)
}

func (o *outbox) publish(jid string, data []byte) error {
	nc := o.a.nc
	if nc == nil || !nc.IsConnected() {
		return errors.New("not connected to the master")
	}
	msg := nats.NewMsg(bus.ReturnSubject(jid, o.a.id))
	msg.Data = data
	msg.Header.Set(nats.MsgIdHdr, jid+"."+bus.Token(o.a.id))
	timeout := o.a.opts.ReturnTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	reply, err := nc.RequestMsg(msg, timeout)
	if err != nil {
		return err
	}
	var ack struct {
		Stream string `json:"stream"`
		Error  *struct {
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(reply.Data, &ack); err != nil {
		return fmt.Errorf("bad acknowledgement: %w", err)
	}
	if ack.Error != nil {
		return fmt.Errorf("job cache refused the return: %s", ack.Error.Description)
	}
	if ack.Stream == "" {
		return errors.New("acknowledgement names no stream")
	}
	return nil
}

func (o *outbox) spool(jid string, data []byte) error {
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return err
	}
	name := jid + ".json"
	if err := os.WriteFile(filepath.Join(o.dir, name), data, 0o600); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, q := range o.queue {
		if q == name {
			return nil
		}
	}
	o.queue = append(o.queue, name)
	for len(o.queue) > o.max {
		drop := o.queue[0]
		o.queue = o.queue[1:]
		_ = os.Remove(filepath.Join(o.dir, drop))
		o.a.log.Warn("return spool full; dropped the oldest return", "file", drop)
	}
	return nil
}

// retry keeps flushing in the background until the spool is empty.
func (o *outbox) retry(ctx context.Context) {
	o.mu.Lock()
	if o.retrying {
		o.mu.Unlock()
		return
	}
	o.retrying = true
	o.mu.Unlock()
	o.a.wg.Add(1)
	go func() {
		defer o.a.wg.Done()
		defer func() {
			o.mu.Lock()
			o.retrying = false
			o.mu.Unlock()
		}()
		wait := time.Second
		for o.pending() > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			o.flush(ctx)
			if wait < 10*time.Second {
				wait *= 2
			}
		}
	}()
}

// flush delivers spooled returns in order until one fails.
func (o *outbox) flush(ctx context.Context) {
	o.mu.Lock()
	if o.flushing || len(o.queue) == 0 {
		o.mu.Unlock()
		return
	}
	o.flushing = true
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		o.flushing = false
		o.mu.Unlock()
	}()
	for ctx.Err() == nil {
		o.mu.Lock()
		if len(o.queue) == 0 {
			o.mu.Unlock()
			return
		}
		name := o.queue[0]
		o.mu.Unlock()
		path := filepath.Join(o.dir, name)
		data, err := os.ReadFile(path)
		if bus.ValidateJID(strings.TrimSuffix(name, ".json")) != nil {
			o.a.log.Warn("dropping a spool file that is not a return", "file", path)
		} else if err == nil {
			if err := o.publish(strings.TrimSuffix(name, ".json"), data); err != nil {
				o.a.log.Debug("spooled return still not delivered", "file", name, "error", err)
				return
			}
			o.a.log.Info("delivered a spooled return", "jid", strings.TrimSuffix(name, ".json"))
		}
		_ = os.Remove(path)
		o.mu.Lock()
		if len(o.queue) > 0 && o.queue[0] == name {
			o.queue = o.queue[1:]
		}
		o.mu.Unlock()
	}
}
