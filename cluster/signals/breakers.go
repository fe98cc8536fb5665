package signals

import (
	"context"
	"io"
	"sync"
	"time"

	"go.uber.org/zap"

	cb "github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/cluster/signalpb"
	"github.com/viable-systems/vsm-connections/internal/ask"
	"github.com/viable-systems/vsm-connections/systems/s2/coord"
)

// recordMsg is a Record with its breaker's name, as the hub keeps it.
type recordMsg struct {
	breaker string
	rec     coord.Record
}

func toPB(name string, r coord.Record) *signalpb.BreakerRecord {
	return &signalpb.BreakerRecord{
		Breaker: name, State: int32(r.State), Manual: r.Manual, Reason: string(r.Reason),
		Node: r.Node, Version: r.Version, AtUnixNano: r.At.UnixNano(),
	}
}

func fromPB(p *signalpb.BreakerRecord) coord.Record {
	return coord.Record{
		State: cb.State(p.GetState()), Manual: p.GetManual(), Reason: cb.Reason(p.GetReason()),
		Node: p.GetNode(), Version: p.GetVersion(), At: time.Unix(0, p.GetAtUnixNano()),
	}
}

// leaderState is what the leader keeps of one breaker: the Redis
// coordinator's state key, version counter and lease, in memory.
type leaderState struct {
	last    *coord.Record
	counter int64
	holder  string
	until   time.Time
	// inherited: holder was probing (a half_open Record) under the last
	// leader, whose lease expiry is unknown here: it counts as held for
	// one lease TTL from the takeover.
	inherited bool
}

// Transport is the coord.Transport of the shared breaker name over the
// cluster: the leader (see leader) numbers, stores and sends Records to
// every member and grants the probe lease; the others ask it by remote
// request. Give it to the breaker's coordinator (coord.Env.Transport).
func (h *Hub) Transport(name string) coord.Transport { return &transport{h: h, name: name} }

type transport struct {
	h    *Hub
	name string
}

var _ coord.Transport = (*transport)(nil)

type closer func()

func (c closer) Close() error { c(); return nil }

func (t *transport) Subscribe(_ context.Context, fn func(coord.Record)) (io.Closer, error) {
	h := t.h
	h.mu.Lock()
	h.nextSub++
	id := h.nextSub
	if h.subs[t.name] == nil {
		h.subs[t.name] = map[int]func(recordMsg){}
	}
	h.subs[t.name][id] = func(r recordMsg) { fn(r.rec) }
	h.mu.Unlock()
	var once sync.Once
	return closer(func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs[t.name], id)
			h.mu.Unlock()
		})
	}), nil
}

// askLeader sends req to the leader and waits for its reply; on the leader it
// runs local instead, without the network.
func askLeader[T any](ctx context.Context, h *Hub, req any, local func() (T, error)) (T, error) {
	var zero T
	m, ok := h.attached()
	if !ok {
		return zero, ErrNotAttached
	}
	l, _ := h.leader()
	if l.Self {
		return local()
	}
	ctx, cancel := h.timeoutCtx(ctx)
	defer cancel()
	_ = m
	return ask.Ask[T](ctx, h.loc().Root, h.cfg.PIDOf(l), req)
}

func (t *transport) Read(ctx context.Context) (*coord.Record, error) {
	h := t.h
	r, err := askLeader(ctx, h, &signalpb.BreakerRead{Breaker: t.name}, func() (*signalpb.BreakerState, error) {
		return h.leadRead(t.name)
	})
	if err != nil {
		return nil, err
	}
	if err := remoteErr(r.GetError()); err != nil {
		return nil, err
	}
	if r.GetRecord() == nil {
		return nil, nil
	}
	rec := fromPB(r.GetRecord())
	return &rec, nil
}

func (t *transport) Publish(ctx context.Context, rec coord.Record, seen int64) (coord.Record, error) {
	h := t.h
	req := &signalpb.BreakerPublish{Record: toPB(t.name, rec), Seen: seen}
	r, err := askLeader(ctx, h, req, func() (*signalpb.BreakerPublished, error) { return h.leadPublish(req) })
	if err != nil {
		return rec, err
	}
	if err := remoteErr(r.GetError()); err != nil {
		return rec, err
	}
	return fromPB(r.GetRecord()), nil
}

