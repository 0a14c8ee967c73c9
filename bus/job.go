package bus

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nkeys"
)

// Target says which minions a job is for, in Salt's terms: a matcher kind
// (glob, pcre, list, grain, grain_pcre, pillar, ipcidr, compound) and its
// expression. Nodegroups are expanded by the master before publishing, as
// minions do not know them.
type Target struct {
	Kind string `json:"kind"`
	Expr string `json:"expr"`
}

// Job is the signed part of a job message.
type Job struct {
	JID    string         `json:"jid"`
	Fun    string         `json:"fun"`
	Args   []any          `json:"args"`
	Kwargs map[string]any `json:"kwargs"`
	Target Target         `json:"target"`
	// Issued and Expires bound when a minion accepts the job: after Expires
	// it is refused, and a JID seen before Expires is a replay.
	Issued  time.Time `json:"issued"`
	Expires time.Time `json:"expires"`
	// Master is the public key of the signing master.
	Master string `json:"master"`
	// User is who asked for the job (for `brine jobs`); informative only.
	User string `json:"user,omitempty"`
}

// Envelope is what travels on a job subject: the job's JSON exactly as it
// was signed, and the ed25519 signature over those bytes.
type Envelope struct {
	Payload []byte `json:"payload"`
	Sig     []byte `json:"sig"`
}

// Errors a minion's Verifier returns for a job it refuses.
var (
	// ErrMalformed: the message is not an envelope holding a job.
	ErrMalformed = errors.New("malformed job message")
	// ErrUnsigned: the envelope carries no signature.
	ErrUnsigned = errors.New("job is not signed")
	// ErrWrongKey: the job names a master other than the pinned one.
	ErrWrongKey = errors.New("job is signed by another master key")
	// ErrBadSignature: the signature does not match the payload.
	ErrBadSignature = errors.New("job signature does not verify")
	// ErrExpired: the job's expiry has passed (or it is not valid yet).
	ErrExpired = errors.New("job has expired")
	// ErrReplayed: a job with this JID was already accepted.
	ErrReplayed = errors.New("job ID was seen before (replay)")
)

// Sign marshals job and signs it with the master's key pair. The job's
// Master field is set to the key's public key.
func Sign(kp nkeys.KeyPair, job *Job) ([]byte, error) {
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("sign job: %w", err)
	}
	job.Master = pub
	payload, err := json.Marshal(job)
	if err != nil {
		return nil, fmt.Errorf("sign job: %w", err)
	}
	sig, err := kp.Sign(payload)
	if err != nil {
		return nil, fmt.Errorf("sign job: %w", err)
	}
	return json.Marshal(Envelope{Payload: payload, Sig: sig})
}

// Verifier checks jobs on a minion against the pinned master key and
// remembers accepted JIDs until they expire, to refuse replays. It is safe
// for concurrent use.
type Verifier struct {
	// Master is the pinned public key.
	Master string
	// MaxSkew tolerates a master clock ahead of the minion's: a job issued
	// up to MaxSkew in the future is accepted.
	MaxSkew time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time
}

// Verify checks one job message and returns the job when it may run.
func (v *Verifier) Verify(data []byte) (*Job, error) {
	var env Envelope
	if err := json.Unmarshal(data, &env); err != nil || len(env.Payload) == 0 {
		return nil, ErrMalformed
	}
	if len(env.Sig) == 0 {
		return nil, ErrUnsigned
	}
	var job Job
	if err := Unmarshal(env.Payload, &job, false); err != nil {
		return nil, ErrMalformed
	}
	if job.Master != v.Master {
		return nil, fmt.Errorf("%w (job %s names %s)", ErrWrongKey, job.JID, short(job.Master))
	}
	pub, err := nkeys.FromPublicKey(v.Master)
	if err != nil {
		return nil, fmt.Errorf("pinned master key: %w", err)
	}
	if err := pub.Verify(env.Payload, env.Sig); err != nil {
		return nil, ErrBadSignature
	}
	if ValidateJID(job.JID) != nil || job.Fun == "" {
		return nil, ErrMalformed
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen == nil {
		v.seen = map[string]time.Time{}
	}
	for jid, exp := range v.seen {
		if !now.Before(exp) {
			delete(v.seen, jid)
		}
	}
	if !now.Before(job.Expires) || job.Issued.After(now.Add(v.MaxSkew)) {
		return nil, fmt.Errorf("%w (job %s, expiry %s)", ErrExpired, job.JID, job.Expires.Format(time.RFC3339))
	}
	if _, dup := v.seen[job.JID]; dup {
		return nil, fmt.Errorf("%w: %s", ErrReplayed, job.JID)
	}
	v.seen[job.JID] = job.Expires
	return &job, nil
}

func short(pub string) string {
	if len(pub) > 12 {
		return pub[:12] + "..."
	}
	if pub == "" {
		return "no key"
	}
	return pub
}

// JIDFormat is Salt's job ID layout: the UTC time to the microsecond.
const JIDFormat = "20060102150405.000000"

// ValidateJID checks a job ID: 20 digits.
func ValidateJID(jid string) error {
	if len(jid) != 20 {
		return fmt.Errorf("invalid job ID %q: want 20 digits", jid)
	}
	for _, r := range jid {
		if r < '0' || r > '9' {
			return fmt.Errorf("invalid job ID %q: want 20 digits", jid)
		}
	}
	return nil
}

// JIDs hands out unique, increasing job IDs in Salt's format.
type JIDs struct {
	mu   sync.Mutex
	last time.Time
}

// Next returns a new job ID, never equal to or lower than the previous one:
// within the same microsecond the time is moved on by one microsecond.
func (g *JIDs) Next(now time.Time) string {
	now = now.UTC().Truncate(time.Microsecond)
	g.mu.Lock()
	defer g.mu.Unlock()
	if !now.After(g.last) {
		now = g.last.Add(time.Microsecond)
	}
	g.last = now
	s := now.Format(JIDFormat)
	return s[:14] + s[15:]
}

// JIDTime reads the time a job ID was made.
func JIDTime(jid string) (time.Time, error) {
	if err := ValidateJID(jid); err != nil {
		return time.Time{}, err
	}
	return time.Parse(JIDFormat, jid[:14]+"."+jid[14:])
}
