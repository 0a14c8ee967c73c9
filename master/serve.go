package master

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/brine-cm/brine/bus"
	"github.com/brine-cm/brine/fileserver"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/pillar"
)

// requestTimeout bounds the work done for one minion request.
const requestTimeout = 30 * time.Second

func (m *Master) subscribe() error {
	for _, s := range []struct {
		subject string
		handler nats.MsgHandler
	}{
		{bus.RequestsAll, m.onRequest},
		{"brine.evt.*." + bus.OpStartTag, m.onStart},
		{bus.AuthHello, m.onHello},
		{bus.APISubject(">"), m.onAPI},
	} {
		sub, err := m.nc.Subscribe(s.subject, s.handler)
		if err != nil {
			return fmt.Errorf("subscribe %s: %w", s.subject, err)
		}
		_ = sub.SetPendingLimits(1<<20, 256<<20)
		m.subs = append(m.subs, sub)
	}
	return m.nc.Flush()
}

// async runs fn on a bounded pool of workers, so that slow requests (a
// pillar compile, a large file) never hold up the subscription.
func (m *Master) async(fn func()) {
	m.work <- struct{}{}
	m.wg.Add(1)
	go func() {
		defer func() {
			<-m.work
			m.wg.Done()
		}()
		fn()
	}()
}

func respond(msg *nats.Msg, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(bus.Reply{Error: "encode reply: " + err.Error(), Code: bus.CodeInternal})
	}
	_ = msg.Respond(b)
}

// decode reads a JSON request strictly: unknown fields and trailing data
// are errors, as is anything that is not one JSON object. Integers stay
// integers (bus.Numbers).
func decode(data []byte, v any) error {
	return bus.Unmarshal(data, v, true)
}

// onRequest serves a minion's request. The minion is the one named in the
// subject: the server only lets a minion publish on its own request
// subjects. Replies go only to that minion's inbox; a request asking for a
// reply anywhere else is dropped, so that the master cannot be used to
// publish on someone else's subjects.
func (m *Master) onRequest(msg *nats.Msg) {
	id, op, ok := bus.ParseRequest(msg.Subject)
	if !ok {
		m.log.Warn("dropped a request on a malformed subject", "subject", msg.Subject)
		return
	}
	if !strings.HasPrefix(msg.Reply, bus.Inbox(id)+".") {
		m.log.Warn("dropped a request whose reply subject is not the minion's inbox", "id", id, "op", op, "reply", msg.Reply)
		return
	}
	if st, _, ok := m.keys.Lookup(id); !ok || st != Accepted {
		m.log.Warn("dropped a request from a minion whose key is not accepted", "id", id, "op", op)
		return
	}
	m.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		defer cancel()
		switch op {
		case bus.OpHello:
			respond(msg, bus.HelloReply{Master: m.signPub})
		case bus.OpPillar:
			var req bus.PillarRequest
			if err := decode(msg.Data, &req); err != nil {
				m.malformed(msg, id, op, err)
				return
			}
			respond(msg, m.pillarFor(ctx, id, req))
		case bus.OpFileStat, bus.OpFileList, bus.OpFileRead:
			var req bus.FileRequest
			if err := decode(msg.Data, &req); err != nil {
				m.malformed(msg, id, op, err)
				return
			}
			switch op {
			case bus.OpFileStat:
				respond(msg, m.fileStat(ctx, req))
			case bus.OpFileList:
				respond(msg, m.fileList(ctx, req))
			default:
				respond(msg, m.fileRead(ctx, req))
			}
			if req.Path != "" {
				m.log.Debug("file request", "id", id, "op", op, "path", req.Path)
			}
		default:
			m.log.Warn("dropped a request for an unknown operation", "id", id, "op", op)
			respond(msg, bus.Reply{Error: "unknown request " + op, Code: bus.CodeInvalid})
		}
	})
}

func (m *Master) malformed(msg *nats.Msg, id, op string, err error) {
	m.log.Warn("dropped a malformed request", "id", id, "op", op, "bytes", len(msg.Data), "error", err)
	respond(msg, bus.Reply{Error: "malformed request: " + err.Error(), Code: bus.CodeInvalid})
}