func (t *transport) AcquireLease(ctx context.Context, node string, ttl time.Duration, seen int64) (bool, *coord.Record, error) {
	h := t.h
	req := &signalpb.BreakerLease{Breaker: t.name, Node: node, TtlNanos: int64(ttl), Seen: seen}
	r, err := askLeader(ctx, h, req, func() (*signalpb.BreakerLeased, error) { return h.leadLease(req) })
	if err != nil {
		return false, nil, err
	}
	if err := remoteErr(r.GetError()); err != nil {
		return false, nil, err
	}
	if r.GetNewer() != nil {
		rec := fromPB(r.GetNewer())
		return false, &rec, nil
	}
	return r.GetGranted(), nil, nil
}

func (t *transport) ReleaseLease(ctx context.Context, node string) error {
	h := t.h
	req := &signalpb.BreakerLease{Breaker: t.name, Node: node, Release: true}
	r, err := askLeader(ctx, h, req, func() (*signalpb.BreakerLeased, error) { return h.leadLease(req) })
	if err != nil {
		return err
	}
	return remoteErr(r.GetError())
}

// state returns the leader's state of breaker, under h.mu, or nil when
// this member is not the leader. On becoming the leader it starts from the
// Records it has seen as a member (every Record reaches every member), so
// versions go on from there; when the newest says a member is probing,
// that member keeps the lease for one lease TTL (see leadLease).
func (h *Hub) state(name string) *leaderState {
	l, ok := h.leader()
	if !ok || !l.Self {
		h.leading = false
		clear(h.lead)
		return nil
	}
	if !h.leading {
		h.leading, h.since = true, h.cfg.now()
		clear(h.lead)
	}
	s := h.lead[name]
	if s == nil {
		s = &leaderState{}
		if r, ok := h.replica[name]; ok {
			rec := r.rec
			s.last, s.counter = &rec, rec.Version
			if rec.State == cb.HalfOpen {
				s.holder, s.inherited = rec.Node, true
			}
		}
		h.lead[name] = s
	}
	return s
}

func (h *Hub) leadRead(name string) (*signalpb.BreakerState, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.state(name)
	if s == nil {
		return &signalpb.BreakerState{Error: ErrNotLeader.Error()}, nil
	}
	if s.last == nil {
		return &signalpb.BreakerState{}, nil
	}
	return &signalpb.BreakerState{Record: toPB(name, *s.last)}, nil
}

// leadPublish numbers the Record past every version the leader and the
// asker have seen, stores it unless a newer one is, and sends it to every
// member.
func (h *Hub) leadPublish(req *signalpb.BreakerPublish) (*signalpb.BreakerPublished, error) {
	name := req.GetRecord().GetBreaker()
	rec := fromPB(req.GetRecord())
	h.mu.Lock()
	s := h.state(name)
	if s == nil {
		h.mu.Unlock()
		return &signalpb.BreakerPublished{Record: req.GetRecord(), Error: ErrNotLeader.Error()}, nil
	}
	if rec.Version == 0 {
		rec.Version = max(s.counter, req.GetSeen()) + 1
	}
	s.counter = max(s.counter, rec.Version)
	if s.last == nil || rec.Version > s.last.Version {
		r := rec
		s.last = &r
	}
	if rec.State != cb.HalfOpen && s.holder == rec.Node {
		// A verdict (or a manual change) from the prober ends its lease,
		// as its release would.
		s.holder = ""
	}
	h.mu.Unlock()
	h.broadcast(name, rec)
	return &signalpb.BreakerPublished{Record: toPB(name, rec)}, nil
}

// leadLease grants or releases the probe lease.
func (h *Hub) leadLease(req *signalpb.BreakerLease) (*signalpb.BreakerLeased, error) {
	name, node := req.GetBreaker(), req.GetNode()
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.state(name)
	if s == nil {
		return &signalpb.BreakerLeased{Error: ErrNotLeader.Error()}, nil
	}
	now := h.cfg.now()
	if req.GetRelease() {
		if s.holder == node {
			s.holder = ""
		}
		return &signalpb.BreakerLeased{}, nil
	}
	if s.last != nil && s.last.Version > req.GetSeen() {
		return &signalpb.BreakerLeased{Newer: toPB(name, *s.last)}, nil
	}
	ttl := time.Duration(req.GetTtlNanos())
	if s.inherited {
		s.until, s.inherited = h.since.Add(ttl), false
	}
	if s.holder != "" && s.holder != node && now.Before(s.until) {
		return &signalpb.BreakerLeased{}, nil
	}
	if s.holder != node {
		h.stats.Leases.Add(1)
	}
	s.holder, s.until = node, now.Add(ttl)
	return &signalpb.BreakerLeased{Granted: true}, nil
}

