package breakeractor

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	cb "github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/internal/ask"
)

// Stats asks the breaker actor at pid for its stats, within ctx (10s when
// ctx has no deadline).
func Stats(ctx context.Context, sender actor.SenderContext, pid *actor.PID) (cb.Stats, error) {
	return statsOf(ctx, sender, pid, &GetStats{})
}

// Open forces the breaker at pid open and returns its new stats.
func Open(ctx context.Context, sender actor.SenderContext, pid *actor.PID) (cb.Stats, error) {
	return statsOf(ctx, sender, pid, &OpenBreaker{})
}

// Close closes the breaker at pid and returns its new stats.
func Close(ctx context.Context, sender actor.SenderContext, pid *actor.PID) (cb.Stats, error) {
	return statsOf(ctx, sender, pid, &CloseBreaker{})
}

// Reset closes the breaker at pid, zeroes its counters and returns its new
// stats.
func Reset(ctx context.Context, sender actor.SenderContext, pid *actor.PID) (cb.Stats, error) {
	return statsOf(ctx, sender, pid, &ResetBreaker{})
}

func statsOf(ctx context.Context, sender actor.SenderContext, pid *actor.PID, msg any) (cb.Stats, error) {
	r, err := ask.Ask[*StatsResult](ctx, sender, pid, msg)
	if err != nil {
		return cb.Stats{}, askError(ctx, err)
	}
	return r.Stats, nil
}

// askError prefers ctx's own error: the request's timeout is ctx's
// deadline, and whichever fires first the caller should see
// context.DeadlineExceeded.
func askError(ctx context.Context, err error) error { return ask.ContextError(ctx, err) }

// Execute runs fn through the breaker actor at pid (local only) and returns
// its outcome (see CallResult). fn's context carries ctx's deadline but not
// its cancellation: it ends when the deadline passes or the actor stops.
// Plain Go code should call the *cb.Breaker directly: this path costs a
// mailbox round trip.
func Execute(ctx context.Context, sender actor.SenderContext, pid *actor.PID, fn func(context.Context) error) error {
	dl, _ := ctx.Deadline()
	r, err := ask.Ask[*CallResult](ctx, sender, pid, &Call{Fn: fn, Deadline: dl})
	if err != nil {
		return askError(ctx, err)
	}
	return r.Err
}
