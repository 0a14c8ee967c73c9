package master

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/brine-cm/brine/bus"
)

// registry is the master's minion data cache: the grains each minion last
// reported (from its start event and pillar requests), the pillar last
// compiled for it, and when it was last heard from. Grains and last-seen
// persist in a KV bucket so that targeting works right after a restart;
// pillar is kept in memory only.
type registry struct {
	mu      sync.RWMutex
	minions map[string]*minionData
	kv      jetstream.KeyValue
}

type minionData struct {
	Grains   map[string]any `json:"grains"`
	LastSeen time.Time      `json:"last_seen"`
	pillar   map[string]any
	// extra are functions the minion offers that the master lacks
	// (plugins), from its start event.
	extra map[string]bool
}

func (r *registry) load(ctx context.Context, kv jetstream.KeyValue, log *slog.Logger) error {
	r.mu.Lock()
	r.kv = kv
	if r.minions == nil {
		r.minions = map[string]*minionData{}
	}
	r.mu.Unlock()
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		return err
	}
	for key := range lister.Keys() {
		e, err := kv.Get(ctx, key)
		if err != nil {
			if !errors.Is(err, jetstream.ErrKeyNotFound) {
				log.Warn("minion registry: read", "id", key, "error", err)
			}
			continue
		}
		var d minionData
		if err := bus.Unmarshal(e.Value(), &d, false); err != nil || bus.ValidateID(key) != nil {
			log.Warn("minion registry: skipping a bad entry", "key", key)
			continue
		}
		bus.Numbers(d.Grains)
		r.mu.Lock()
		r.minions[key] = &d
		r.mu.Unlock()
	}
	return nil
}

// setGrains records a minion's grains; they are written to the bucket only
// when they changed.
func (r *registry) setGrains(ctx context.Context, id string, grains map[string]any, log *slog.Logger) {
	now := time.Now().UTC()
	r.mu.Lock()
	if r.minions == nil {
		r.minions = map[string]*minionData{}
	}
	d := r.minions[id]
	if d == nil {
		d = &minionData{}
		r.minions[id] = d
	}
	changed := !reflect.DeepEqual(d.Grains, grains) || now.Sub(d.LastSeen) > time.Hour
	d.Grains = grains
	d.LastSeen = now
	b, _ := json.Marshal(d)
	kv := r.kv
	r.mu.Unlock()
	if changed && kv != nil {
		if _, err := kv.Put(ctx, id, b); err != nil {
			log.Warn("minion registry: write", "id", id, "error", err)
		}
	}
}

func (r *registry) setPillar(id string, p map[string]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.minions == nil {
		r.minions = map[string]*minionData{}
	}
	d := r.minions[id]
	if d == nil {
		d = &minionData{}
		r.minions[id] = d
	}
	d.pillar = p
}

func (r *registry) setFunctions(id string, names []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.minions == nil {
		r.minions = map[string]*minionData{}
	}
	d := r.minions[id]
	if d == nil {
		d = &minionData{}
		r.minions[id] = d
	}
	d.extra = map[string]bool{}
	for _, n := range names {
		d.extra[n] = true
	}
}

// offered reports whether some minion offers fun (a plugin function).
func (r *registry) offered(fun string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, d := range r.minions {
		if d.extra[fun] {
			return true
		}
	}
	return false
}

// get returns a copy of what is known about a minion.
func (r *registry) get(id string) (minionData, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.minions[id]
	if !ok {
		return minionData{}, false
	}
	return *d, true
}

func (r *registry) forget(ctx context.Context, id string) {
	r.mu.Lock()
	delete(r.minions, id)
	kv := r.kv
	r.mu.Unlock()
	if kv != nil {
		_ = kv.Purge(ctx, id)
	}
}
