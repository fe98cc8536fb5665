package s1

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"

	"github.com/viable-systems/vsm-connections/actors/redisstore"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/state/session"
	"github.com/viable-systems/vsm-connections/supervisor"
)

// Stable names of the Redis unit.
const (
	// RedisUnit is the unit that owns the state backend: a supervisor of
	// "s1/redis/store", the state actor for actors that talk by message.
	RedisUnit = "redis"
	// StoreName is the state actor's name under the unit.
	StoreName = "store"
	// HealthBreaker is the breaker that gates the store while Redis is
	// unreachable; System 4's Redis probe feeds it.
	HealthBreaker = "redis"
)

// StateOptions configure the Redis unit.
type StateOptions struct {
	// Store, when set, is used instead of opening the configured backend;
	// S1 never closes it.
	Store state.Store
	// StoreMiddleware and UnitMiddleware are receiver middleware of the
	// state actor and of the unit's supervisor (tests crash them with it).
	StoreMiddleware, UnitMiddleware []actor.ReceiverMiddleware
}

// State is the Redis unit's handle: the store everyone uses and what it
// is made of. Its methods are safe for concurrent use.
type State struct {
	// store is what everyone uses: raw behind the health gate when Redis
	// is configured, raw itself otherwise.
	store state.Store
	// raw is the backend itself: the health probe pings it, since the gate
	// refuses calls exactly while the probe must keep trying.
	raw      state.Store
	gate     *healthGate
	backend  string
	sessions *session.Store
	owned    bool // opened here, so closed by Close
}

// Store is the state store: the backend behind the health gate.
func (st *State) Store() state.Store { return st.store }

// Raw is the backend without the gate, for the health probe.
func (st *State) Raw() state.Store { return st.raw }

// Sessions is a session store on Store with the default settings.
func (st *State) Sessions() *session.Store { return st.sessions }

// Backend describes the backend without credentials.
func (st *State) Backend() string { return st.backend }

// Gated reports whether the store refuses calls while the health breaker
// is not closed (Redis configured and opened by S1).
func (st *State) Gated() bool { return st.gate != nil }

// Watch makes the gate refuse calls whenever b is not closed. It is a
// no-op for an ungated store.
func (st *State) Watch(b *breaker.Breaker) {
	if st.gate != nil {
		st.gate.b.Store(b)
	}
}

// Close closes the backend if S1 opened it. The node calls it once every
// system has stopped: the state actor does not, as S2 and S5 may still use
// the store when S1 stops (a prober releases its lease on the way out).
func (st *State) Close() error {
	if st == nil || !st.owned {
		return nil
	}
	return st.raw.Close()
}

// StartState opens the state backend (Redis when configured, otherwise
// in-process, or opts.Store) and supervises the Redis unit "s1/redis" with
// its state actor. On error nothing is left open.
func (s *S1) StartState(ctx context.Context, cfg config.Redis, opts StateOptions) (*State, error) {
	st := &State{}
	if opts.Store != nil {
		st.raw, st.backend = unclosable{opts.Store}, "given store"
		st.store = st.raw
	} else {
		raw, err := redisstore.Open(cfg, redisstore.WithLogger(s.env.Logger))
		if err != nil {
			return nil, err // already redacted
		}
		st.raw, st.store, st.backend, st.owned = raw, raw, "in-process", true
		if cfg.Enabled() {
			st.backend = fmt.Sprint(raw)
			// The gate opens only once Watch gives it the breaker.
			st.gate = newHealthGate()
			st.store = state.Guard(raw, st.gate)
		}
	}
	st.sessions = session.New(st.store, session.Config{})
	// The state actor keeps its subscriptions in its Props, which the unit
	// keeps in its child spec: they survive restarts of both. It is given
	// an unclosable store: the node closes it after the systems stop. It
	// runs on the units' dispatcher (presized).
	storeProps := redisstore.Props(unclosable{st.store})
	unitProps := supervisor.Props(Name+"/"+RedisUnit, s.env.Supervision, s.env.Supervisor,
		presized([]supervisor.ChildSpec{{Name: StoreName, Props: storeProps}})...)
	if len(opts.StoreMiddleware) > 0 {
		storeProps.Configure(actor.WithReceiverMiddleware(opts.StoreMiddleware...))
	}
	if len(opts.UnitMiddleware) > 0 {
		unitProps.Configure(actor.WithReceiverMiddleware(opts.UnitMiddleware...))
	}
	pid, err := s.startChild(ctx, Name, supervisor.ChildSpec{
		Name:  RedisUnit,
		Kind:  supervisor.KindSupervisor,
		Props: unitProps,
	})
	if err == nil {
		// The unit spawns its children when it starts: a reply to List
		// comes after that.
		_, err = supervisor.List(ctx, s.env.Root, pid)
	}
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	s.env.Logger.Info("state backend", zap.String("backend", st.backend))
	s.state = st
	return st, nil
}

// StatePID is the state actor "s1/redis/store".
func (s *S1) StatePID() (*actor.PID, bool) { return s.lookup(RedisUnit + "/" + StoreName) }

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
		Reason: "health breaker " + HealthBreaker + " is open (the Redis probe cannot reach Redis)",
		Err:    &breaker.RejectedError{Name: HealthBreaker, State: breaker.Open},
	}}
}

// Unavailable implements state.Gate.
func (g *healthGate) Unavailable() error {
	if b := g.b.Load(); b != nil && b.State() != breaker.Closed {
		return g.refusal
	}
	return nil
}

// unclosable keeps a store open when its holder closes it: a store given
// in StateOptions (its owner closes it) or S1's own in the state actor (the
// node closes it after the systems stop).
type unclosable struct{ state.Store }

func (unclosable) Close() error { return nil }

// State is the Redis unit's handle; nil before StartState.
func (s *S1) State() *State { return s.state }
