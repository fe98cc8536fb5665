package s1

import (
	"context"
	"fmt"
	"slices"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/actors/breakeractor"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/supervisor"
)

// StartBreakers supervises one actor per configured breaker, in name
// order. Each *breaker.Breaker lives here, outside its actor, so a restart
// of the actor keeps its state.
func (s *S1) StartBreakers(ctx context.Context, cfg map[string]config.Breaker) error {
	for _, name := range sortedKeys(cfg) {
		st, err := breakeractor.SettingsFromConfig(cfg[name])
		if err != nil {
			return fmt.Errorf("circuit_breakers.%s: %w", name, err)
		}
		if _, err := s.AddBreaker(ctx, breaker.New(name, st)); err != nil {
			return err
		}
	}
	return nil
}

// AddBreaker supervises b as "s1/breaker/<name>" and makes it available by
// name.
func (s *S1) AddBreaker(ctx context.Context, b *breaker.Breaker) (*actor.PID, error) {
	name := b.Name()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.breakers.Load().byName[name]; dup {
		return nil, fmt.Errorf("s1: breaker %q: %w", name, ErrExists)
	}
	pid, err := s.startChild(ctx, Name, supervisor.ChildSpec{
		Name: BreakerPrefix + name,
		Props: breakeractor.Props(b, breakeractor.Env{
			Events: s.env.Events, Alerts: s.env.Alerts, Name: Name + "/" + BreakerPrefix + name,
		}),
	})
	if err != nil {
		return nil, fmt.Errorf("s1: breaker %q: %w", name, err)
	}
	store(&s.breakers, name, b)
	return pid, nil
}

// Breaker returns the breaker called name, with no lock taken: call it
// from any goroutine, on the request path too.
func (s *S1) Breaker(name string) (*breaker.Breaker, bool) {
	b, ok := s.breakers.Load().byName[name]
	return b, ok
}

// BreakerPID is the PID of the actor owning the breaker called name.
func (s *S1) BreakerPID(name string) (*actor.PID, bool) { return s.lookup(BreakerPrefix + name) }

// Breakers returns every breaker, sorted by name.
func (s *S1) Breakers() []*breaker.Breaker {
	return slices.Clone(s.breakers.Load().sorted)
}
