package bus

import "time"

// Admin API operations, published by the CLI on APISubject(op) with admin
// credentials; the master answers each with a JSON reply embedding Reply.
const (
	APIJID         = "jid"
	APIPublish     = "publish"
	APIExpect      = "expect"
	APIKeys        = "keys.list"
	APIKeyAccept   = "keys.accept"
	APIKeyReject   = "keys.reject"
	APIKeyDelete   = "keys.delete"
	APIFingerprint = "keys.fingerprint"
	APIJobs        = "jobs.list"
	APIJob         = "jobs.show"
	APIMinions     = "minions"
)

// JIDReply hands out a fresh job ID, so that the CLI can listen for its
// returns before the job is published.
type JIDReply struct {
	Reply
	JID string `json:"jid"`
}

// PublishRequest asks the master to sign and publish a job.
type PublishRequest struct {
	JID    string         `json:"jid"`
	Fun    string         `json:"fun"`
	Args   []any          `json:"args"`
	Kwargs map[string]any `json:"kwargs"`
	Target Target         `json:"target"`
	// TTL is how long minions accept the job after it is issued; zero
	// means the master's job_ttl.
	TTL  time.Duration `json:"ttl,omitempty"`
	User string        `json:"user,omitempty"`
}

// PublishReply says who the job should reach.
type PublishReply struct {
	Reply
	JID string `json:"jid"`
	// Minions are the accepted minions the target matches, by the master's
	// registry (IDs, and grains from the minions' start events).
	Minions []string `json:"minions"`
	// NotConnected are those of Minions without a live connection.
	NotConnected []string `json:"not_connected,omitempty"`
}

// ExpectRequest asks which minions a target matches, without publishing.
type ExpectRequest struct {
	Target Target `json:"target"`
}

// KeysRequest names keys for accept, reject, delete and fingerprint; All
// takes every key in the states the operation applies to.
type KeysRequest struct {
	IDs []string `json:"ids,omitempty"`
	All bool     `json:"all,omitempty"`
	// Include also acts on keys in the other state (accept a rejected key,
	// reject an accepted one), as salt-key's --include-rejected/-accepted.
	Include bool `json:"include,omitempty"`
}

// KeyInfo is one minion key.
type KeyInfo struct {
	ID          string `json:"id"`
	State       string `json:"state"`
	Key         string `json:"key"`
	Fingerprint string `json:"fingerprint"`
}

// KeysReply lists keys by state, or the keys an operation changed.
type KeysReply struct {
	Reply
	Pending  []string  `json:"pending"`
	Accepted []string  `json:"accepted"`
	Rejected []string  `json:"rejected"`
	Keys     []KeyInfo `json:"keys,omitempty"`
	// Master is the master's job-signing key and its fingerprint.
	Master            string `json:"master,omitempty"`
	MasterFingerprint string `json:"master_fingerprint,omitempty"`
}

// JobInfo is a job as the job cache keeps it.
type JobInfo struct {
	JID     string         `json:"jid"`
	Fun     string         `json:"fun"`
	Args    []any          `json:"args"`
	Kwargs  map[string]any `json:"kwargs,omitempty"`
	Target  Target         `json:"target"`
	Minions []string       `json:"minions"`
	Issued  time.Time      `json:"issued"`
	User    string         `json:"user,omitempty"`
	// Returned counts the minions whose return is in the cache (jobs.list).
	Returned int `json:"returned"`
}

// JobsRequest filters jobs.list and names the job for jobs.show.
type JobsRequest struct {
	JID   string `json:"jid,omitempty"`
	Limit int    `json:"limit,omitempty"`
}

// JobsReply lists jobs, newest last.
type JobsReply struct {
	Reply
	Jobs []JobInfo `json:"jobs"`
}

// JobReply is one job with the returns the cache holds.
type JobReply struct {
	Reply
	Job     JobInfo  `json:"job"`
	Returns []Return `json:"returns"`
}

// MinionInfo is one entry of the master's minion registry.
type MinionInfo struct {
	ID        string         `json:"id"`
	Connected bool           `json:"connected"`
	LastSeen  time.Time      `json:"last_seen"`
	Grains    map[string]any `json:"grains,omitempty"`
}

// MinionsReply lists the registry.
type MinionsReply struct {
	Reply
	Minions []MinionInfo `json:"minions"`
}
