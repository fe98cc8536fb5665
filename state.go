package vsm

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"

	"github.com/viable-systems/vsm-connections/actors/redisstore"
	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/internal/ask"
	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/state/session"
	"github.com/viable-systems/vsm-connections/supervisor"
	"github.com/viable-systems/vsm-connections/systems/s2/coord"
	"github.com/viable-systems/vsm-connections/systems/s5"
)

// Stable names of the node's state unit (under S1) and of its S2 parts.
const (
	// RedisUnit is the S1 unit that owns the state backend: a supervisor
	// of "s1/redis/store" (the state actor, for actors that talk by
	// message) and, with Redis configured, "s1/redis/health" (the PING
	// probe feeding the "redis" breaker).
	RedisUnit = "redis"
	// HealthBreaker is the breaker the Redis health probe feeds.
	HealthBreaker = "redis"
	// DefaultHealthInterval is how often the health probe pings Redis.
	DefaultHealthInterval = time.Second
)

// nodeState is the node's state backend and what S2 builds on it.
type nodeState struct {
	opts     stateOptions
	instance string // InstanceID
	id       string // this node instance, in the cluster's records: name-instance
	// store is what everyone uses: raw behind the health gate when Redis
	// is configured, raw itself otherwise.
	store state.Store
	// raw is the backend itself: the health probe pings it, since the gate
	// refuses calls exactly while the probe must keep trying.
	raw      state.Store
	gate     *healthGate
	backend  string
	sessions *session.Store
	bridge   *coord.AlertBridge
	coords   map[string]*coord.Stats
}

// stateOptions are the Start options of the state layer.
type stateOptions struct {
	store        state.Store
	remoteAlerts bool
	healthEvery  time.Duration
	leaseTTL     time.Duration
	// Receiver middleware of the state actor and of its unit, set only by
	// tests (export_test.go) to crash them on demand.
	storeMW, unitMW []actor.ReceiverMiddleware
}

// WithStore makes the node use st instead of opening the configured
// backend; the node does not close it. Nodes of one process given the same
// store (for example one state/memory store) share state, pub/sub and
// shared breakers as nodes on one Redis do.
func WithStore(st state.Store) Option {
	return optionFunc(func(o *options) { o.state.store = st })
}

// WithRemoteAlerts makes S5 receive the alerts of the other nodes of the
// cluster (published on vsm:<cluster>:algedonic:<severity>); they keep
// their origin node in Alert.Node, which marks them remote.
func WithRemoteAlerts() Option {
	return optionFunc(func(o *options) { o.state.remoteAlerts = true })
}

// WithHealthInterval sets how often the Redis health probe pings (default
// 1s). The "redis" breaker opens after two failed pings in a row.
func WithHealthInterval(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d > 0 {
			o.state.healthEvery = d
		}
	})
}

// WithProbeLease sets the shared breakers' probe lease TTL (default: each
// breaker's recovery_timeout).
func WithProbeLease(d time.Duration) Option {
	return optionFunc(func(o *options) { o.state.leaseTTL = d })
}

// State is the node's state store: Redis when configured, otherwise
// in-process. Calls go straight to the backend from the caller's goroutine
// (go-redis's pool), with no actor hop. Errors match the state sentinels
// (state.ErrNotFound, state.ErrUnavailable...).
//
// With Redis, while the "redis" health breaker is not closed (the probe
// s1/redis/health has failed), every call fails at once with a
// *state.UnavailableError matching state.ErrUnavailable and breaker.ErrOpen
// instead of waiting the configured timeout; the same holds for Sessions,
// the state actor's requests and S2's coordination. Calls go through again
// once the probe closes the breaker.
func (n *Node) State() state.Store { return n.st.store }

// Sessions is a session store on State with the default settings (30
// minutes, fixed expiry); build others with session.New(n.State(), cfg).
func (n *Node) Sessions() *session.Store { return n.st.sessions }

// StatePID is the state actor, for actors that use the state by message
// (package actors/redisstore: *Get, *Set, *Publish, *Subscribe...).
func (n *Node) StatePID() (*actor.PID, bool) {
	return n.dir.Lookup(S1 + "/" + RedisUnit + "/store")
}

// StateBackend describes the backend without credentials.
func (n *Node) StateBackend() string { return n.st.backend }

// SharedBreakerStats are the counters of a shared breaker's coordinator.
func (n *Node) SharedBreakerStats(name string) (*coord.Stats, bool) {
	s, ok := n.st.coords[name]
	return s, ok
}