// broadcast sends rec to every member: one message each, this one by a
// direct call. Each member's actor hands it to its coordinators of the
// breaker (the local fan-out).
func (h *Hub) broadcast(name string, rec coord.Record) {
	h.dispatch(name, rec)
	h.stats.RecordsSent.Add(1)
	m, ok := h.attached()
	if !ok {
		return
	}
	msg := toPB(name, rec)
	for _, x := range h.others(m) {
		if err := m.Send(h.loc().Root, h.cfg.PIDOf(x), msg); err != nil {
			h.log.Debug("signals: cannot send a breaker record", zap.String("to", x.Name), zap.Error(err))
			continue
		}
		h.stats.RecordsSent.Add(1)
	}
}

// dispatch keeps rec as the newest of its breaker if it is, and hands it
// to this node's coordinators of the breaker (they ignore stale ones).
func (h *Hub) dispatch(name string, rec coord.Record) {
	h.mu.Lock()
	if r, ok := h.replica[name]; !ok || rec.Version > r.rec.Version {
		h.replica[name] = recordMsg{breaker: name, rec: rec}
	}
	fns := make([]func(recordMsg), 0, len(h.subs[name]))
	for _, fn := range h.subs[name] {
		fns = append(fns, fn)
	}
	h.mu.Unlock()
	for _, fn := range fns {
		h.stats.RecordsReceived.Add(1)
		fn(recordMsg{breaker: name, rec: rec})
	}
}

// syncLoop runs on every membership change: on the leader, it gathers the
// newest Record of each breaker it knows from every member (a member that
// held the cluster's state may just have made this one the leader) and
// sends it to all, so a member that joined learns the current state at
// once; elsewhere it asks the leader for each breaker's state and hands
// it to the local coordinators.
func (h *Hub) syncLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		}
		h.syncOnce(ctx)
	}
}

func (h *Hub) syncOnce(ctx context.Context) {
	m, ok := h.attached()
	if !ok {
		return
	}
	h.mu.Lock()
	var names []string
	for n := range h.subs {
		names = append(names, n)
	}
	for n := range h.lead {
		if h.subs[n] == nil {
			names = append(names, n)
		}
	}
	h.mu.Unlock()
	l, _ := h.leader()
	for _, name := range names {
		if ctx.Err() != nil {
			return
		}
		if !l.Self {
			rec, err := h.Transport(name).Read(ctx)
			if err == nil && rec != nil {
				h.dispatch(name, *rec)
			}
			continue
		}
		newest := h.gather(ctx, m, name)
		h.mu.Lock()
		s := h.state(name)
		var send *coord.Record
		if s != nil {
			if newest != nil && (s.last == nil || newest.Version > s.last.Version) {
				r := *newest
				s.last = &r
				s.counter = max(s.counter, r.Version)
			}
			if s.last != nil {
				r := *s.last
				send = &r
			}
		}
		h.mu.Unlock()
		if send != nil {
			h.broadcast(name, *send)
		}
	}
}

// gather asks every other member for the newest Record it has seen of
// name, bounded by the hub's timeout.
func (h *Hub) gather(ctx context.Context, m Member, name string) *coord.Record {
	var newest *coord.Record
	for _, x := range h.others(m) {
		c, cancel := h.timeoutCtx(ctx)
		r, err := ask.Ask[*signalpb.BreakerState](c, h.loc().Root, h.cfg.PIDOf(x), &signalpb.BreakerRead{Breaker: name, Replica: true})
		cancel()
		if err != nil || r.GetRecord() == nil {
			continue
		}
		rec := fromPB(r.GetRecord())
		if newest == nil || rec.Version > newest.Version {
			newest = &rec
		}
	}
	return newest
}

// replicaRead answers a new leader's gather.
func (h *Hub) replicaRead(name string) *signalpb.BreakerState {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.replica[name]
	if !ok {
		return &signalpb.BreakerState{}
	}
	return &signalpb.BreakerState{Record: toPB(name, r.rec)}
}
