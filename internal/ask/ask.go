package ask

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Ask asks pid and waits for a reply of type T within ctx (or 10s when
// ctx has no deadline), so callers never handle untyped futures.
func Ask[T any](ctx context.Context, root actor.SenderContext, pid *actor.PID, msg any) (T, error) {
	var zero T
	timeout := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
		if timeout <= 0 {
			return zero, context.DeadlineExceeded
		}
	}
	fut := root.RequestFuture(pid, msg, timeout)
	type result struct {
		v   any
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := fut.Result()
		done <- result{v, err}
	}()
	select {
	case <-ctx.Done():
		return zero, ctx.Err()
	case r := <-done:
		if r.err != nil {
			return zero, fmt.Errorf("request %T to %s: %w", msg, pid.Id, r.err)
		}
		v, ok := r.v.(T)
		if !ok {
			return zero, fmt.Errorf("request %T to %s: unexpected reply %T", msg, pid.Id, r.v)
		}
		return v, nil
	}
}
