package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/brine-cm/brine/bus"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/target"
)

// CodeNoMinions is the reply code for a target that matches no minion.
const CodeNoMinions = "no_minions"

// directLimit is the largest list target published to each minion's own
// job subject; longer lists are broadcast and matched by the minions.
const directLimit = 64

// ErrNoMinions is returned for a target that matches no accepted minion.
var ErrNoMinions = errors.New("no minions matched the target; no command was sent, no jid was assigned")

// Expect returns the accepted minions a target should reach, sorted, by
// what the registry knows (IDs, grains from start events, last pillar).
func (m *Master) Expect(ctx context.Context, t bus.Target) ([]string, error) {
	kind, err := target.ParseKind(t.Kind)
	if err != nil {
		return nil, err
	}
	expr, err := target.Compile(kind, t.Expr, m.cfg.Nodegroups)
	if err != nil {
		return nil, err
	}
	usesPillar := kind == target.Pillar || kind == target.PillarPCRE || kind == target.PillarExact ||
		((kind == target.Compound || kind == target.Nodegroup) && (strings.Contains(t.Expr, "I@") || strings.Contains(t.Expr, "J@") || kind == target.Nodegroup))
	var out []string
	for _, id := range m.keys.List()[Accepted] {
		d, _ := m.reg.get(id)
		if usesPillar && d.pillar == nil && d.Grains != nil {
			if p, err := m.compilePillar(ctx, id, d.Grains, ""); err == nil {
				d.pillar = p
			}
		}
		if expr.Match(target.Minion{ID: id, Grains: d.Grains, Pillar: d.pillar}) {
			out = append(out, id)
		}
	}
	return out, nil
}

// Publish signs a job and publishes it, after recording it in the job
// cache. The reply names the minions expected to answer.
func (m *Master) Publish(ctx context.Context, req bus.PublishRequest) (bus.PublishReply, error) {
	if req.JID == "" {
		req.JID = m.jids.Next(time.Now())
	}
	if err := bus.ValidateJID(req.JID); err != nil {
		return bus.PublishReply{}, err
	}
	if _, ok := modules.Lookup(req.Fun); !ok && !m.reg.offered(req.Fun) {
		return bus.PublishReply{}, fmt.Errorf("'%s' is not available (neither built in nor offered by a minion's plugin)", req.Fun)
	}
	expected, err := m.Expect(ctx, req.Target)
	if err != nil {
		return bus.PublishReply{}, err
	}
	if len(expected) == 0 {
		return bus.PublishReply{}, ErrNoMinions
	}
	kind, _ := target.ParseKind(req.Target.Kind)
	tgt := req.Target
	if kind == target.Nodegroup || (kind == target.Compound && strings.Contains(tgt.Expr, "N@")) {
		// Minions do not know the nodegroups: send the master's answer.
		tgt = bus.Target{Kind: string(target.List), Expr: strings.Join(expected, ",")}
		kind = target.List
	}
	ttl := req.TTL
	if ttl <= 0 {
		ttl = time.Duration(m.cfg.JobTTL)
	}
	now := time.Now().UTC()
	job := &bus.Job{JID: req.JID, Fun: req.Fun, Args: req.Args, Kwargs: req.Kwargs, Target: tgt,
		Issued: now, Expires: now.Add(ttl), User: req.User}
	if job.Args == nil {
		job.Args = []any{}
	}
	if job.Kwargs == nil {
		job.Kwargs = map[string]any{}
	}
	data, err := bus.Sign(m.signer, job)
	if err != nil {
		return bus.PublishReply{}, err
	}
	info := bus.JobInfo{JID: job.JID, Fun: job.Fun, Args: job.Args, Kwargs: job.Kwargs, Target: req.Target,
		Minions: expected, Issued: now, User: req.User}
	meta, _ := json.Marshal(info)
	if _, err := m.jobsKV.Create(ctx, job.JID, meta); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return bus.PublishReply{}, fmt.Errorf("job ID %s is already in use", job.JID)
		}
		return bus.PublishReply{}, fmt.Errorf("record job %s: %w", job.JID, err)
	}
	if kind == target.List && len(expected) <= directLimit {
		for _, id := range expected {
			if err := m.nc.Publish(bus.JobFor(id), data); err != nil {
				return bus.PublishReply{}, fmt.Errorf("publish job %s: %w", job.JID, err)
			}
		}
	} else if err := m.nc.Publish(bus.JobAll, data); err != nil {
		return bus.PublishReply{}, fmt.Errorf("publish job %s: %w", job.JID, err)
	}
	var missing []string
	for _, id := range expected {
		if !m.auth.Connected(id) {
			missing = append(missing, id)
		}
	}
	m.event("job.new", map[string]any{"jid": job.JID, "fun": job.Fun, "arg": job.Args, "tgt": req.Target.Expr,
		"tgt_type": req.Target.Kind, "minions": expected, "user": req.User})
	m.log.Info("published job", "jid", job.JID, "fun", job.Fun, "target", req.Target.Expr, "kind", req.Target.Kind, "minions", len(expected))
	return bus.PublishReply{JID: job.JID, Minions: expected, NotConnected: missing}, nil
}

