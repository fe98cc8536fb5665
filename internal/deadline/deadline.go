// Package deadline gives a default deadline to calls whose context is
// never cancelled (Done is nil: Background, TODO, WithoutCancel and values
// on them) without a context.WithTimeout, and so a runtime timer, per
// call: calls that start within one grain share one deadline context.
// Each call's deadline is then at most the timeout away and more than the
// timeout less one grain. The Redis store and gRPC channels bound their
// calls with it.
package deadline

import (
	"context"
	"sync/atomic"
	"time"
)

// Shared hands out the shared deadline contexts of one timeout. Safe for
// concurrent use.
type Shared struct {
	timeout, grain time.Duration
	cur            atomic.Pointer[slot]
}

type slot struct {
	ctx context.Context
	// cancel is called only by Stop: the deadline's own timer ends ctx.
	cancel context.CancelFunc
	// until is when calls stop joining this slot.
	until time.Time
}

// NewShared returns deadlines timeout away, one context per grain.
func NewShared(timeout, grain time.Duration) *Shared {
	return &Shared{timeout: timeout, grain: grain}
}

// Timeout is the deadline's distance from a call's start.
func (d *Shared) Timeout() time.Duration { return d.timeout }

// Grain is how long calls keep joining one deadline context.
func (d *Shared) Grain() time.Duration { return d.grain }

// At returns the deadline context shared by calls starting at now. Old
// contexts need no cleanup: each one's timer ends it at its deadline
// (ending any call still under it, which is what a deadline is for), and
// it is garbage once its calls have ended. Two callers may replace a slot
// at once; either context is as good.
func (d *Shared) At(now time.Time) context.Context {
	if s := d.cur.Load(); s != nil && now.Before(s.until) {
		return s.ctx
	}
	ctx, cancel := context.WithDeadline(context.Background(), now.Add(d.timeout))
	d.cur.Store(&slot{ctx: ctx, cancel: cancel, until: now.Add(d.grain)})
	return ctx
}

// Stop cancels the context calls are joining now, releasing its timer
// before its deadline (a closing client's calls end with it). Earlier
// contexts end at their deadlines.
func (d *Shared) Stop() {
	if s := d.cur.Load(); s != nil {
		s.cancel()
	}
}

// Bound is parent, whose Done must be nil, under the deadline shared by
// calls starting now: parent's values, the shared context's deadline,
// done channel and error.
func (d *Shared) Bound(parent context.Context) context.Context {
	dl := d.At(time.Now())
	if parent == context.Background() {
		return dl
	}
	return &bounded{Context: parent, dl: dl}
}

type bounded struct {
	context.Context // the caller's; its Done is nil
	dl              context.Context
}

func (c *bounded) Deadline() (time.Time, bool) { return c.dl.Deadline() }
func (c *bounded) Done() <-chan struct{}       { return c.dl.Done() }
func (c *bounded) Err() error                  { return c.dl.Err() }

// Value is the caller's value, else the deadline context's. The latter
// holds no values of its own (it is made from Background); what it does
// answer is the context package's lookup of the nearest cancellation,
// which the caller's context has none of: so context.Cause reports the
// deadline, and a child context registers under the shared one directly
// instead of watching it from a goroutine.
func (c *bounded) Value(key any) any {
	if v := c.Context.Value(key); v != nil {
		return v
	}
	return c.dl.Value(key)
}
