package bus

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/brine-cm/brine/api"
)

// MaxPayload bounds every message on the bus (the embedded server's
// max_payload); larger messages are refused by the server.
const MaxPayload = 8 << 20

// FileChunk is the most file content one file.read reply carries.
const FileChunk = 512 << 10

// Return is a minion's answer to one job. The minion's ID is never read
// from it: it comes from the subject the server let the minion publish on.
type Return struct {
	JID string `json:"jid"`
	Fun string `json:"fun"`
	// Return is the function's return value as JSON; a failed call returns
	// its error message, a state run that did not compile the list of
	// compile errors.
	Return json.RawMessage `json:"return"`
	// Retcode is Salt's: 0 success, 1 an error or compile error, 2 a state
	// that returned False.
	Retcode int  `json:"retcode"`
	Success bool `json:"success"`
	// Out names the outputter that suits the return (highstate, nested).
	Out string `json:"out,omitempty"`
	// Stamp is when the minion finished the job.
	Stamp time.Time `json:"_stamp"`
	// ID is filled in by the reader from the subject.
	ID string `json:"id,omitempty"`
}

// Reply is embedded in every reply from the master: a failure carries a
// message and a code the requester can act on.
type Reply struct {
	Error string `json:"error,omitempty"`
	Code  string `json:"code,omitempty"`
}

// Error codes in Reply.Code.
const (
	CodeNotFound = "not_found"
	CodeEscapes  = "escapes"
	CodeInvalid  = "invalid"
	CodeInternal = "internal"
)

// Err turns a failed reply back into an error, with the file server's
// sentinel errors restored so that callers can test them with errors.Is.
func (r Reply) Err() error {
	if r.Error == "" && r.Code == "" {
		return nil
	}
	switch r.Code {
	case CodeNotFound:
		return fmt.Errorf("%s: %w", trimSentinel(r.Error, api.ErrFileNotFound), api.ErrFileNotFound)
	case CodeEscapes:
		return fmt.Errorf("%s: %w", trimSentinel(r.Error, api.ErrPathEscapes), api.ErrPathEscapes)
	}
	return errors.New(r.Error)
}

func trimSentinel(msg string, sentinel error) string {
	suffix := ": " + sentinel.Error()
	if len(msg) > len(suffix) && msg[len(msg)-len(suffix):] == suffix {
		return msg[:len(msg)-len(suffix)]
	}
	return msg
}

// ReplyFor describes err for a reply, classifying the file server's
// sentinel errors.
func ReplyFor(err error) Reply {
	switch {
	case err == nil:
		return Reply{}
	case errors.Is(err, api.ErrFileNotFound):
		return Reply{Error: err.Error(), Code: CodeNotFound}
	case errors.Is(err, api.ErrPathEscapes):
		return Reply{Error: err.Error(), Code: CodeEscapes}
	}
	return Reply{Error: err.Error(), Code: CodeInternal}
}

// HelloReply answers a minion's hello: the master's job-signing key, which
// the minion pins on first contact.
type HelloReply struct {
	Reply
	Master string `json:"master"`
}

// Announce is what an unaccepted minion publishes on AuthHello, and what
// the master's auth events carry.
type Announce struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// PillarRequest asks for the minion's pillar; the grains it sends are what
// the pillar top file is matched against (and refresh the master's cache).
type PillarRequest struct {
	Grains  map[string]any `json:"grains"`
	Saltenv string         `json:"saltenv,omitempty"`
}

// PillarReply carries the compiled pillar.
type PillarReply struct {
	Reply
	Pillar map[string]any `json:"pillar"`
}

// FileRequest names a salt:// path; Offset and Size select a chunk for
// file.read.
type FileRequest struct {
	Saltenv string `json:"saltenv"`
	Path    string `json:"path"`
	Offset  int64  `json:"offset,omitempty"`
	Size    int    `json:"size,omitempty"`
}

// FileInfo is api.FileInfo on the wire.
type FileInfo struct {
	Path string `json:"path"`
	Mode uint32 `json:"mode"`
	Dir  bool   `json:"dir,omitempty"`
	Hash string `json:"hash,omitempty"`
	Size int64  `json:"size"`
}

// WireInfo converts a file description for the wire.
func WireInfo(fi api.FileInfo) FileInfo {
	return FileInfo{Path: fi.Path, Mode: uint32(fi.Mode.Perm()), Dir: fi.Mode.IsDir(), Hash: fi.Hash, Size: fi.Size}
}

// Info converts a wire file description back.
func (f FileInfo) Info() api.FileInfo {
	fi := api.FileInfo{Path: f.Path, Hash: f.Hash, Size: f.Size}
	fi.Mode = fs.FileMode(f.Mode) & fs.ModePerm
	if f.Dir {
		fi.Mode |= fs.ModeDir
	}
	return fi
}

// FileStatReply describes one path.
type FileStatReply struct {
	Reply
	Info FileInfo `json:"info"`
}

// FileListReply lists a directory.
type FileListReply struct {
	Reply
	Files []FileInfo `json:"files"`
}

// FileReadReply carries one chunk of a file and the hash of the whole file
// as the master read it, so that the minion can check what it assembled.
type FileReadReply struct {
	Reply
	Data []byte `json:"data"`
	Size int64  `json:"size"`
	Hash string `json:"hash"`
	EOF  bool   `json:"eof"`
}

// StartEvent is published by a minion when it connects: its grains feed the
// master's cache, which decides who a target should reach.
type StartEvent struct {
	Grains  map[string]any `json:"grains"`
	Version string         `json:"version"`
	// Functions lists the execution functions the minion offers, so that
	// the master accepts jobs for plugin functions it does not have itself.
	Functions []string `json:"functions,omitempty"`
}

// JobEvent is a minion's heartbeat for a job still running, so that the CLI
// keeps waiting for it past --timeout.
type JobEvent struct {
	JID string `json:"jid"`
	Fun string `json:"fun"`
}
