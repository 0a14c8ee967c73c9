package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/brine-cm/brine/bus"
)

// With bus.url set the master uses an external NATS server (or cluster)
// instead of embedding one. The server authenticates minions through its
// auth callout, which the master serves: it applies the same key rules as
// the embedded authenticator and answers with a user JWT carrying the same
// permissions. Three keys under the state directory make this work; the
// NATS server's configuration names their public halves (NATSConfig prints
// the block to paste):
//
//   - admin.nk: the master's and the CLI's user in the BRINE account, and
//     the callout's auth user;
//   - issuer.nk: the account key that signs the callout's answers;
//   - system.nk: a user of the system account, through which the master
//     closes a minion's connections when its key changes and learns of
//     disconnections.
const (
	// IssuerKeyFile holds the auth callout's signing key (an account NKey).
	IssuerKeyFile = "issuer.nk"
	// SystemKeyFile holds the master's system account user NKey.
	SystemKeyFile = "system.nk"
	// ExternalAccount is the NATS account brine lives in on an external
	// server.
	ExternalAccount = "BRINE"
)

// NATSConfig returns the part of an external NATS server's configuration
// that lets this master drive it: the BRINE account (with JetStream) and
// its admin user, the system account user, and the auth callout (every
// other client is authenticated by the master; the two users it names skip
// the callout). Keys are made on first use. The server also needs `jetstream { store_dir: ... }`.
func NATSConfig(stateDir string) (string, error) {
	admin, err := bus.LoadOrCreateKey(filepath.Join(stateDir, AdminKeyFile), nkeys.PrefixByteUser)
	if err != nil {
		return "", err
	}
	sys, err := bus.LoadOrCreateKey(filepath.Join(stateDir, SystemKeyFile), nkeys.PrefixByteUser)
	if err != nil {
		return "", err
	}
	issuer, err := bus.LoadOrCreateKey(filepath.Join(stateDir, IssuerKeyFile), nkeys.PrefixByteAccount)
	if err != nil {
		return "", err
	}
	adminPub, _ := admin.PublicKey()
	sysPub, _ := sys.PublicKey()
	issuerPub, _ := issuer.PublicKey()
	return fmt.Sprintf(`# brine master (state dir %s): paste into every server's configuration.
accounts {
  %s {
    jetstream: enabled
    users: [ { nkey: "%s" } ]
  }
  SYS {
    users: [ { nkey: "%s" } ]
  }
}
system_account: SYS
authorization {
  auth_callout {
    issuer: "%s"
    account: %s
    auth_users: [ "%s", "%s" ]
  }
}
`, stateDir, ExternalAccount, adminPub, sysPub, issuerPub, ExternalAccount, adminPub, sysPub), nil
}

// startExternal connects to the external server and serves the auth
// callout, then sets up the job cache as in embedded mode.
func (m *Master) startExternal(ctx context.Context) error {
	if _, err := NATSConfig(m.cfg.StateDir); err != nil { // makes the keys
		return err
	}
	issuer, err := bus.LoadKey(filepath.Join(m.cfg.StateDir, IssuerKeyFile))
	if err != nil {
		return err
	}
	sysKey, err := bus.LoadKey(filepath.Join(m.cfg.StateDir, SystemKeyFile))
	if err != nil {
		return err
	}
	m.issuer = issuer
	url := m.cfg.Bus.URL
	connect := func(name string, kp nkeys.KeyPair) (*nats.Conn, error) {
		pub, _ := kp.PublicKey()
		return nats.Connect(url, nats.Name(name), nats.Nkey(pub, kp.Sign), nats.MaxReconnects(-1),
			nats.RetryOnFailedConnect(false), nats.Timeout(10*time.Second),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
				m.log.Warn("bus error", "connection", name, "error", err)
			}))
	}
	if m.nc, err = connect("brine-master", m.adminKey); err != nil {
		return fmt.Errorf("connect to the NATS server at %s as the brine admin user (is its configuration from `brine master --print-nats-config`?): %w", url, err)
	}
	if m.sys, err = connect("brine-master-system", sysKey); err != nil {
		m.Close()
		return fmt.Errorf("connect to the NATS server at %s as the system account user: %w", url, err)
	}
	m.auth.mu.Lock()
	m.auth.kick = m.kickExternal
	m.auth.mu.Unlock()
	sub, err := m.sys.Subscribe("$SYS.ACCOUNT."+ExternalAccount+".DISCONNECT", m.onDisconnect)
	if err != nil {
		m.Close()
		return fmt.Errorf("subscribe to disconnect events: %w", err)
	}
	m.subs = append(m.subs, sub)
	if sub, err = m.nc.Subscribe(server.AuthCalloutSubject, m.onCallout); err != nil {
		m.Close()
		return fmt.Errorf("serve the auth callout: %w", err)
	}
	_ = sub.SetPendingLimits(1<<20, 256<<20)
	m.subs = append(m.subs, sub)
	if err := m.sys.Flush(); err != nil {
		m.Close()
		return err
	}
	m.url = strings.Split(url, ",")[0]
	return nil
}

