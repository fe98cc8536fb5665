package vsm

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/systems/s1"
)

// BreakerPrefix is the prefix of breaker actors' names under S1: the
// breaker "api" is the actor "s1/breaker/api".
const BreakerPrefix = s1.BreakerPrefix

// AddBreaker supervises b under S1 as "s1/breaker/<name>" and makes it
// available by name. Breakers from the config are added at Start.
func (n *Node) AddBreaker(ctx context.Context, b *breaker.Breaker) (*actor.PID, error) {
	if n.isStopped() {
		return nil, ErrStopped
	}
	if n.s1 == nil {
		return nil, ErrNotStarted
	}
	return n.s1.AddBreaker(ctx, b)
}

// Breaker returns the breaker called name. Call it from any goroutine:
// the lookup takes no lock, and b.Call(ctx, fn) decides on atomics,
// without a mailbox hop.
func (n *Node) Breaker(name string) (*breaker.Breaker, bool) {
	if n.s1 == nil {
		return nil, false
	}
	return n.s1.Breaker(name)
}

// BreakerPID is the PID of the actor owning the breaker called name, for
// actors that drive it by message (package actors/breakeractor).
func (n *Node) BreakerPID(name string) (*actor.PID, bool) {
	if n.s1 == nil {
		return nil, false
	}
	return n.s1.BreakerPID(name)
}

// Breakers returns every breaker, sorted by name.
func (n *Node) Breakers() []*breaker.Breaker {
	if n.s1 == nil {
		return nil
	}
	return n.s1.Breakers()
}
