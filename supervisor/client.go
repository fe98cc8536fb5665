package supervisor

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// DefaultRequestTimeout bounds Start, Stop and List when ctx has no
// deadline. When ctx ends first they return ctx.Err() at once.
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

// replyProcess receives one reply. It replaces protoactor's Future, which
// needs a goroutine to wait with a context and races (result written
// without its lock) when a reply arrives after it completed.
type replyProcess struct{ ch chan any }

func (p *replyProcess) SendUserMessage(_ *actor.PID, m any) {
	_, msg, _ := actor.UnwrapEnvelope(m)
	select {
	case p.ch <- msg:
	default: // a late duplicate; the caller has its answer
	}
}

func (p *replyProcess) SendSystemMessage(*actor.PID, any) {}
func (p *replyProcess) Stop(*actor.PID)                   {}

func request[T any](ctx context.Context, root *actor.RootContext, pid *actor.PID, msg any) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	reg := root.ActorSystem().ProcessRegistry
	proc := &replyProcess{ch: make(chan any, 1)}
	self, ok := reg.Add(proc, "supervisor-reply$"+reg.NextId())
	if !ok {
		return zero, fmt.Errorf("supervisor: cannot register a reply process")
	}
	defer reg.Remove(self)

	timeout := time.NewTimer(DefaultRequestTimeout)
	defer timeout.Stop()
	root.RequestWithCustomSender(pid, msg, self)
	var reply any
	select {
	case reply = <-proc.ch:
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-timeout.C:
		return zero, fmt.Errorf("supervisor: no reply to %T from %s in %s: %w", msg, PIDString(pid), DefaultRequestTimeout, context.DeadlineExceeded)
	}
	if _, dead := reply.(*actor.DeadLetterResponse); dead {
		return zero, fmt.Errorf("%w: %s is gone", ErrStopped, PIDString(pid))
	}
	v, ok := reply.(T)
	if !ok {
		return zero, fmt.Errorf("supervisor: unexpected reply %T to %T", reply, msg)
	}
	return v, nil
}
