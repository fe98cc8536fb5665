package signals

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/cluster"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/state"
)

// ActorName is the stable name of every member's signals actor: S2's
// child "cluster" (vsmnode starts it there). Every member uses the same
// layout, so a peer's actor has this member's process id (Local.ActorID)
// at the peer's address.
const ActorName = "s2/cluster"

// DefaultTimeout bounds a request to the leader when Config.Timeout is 0.
const DefaultTimeout = 2 * time.Second

var (
	// ErrNotAttached is matched while the hub has no cluster member (before
	// Attach, after Detach). It matches state.ErrUnavailable too: nobody
	// can coordinate, so a shared breaker recovers on its own meanwhile.
	ErrNotAttached = fmt.Errorf("signals: not attached to a cluster member: %w", state.ErrUnavailable)
	// ErrNotLeader is matched when a member asked to decide for the
	// cluster is not the leader in its own view (membership is changing):
	// the caller retries.
	ErrNotLeader = errors.New("signals: not the cluster's breaker leader")
)

// Member is what the hub needs from a cluster member; *cluster.Node
// implements it.
type Member interface {
	Self() cluster.Member
	Members() []cluster.Member
	Send(sender actor.SenderContext, pid *actor.PID, msg any) error
}

var _ Member = (*cluster.Node)(nil)

// Config configures a Hub.
type Config struct {
	// Timeout bounds each request to the leader. Default 2s.
	Timeout time.Duration
	// PIDOf is a member's signals actor; default Local.ActorID at its
	// address. Tests with several hubs in one process give each its own.
	PIDOf  func(cluster.Member) *actor.PID
	Logger *zap.Logger
	// now is the clock of lease expiries (tests).
	now func() time.Time
}

// Local is what the hub needs from its node once the node runs (Attach).
type Local struct {
	// Root sends from outside actors. Required.
	Root *actor.RootContext
	// ActorID is the process id of this member's signals actor (the Id of
	// the PID it was spawned with), the same on every member.
	ActorID string
	// Name is node.name: alerts raised here carry it in Alert.Node.
	Name string
	// Instance is the node's instance id (vsm's Node.InstanceID). Alerts
	// published from here carry it; alerts that carry it are never taken
	// as another member's.
	Instance string
	// Deliver hands another member's alert to this node's S5 (vsm's
	// Alerts().Send: S5's alert lane, which may handle the alert before it
	// returns). Required for
	// alerts.
	Deliver func(*algedonic.Alert)
	// PublishMin is the lowest severity sent to the other members.
	PublishMin algedonic.Severity
}

// Stats are a hub's counters; safe to read at any time.
type Stats struct {
	// AlertsSent counts alert messages sent to other members (one per
	// member per alert); AlertsFailed those that could not be sent.
	AlertsSent, AlertsFailed atomic.Uint64
	// AlertsReceived counts other members' alerts handed to S5;
	// AlertsRefused those dropped (invalid, or this node's own).
	AlertsReceived, AlertsRefused atomic.Uint64
	// RecordsSent counts breaker Records the leader sent to members (one
	// per member per Record, this node included); RecordsReceived the
	// Records handed to this node's coordinators.
	RecordsSent, RecordsReceived atomic.Uint64
	// Leases counts probe leases granted as the leader.
	Leases atomic.Uint64
}

// StatsView is a snapshot of Stats with the leader in this member's view.
type StatsView struct {
	Leader          string `json:"leader"`
	AlertsSent      uint64 `json:"alerts_sent"`
	AlertsFailed    uint64 `json:"alerts_failed"`
	AlertsReceived  uint64 `json:"alerts_received"`
	AlertsRefused   uint64 `json:"alerts_refused"`
	RecordsSent     uint64 `json:"records_sent"`
	RecordsReceived uint64 `json:"records_received"`
	Leases          uint64 `json:"leases"`
}

// Hub carries a node's cluster-wide signals over the cluster's remote
// messages: its alerts to every other member's S5, and its shared
// breakers' protocol (Transport). Create it before the node starts (its
// transports go to S2's coordinators), spawn its actor (Props) as ActorName,
// and Attach the cluster member once it runs.
type Hub struct {
	cfg   Config
	log   *zap.Logger
	stats Stats

	member atomic.Pointer[memberBox]
	local  atomic.Pointer[Local]

	mu       sync.Mutex
	subs     map[string]map[int]func(recordMsg) // breaker -> local coordinators
	nextSub  int
	replica  map[string]recordMsg // newest Record seen per breaker
	lead     map[string]*leaderState
	leading  bool
	since    time.Time // when this member became the leader
	stopSync func()
	wake     chan struct{}
}