// startState opens the node's state backend (Redis or in-process) and
// supervises its unit under S1.
func (n *Node) startState(ctx context.Context) error {
	if n.st == nil {
		n.st = &nodeState{}
	}
	ns := n.st
	ns.instance = newInstanceID()
	ns.id = n.cfg.Node.Name + "-" + ns.instance
	if ns.opts.store != nil {
		ns.raw, ns.backend = unclosable{ns.opts.store}, "given store"
		ns.store = ns.raw
	} else {
		st, err := redisstore.Open(n.cfg.Redis, redisstore.WithLogger(n.logger))
		if err != nil {
			return err // already redacted
		}
		ns.raw, ns.store, ns.backend = st, st, "in-process"
		if n.cfg.Redis.Enabled() {
			ns.backend = fmt.Sprint(st)
			// The gate opens only once startHealth gives it the breaker.
			ns.gate = newHealthGate()
			ns.store = state.Guard(st, ns.gate)
		}
	}
	ns.sessions = session.New(ns.store, session.Config{})
	// The state actor would close the store when S1 stops, before S2 and
	// S5 are done with it (a prober releases its lease on the way out):
	// the node closes it itself once every system has stopped.
	// The state actor keeps its subscriptions in its Props, which the unit
	// keeps in its child spec: they survive restarts of both.
	storeProps := redisstore.Props(unclosable{ns.store})
	unitProps := supervisor.Props(S1+"/"+RedisUnit, n.supervisionConfig(), n.senv,
		supervisor.ChildSpec{Name: "store", Props: storeProps})
	if len(ns.opts.storeMW) > 0 {
		storeProps.Configure(actor.WithReceiverMiddleware(ns.opts.storeMW...))
	}
	if len(ns.opts.unitMW) > 0 {
		unitProps.Configure(actor.WithReceiverMiddleware(ns.opts.unitMW...))
	}
	pid, err := n.StartChild(ctx, S1, supervisor.ChildSpec{
		Name:  RedisUnit,
		Kind:  supervisor.KindSupervisor,
		Props: unitProps,
	})
	if err == nil {
		// The unit spawns its children when it starts: a reply to List
		// comes after that.
		_, err = supervisor.List(ctx, n.sys.Root, pid)
	}
	if err != nil {
		_ = ns.raw.Close()
		return err
	}
	n.logger.Info("state backend", zap.String("backend", ns.backend))
	return nil
}

func (n *Node) supervisionConfig() supervisor.Config {
	c := n.cfg.Supervision
	return supervisor.Config{
		MaxRestarts: c.MaxRestarts,
		Window:      c.Window.D(),
		Backoff:     supervisor.Backoff{Initial: c.BackoffInitial.D(), Max: c.BackoffMax.D()},
	}
}

