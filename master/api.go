package master

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/brine-cm/brine/bus"
	"github.com/brine-cm/brine/target"
)

// apiTimeout bounds one admin API call.
const apiTimeout = time.Minute

// onAPI serves the CLI. Only admin connections may publish on the API
// subjects (the server refuses minions), so the caller is trusted.
func (m *Master) onAPI(msg *nats.Msg) {
	op := strings.TrimPrefix(msg.Subject, bus.APISubject(""))
	if msg.Reply == "" {
		m.log.Warn("dropped an API call without a reply subject", "op", op)
		return
	}
	m.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
		defer cancel()
		respond(msg, m.api(ctx, op, msg.Data))
	})
}

func failed(err error) bus.Reply {
	code := bus.CodeInvalid
	if errors.Is(err, ErrNoMinions) {
		code = CodeNoMinions
	}
	return bus.Reply{Error: err.Error(), Code: code}
}

func (m *Master) api(ctx context.Context, op string, data []byte) any {
	bad := func(err error) any {
		m.log.Warn("dropped a malformed API call", "op", op, "error", err)
		return bus.Reply{Error: "malformed request: " + err.Error(), Code: bus.CodeInvalid}
	}
	if len(data) == 0 {
		data = []byte("{}")
	}
	switch op {
	case bus.APIJID:
		return bus.JIDReply{JID: m.jids.Next(time.Now())}
	case bus.APIPublish:
		var req bus.PublishRequest
		if err := decode(data, &req); err != nil {
			return bad(err)
		}
		rep, err := m.Publish(ctx, req)
		if err != nil {
			return bus.PublishReply{Reply: failed(err)}
		}
		return rep
	case bus.APIExpect:
		var req bus.ExpectRequest
		if err := decode(data, &req); err != nil {
			return bad(err)
		}
		ids, err := m.Expect(ctx, req.Target)
		if err != nil {
			return bus.PublishReply{Reply: failed(err)}
		}
		var missing []string
		for _, id := range ids {
			if !m.auth.Connected(id) {
				missing = append(missing, id)
			}
		}
		return bus.PublishReply{Minions: ids, NotConnected: missing}
	case bus.APIKeys:
		return m.keyList()
	case bus.APIKeyAccept, bus.APIKeyReject, bus.APIKeyDelete, bus.APIFingerprint:
		var req bus.KeysRequest
		if err := decode(data, &req); err != nil {
			return bad(err)
		}
		return m.keyOp(ctx, op, req)
	case bus.APIJobs:
		var req bus.JobsRequest
		if err := decode(data, &req); err != nil {
			return bad(err)
		}
		jobs, err := m.Jobs(ctx, req.Limit)
		if err != nil {
			return bus.JobsReply{Reply: failed(err)}
		}
		return bus.JobsReply{Jobs: jobs}
	case bus.APIJob:
		var req bus.JobsRequest
		if err := decode(data, &req); err != nil {
			return bad(err)
		}
		info, rets, err := m.Job(ctx, req.JID)
		if err != nil {
			return bus.JobReply{Reply: failed(err)}
		}
		return bus.JobReply{Job: info, Returns: rets}
	case bus.APIMinions:
		return m.minions()
	}
	m.log.Warn("dropped an API call for an unknown operation", "op", op)
	return bus.Reply{Error: "unknown API operation " + op, Code: bus.CodeInvalid}
}

func (m *Master) keyList() bus.KeysReply {
	l := m.keys.List()
	return bus.KeysReply{Pending: l[Pending], Accepted: l[Accepted], Rejected: l[Rejected],
		Master: m.signPub, MasterFingerprint: bus.Fingerprint(m.signPub)}
}

// keyOp accepts, rejects, deletes or describes the keys named by req (IDs
// may be globs, as with salt-key). A changed key's connections are cut at
// once, so that the minion reconnects under its new state.
func (m *Master) keyOp(ctx context.Context, op string, req bus.KeysRequest) bus.KeysReply {
	l := m.keys.List()
	var pool []string
	switch op {
	case bus.APIKeyAccept:
		pool = append(pool, l[Pending]...)
		if req.Include {
			pool = append(pool, l[Rejected]...)
		}
	case bus.APIKeyReject:
		pool = append(pool, l[Pending]...)
		if req.Include {
			pool = append(pool, l[Accepted]...)
		}
	default:
		pool = append(append(append(pool, l[Pending]...), l[Accepted]...), l[Rejected]...)
	}
	sort.Strings(pool)
	var ids, problems []string
	if req.All {
		ids = pool
	} else {
		if len(req.IDs) == 0 {
			return bus.KeysReply{Reply: bus.Reply{Error: "no minion ID given (or use --all)", Code: bus.CodeInvalid}}
		}
		seen := map[string]bool{}
		for _, pat := range req.IDs {
			n := 0
			for _, id := range pool {
				if target.Fnmatch(pat, id) && !seen[id] {
					seen[id] = true
					ids = append(ids, id)
					n++
				} else if target.Fnmatch(pat, id) {
					n++
				}
			}
			if n == 0 {
				problems = append(problems, m.noKey(op, pat))
			}
		}
	}
	rep := m.keyList()
	for _, id := range ids {
		var err error
		act := ""
		switch op {
		case bus.APIKeyAccept:
			err, act = m.keys.Accept(id, req.Include), "accept"
		case bus.APIKeyReject:
			err, act = m.keys.Reject(id, req.Include), "reject"
		case bus.APIKeyDelete:
			err, act = m.keys.Delete(id), "delete"
			if err == nil {
				m.reg.forget(ctx, id)
			}
		}
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		st, pub, _ := m.keys.Lookup(id)
		if op == bus.APIKeyDelete {
			st = "deleted"
		}
		rep.Keys = append(rep.Keys, bus.KeyInfo{ID: id, State: string(st), Key: pub, Fingerprint: bus.Fingerprint(pub)})
		if act != "" {
			n := m.auth.Kick(id)
			m.log.Info("minion key changed", "id", id, "act", act, "connections_closed", n)
			m.event("auth", map[string]any{"id": id, "act": act})
		}
	}
	if op == bus.APIKeyDelete {
		for i := range rep.Keys {
			rep.Keys[i].Key, rep.Keys[i].Fingerprint = "", ""
		}
	}
	fresh := m.keyList()
	rep.Pending, rep.Accepted, rep.Rejected = fresh.Pending, fresh.Accepted, fresh.Rejected
	if len(problems) > 0 {
		rep.Reply = bus.Reply{Error: strings.Join(problems, "; "), Code: bus.CodeNotFound}
	}
	return rep
}

func (m *Master) noKey(op, pat string) string {
	if err := bus.ValidateID(pat); err != nil && !strings.ContainsAny(pat, "*?[") {
		return err.Error()
	}
	switch op {
	case bus.APIKeyAccept:
		return fmt.Sprintf("no pending key matches %q", pat)
	case bus.APIKeyReject:
		return fmt.Sprintf("no pending key matches %q", pat)
	}
	return fmt.Sprintf("no key matches %q", pat)
}

func (m *Master) minions() bus.MinionsReply {
	var out []bus.MinionInfo
	for _, id := range m.keys.List()[Accepted] {
		d, _ := m.reg.get(id)
		out = append(out, bus.MinionInfo{ID: id, Connected: m.auth.Connected(id), LastSeen: d.LastSeen, Grains: d.Grains})
	}
	return bus.MinionsReply{Minions: out}
}
