package vsm

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"

	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/state/session"
	"github.com/viable-systems/vsm-connections/supervisor"
	"github.com/viable-systems/vsm-connections/systems/s1"
	"github.com/viable-systems/vsm-connections/systems/s2"
	"github.com/viable-systems/vsm-connections/systems/s2/coord"
	"github.com/viable-systems/vsm-connections/systems/s4"
	"github.com/viable-systems/vsm-connections/systems/s5"
)

// Stable names of the node's state unit (under S1) and of its health
// probe (under S4).
const (
	// RedisUnit is the S1 unit that owns the state backend: a supervisor
	// of "s1/redis/store", the state actor for actors that talk by
	// message.
	RedisUnit = s1.RedisUnit
	// HealthBreaker is the breaker the Redis health probe "s4/redis"
	// feeds; while it is not closed the state calls fail at once.
	HealthBreaker = s1.HealthBreaker
	// DefaultHealthInterval is how often the health probe pings Redis.
	DefaultHealthInterval = s4.DefaultRedisInterval
)

// stateOptions are the Start options of the state layer.
type stateOptions struct {
	store        state.Store
	remoteAlerts bool
	healthEvery  time.Duration
	leaseTTL     time.Duration
	transport    func(breaker string) coord.Transport
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

// WithBreakerTransport makes the shared breakers' coordinators carry their
// protocol over tr(name) instead of the state store: vsmnode gives the
// cluster's (package cluster/signals) when it runs in a cluster without
// Redis, so the members agree over the cluster itself.
func WithBreakerTransport(tr func(breaker string) coord.Transport) Option {
	return optionFunc(func(o *options) { o.state.transport = tr })
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
// s4/redis has failed), every call fails at once with a
// *state.UnavailableError matching state.ErrUnavailable and breaker.ErrOpen
// instead of waiting the configured timeout; the same holds for Sessions,
// the state actor's requests and S2's coordination. Calls go through again
// once the probe closes the breaker.
func (n *Node) State() state.Store {
	if n.state == nil {
		return nil
	}
	return n.state.Store()
}

// Sessions is a session store on State with the default settings (30
// minutes, fixed expiry); build others with session.New(n.State(), cfg).
func (n *Node) Sessions() *session.Store {
	if n.state == nil {
		return nil
	}
	return n.state.Sessions()
}

// StatePID is the state actor, for actors that use the state by message
// (package actors/redisstore: *Get, *Set, *Publish, *Subscribe...).
func (n *Node) StatePID() (*actor.PID, bool) {
	if n.s1 == nil {
		return nil, false
	}
	return n.s1.StatePID()
}

// StateBackend describes the backend without credentials.
func (n *Node) StateBackend() string {
	if n.state == nil {
		return ""
	}
	return n.state.Backend()
}

// SharedBreakerStats are the counters of a shared breaker's coordinator.
func (n *Node) SharedBreakerStats(name string) (*coord.Stats, bool) {
	return n.s2.SharedBreakerStats(name)
}

// AlertBridgeStats are the counters of the node's alert publication.
func (n *Node) AlertBridgeStats() coord.AlertBridgeStats { return n.s2.AlertBridgeStats() }

// startState has S1 open the state backend and supervise its unit.
func (n *Node) startState(ctx context.Context) error {
	n.instance = newInstanceID()
	st, err := n.s1.StartState(ctx, n.cfg.Redis, s1.StateOptions{
		Store: n.stateOpts.store, StoreMiddleware: n.stateOpts.storeMW, UnitMiddleware: n.stateOpts.unitMW,
	})
	if err != nil {
		return err
	}
	n.state = st
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

// startCoordination starts S2's coordinators once the breakers exist: one
// per shared breaker, and the algedonic bridge, whose publication S5
// reacts with.
func (n *Node) startCoordination(ctx context.Context) error {
	var err error
	n.s2, err = s2.Start(ctx, s2.Env{
		Root: n.sys.Root, Directory: n.dir, Store: n.state.Store(),
		Cluster: n.cfg.Node.Cluster, Name: n.cfg.Node.Name, Instance: n.instance,
		Node: n.cfg.Node.Name + "-" + n.instance, LeaseTTL: n.stateOpts.leaseTTL, Transport: n.stateOpts.transport,
		RemoteAlerts: n.stateOpts.remoteAlerts || n.cfg.Algedonic.Remote,
		Deliver:      n.alerts.Send, Breaker: n.s1.Breaker, Logger: n.logger,
	}, n.cfg.CircuitBreakers)
	if err != nil {
		return err
	}
	return n.AddReaction(ctx, "publish-to-cluster", s5.Reaction(n.s2.PublishOwn(n.cfg.Node.Name, n.cfg.Algedonic.PublishMin)))
}

// startHealth, with Redis configured (and no store given), feeds the
// "redis" breaker (circuit_breakers.redis when configured, else the
// defaults below) from S4's PING probe, and gates S1's store on it.
func (n *Node) startHealth(ctx context.Context) error {
	if !n.state.Gated() {
		return nil
	}
	every := n.stateOpts.healthEvery
	if every <= 0 {
		every = DefaultHealthInterval
	}
	b, ok := n.s1.Breaker(HealthBreaker)
	if !ok {
		b = breaker.New(HealthBreaker, breaker.Settings{FailureThreshold: 2, RecoveryTimeout: every})
		if _, err := n.s1.AddBreaker(ctx, b); err != nil {
			return err
		}
	}
	if _, err := n.s4.StartRedisProbe(ctx, b, n.state.Raw(), every); err != nil {
		return err
	}
	n.state.Watch(b)
	return nil
}

// closeState closes the store S1 opened, once; Stop calls it after every
// system has stopped.
func (n *Node) closeState() {
	if err := n.state.Close(); err != nil {
		n.logger.Warn("closing the state backend", zap.Error(err))
	}
}
