package fault

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// WithDeadline runs fn with a context that is cancelled d from now and
// returns fn's error, or, at the deadline, an error matching
// context.DeadlineExceeded even if fn ignores its context (the parent's
// error if the parent ends first). fn runs on a goroutine of its own that
// outlives the call until fn returns: it is not leaked as long as fn returns
// eventually. A panic in fn is re-raised in the caller if the caller is still
// waiting, and crashes the process (as in any goroutine) if it is not.
// d <= 0 is a deadline already passed: fn is not run.
func WithDeadline(ctx context.Context, d time.Duration, fn func(context.Context) error) error {
	if d <= 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		return deadlineError(d)
	}
	dctx, cancel := context.WithTimeoutCause(ctx, d, deadlineError(d))
	defer cancel()
	return runUntilDone(dctx, fn)
}

// RetryWithDeadline is Retry with one deadline d over every attempt and
// delay. Each attempt runs as in WithDeadline, so the call returns at the
// deadline even if an attempt ignores its context.
func RetryWithDeadline(ctx context.Context, d time.Duration, fn func(context.Context) error, opts ...Option) error {
	if d <= 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		return deadlineError(d)
	}
	dctx, cancel := context.WithTimeoutCause(ctx, d, deadlineError(d))
	defer cancel()
	return Retry(dctx, func(ctx context.Context) error { return runUntilDone(ctx, fn) }, opts...)
}

func deadlineError(d time.Duration) error {
	return fmt.Errorf("fault: deadline of %v exceeded: %w", d, context.DeadlineExceeded)
}

const (
	runPending int32 = iota
	runFinished
	runAbandoned
)

type run struct {
	state    atomic.Int32
	done     chan struct{}
	err      error
	panicked bool
	panicVal any
}

// runUntilDone runs fn on a goroutine and returns its error, or ctx's cause
// as soon as ctx is done. Whoever moves state first decides: the goroutine
// (finished: the caller takes its result) or the caller (abandoned: the
// goroutine drops the result when fn returns).
func runUntilDone(ctx context.Context, fn func(context.Context) error) error {
	r := &run{done: make(chan struct{})}
	go r.do(ctx, fn)
	select {
	case <-r.done:
	case <-ctx.Done():
		if r.state.CompareAndSwap(runPending, runAbandoned) {
			return context.Cause(ctx)
		}
		<-r.done
	}
	if r.panicked {
		panic(r.panicVal)
	}
	return r.err
}

func (r *run) do(ctx context.Context, fn func(context.Context) error) {
	defer func() {
		if p := recover(); p != nil {
			r.panicked, r.panicVal = true, p
		}
		if !r.state.CompareAndSwap(runPending, runFinished) && r.panicked {
			panic(r.panicVal) // nobody is waiting to receive it
		}
		close(r.done)
	}()
	r.err = fn(ctx)
}
