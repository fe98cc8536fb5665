package supervisor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// DefaultRequestTimeout bounds Start, Stop and List when ctx has no
// deadline.
const DefaultRequestTimeout = 10 * time.Second

// Start asks sup to spawn and supervise spec and returns the child's PID.
func Start(ctx context.Context, root *actor.RootContext, sup *actor.PID, spec ChildSpec) (*actor.PID, error) {
	if err := validate(spec); err != nil {
		return nil, err
	}
	res, err := request[*StartChildResult](ctx, root, sup, &StartChild{Spec: spec})
	if err != nil {
		return nil, err
	}
	return res.PID, res.Err
}

// Stop asks sup to stop its child name for good; it returns once the child
// has terminated.
func Stop(ctx context.Context, root *actor.RootContext, sup *actor.PID, name string) error {
	res, err := request[*StopChildResult](ctx, root, sup, &StopChild{Name: name})
	if err != nil {
		return err
	}
	return res.Err
}

// List returns sup's children in order.
func List(ctx context.Context, root *actor.RootContext, sup *actor.PID) ([]ChildInfo, error) {
	res, err := request[*Children](ctx, root, sup, &GetChildren{})
	if err != nil {
		return nil, err
	}
	return res.Children, nil
}

// request wraps protoactor's future. When ctx ends first the call returns
// ctx.Err() at once; the future itself expires at ctx's deadline (or after
// DefaultRequestTimeout).
func request[T any](ctx context.Context, root *actor.RootContext, pid *actor.PID, msg any) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	timeout := DefaultRequestTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
		if timeout <= 0 {
			return zero, context.DeadlineExceeded
		}
	}
	f := root.RequestFuture(pid, msg, timeout)
	type result struct {
		v   any
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f.Result()
		done <- result{v, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	switch {
	case errors.Is(r.err, actor.ErrDeadLetter):
		return zero, fmt.Errorf("%w: %s is gone", ErrStopped, PIDString(pid))
	case errors.Is(r.err, actor.ErrTimeout):
		if err := ctx.Err(); err != nil {
			return zero, err
		}
		return zero, fmt.Errorf("supervisor: %T to %s: %w", msg, PIDString(pid), context.DeadlineExceeded)
	case r.err != nil:
		return zero, r.err
	}
	v, ok := r.v.(T)
	if !ok {
		return zero, fmt.Errorf("supervisor: unexpected reply %T to %T", r.v, msg)
	}
	return v, nil
}