// startCoordination runs once the breakers exist: the Redis health probe
// and its breaker, one S2 coordinator per shared breaker, and the
// algedonic bridge.
func (n *Node) startCoordination(ctx context.Context) error {
	ns := n.st
	if n.cfg.Redis.Enabled() && ns.opts.store == nil {
		if err := n.startHealth(ctx); err != nil {
			return err
		}
	}
	names := make([]string, 0)
	for name, bc := range n.cfg.CircuitBreakers {
		if bc.Coordination == config.CoordinationShared {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	ns.coords = make(map[string]*coord.Stats, len(names))
	for _, name := range names {
		b, ok := n.Breaker(name)
		if !ok {
			return fmt.Errorf("circuit_breakers.%s: %w", name, ErrNotFound)
		}
		stats := &coord.Stats{}
		ns.coords[name] = stats
		pid, err := n.StartChild(ctx, S2, supervisor.ChildSpec{
			Name: BreakerPrefix + name,
			Props: coord.Props(b, coord.Env{
				Store: ns.store, Cluster: n.cfg.Node.Cluster, Node: ns.id, LeaseTTL: ns.opts.leaseTTL,
				Logger: n.logger.With(zap.String("actor", S2+"/"+BreakerPrefix+name)), Stats: stats,
			}),
		})
		if err == nil {
			// Joined (or retrying) once it answers: a node that returns
			// from Start is in the cluster's state.
			_, err = ask.Ask[*coord.Pong](ctx, n.sys.Root, pid, &coord.Ping{})
		}
		if err != nil {
			return fmt.Errorf("vsm: shared breaker %q: %w", name, err)
		}
	}
	ns.bridge = coord.NewAlertBridge(coord.AlertEnv{
		Store: ns.store, Cluster: n.cfg.Node.Cluster, Node: ns.instance, Name: n.cfg.Node.Name,
		Remote:  ns.opts.remoteAlerts || n.cfg.Algedonic.Remote,
		Deliver: n.alerts.Send, Logger: n.logger.With(zap.String("actor", S2+"/algedonic")),
	})
	pid, err := n.StartChild(ctx, S2, supervisor.ChildSpec{Name: "algedonic", Props: ns.bridge.Props()})
	if err == nil {
		_, err = ask.Ask[*coord.Pong](ctx, n.sys.Root, pid, &coord.Ping{})
	}
	if err != nil {
		return err
	}
	self, minSev, bridge := n.cfg.Node.Name, n.cfg.Algedonic.PublishMin, ns.bridge
	return n.AddReaction(ctx, "publish-to-cluster", s5.Reaction(func(a *algedonic.Alert) {
		// Alerts from other nodes carry their Instance (and keep their
		// Node): never published again. The name alone cannot tell them
		// apart: two nodes may share one, and then an alert bounced
		// between them for ever.
		if a.Instance == "" && a.Node == self && a.Severity >= minSev {
			bridge.Publish(a)
		}
	}))
}

// AlertBridgeStats are the counters of the node's alert publication.
func (n *Node) AlertBridgeStats() coord.AlertBridgeStats {
	if n.st == nil || n.st.bridge == nil {
		return coord.AlertBridgeStats{}
	}
	return n.st.bridge.Stats()
}

// startHealth feeds the "redis" breaker (circuit_breakers.redis when
// configured, else the defaults below) from a PING probe under
// s1/redis/health.
func (n *Node) startHealth(ctx context.Context) error {
	every := n.st.opts.healthEvery
	if every <= 0 {
		every = DefaultHealthInterval
	}
	b, ok := n.Breaker(HealthBreaker)
	if !ok {
		b = breaker.New(HealthBreaker, breaker.Settings{FailureThreshold: 2, RecoveryTimeout: every})
		if _, err := n.AddBreaker(ctx, b); err != nil {
			return err
		}
	}
	_, err := n.StartChild(ctx, S1+"/"+RedisUnit, supervisor.ChildSpec{
		Name:  "health",
		Props: healthProps(b, n.st.raw, every, n.alerts, S1+"/"+RedisUnit),
	})
	if err == nil && n.st.gate != nil {
		n.st.gate.watch(b)
	}
	return err
}

// healthGate refuses state calls while the health breaker is not closed:
// the probe has seen Redis fail, so a call would most likely wait the full
// timeout for nothing. Half-open counts as down too: only the probe tries
// Redis until it has closed the breaker. The check is one or two atomic
// loads and the refusal is preallocated.
type healthGate struct {
	b       atomic.Pointer[breaker.Breaker]
	refusal error
}

var _ state.Gate = (*healthGate)(nil)

func newHealthGate() *healthGate {
	return &healthGate{refusal: &state.UnavailableError{
		Reason: "health breaker " + HealthBreaker + " is open (s1/redis/health cannot reach Redis)",
		Err:    &breaker.RejectedError{Name: HealthBreaker, State: breaker.Open},
	}}
}

// watch starts refusing calls whenever b is not closed.
func (g *healthGate) watch(b *breaker.Breaker) { g.b.Store(b) }

// Unavailable implements state.Gate.
func (g *healthGate) Unavailable() error {
	if b := g.b.Load(); b != nil && b.State() != breaker.Closed {
		return g.refusal
	}
	return nil
}

// healthProps is the PING probe: every interval one ping goes through b
// (rejected while b is open, until its recovery lets one probe), on a
// goroutine so the mailbox never waits. b going open raises a Critical;
// closing again raises an Info.
func healthProps(b *breaker.Breaker, st state.Store, every time.Duration, alerts algedonic.Raiser, source string) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &healthActor{b: b, st: st, every: every, alerts: alerts, source: source}
	})
}

type healthActor struct {
	b      *breaker.Breaker
	st     state.Store
	every  time.Duration
	alerts algedonic.Raiser
	source string

	unsub func()
	stop  context.CancelFunc
	done  chan struct{}
}

func (h *healthActor) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		alerts, source := h.alerts, h.source
		h.unsub = h.b.Subscribe(func(t breaker.Transition) {
			switch {
			case t.To == breaker.Open && t.From == breaker.Closed:
				alerts.Raise(algedonic.Critical, source, "redis unreachable: health probe failing ("+string(t.Reason)+")")
			case t.To == breaker.Closed && t.From != breaker.Closed:
				alerts.Raise(algedonic.Info, source, "redis reachable again")
			}
		})
		run, cancel := context.WithCancel(context.Background())
		h.stop, h.done = cancel, make(chan struct{})
		go h.loop(run)
	case *actor.Stopping, *actor.Restarting:
		h.halt()
	}
}

// loop pings once per interval, one ping at a time; a ping is bounded by
// the interval (at least 100ms) and by the actor's life.
func (h *healthActor) loop(run context.Context) {
	defer close(h.done)
	t := time.NewTicker(h.every)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(run, max(h.every, 100*time.Millisecond))
		_ = h.b.Call(ctx, h.st.Ping)
		cancel()
		select {
		case <-run.Done():
			return
		case <-t.C:
		}
	}
}

func (h *healthActor) halt() {
	if h.unsub != nil {
		h.unsub()
		h.unsub = nil
	}
	if h.stop != nil {
		h.stop()
		<-h.done
		h.stop = nil
	}
}

// closeState closes the store the node opened, once; Stop calls it after
// every system has stopped.
func (n *Node) closeState() {
	if n.st == nil || n.st.raw == nil {
		return
	}
	if err := n.st.raw.Close(); err != nil {
		n.logger.Warn("closing the state backend", zap.Error(err))
	}
}

// unclosable keeps a store open when its holder closes it: a store given
// with WithStore (its owner closes it) or the node's own in the state actor
// (the node closes it after the systems stop).
type unclosable struct{ state.Store }

func (unclosable) Close() error { return nil }
