package grpcpool

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// sharedDeadline gives the default deadline (Config.Timeout) to the unary
// calls whose context can never be cancelled (Done is nil: Background,
// TODO, WithoutCancel and values on them) without a context.WithTimeout,
// and so a timer, per call. Calls that start within one grain share one
// deadline context, made from Background when the first of them starts
// with the deadline Timeout later, so each call's deadline is at most
// Timeout away and at least Timeout - grain. grain is Timeout/64 (at
// most 100ms): at the 5s default a deadline is up to 78ms early.
//
// A per-call WithTimeout cost 7-8 of the interceptors' 15 allocations (its
// timer context, the timer, and grpc-go's own child context registering
// under it); a shared one costs one small wrapper. A caller whose context
// can be cancelled still gets its own WithTimeout: merging two
// cancellations would cost as much as it saves.
type sharedDeadline struct {
	timeout, grain time.Duration
	cur            atomic.Pointer[deadlineSlot]
	mu             sync.Mutex // one maker of the next slot
}

type deadlineSlot struct {
	ctx context.Context
	// cancel is never called: the deadline's own timer ends ctx.
	cancel context.CancelFunc
	// until is when calls stop joining this slot.
	until time.Time
}

func newSharedDeadline(timeout time.Duration) *sharedDeadline {
	return &sharedDeadline{timeout: timeout, grain: min(timeout/64, 100*time.Millisecond)}
}

// ctx returns the shared deadline context for a call starting at now.
// Old slots need no cleanup: each one's timer ends it at its deadline
// (ending any call still under it, which is what a deadline is for) and
// it is garbage once its calls have ended.
func (d *sharedDeadline) ctx(now time.Time) context.Context {
	if s := d.cur.Load(); s != nil && now.Before(s.until) {
		return s.ctx
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if s := d.cur.Load(); s != nil && now.Before(s.until) {
		return s.ctx
	}
	ctx, cancel := context.WithDeadline(context.Background(), now.Add(d.timeout))
	d.cur.Store(&deadlineSlot{ctx: ctx, cancel: cancel, until: now.Add(d.grain)})
	return ctx
}

// withDeadline is a caller's context that is never cancelled, given a
// shared deadline: the caller's values, the deadline's deadline, done
// channel and error.
type withDeadline struct {
	context.Context // the caller's; its Done is nil
	dl              context.Context
}

func (c *withDeadline) Deadline() (time.Time, bool) { return c.dl.Deadline() }
func (c *withDeadline) Done() <-chan struct{}       { return c.dl.Done() }
func (c *withDeadline) Err() error                  { return c.dl.Err() }

// Value is the caller's value, else the deadline context's. The latter
// holds no values of its own (it is made from Background); what it does
// answer is the context package's lookup of the nearest cancellation,
// which the caller's context has none of: so context.Cause reports the
// deadline, and the child context grpc-go makes for the call registers
// under the shared one directly instead of watching it from a goroutine.
func (c *withDeadline) Value(key any) any {
	if v := c.Context.Value(key); v != nil {
		return v
	}
	return c.dl.Value(key)
}