type memberBox struct{ m Member }

// New returns a hub; it does nothing until Attach.
func New(cfg Config) *Hub {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	h := &Hub{
		cfg: cfg, log: cfg.Logger.With(zap.String("actor", ActorName)),
		subs: map[string]map[int]func(recordMsg){}, replica: map[string]recordMsg{}, lead: map[string]*leaderState{},
		wake: make(chan struct{}, 1),
	}
	if h.cfg.PIDOf == nil {
		h.cfg.PIDOf = func(m cluster.Member) *actor.PID { return actor.NewPID(m.Address, h.loc().ActorID) }
	}
	return h
}

// Stats returns the hub's counters and the leader in this member's view.
func (h *Hub) Stats() StatsView {
	leader := ""
	if l, ok := h.leader(); ok {
		leader = l.Name
	}
	s := &h.stats
	return StatsView{
		Leader: leader, AlertsSent: s.AlertsSent.Load(), AlertsFailed: s.AlertsFailed.Load(),
		AlertsReceived: s.AlertsReceived.Load(), AlertsRefused: s.AlertsRefused.Load(),
		RecordsSent: s.RecordsSent.Load(), RecordsReceived: s.RecordsReceived.Load(), Leases: s.Leases.Load(),
	}
}

// Attach makes m carry the signals for the node l describes; subscribe (vsm's Subscribe, or the
// actor system's event stream) calls OnMembership on every member event
// so that a joining node learns the breakers' state and a new leader
// takes it over. It starts the hub's sync goroutine, which Detach ends.
func (h *Hub) Attach(m Member, l Local) {
	h.Detach() // a second Attach replaces the first
	if !l.PublishMin.Valid() {
		l.PublishMin = algedonic.Info
	}
	h.local.Store(&l)
	h.member.Store(&memberBox{m: m})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	h.mu.Lock()
	h.stopSync = func() { cancel(); <-done }
	h.mu.Unlock()
	go func() {
		defer close(done)
		h.syncLoop(ctx)
	}()
	h.OnMembership(nil)
}

// Detach ends the hub's use of its member (call it before the member
// stops) and waits for its sync goroutine. Idempotent.
func (h *Hub) Detach() {
	h.member.Store(nil)
	h.mu.Lock()
	stop := h.stopSync
	h.stopSync = nil
	h.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// OnMembership takes an event of the actor system's event stream: on a
// member joined or left it wakes the sync goroutine. It never blocks.
func (h *Hub) OnMembership(ev any) {
	switch ev.(type) {
	case nil, *event.MemberJoined, *event.MemberLeft:
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
}

// loc is the node's side; the zero Local before Attach.
func (h *Hub) loc() *Local {
	if l := h.local.Load(); l != nil {
		return l
	}
	return &Local{}
}

func (h *Hub) attached() (Member, bool) {
	b := h.member.Load()
	if b == nil {
		return nil, false
	}
	return b.m, true
}

// leader is the member that decides for the cluster: the first, by name,
// of the members not blocked, this one included. Every member computes
// it from its own view, so views agree once membership has settled; a
// member asked while it is not the leader in its own view refuses
// (ErrNotLeader) and the asker retries.
func (h *Hub) leader() (cluster.Member, bool) {
	m, ok := h.attached()
	if !ok {
		return cluster.Member{}, false
	}
	for _, x := range m.Members() { // sorted by name
		if x.Status != cluster.StatusBlocked {
			return x, true
		}
	}
	return m.Self(), true
}

// others are the members this one sends to: every one but itself and the
// blocked ones (protoactor refuses them).
func (h *Hub) others(m Member) []cluster.Member {
	all := m.Members()
	out := all[:0:0]
	for _, x := range all {
		if !x.Self && x.Status != cluster.StatusBlocked {
			out = append(out, x)
		}
	}
	return out
}

// Props is the hub's actor, to spawn as ActorName (S2's child "cluster").
// It receives the other members' alerts and Records and the requests to
// the leader; its state lives in the hub, so a restart loses none. Its
// mailbox is a priority one: a peer's alert (sent bare, priority 7)
// overtakes the breaker traffic queued there.
func (h *Hub) Props() *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &hubActor{h: h} },
		actor.WithMailbox(actor.UnboundedPriority()))
}

func (h *Hub) timeoutCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, h.cfg.Timeout)
}

func remoteErr(s string) error {
	switch s {
	case "":
		return nil
	case ErrNotLeader.Error():
		return ErrNotLeader
	}
	return fmt.Errorf("signals: leader: %s", s)
}
