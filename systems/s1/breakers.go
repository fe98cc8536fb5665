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
// order, in one request to the S1 supervisor, which starts them
// concurrently (supervisor.StartAll), and publishes them in one copy of
// the lookup map. Each *breaker.Breaker lives here, outside its actor, so
// a restart of the actor keeps its state. On error the breakers started
// before the failing one stay supervised and available.
func (s *S1) StartBreakers(ctx context.Context, cfg map[string]config.Breaker) error {
	names := sortedKeys(cfg)
	bs := make([]*breaker.Breaker, 0, len(names))
	specs := make([]supervisor.ChildSpec, 0, len(names))
	s.mu.Lock()
	defer s.mu.Unlock()
	have := s.breakers.Load().byName
	for _, name := range names {
		st, err := breakeractor.SettingsFromConfig(cfg[name])
		if err != nil {
			return fmt.Errorf("circuit_breakers.%s: %w", name, err)
		}
		if _, dup := have[name]; dup {
			return fmt.Errorf("s1: breaker %q: %w", name, ErrExists)
		}
		b := breaker.New(name, st)
		bs = append(bs, b)
		specs = append(specs, s.breakerSpec(b))
	}
	sup, ok := s.env.Supervisor.Directory.Lookup(Name)
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotRunning, Name)
	}
	pids, err := supervisor.StartAll(ctx, s.env.Root, sup, presized(specs)...)
	started := min(len(pids), len(bs))
	storeAll(&s.breakers, names[:started], bs[:started])
	if err != nil {
		return fmt.Errorf("s1: breakers: %w", err)
	}
	return nil
}

// breakerSpec is the child spec of b's actor, "s1/breaker/<name>".
func (s *S1) breakerSpec(b *breaker.Breaker) supervisor.ChildSpec {
	name := b.Name()
	return supervisor.ChildSpec{
		Name: BreakerPrefix + name,
		Props: breakeractor.Props(b, breakeractor.Env{
			Events: s.env.Events, Alerts: s.env.Alerts, Name: Name + "/" + BreakerPrefix + name,
		}),
	}
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
	pid, err := s.startChild(ctx, Name, s.breakerSpec(b))
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
