package ask

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// DefaultTimeout bounds a request whose context has no deadline.
const DefaultTimeout = 10 * time.Second

// ErrNoActor is matched when the target does not exist (protoactor answered
// with a dead letter).
var ErrNoActor = errors.New("no such actor")

// replyProcess receives one reply. It replaces protoactor's Future, which
// needs a goroutine to wait with a context and races (its result is written
// without its lock) when a reply arrives after it completed. It is the
// channel itself (buffered, one slot), so registering it allocates nothing
// beyond the channel.
type replyProcess chan any

func (p replyProcess) SendUserMessage(_ *actor.PID, m any) {
	_, msg, _ := actor.UnwrapEnvelope(m)
	select {
	case p <- msg:
	default: // a late duplicate; the caller has its answer
	}
}

func (replyProcess) SendSystemMessage(*actor.PID, any) {}
func (replyProcess) Stop(*actor.PID)                   {}

// Ask sends msg to pid and waits for a reply of type T until ctx ends (or
// DefaultTimeout when ctx has no deadline). It leaves no goroutine behind.
// A reply of another type is an error, as is a missing actor (ErrNoActor).
func Ask[T any](ctx context.Context, sender actor.SenderContext, pid *actor.PID, msg any) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	reg := sender.ActorSystem().ProcessRegistry
	proc := make(replyProcess, 1)
	self, ok := reg.Add(proc, "ask$"+reg.NextId())
	if !ok {
		return zero, errors.New("ask: cannot register a reply process")
	}
	defer reg.Remove(self)

	// A context with a deadline bounds the wait by itself: a timer of our
	// own would only fire at the same instant, and costs three allocations
	// per request. Only a context without one needs DefaultTimeout's.
	var expired <-chan time.Time
	if _, ok := ctx.Deadline(); !ok {
		timer := time.NewTimer(DefaultTimeout)
		defer timer.Stop()
		expired = timer.C
	}
	sender.RequestWithCustomSender(pid, msg, self)
	var reply any
	select {
	case reply = <-proc:
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-expired:
		return zero, fmt.Errorf("no reply to %T from %s within %s: %w", msg, pid.GetId(), DefaultTimeout, context.DeadlineExceeded)
	}
	if _, dead := reply.(*actor.DeadLetterResponse); dead {
		return zero, fmt.Errorf("%T to %s: %w", msg, pid.GetId(), ErrNoActor)
	}
	v, ok := reply.(T)
	if !ok {
		return zero, fmt.Errorf("unexpected reply %T to %T from %s", reply, msg, pid.GetId())
	}
	return v, nil
}

// ContextError is err from a request made with ctx, named by ctx when ctx
// is why it failed: ctx's own error if it has ended, and
// context.DeadlineExceeded when a timer set to ctx's deadline (protoactor's
// future, or a remote ask) fired before ctx's own. Otherwise err as it is.
func ContextError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	if _, ok := ctx.Deadline(); ok && (errors.Is(err, actor.ErrTimeout) || errors.Is(err, context.DeadlineExceeded)) {
		return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
	}
	return err
}
