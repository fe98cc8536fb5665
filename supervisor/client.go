package supervisor

import (
	"context"
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/internal/ask"
)

// DefaultRequestTimeout bounds Start, Stop and List when ctx has no
// deadline. When ctx ends first they return ctx.Err() at once.
const DefaultRequestTimeout = ask.DefaultTimeout

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

// StartAll asks sup to spawn and supervise specs, in order, in one
// request (see StartChildren: a one_for_one supervisor starts them
// concurrently). It returns the PIDs of the children spawned; on error the
// spec at index len(pids) is the one that failed, and those before it are
// supervised.
func StartAll(ctx context.Context, root *actor.RootContext, sup *actor.PID, specs ...ChildSpec) ([]*actor.PID, error) {
	for i, spec := range specs {
		if err := validate(spec); err != nil {
			return nil, fmt.Errorf("supervisor: child %d: %w", i, err)
		}
	}
	if len(specs) == 0 {
		return nil, nil
	}
	res, err := request[*StartChildrenResult](ctx, root, sup, &StartChildren{Specs: specs})
	if err != nil {
		return nil, err
	}
	return res.PIDs, res.Err
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

func request[T any](ctx context.Context, root *actor.RootContext, pid *actor.PID, msg any) (T, error) {
	v, err := ask.Ask[T](ctx, root, pid, msg)
	if errors.Is(err, ask.ErrNoActor) {
		return v, fmt.Errorf("%w: %s is gone", ErrStopped, PIDString(pid))
	}
	if err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
		return v, fmt.Errorf("supervisor: %w", err)
	}
	return v, err
}