// onStart records the grains a minion reports when it connects.
func (m *Master) onStart(msg *nats.Msg) {
	id, _, ok := bus.ParseEvent(msg.Subject)
	if !ok || id == "master" {
		return
	}
	if st, _, ok := m.keys.Lookup(id); !ok || st != Accepted {
		return
	}
	var ev bus.StartEvent
	if err := bus.Unmarshal(msg.Data, &ev, false); err != nil {
		m.log.Warn("dropped a malformed start event", "id", id, "error", err)
		return
	}
	if ev.Grains == nil {
		ev.Grains = map[string]any{}
	}
	ev.Grains["id"] = id
	var extra []string
	for _, fn := range ev.Functions {
		if _, ok := modules.Lookup(fn); !ok && len(fn) < 256 && strings.Contains(fn, ".") {
			extra = append(extra, fn)
		}
	}
	m.reg.setFunctions(id, extra)
	m.log.Info("minion started", "id", id, "version", ev.Version, "extra_functions", len(extra))
	m.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		defer cancel()
		m.reg.setGrains(ctx, id, ev.Grains, m.log)
	})
}

// onHello logs an unaccepted minion's announcement. Who sent it cannot be
// told from the message (every pending minion may publish here), so the
// authenticator, which knows, is what records the key and raises the auth
// event.
func (m *Master) onHello(msg *nats.Msg) {
	var a bus.Announce
	if err := json.Unmarshal(msg.Data, &a); err != nil {
		m.log.Warn("dropped a malformed hello", "bytes", len(msg.Data), "error", err)
		return
	}
	m.log.Debug("hello from a minion waiting for acceptance", "claimed_id", a.ID)
}

// pendingEvent announces a newly recorded key on the event bus.
func (m *Master) pendingEvent(id, pub string) {
	if m.nc == nil {
		return
	}
	b, _ := json.Marshal(map[string]any{"id": id, "fingerprint": bus.Fingerprint(pub), "act": "pend"})
	_ = m.nc.Publish(bus.MasterEvent("auth"), b)
}

// event publishes a master event.
func (m *Master) event(tag string, v any) {
	b, err := json.Marshal(v)
	if err == nil {
		_ = m.nc.Publish(bus.MasterEvent(tag), b)
	}
}

func (m *Master) pillarFor(ctx context.Context, id string, req bus.PillarRequest) bus.PillarReply {
	grains := req.Grains
	if grains == nil {
		if d, ok := m.reg.get(id); ok {
			grains = maps.Clone(d.Grains)
		}
	}
	if grains == nil {
		grains = map[string]any{}
	}
	grains["id"] = id
	m.reg.setGrains(ctx, id, grains, m.log)
	p, err := m.compilePillar(ctx, id, grains, req.Saltenv)
	if err != nil {
		m.log.Warn("pillar failed to compile", "id", id, "error", err)
		return bus.PillarReply{Reply: bus.Reply{Error: err.Error(), Code: bus.CodeInvalid}}
	}
	return bus.PillarReply{Pillar: p}
}

func (m *Master) compilePillar(ctx context.Context, id string, grains map[string]any, saltenv string) (map[string]any, error) {
	p, err := pillar.Compile(ctx, pillar.Options{
		Roots:      m.pillars,
		Saltenv:    saltenv,
		ID:         id,
		Grains:     grains,
		Opts:       m.opts(id),
		Nodegroups: m.cfg.Nodegroups,
		MergeLists: m.cfg.PillarMergeLists,
		Log:        m.log,
	})
	if err != nil {
		return nil, err
	}
	m.reg.setPillar(id, p)
	return p, nil
}

// opts is what pillar templates see as opts.
func (m *Master) opts(id string) map[string]any {
	roots := func(r map[string][]string) map[string]any {
		out := map[string]any{}
		for env, dirs := range r {
			l := make([]any, len(dirs))
			for i, d := range dirs {
				l[i] = d
			}
			out[env] = l
		}
		return out
	}
	return map[string]any{
		"id":           id,
		"file_roots":   roots(m.cfg.FileRoots),
		"pillar_roots": roots(m.cfg.PillarRoots),
		"saltenv":      "base",
		"renderer":     "jinja|yaml",
	}
}

// hashCache remembers the sha256 of served files by path, size and
// modification time, so that a fleet's highstate hashes each file once.
type hashCache struct {
	mu sync.Mutex
	m  map[string]hashEntry
}

type hashEntry struct {
	size  int64
	mtime time.Time
	hash  string
}

