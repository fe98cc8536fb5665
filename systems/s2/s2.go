package s2

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/internal/ask"
	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/supervisor"
	"github.com/viable-systems/vsm-connections/systems"
	"github.com/viable-systems/vsm-connections/systems/s2/coord"
)

// Name is System 2's stable name and the prefix of its children's names.
const Name = "s2"

// Names of S2's children: "s2/breaker/<name>" per shared breaker and
// "s2/algedonic", the alert bridge.
const (
	BreakerPrefix = "breaker/"
	AlertBridge   = "algedonic"
)

var (
	// ErrNoBreaker is returned when a shared breaker is not one of S1's.
	ErrNoBreaker = errors.New("s2: no such circuit breaker")
	// ErrNotRunning is returned when S2's supervisor is not in the tree.
	ErrNotRunning = errors.New("s2: supervisor not running")
)

// Spec is System 2's supervisor, for the node root to start.
func Spec(cfg supervisor.Config, env supervisor.Env, children ...supervisor.ChildSpec) supervisor.ChildSpec {
	return systems.Spec(Name, cfg, env, children...)
}

// Env is what S2 needs from its node.
type Env struct {
	// Root sends the supervisor requests that add children.
	Root *actor.RootContext
	// Directory finds S2's supervisor.
	Directory *supervisor.Directory
	// Store carries the bus, the shared breakers' records and the alerts.
	Store state.Store
	// Cluster is node.cluster; Name is node.name; Instance the node's
	// InstanceID. Node is this instance in the shared breakers' records
	// (name-instance).
	Cluster, Name, Instance, Node string
	// LeaseTTL is the shared breakers' probe lease (0: each breaker's
	// recovery_timeout).
	LeaseTTL time.Duration
	// Transport, when set, carries each shared breaker's protocol instead
	// of Store (coord.Env.Transport).
	Transport func(breaker string) coord.Transport
	// RemoteAlerts makes the bridge deliver other nodes' alerts.
	RemoteAlerts bool
	// Deliver hands a remote alert to this node's S5.
	Deliver func(*algedonic.Alert)
	// Breaker finds S1's breakers by name.
	Breaker func(name string) (*breaker.Breaker, bool)
	// Logger is the node's logger; nil logs nothing.
	Logger *zap.Logger
}

// S2 is System 2's API: the coordinators it started and their counters.
// Its maps are written once, by Start, and only read after.
type S2 struct {
	coords map[string]*coord.Stats
	bridge *coord.AlertBridge
}

// Start supervises one coordinator per breaker whose coordination is
// shared (in name order), then the alert bridge, and returns once each
// answers: a node whose S2 has started is in the cluster's state.
func Start(ctx context.Context, env Env, breakers map[string]config.Breaker) (*S2, error) {
	if env.Logger == nil {
		env.Logger = zap.NewNop()
	}
	sup, ok := env.Directory.Lookup(Name)
	if !ok {
		return nil, ErrNotRunning
	}
	s := &S2{coords: map[string]*coord.Stats{}}
	for _, name := range slices.Sorted(maps.Keys(breakers)) {
		if breakers[name].Coordination != config.CoordinationShared {
			continue
		}
		b, ok := env.Breaker(name)
		if !ok {
			return nil, fmt.Errorf("circuit_breakers.%s: %w", name, ErrNoBreaker)
		}
		stats := &coord.Stats{}
		s.coords[name] = stats
		var tr coord.Transport
		if env.Transport != nil {
			tr = env.Transport(name)
		}
		pid, err := supervisor.Start(ctx, env.Root, sup, supervisor.ChildSpec{
			Name: BreakerPrefix + name,
			Props: coord.Props(b, coord.Env{
				Store: env.Store, Transport: tr, Cluster: env.Cluster, Node: env.Node, LeaseTTL: env.LeaseTTL,
				Logger: env.Logger.With(zap.String("actor", Name+"/"+BreakerPrefix+name)), Stats: stats,
			}),
		})
		if err == nil {
			// Joined (or retrying) once it answers.
			_, err = ask.Ask[*coord.Pong](ctx, env.Root, pid, &coord.Ping{})
		}
		if err != nil {
			return nil, fmt.Errorf("s2: shared breaker %q: %w", name, err)
		}
	}
	s.bridge = coord.NewAlertBridge(coord.AlertEnv{
		Store: env.Store, Cluster: env.Cluster, Node: env.Instance, Name: env.Name,
		Remote: env.RemoteAlerts, Deliver: env.Deliver,
		Logger: env.Logger.With(zap.String("actor", Name+"/"+AlertBridge)),
	})
	pid, err := supervisor.Start(ctx, env.Root, sup, supervisor.ChildSpec{Name: AlertBridge, Props: s.bridge.Props()})
	if err == nil {
		_, err = ask.Ask[*coord.Pong](ctx, env.Root, pid, &coord.Ping{})
	}
	if err != nil {
		return nil, fmt.Errorf("s2: alert bridge: %w", err)
	}
	return s, nil
}

// SharedBreakerStats are the counters of a shared breaker's coordinator.
func (s *S2) SharedBreakerStats(name string) (*coord.Stats, bool) {
	if s == nil {
		return nil, false
	}
	st, ok := s.coords[name]
	return st, ok
}

// Bridge is the alert bridge (nil on a nil S2).
func (s *S2) Bridge() *coord.AlertBridge {
	if s == nil {
		return nil
	}
	return s.bridge
}

// AlertBridgeStats are the counters of the node's alert publication.
func (s *S2) AlertBridgeStats() coord.AlertBridgeStats {
	if s == nil || s.bridge == nil {
		return coord.AlertBridgeStats{}
	}
	return s.bridge.Stats()
}

// PublishOwn returns the S5 reaction that publishes this node's own alerts
// of at least minSev to the cluster. Alerts from other nodes carry their
// Instance (and keep their Node): never published again. The name alone
// cannot tell them apart: two nodes may share one, and then an alert
// bounced between them for ever.
func (s *S2) PublishOwn(self string, minSev algedonic.Severity) func(*algedonic.Alert) {
	bridge := s.bridge
	return func(a *algedonic.Alert) {
		if a.Instance == "" && a.Node == self && a.Severity >= minSev {
			bridge.Publish(a)
		}
	}
}
