package master

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/nats-io/nkeys"

	"github.com/brine-cm/brine/bus"
)

// KeyState is where a minion key stands, named as salt-key's lists.
type KeyState string

// The key states; each is a directory under <state dir>/keys.
const (
	Pending  KeyState = "pending"
	Accepted KeyState = "accepted"
	Rejected KeyState = "rejected"
)

var keyStates = []KeyState{Pending, Accepted, Rejected}

// ErrUnknownKey is returned for an operation on a minion ID that has no key.
var ErrUnknownKey = errors.New("no such minion key")

// ErrKeyConflict is returned when an ID already bound to one key is
// claimed with another.
var ErrKeyConflict = errors.New("minion ID is bound to another key")

// KeyStore keeps minion public keys as files under
// <dir>/{pending,accepted,rejected}/<id>, like Salt's pki directories, so
// that an operator can inspect them; the master works from the copy in
// memory. It is safe for concurrent use.
type KeyStore struct {
	dir  string
	mu   sync.RWMutex
	keys map[string]keyEntry
}

type keyEntry struct {
	state KeyState
	pub   string
}

// OpenKeyStore loads every key under dir, creating the directories. A file
// whose name is not a valid minion ID or whose content is not a user NKey
// is skipped and logged.
func OpenKeyStore(dir string, log *slog.Logger) (*KeyStore, error) {
	ks := &KeyStore{dir: dir, keys: map[string]keyEntry{}}
	for _, st := range keyStates {
		d := filepath.Join(dir, string(st))
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("key store: %w", err)
		}
		entries, err := os.ReadDir(d)
		if err != nil {
			return nil, fmt.Errorf("key store: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			id := e.Name()
			if err := bus.ValidateID(id); err != nil {
				log.Warn("skipping key file with a bad name", "file", filepath.Join(d, id), "error", err)
				continue
			}
			b, err := os.ReadFile(filepath.Join(d, id))
			if err != nil {
				return nil, fmt.Errorf("key store: %w", err)
			}
			pub := strings.TrimSpace(string(b))
			if !nkeys.IsValidPublicUserKey(pub) {
				log.Warn("skipping key file that holds no minion public key", "file", filepath.Join(d, id))
				continue
			}
			if prev, dup := ks.keys[id]; dup {
				log.Warn("minion key present in two states; keeping the first", "id", id, "kept", prev.state, "ignored", st)
				continue
			}
			ks.keys[id] = keyEntry{state: st, pub: pub}
		}
	}
	return ks, nil
}

// Lookup returns the state and public key recorded for id.
func (ks *KeyStore) Lookup(id string) (KeyState, string, bool) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	e, ok := ks.keys[id]
	return e.state, e.pub, ok
}

// AddPending records an unknown minion's key as pending. Adding the same
// key again is a no-op; a different key for a known ID is ErrKeyConflict.
func (ks *KeyStore) AddPending(id, pub string) error {
	if err := bus.ValidateID(id); err != nil {
		return err
	}
	if !nkeys.IsValidPublicUserKey(pub) {
		return fmt.Errorf("minion %s: not a user public key", id)
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if e, ok := ks.keys[id]; ok {
		if e.pub != pub {
			return fmt.Errorf("%w: %s", ErrKeyConflict, id)
		}
		return nil
	}
	if err := ks.write(Pending, id, pub); err != nil {
		return err
	}
	ks.keys[id] = keyEntry{state: Pending, pub: pub}
	return nil
}

// Accept moves a key to accepted (from pending, or from rejected when
// include is set).
func (ks *KeyStore) Accept(id string, include bool) error {
	from := []KeyState{Pending}
	if include {
		from = append(from, Rejected)
	}
	return ks.move(id, Accepted, from)
}

// Reject moves a key to rejected (from pending, or from accepted when
// include is set).
func (ks *KeyStore) Reject(id string, include bool) error {
	from := []KeyState{Pending}
	if include {
		from = append(from, Accepted)
	}
	return ks.move(id, Rejected, from)
}

// AcceptNew records a new key directly as accepted (auto_accept). A key
// already known keeps its state; a different key for a known ID is
// ErrKeyConflict.
func (ks *KeyStore) AcceptNew(id, pub string) (KeyState, error) {
	if err := bus.ValidateID(id); err != nil {
		return "", err
	}
	if !nkeys.IsValidPublicUserKey(pub) {
		return "", fmt.Errorf("minion %s: not a user public key", id)
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if e, ok := ks.keys[id]; ok {
		if e.pub != pub {
			return "", fmt.Errorf("%w: %s", ErrKeyConflict, id)
		}
		return e.state, nil
	}
	if err := ks.write(Accepted, id, pub); err != nil {
		return "", err
	}
	ks.keys[id] = keyEntry{state: Accepted, pub: pub}
	return Accepted, nil
}

// Delete forgets a key in any state.
func (ks *KeyStore) Delete(id string) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	e, ok := ks.keys[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownKey, id)
	}
	if err := os.Remove(ks.path(e.state, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete key %s: %w", id, err)
	}
	delete(ks.keys, id)
	return nil
}

func (ks *KeyStore) move(id string, to KeyState, from []KeyState) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	e, ok := ks.keys[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownKey, id)
	}
	if e.state == to {
		return nil
	}
	allowed := false
	for _, f := range from {
		allowed = allowed || e.state == f
	}
	if !allowed {
		return fmt.Errorf("key %s is %s, not %s", id, e.state, joinStates(from))
	}
	if err := ks.write(to, id, e.pub); err != nil {
		return err
	}
	if err := os.Remove(ks.path(e.state, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("move key %s: %w", id, err)
	}
	ks.keys[id] = keyEntry{state: to, pub: e.pub}
	return nil
}

func joinStates(s []KeyState) string {
	out := make([]string, len(s))
	for i, st := range s {
		out[i] = string(st)
	}
	return strings.Join(out, " or ")
}

func (ks *KeyStore) path(st KeyState, id string) string {
	return filepath.Join(ks.dir, string(st), id)
}

// write stores a key file atomically (temp file, then rename).
func (ks *KeyStore) write(st KeyState, id, pub string) error {
	p := ks.path(st, id)
	tmp, err := os.CreateTemp(filepath.Dir(p), ".key-*")
	if err != nil {
		return fmt.Errorf("write key %s: %w", id, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(pub + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("write key %s: %w", id, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write key %s: %w", id, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write key %s: %w", id, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("write key %s: %w", id, err)
	}
	return nil
}

// List returns the IDs in each state, sorted.
func (ks *KeyStore) List() map[KeyState][]string {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	out := map[KeyState][]string{Pending: {}, Accepted: {}, Rejected: {}}
	for id, e := range ks.keys {
		out[e.state] = append(out[e.state], id)
	}
	for _, ids := range out {
		sort.Strings(ids)
	}
	return out
}
