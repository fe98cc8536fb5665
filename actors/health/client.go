package health

import (
	"context"
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/internal/ask"
)

// RunCheck asks the checker at pid to probe now and returns the result,
// within ctx (10s when ctx has no deadline). The error is about the asking
// (ctx ended; ErrNotRunning: no such actor, or it stopped before the probe
// ended); the probe's own failure is Result.Err.
func RunCheck(ctx context.Context, sender actor.SenderContext, pid *actor.PID) (Result, error) {
	r, err := ask.Ask[*CheckResult](ctx, sender, pid, &CheckNow{})
	if err != nil {
		return Result{}, askError(ctx, err)
	}
	if r.Err != nil {
		return Result{}, r.Err
	}
	return r.Result, nil
}

// StatusOf asks the checker at pid for its snapshot. Code that holds the
// *Checker or the *Registry reads it without a message (Status).
func StatusOf(ctx context.Context, sender actor.SenderContext, pid *actor.PID) (Snapshot, error) {
	r, err := ask.Ask[*StatusResult](ctx, sender, pid, &GetStatus{})
	if err != nil {
		return Snapshot{}, askError(ctx, err)
	}
	return r.Snapshot, nil
}

// askError prefers ctx's own error, as the breaker actor's client does.
func askError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	if errors.Is(err, ask.ErrNoActor) {
		return fmt.Errorf("%w: %w", ErrNotRunning, err)
	}
	return err
}
