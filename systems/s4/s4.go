package s4

import (
	"context"
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"

	"github.com/viable-systems/vsm-connections/actors/health"
	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/supervisor"
	"github.com/viable-systems/vsm-connections/systems"
)

// Name is System 4's stable name and the prefix of its children's names.
const Name = "s4"

// RedisProbe is the name of the Redis PING probe under S4: its stable
// name, and the source of its alerts, is "s4/redis".
const RedisProbe = "redis"

// DefaultRedisInterval is how often the Redis probe pings by default.
const DefaultRedisInterval = time.Second

// ErrNotRunning is returned when S4's supervisor is not in the tree.
var ErrNotRunning = errors.New("s4: supervisor not running")

// Spec is System 4's supervisor, for the node root to start.
func Spec(cfg supervisor.Config, env supervisor.Env, children ...supervisor.ChildSpec) supervisor.ChildSpec {
	return systems.Spec(Name, cfg, env, children...)
}

// Env is what S4 needs from its node.
type Env struct {
	// Root sends the supervisor requests that add checkers.
	Root *actor.RootContext
	// Directory finds S4's supervisor.
	Directory *supervisor.Directory
	// Alerts receives the checkers' algedonic alerts.
	Alerts algedonic.Raiser
	// Events receives the checkers' health.result and health.changed.
	Events *eventstream.EventStream
	// Supervisor is the node's supervision environment, and Supervision
	// the restart intensity of "s4/check", the checkers' supervisor.
	Supervisor  supervisor.Env
	Supervision supervisor.Config
	// Clock schedules the checkers' probes; nil is the wall clock. Tests
	// inject a fake.
	Clock health.Clock
}

// S4 is System 4's API: it starts the checkers that watch the services
// outside the node.
type S4 struct {
	env Env
	reg *health.Registry
}

// New returns an S4 with no checkers.
func New(env Env) *S4 {
	return &S4{env: env, reg: health.NewRegistry(env.Root, health.Env{
		Events: env.Events, Alerts: env.Alerts, Path: Name + "/" + CheckSupervisor, Clock: env.Clock,
	})}
}

// StartRedisProbe supervises the Redis PING probe "s4/redis": every
// interval (DefaultRedisInterval when 0) one ping of st goes through b, so
// b opens when Redis stops answering and closes again once it answers. b
// going open raises a Critical from "s4/redis"; closing again an Info.
func (s *S4) StartRedisProbe(ctx context.Context, b *breaker.Breaker, st state.Store, every time.Duration) (*actor.PID, error) {
	if every <= 0 {
		every = DefaultRedisInterval
	}
	sup, ok := s.env.Directory.Lookup(Name)
	if !ok {
		return nil, ErrNotRunning
	}
	return supervisor.Start(ctx, s.env.Root, sup, supervisor.ChildSpec{
		Name:  RedisProbe,
		Props: redisProbeProps(b, st, every, s.env.Alerts, Name+"/"+RedisProbe),
	})
}