// Jobs lists the cached jobs, oldest first; limit > 0 keeps the newest.
func (m *Master) Jobs(ctx context.Context, limit int) ([]bus.JobInfo, error) {
	lister, err := m.jobsKV.ListKeys(ctx)
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return nil, nil
		}
		return nil, err
	}
	var jids []string
	for k := range lister.Keys() {
		jids = append(jids, k)
	}
	sort.Strings(jids)
	if limit > 0 && len(jids) > limit {
		jids = jids[len(jids)-limit:]
	}
	out := make([]bus.JobInfo, 0, len(jids))
	for _, jid := range jids {
		info, err := m.jobInfo(ctx, jid)
		if err != nil {
			continue
		}
		if st, err := m.returns.Info(ctx, jetstream.WithSubjectFilter(bus.ReturnsOf(jid))); err == nil {
			info.Returned = len(st.State.Subjects)
		}
		out = append(out, info)
	}
	return out, nil
}

func (m *Master) jobInfo(ctx context.Context, jid string) (bus.JobInfo, error) {
	e, err := m.jobsKV.Get(ctx, jid)
	if err != nil {
		return bus.JobInfo{}, err
	}
	var info bus.JobInfo
	if err := json.Unmarshal(e.Value(), &info); err != nil {
		return bus.JobInfo{}, fmt.Errorf("job %s: %w", jid, err)
	}
	return info, nil
}

// Job returns a cached job and its returns, one per minion (the latest),
// sorted by minion ID.
func (m *Master) Job(ctx context.Context, jid string) (bus.JobInfo, []bus.Return, error) {
	if err := bus.ValidateJID(jid); err != nil {
		return bus.JobInfo{}, nil, err
	}
	info, err := m.jobInfo(ctx, jid)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		info = bus.JobInfo{JID: jid}
	} else if err != nil {
		return bus.JobInfo{}, nil, err
	}
	rets, err := m.jobReturns(ctx, jid)
	if err != nil {
		return bus.JobInfo{}, nil, err
	}
	if info.Fun == "" && len(rets) == 0 {
		return bus.JobInfo{}, nil, fmt.Errorf("job %s is not in the job cache", jid)
	}
	if info.Fun == "" {
		info.Fun = rets[0].Fun
	}
	info.Returned = len(rets)
	return info, rets, nil
}

func (m *Master) jobReturns(ctx context.Context, jid string) ([]bus.Return, error) {
	filter := bus.ReturnsOf(jid)
	st, err := m.returns.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return nil, fmt.Errorf("job cache: %w", err)
	}
	total := 0
	for _, n := range st.State.Subjects {
		total += int(n)
	}
	if total == 0 {
		return nil, nil
	}
	cons, err := m.returns.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		return nil, fmt.Errorf("job cache: %w", err)
	}
	byID := map[string]bus.Return{}
	for got := 0; got < total; {
		batch, err := cons.Fetch(total-got, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("job cache: %w", err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			_, id, ok := bus.ParseReturn(msg.Subject())
			if !ok {
				continue
			}
			var r bus.Return
			if err := json.Unmarshal(msg.Data(), &r); err != nil {
				continue
			}
			r.ID = id
			r.JID = jid
			byID[id] = r
		}
		if batch.Error() != nil || n == 0 {
			break
		}
		got += n
	}
	out := make([]bus.Return, 0, len(byID))
	for _, r := range byID {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
