// Package bus is the wire contract between brine's master, its minions and
// the CLI: the NATS subjects, the messages that travel on them, and the
// signing and checking of jobs. It holds no server and no agent, so that the
// master, the minion and the CLI agree on one definition of each subject and
// of who may use it.
//
// A minion's identity on the bus is the server-authenticated user name, and
// every subject a minion may use carries its ID as one token. IDs may contain
// dots (FQDNs), which NATS uses as token separators, so an ID is written into
// a subject with each "." replaced by "~" (Token); "~" is not allowed in an
// ID, so the mapping cannot be confused.
package bus

import (
	"errors"
	"fmt"
	"strings"
)

// Subject prefixes and fixed subjects.
const (
	// JobAll carries broadcast jobs; each minion matches the target itself.
	JobAll = "brine.job.all"
	// AuthHello is where an unaccepted minion announces its key.
	AuthHello = "brine.auth.hello"
	// ReturnsAll matches every return (the job cache's stream subject).
	ReturnsAll = "brine.ret.>"
	// EventsAll matches every event.
	EventsAll = "brine.evt.>"
	// MasterToken stands for the master in event subjects; it cannot be a
	// minion's token because "$" is not allowed in IDs.
	MasterToken = "$master"
	// InboxBase starts every minion's reply inbox: _INBOX_<token>.
	InboxBase = "_INBOX_"
)

// Request operations a minion sends to the master on RequestSubject(id, op).
const (
	OpHello     = "hello"
	OpPillar    = "pillar"
	OpFileStat  = "file.stat"
	OpFileList  = "file.list"
	OpFileRead  = "file.read"
	OpStartTag  = "start"
	OpHeartbeat = "job"
)

// ErrInvalidID is wrapped by every error about a malformed minion ID.
var ErrInvalidID = errors.New("invalid minion ID")

// MaxIDLength bounds a minion ID (a DNS name is at most 253 characters).
const MaxIDLength = 253

// ValidateID checks that id can name a minion: letters, digits, ".", "-"
// and "_", not starting with "." or "-", no ".." and at most MaxIDLength
// characters. IDs become key file names and subject tokens, so anything
// that could leave a directory or act as a NATS wildcard is refused with an
// error that names the ID and the problem.
func ValidateID(id string) error {
	bad := func(why string) error { return fmt.Errorf("%w %q: %s", ErrInvalidID, id, why) }
	switch {
	case id == "":
		return bad("empty")
	case len(id) > MaxIDLength:
		return bad(fmt.Sprintf("longer than %d characters", MaxIDLength))
	case strings.Contains(id, ".."):
		return bad(`contains ".."`)
	case id[0] == '.' || id[0] == '-':
		return bad(`starts with "` + id[:1] + `"`)
	case strings.HasSuffix(id, "."):
		return bad(`ends with "."`)
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
		case r == ' ' || r == '\t' || r == '\n':
			return bad("contains white space")
		case r == '/' || r == '\\':
			return bad("contains a path separator")
		case r == '*' || r == '>':
			return bad(fmt.Sprintf("contains the wildcard %q", r))
		default:
			return bad(fmt.Sprintf("contains %q (allowed: letters, digits, '.', '-', '_')", r))
		}
	}
	return nil
}

// Token writes a (valid) minion ID as one subject token.
func Token(id string) string { return strings.ReplaceAll(id, ".", "~") }

// IDFromToken reverses Token.
func IDFromToken(tok string) string { return strings.ReplaceAll(tok, "~", ".") }

// JobFor is the direct job subject of one minion.
func JobFor(id string) string { return "brine.job.m." + Token(id) }

// ReturnSubject is the subject a minion publishes its return for jid on.
func ReturnSubject(jid, id string) string { return "brine.ret." + jid + "." + Token(id) }

// ReturnsOf matches every return of one job.
func ReturnsOf(jid string) string { return "brine.ret." + jid + ".*" }

// EventSubject is the subject of an event tagged tag (dot-separated) from id.
func EventSubject(id, tag string) string { return "brine.evt." + Token(id) + "." + tag }

// MasterEvent is the subject of an event the master itself publishes.
func MasterEvent(tag string) string { return "brine.evt." + MasterToken + "." + tag }

// RequestSubject is the subject of a request op from minion id to the master.
func RequestSubject(id, op string) string { return "brine.req." + Token(id) + "." + op }

// RequestsAll matches every minion request.
const RequestsAll = "brine.req.*.>"

// APISubject is the subject of an admin API operation (CLI to master).
func APISubject(op string) string { return "brine.api." + op }

// Inbox is the reply-subject prefix of minion id (nats.CustomInboxPrefix).
func Inbox(id string) string { return InboxBase + Token(id) }

// ParseReturn splits a return subject into the job ID and the minion ID.
func ParseReturn(subject string) (jid, id string, ok bool) {
	parts := strings.Split(subject, ".")
	if len(parts) != 4 || parts[0] != "brine" || parts[1] != "ret" || parts[2] == "" || parts[3] == "" {
		return "", "", false
	}
	id = IDFromToken(parts[3])
	if ValidateJID(parts[2]) != nil || ValidateID(id) != nil {
		return "", "", false
	}
	return parts[2], id, true
}

// ParseRequest splits a request subject into the minion ID and the op.
func ParseRequest(subject string) (id, op string, ok bool) {
	parts := strings.SplitN(subject, ".", 4)
	if len(parts) != 4 || parts[0] != "brine" || parts[1] != "req" {
		return "", "", false
	}
	id = IDFromToken(parts[2])
	if ValidateID(id) != nil || parts[3] == "" {
		return "", "", false
	}
	return id, parts[3], true
}

// ParseEvent splits an event subject into the source (a minion ID, or
// "master") and the tag.
func ParseEvent(subject string) (source, tag string, ok bool) {
	parts := strings.SplitN(subject, ".", 4)
	if len(parts) != 4 || parts[0] != "brine" || parts[1] != "evt" || parts[3] == "" {
		return "", "", false
	}
	if parts[2] == MasterToken {
		return "master", parts[3], true
	}
	id := IDFromToken(parts[2])
	if ValidateID(id) != nil {
		return "", "", false
	}
	return id, parts[3], true
}

// MinionPermissions are the subjects an accepted minion may use; the master
// enforces them in the NATS server. Subscribe: broadcast jobs, its own job
// subject and its own reply inbox. Publish: its own returns, events and
// requests. Nothing else: no other minion's subjects, no job subjects, no
// JetStream API.
func MinionPermissions(id string) (publish, subscribe []string) {
	tok := Token(id)
	publish = []string{
		"brine.ret.*." + tok,
		"brine.evt." + tok + ".>",
		"brine.req." + tok + ".>",
	}
	subscribe = []string{
		JobAll,
		JobFor(id),
		InboxBase + tok + ".>",
	}
	return publish, subscribe
}
