// Package offload runs an actor's slow requests off its mailbox, so the
// actor never blocks on I/O or user code: each request runs on a goroutine
// of its own, at most Max at once, under a context that ends at the
// request's deadline or when the owner calls Stop, and its reply goes to the
// sender captured when the request arrived.
//
// A Runner belongs in the state an actor's props share across restarts, so
// that requests running when the actor restarts are neither cancelled nor
// forgotten.
package offload

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

var (
	// ErrBusy is the failure given when Max requests are already running.
	ErrBusy = errors.New("too many requests in flight")
	// ErrPanicked wraps the value of a request that panicked.
	ErrPanicked = errors.New("request panicked")
)

// Runner runs requests off an actor's mailbox. Its zero value is not
// usable: call New.
type Runner struct {
	max      int32
	inflight atomic.Int32
	wg       sync.WaitGroup

	mu     sync.Mutex
	ctx    context.Context
	cancel context.CancelFunc
}

// New returns a runner of at most max requests at once.
func New(max int) *Runner { return &Runner{max: int32(max)} }

// Run runs work on a goroutine and sends what it returns to the sender of
// the message ctx is handling; a nil result sends nothing (work replied
// itself). When max requests run already, or work panics, the sender gets
// fail(err) instead, err matching ErrBusy or ErrPanicked. A zero deadline
// means none beyond Stop.
func (r *Runner) Run(ctx actor.Context, deadline time.Time, work func(context.Context) any, fail func(error) any) {
	sender := ctx.Sender()
	root := ctx.ActorSystem().Root
	if r.inflight.Add(1) > r.max {
		r.inflight.Add(-1)
		if sender != nil {
			root.Send(sender, fail(ErrBusy))
		}
		return
	}
	parent := r.parent()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		c, cancel := parent, context.CancelFunc(func() {})
		if !deadline.IsZero() {
			c, cancel = context.WithDeadline(parent, deadline)
		}
		out := safely(c, work, fail)
		cancel()
		// Free the slot before replying: a sender that gets its answer and
		// asks again at once must not be told the runner is busy.
		r.inflight.Add(-1)
		if sender != nil && out != nil {
			root.Send(sender, out)
		}
	}()
}

func safely(ctx context.Context, work func(context.Context) any, fail func(error) any) (out any) {
	defer func() {
		if p := recover(); p != nil {
			out = fail(fmt.Errorf("%w: %v", ErrPanicked, p))
		}
	}()
	return work(ctx)
}

func (r *Runner) parent() context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx == nil {
		r.ctx, r.cancel = context.WithCancel(context.Background())
	}
	return r.ctx
}

// Stop cancels the context of every running request. It does not wait for
// them (work that ignores its context would hold Stop forever); Wait does.
// Requests run after Stop get a fresh context.
func (r *Runner) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		r.cancel()
		r.ctx, r.cancel = nil, nil
	}
}

// Wait blocks until every running request has returned.
func (r *Runner) Wait() { r.wg.Wait() }

// InFlight is the number of requests running.
func (r *Runner) InFlight() int { return int(r.inflight.Load()) }
