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

// Authenticator decides who may connect to the embedded bus server and
// with which permissions. Every client proves it holds an NKey by signing
// the server's nonce; the key then decides:
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
// It remembers each minion's connections so that a key change can cut them
// off at once (Kick).
type Authenticator struct {
	keys       *KeyStore
	admin      string
	autoAccept bool
	log        *slog.Logger
	// onPending is called (outside locks) when a new key is recorded.
	onPending func(id, pub string)

	mu    sync.Mutex
	conns map[string]map[uint64]struct{}
	srv   *server.Server
}

var _ server.Authentication = (*Authenticator)(nil)

// Check implements server.Authentication.
func (a *Authenticator) Check(c server.ClientAuthentication) bool {
	if c.Kind() != server.CLIENT {
		return false
	}
	opts := c.GetOpts()
	pub := opts.Nkey
	if !a.verifyNonce(c, pub, opts.Sig) {
		a.log.Warn("refused connection: no valid NKey signature", "remote", remote(c), "name", opts.Name)
		return false
	}
	if pub == a.admin {
		c.RegisterUser(&server.User{Username: adminUser})
		return true
	}
	id := opts.Name
	if err := bus.ValidateID(id); err != nil {
		a.log.Warn("refused connection", "remote", remote(c), "error", err)
		return false
	}
	state, known, ok := a.keys.Lookup(id)
	switch {
	case ok && known != pub:
		a.log.Warn("refused connection: minion ID is bound to another key", "id", id, "remote", remote(c),
			"presented", bus.Fingerprint(pub), "recorded", bus.Fingerprint(known), "state", state)
		return false
	case !ok && a.autoAccept:
		st, err := a.keys.AcceptNew(id, pub)
		if err != nil {
			a.log.Error("auto_accept: cannot record key", "id", id, "error", err)
			return false
		}
		a.log.Info("auto-accepted minion key", "id", id, "fingerprint", bus.Fingerprint(pub))
		state = st
	case !ok:
		if err := a.keys.AddPending(id, pub); err != nil {
			a.log.Warn("refused connection", "id", id, "error", err)
			return false
		}
		a.log.Info("new minion key is pending", "id", id, "fingerprint", bus.Fingerprint(pub), "remote", remote(c))
		state = Pending
		if a.onPending != nil {
			defer a.onPending(id, pub)
		}
	}
	switch state {
	case Accepted:
		pubs, subs := bus.MinionPermissions(id)
		c.RegisterUser(&server.User{Username: id, Permissions: &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: pubs},
			Subscribe: &server.SubjectPermission{Allow: subs},
		}})
	case Pending:
		c.RegisterUser(&server.User{Username: id, Permissions: &server.Permissions{
			Publish: &server.SubjectPermission{Allow: []string{bus.AuthHello}},
			// An empty subscribe allow list means "everything" to the
			// server: deny instead.
			Subscribe: &server.SubjectPermission{Deny: []string{">"}},
		}})
	default:
		a.log.Warn("refused connection: minion key is rejected", "id", id, "remote", remote(c))
		return false
	}
	a.track(id, c.GetID())
	// A key accepted, rejected or deleted while this check ran was kicked
	// before this connection was tracked: look once more, and cut the
	// connection if it holds the permissions of a state that is gone.
	if now, _, _ := a.keys.Lookup(id); now != state {
		go a.Kick(id)
	}
	return true
}

func (a *Authenticator) verifyNonce(c server.ClientAuthentication, pub, sig string) bool {
	if pub == "" || sig == "" || !nkeys.IsValidPublicUserKey(pub) {
		return false
	}
	nonce := c.GetNonce()
	if len(nonce) == 0 {
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

func remote(c server.ClientAuthentication) string {
	if addr := c.RemoteAddress(); addr != nil {
		return addr.String()
	}
	return ""
}

func (a *Authenticator) track(id string, cid uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conns == nil {
		a.conns = map[string]map[uint64]struct{}{}
	}
	set := a.conns[id]
	if set == nil {
		set = map[uint64]struct{}{}
		a.conns[id] = set
	}
	if a.srv != nil {
		for old := range set {
			if a.srv.GetClient(old) == nil {
				delete(set, old)
			}
		}
	}
	set[cid] = struct{}{}
}

// Kick closes every connection of minion id, so that it reconnects and is
// checked again against its key's new state.
func (a *Authenticator) Kick(id string) int {
	a.mu.Lock()
	set := a.conns[id]
	delete(a.conns, id)
	srv := a.srv
	a.mu.Unlock()
	n := 0
	for cid := range set {
		if srv != nil && srv.DisconnectClientByID(cid) == nil {
			n++
		}
	}
	return n
}

// Connected reports whether minion id has a live connection.
func (a *Authenticator) Connected(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.srv == nil {
		return false
	}
	for cid := range a.conns[id] {
		if a.srv.GetClient(cid) != nil {
			return true
		}
	}
	return false
}