func (h *hashCache) get(real string, fi fs.FileInfo) (string, error) {
	h.mu.Lock()
	e, ok := h.m[real]
	h.mu.Unlock()
	if ok && e.size == fi.Size() && e.mtime.Equal(fi.ModTime()) {
		return e.hash, nil
	}
	f, err := os.Open(real)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return "", err
	}
	hash := "sha256:" + hex.EncodeToString(sum.Sum(nil))
	h.mu.Lock()
	if h.m == nil {
		h.m = map[string]hashEntry{}
	}
	h.m[real] = hashEntry{size: fi.Size(), mtime: fi.ModTime(), hash: hash}
	h.mu.Unlock()
	return hash, nil
}

// locate checks a salt:// path and returns it in canonical form with the
// real file it names.
func (m *Master) locate(ctx context.Context, req bus.FileRequest) (rel, real string, fi fs.FileInfo, err error) {
	rel, err = fileserver.Clean(req.Path)
	if err != nil {
		return "", "", nil, err
	}
	real, err = m.files.Cache(ctx, req.Saltenv, rel)
	if err != nil {
		return "", "", nil, err
	}
	fi, err = os.Stat(real)
	if err != nil {
		return "", "", nil, fmt.Errorf("salt://%s: %w", rel, err)
	}
	return rel, real, fi, nil
}

func (m *Master) fileStat(ctx context.Context, req bus.FileRequest) bus.FileStatReply {
	rel, real, fi, err := m.locate(ctx, req)
	if err != nil {
		return bus.FileStatReply{Reply: bus.ReplyFor(err)}
	}
	info := bus.FileInfo{Path: rel, Mode: uint32(fi.Mode().Perm()), Dir: fi.IsDir()}
	if !fi.IsDir() {
		if !fi.Mode().IsRegular() {
			return bus.FileStatReply{Reply: bus.Reply{Error: "salt://" + rel + " is not a regular file", Code: bus.CodeInvalid}}
		}
		info.Size = fi.Size()
		if info.Hash, err = m.hashes.get(real, fi); err != nil {
			return bus.FileStatReply{Reply: bus.ReplyFor(err)}
		}
	}
	return bus.FileStatReply{Info: info}
}

func (m *Master) fileList(ctx context.Context, req bus.FileRequest) bus.FileListReply {
	list, err := m.files.List(ctx, req.Saltenv, req.Path)
	if err != nil {
		return bus.FileListReply{Reply: bus.ReplyFor(err)}
	}
	out := make([]bus.FileInfo, len(list))
	for i, fi := range list {
		out[i] = bus.WireInfo(fi)
	}
	return bus.FileListReply{Files: out}
}

func (m *Master) fileRead(ctx context.Context, req bus.FileRequest) bus.FileReadReply {
	rel, real, fi, err := m.locate(ctx, req)
	if err != nil {
		return bus.FileReadReply{Reply: bus.ReplyFor(err)}
	}
	if !fi.Mode().IsRegular() {
		return bus.FileReadReply{Reply: bus.Reply{Error: "salt://" + rel + " is not a regular file", Code: bus.CodeInvalid}}
	}
	if req.Offset < 0 || req.Offset > fi.Size() {
		return bus.FileReadReply{Reply: bus.Reply{Error: fmt.Sprintf("offset %d outside salt://%s (%d bytes)", req.Offset, rel, fi.Size()), Code: bus.CodeInvalid}}
	}
	hash, err := m.hashes.get(real, fi)
	if err != nil {
		return bus.FileReadReply{Reply: bus.ReplyFor(err)}
	}
	size := req.Size
	if size <= 0 || size > bus.FileChunk {
		size = bus.FileChunk
	}
	f, err := os.Open(real)
	if err != nil {
		return bus.FileReadReply{Reply: bus.ReplyFor(fmt.Errorf("read salt://%s: %w", rel, err))}
	}
	defer f.Close()
	buf := make([]byte, size)
	n, err := f.ReadAt(buf, req.Offset)
	if err != nil && err != io.EOF {
		return bus.FileReadReply{Reply: bus.ReplyFor(fmt.Errorf("read salt://%s: %w", rel, err))}
	}
	return bus.FileReadReply{Data: buf[:n], Size: fi.Size(), Hash: hash, EOF: req.Offset+int64(n) >= fi.Size()}
}
