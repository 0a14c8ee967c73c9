package master

import (
	"encoding/base64"
	"log/slog"
	"sync"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/brine-cm/brine/bus"
)

// adminUser is the user name the server records for admin connections (the
// master's own and the CLI's). "$" cannot appear in a minion ID.
const adminUser = "$admin"

// Authenticator decides who may connect to the bus and with which
// permissions. Every client proves it holds an NKey by signing the server's
// nonce; the key then decides:
//
//   - the admin key: everything;
//   - a minion's accepted key (the ID is the connection name): only its own
//     subjects (bus.MinionPermissions);
//   - an unknown key: recorded as pending for the claimed ID, and allowed
//     only to announce itself on bus.AuthHello;
//   - a pending key: the same as unknown;
//   - a rejected key, a claimed ID bound to another key, a bad signature or
//     a malformed ID: refused.
//
// The embedded server asks through Check (server.Authentication); an
// external server asks through the auth callout (see callout.go), which
// uses the same decision. The authenticator remembers each minion's
// connections so that a key change can cut them off at once (Kick).
type Authenticator struct {
	keys       *KeyStore
	admin      string
	autoAccept bool
	log        *slog.Logger
	// onPending is called (outside locks) when a new key is recorded.
	onPending func(id, pub string)

	mu    sync.Mutex
	conns map[string]map[connRef]struct{}
	srv   *server.Server
	// kick closes a connection on an external server (system account).
	kick func(ref connRef) error
}

// connRef names one client connection: the server's ID ("" for the
// embedded server) and the client ID it assigned.
type connRef struct {
	server string
	cid    uint64
}

var _ server.Authentication = (*Authenticator)(nil)

// grant is what a decision allows: an admin, or a minion with allow and
// deny lists.
type grant struct {
	admin                  bool
	id                     string
	state                  KeyState
	pubAllow, subAllow     []string
	subDeny                []string
	pubDenyAll, subDenyAll bool
}

// decide applies the key rules to a client that proved it holds pub (its
// nonce signature was checked) and claims the ID name. ok is false for a
// refusal, which is logged.
func (a *Authenticator) decide(pub, name, remote string) (grant, bool) {
	if pub == a.admin {
		return grant{admin: true}, true
	}
	id := name
	if err := bus.ValidateID(id); err != nil {
		a.log.Warn("refused connection", "remote", remote, "error", err)
		return grant{}, false
	}
	state, known, ok := a.keys.Lookup(id)
	switch {
	case ok && known != pub:
		a.log.Warn("refused connection: minion ID is bound to another key", "id", id, "remote", remote,
			"presented", bus.Fingerprint(pub), "recorded", bus.Fingerprint(known), "state", state)
		return grant{}, false
	case !ok && a.autoAccept:
		st, err := a.keys.AcceptNew(id, pub)
		if err != nil {
			a.log.Error("auto_accept: cannot record key", "id", id, "error", err)
			return grant{}, false
		}
		a.log.Info("auto-accepted minion key", "id", id, "fingerprint", bus.Fingerprint(pub))
		state = st
	case !ok:
		if err := a.keys.AddPending(id, pub); err != nil {
			a.log.Warn("refused connection", "id", id, "error", err)
			return grant{}, false
		}
		a.log.Info("new minion key is pending", "id", id, "fingerprint", bus.Fingerprint(pub), "remote", remote)
		state = Pending
		if a.onPending != nil {
			go a.onPending(id, pub)
		}
	}
	switch state {
	case Accepted:
		pubs, subs := bus.MinionPermissions(id)
		return grant{id: id, state: state, pubAllow: pubs, subAllow: subs}, true
	case Pending:
		// An empty subscribe allow list means "everything" to the server:
		// deny instead.
		return grant{id: id, state: state, pubAllow: []string{bus.AuthHello}, subDeny: []string{">"}}, true
	}
	a.log.Warn("refused connection: minion key is rejected", "id", id, "remote", remote)
	return grant{}, false
}

// verifyNonce checks that sig (base64) is pub's signature of nonce.
func verifyNonce(nonce []byte, pub, sig string) bool {
	if pub == "" || sig == "" || len(nonce) == 0 || !nkeys.IsValidPublicUserKey(pub) {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		if raw, err = base64.StdEncoding.DecodeString(sig); err != nil {
			return false
		}
	}
	kp, err := nkeys.FromPublicKey(pub)
	if err != nil {
		return false
	}
	return kp.Verify(nonce, raw) == nil
}

// Check implements server.Authentication for the embedded server.
func (a *Authenticator) Check(c server.ClientAuthentication) bool {
	if c.Kind() != server.CLIENT {
		return false
	}
	opts := c.GetOpts()
	if !verifyNonce(c.GetNonce(), opts.Nkey, opts.Sig) {
		a.log.Warn("refused connection: no valid NKey signature", "remote", remote(c), "name", opts.Name)
		return false
	}
	g, ok := a.decide(opts.Nkey, opts.Name, remote(c))
	if !ok {
		return false
	}
	if g.admin {
		c.RegisterUser(&server.User{Username: adminUser})
		return true
	}
	perms := &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: g.pubAllow},
		Subscribe: &server.SubjectPermission{Allow: g.subAllow, Deny: g.subDeny},
	}
	c.RegisterUser(&server.User{Username: g.id, Permissions: perms})
	a.track(g.id, connRef{cid: c.GetID()})
	a.recheck(g)
	return true
}

// recheck cuts a connection that was granted a state its key no longer
// has: a key accepted, rejected or deleted while the decision ran was
// kicked before this connection was tracked.
func (a *Authenticator) recheck(g grant) {
	if now, _, _ := a.keys.Lookup(g.id); now != g.state {
		go a.Kick(g.id)
	}
}

func remote(c server.ClientAuthentication) string {
	if addr := c.RemoteAddress(); addr != nil {
		return addr.String()
	}
	return ""
}

func (a *Authenticator) track(id string, ref connRef) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conns == nil {
		a.conns = map[string]map[connRef]struct{}{}
	}
	set := a.conns[id]
	if set == nil {
		set = map[connRef]struct{}{}
		a.conns[id] = set
	}
	if a.srv != nil {
		for old := range set {
			if a.srv.GetClient(old.cid) == nil {
				delete(set, old)
			}
		}
	}
	set[ref] = struct{}{}
}

// gone forgets a closed connection (external server: from the system
// account's disconnect events).
func (a *Authenticator) gone(ref connRef) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, set := range a.conns {
		if _, ok := set[ref]; ok {
			delete(set, ref)
			if len(set) == 0 {
				delete(a.conns, id)
			}
			return
		}
	}
}

// Kick closes every connection of minion id, so that it reconnects and is
// checked again against its key's new state.
func (a *Authenticator) Kick(id string) int {
	a.mu.Lock()
	set := a.conns[id]
	delete(a.conns, id)
	srv, kick := a.srv, a.kick
	a.mu.Unlock()
	n := 0
	for ref := range set {
		switch {
		case srv != nil && srv.DisconnectClientByID(ref.cid) == nil:
			n++
		case srv == nil && kick != nil:
			if err := kick(ref); err != nil {
				a.log.Warn("cannot close a minion's connection", "id", id, "server", ref.server, "cid", ref.cid, "error", err)
			} else {
				n++
			}
		}
	}
	return n
}

// Connected reports whether minion id has a live connection.
func (a *Authenticator) Connected(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.srv == nil {
		return len(a.conns[id]) > 0
	}
	for ref := range a.conns[id] {
		if a.srv.GetClient(ref.cid) != nil {
			return true
		}
	}
	return false
}