// onCallout answers the server's question about a connecting client.
func (m *Master) onCallout(msg *nats.Msg) {
	rc, err := jwt.DecodeAuthorizationRequestClaims(string(msg.Data))
	if err != nil {
		m.log.Warn("dropped a malformed auth callout request", "error", err)
		return
	}
	req := rc.AuthorizationRequest
	answer := func(userJWT, refusal string) {
		cr := jwt.NewAuthorizationResponseClaims(req.UserNkey)
		cr.Audience = req.Server.ID
		cr.Jwt = userJWT
		cr.Error = refusal
		tok, err := cr.Encode(m.issuer)
		if err != nil {
			m.log.Error("cannot sign an auth callout answer", "error", err)
			return
		}
		_ = msg.Respond([]byte(tok))
	}
	co, ci := req.ConnectOptions, req.ClientInformation
	remote := ci.Host
	if !verifyNonce([]byte(ci.Nonce), co.Nkey, co.SignedNonce) {
		m.log.Warn("refused connection: no valid NKey signature", "remote", remote, "name", co.Name)
		answer("", "brine: no valid NKey signature")
		return
	}
	g, ok := m.auth.decide(co.Nkey, co.Name, remote)
	if !ok {
		answer("", "brine: not authorized")
		return
	}
	uc := jwt.NewUserClaims(req.UserNkey)
	uc.Audience = ExternalAccount
	if g.admin {
		uc.Name = adminUser
	} else {
		uc.Name = g.id
		uc.Pub.Allow.Add(g.pubAllow...)
		uc.Sub.Allow.Add(g.subAllow...)
		uc.Sub.Deny.Add(g.subDeny...)
	}
	ujwt, err := uc.Encode(m.issuer)
	if err != nil {
		m.log.Error("cannot sign a user JWT", "error", err)
		answer("", "brine: internal error")
		return
	}
	if !g.admin {
		m.auth.track(g.id, connRef{server: req.Server.ID, cid: ci.ID})
		m.auth.recheck(g)
	}
	answer(ujwt, "")
}

// kickExternal closes a connection through the system account.
func (m *Master) kickExternal(ref connRef) error {
	if ref.server == "" {
		return errors.New("no server ID")
	}
	b, _ := json.Marshal(server.KickClientReq{CID: ref.cid})
	msg, err := m.sys.Request("$SYS.REQ.SERVER."+ref.server+".KICK", b, 5*time.Second)
	if err != nil {
		return err
	}
	var rep server.ServerAPIResponse
	if err := json.Unmarshal(msg.Data, &rep); err != nil {
		return err
	}
	if rep.Error != nil {
		return errors.New(rep.Error.Description)
	}
	return nil
}

// onDisconnect forgets connections the server reports closed.
func (m *Master) onDisconnect(msg *nats.Msg) {
	var ev server.DisconnectEventMsg
	if err := json.Unmarshal(msg.Data, &ev); err != nil {
		return
	}
	m.auth.gone(connRef{server: ev.Server.ID, cid: ev.Client.ID})
}

// writeURL records where the CLI finds the bus.
func (m *Master) writeURL() error {
	if err := os.WriteFile(filepath.Join(m.cfg.StateDir, URLFile), []byte(m.url+"\n"), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", URLFile, err)
	}
	return nil
}
