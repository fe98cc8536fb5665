package s1

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"
	"go.uber.org/zap"

	"github.com/viable-systems/vsm-connections/actors/grpcpool"
	"github.com/viable-systems/vsm-connections/actors/ws"
	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/fault"
	"github.com/viable-systems/vsm-connections/internal/dispatch"
	"github.com/viable-systems/vsm-connections/supervisor"
	"github.com/viable-systems/vsm-connections/systems"
)

// Name is System 1's stable name and the prefix of its children's names.
const Name = "s1"

// Prefixes of the units' names under S1: the breaker "api" is the actor
// "s1/breaker/api", the pool "api" the actor "s1/pool/api".
const (
	BreakerPrefix = "breaker/"
	PoolPrefix    = "pool/"
)

var (
	// ErrExists is returned when a unit of that name is already there.
	ErrExists = errors.New("s1: unit already exists")
	// ErrNotRunning is returned when S1's supervisor is not in the tree
	// (the node is stopping, or its root gave up).
	ErrNotRunning = errors.New("s1: supervisor not running")
)

// Spec is System 1's supervisor, for the node root to start.
func Spec(cfg supervisor.Config, env supervisor.Env, children ...supervisor.ChildSpec) supervisor.ChildSpec {
	return systems.Spec(Name, cfg, env, children...)
}

// Env is what S1 needs from its node.
type Env struct {
	// Root sends the supervisor requests that add units.
	Root *actor.RootContext
	// Supervisor is the node's supervision environment (directory, event
	// stream, alerts); the Redis unit's own supervisor takes part in it.
	Supervisor supervisor.Env
	// Supervision is the restart intensity of the units' own supervisors.
	Supervision supervisor.Config
	// Events receives the units' events.
	Events *eventstream.EventStream
	// Alerts receives the breakers' algedonic alerts.
	Alerts algedonic.Raiser
	// Logger is the node's logger; nil logs nothing.
	Logger *zap.Logger
	// Retry are the fault_tolerance defaults given to every HTTP pool.
	Retry []fault.Option
	// TuneWebSocket and TuneGRPC, when set, may change the config S1
	// builds from a pools: entry before the pool starts: what YAML cannot
	// say (a ws.Handler, subscriptions, OnReconnect; gRPC dial options).
	TuneWebSocket func(pool string, c *ws.Config)
	TuneGRPC      func(pool string, c *grpcpool.Config)
}

// S1 is System 1's API: it builds the operational units under the S1
// supervisor and hands them out by name. Lookups (Breaker, Pool, Route)
// are lock-free: the maps are copy-on-write behind atomic pointers, written
// only by the Add methods, which a mutex serialises.
type S1 struct {
	env Env

	mu       sync.Mutex // serialises the writers of breakers and pools
	breakers atomic.Pointer[units[*breaker.Breaker]]
	pools    atomic.Pointer[units[*Pool]]
	// routes maps an endpoint (host:port) to the first pool by name that
	// has it: Route's table for absolute URLs, rebuilt with pools.
	routes atomic.Pointer[map[string]*Pool]
	// The WebSocket and gRPC pools (conns.go), in the same name space as
	// pools: each is the unit "s1/pool/<name>".
	wsPools   atomic.Pointer[units[*ws.Pool]]
	grpcPools atomic.Pointer[units[*grpcpool.Channel]]
	state     *State
}

// New returns an S1 with no units; the node adds them with the Start and
// Add methods once the S1 supervisor runs.
func New(env Env) *S1 {
	if env.Logger == nil {
		env.Logger = zap.NewNop()
	}
	s := &S1{env: env}
	s.breakers.Store(&units[*breaker.Breaker]{})
	s.pools.Store(&units[*Pool]{})
	s.routes.Store(&map[string]*Pool{})
	s.wsPools.Store(&units[*ws.Pool]{})
	s.grpcPools.Store(&units[*grpcpool.Channel]{})
	return s
}

// startChild adds spec under the supervisor called sup (S1 or one below it).
// Every unit runs on the connection actors' dispatcher, which grows each
// mailbox run's stack at its base (internal/dispatch): a unit answers
// requests, and a reply made on protoactor's small starting stack had the
// runtime copy it mid-handler.
func (s *S1) startChild(ctx context.Context, sup string, spec supervisor.ChildSpec) (*actor.PID, error) {
	pid, ok := s.env.Supervisor.Directory.Lookup(sup)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotRunning, sup)
	}
	presized([]supervisor.ChildSpec{spec})
	return supervisor.Start(ctx, s.env.Root, pid, spec)
}

// presized gives the actors of specs (a unit's own children, such as a
// WebSocket pool's connections) the units' dispatcher, as startChild
// gives the units themselves.
func presized(specs []supervisor.ChildSpec) []supervisor.ChildSpec {
	for _, spec := range specs {
		if spec.Props != nil {
			spec.Props.Configure(actor.WithDispatcher(dispatch.New()))
		}
	}
	return specs
}

// lookup is the PID of the unit actor with the stable name s1/<name>.
func (s *S1) lookup(name string) (*actor.PID, bool) {
	return s.env.Supervisor.Directory.Lookup(Name + "/" + name)
}

// units is an immutable snapshot of the units of one kind: by name, and
// sorted by name, so that neither a lookup nor a scan (routing by
// endpoint) allocates or takes a lock.
type units[V any] struct {
	byName map[string]V
	names  []string // sorted; names[i] is the name of sorted[i]
	sorted []V
}

// store publishes a copy of *p with name set to v; the caller holds s.mu.
// The name goes in by binary search, so adding n units one by one costs
// O(n²) copying, not O(n² log n) sorting; a batch uses storeAll.
func store[V any](p *atomic.Pointer[units[V]], name string, v V) {
	old := p.Load()
	m := maps.Clone(old.byName)
	if m == nil {
		m = map[string]V{}
	}
	m[name] = v
	i, found := slices.BinarySearch(old.names, name)
	next := &units[V]{byName: m}
	if found {
		next.names = old.names
		next.sorted = slices.Clone(old.sorted)
		next.sorted[i] = v
	} else {
		next.names = slices.Insert(slices.Clip(old.names), i, name)
		next.sorted = slices.Insert(slices.Clip(old.sorted), i, v)
	}
	p.Store(next)
}

// storeAll publishes a copy of *p with every names[i] set to vals[i], in
// one copy and one sort: a node starting 10,000 units this way spends
// milliseconds here, where a store per unit took seconds. The caller
// holds s.mu.
func storeAll[V any](p *atomic.Pointer[units[V]], names []string, vals []V) {
	if len(names) == 0 {
		return
	}
	old := p.Load()
	m := make(map[string]V, len(old.byName)+len(names))
	maps.Copy(m, old.byName)
	for i, name := range names {
		m[name] = vals[i]
	}
	next := &units[V]{byName: m, names: slices.Sorted(maps.Keys(m))}
	next.sorted = make([]V, len(next.names))
	for i, k := range next.names {
		next.sorted[i] = m[k]
	}
	p.Store(next)
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
