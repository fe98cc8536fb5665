package fault

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/viable-systems/vsm-connections/breaker"
)

// Retry runs fn until it returns nil, returns an error that is not
// retryable (returned as is; a Permanent one unwrapped), or Retry must stop:
// *ExhaustedError when the attempts ran out, *InterruptedError when ctx was
// cancelled or the next delay would pass ctx's deadline. It does not run fn
// if ctx is already done. See the package documentation for the rules.
func Retry(ctx context.Context, fn func(context.Context) error, opts ...Option) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := fn(ctx)
	if err == nil {
		return nil
	}
	// The options are read only now, so that the common case (the first try
	// succeeds) allocates nothing.
	return retryAfterFailure(ctx, fn, err, opts)
}

func retryAfterFailure(ctx context.Context, fn func(context.Context) error, err error, opts []Option) error {
	c := newConfig(opts)
	prev := c.base // the previous delay, for decorrelated jitter
	for attempt := 1; ; attempt++ {
		var p *permanentError
		if errors.As(err, &p) {
			return p.err
		}
		if cerr := ctx.Err(); cerr != nil {
			return &InterruptedError{Attempts: attempt, Last: err, Cause: cerr}
		}
		if !c.retryable(err) {
			return err
		}
		if c.maxAttempts > 0 && attempt >= c.maxAttempts {
			return &ExhaustedError{Attempts: attempt, Last: err}
		}
		d := c.delay(attempt, err, &prev)
		if dl, ok := ctx.Deadline(); ok && !c.clock.Now().Add(d).Before(dl) {
			return &InterruptedError{Attempts: attempt, Last: err, Cause: ErrDeadline}
		}
		if c.onRetry != nil {
			c.onRetry(attempt, err, d)
		}
		if serr := c.clock.Sleep(ctx, d); serr != nil {
			return &InterruptedError{Attempts: attempt, Last: err, Cause: serr}
		}
		if err = fn(ctx); err == nil {
			return nil
		}
	}
}

func (c *config) retryable(err error) bool {
	if c.on == nil && c.retryIf == nil {
		return !errors.Is(err, breaker.ErrOpen)
	}
	for _, target := range c.on {
		if errors.Is(err, target) {
			return true
		}
	}
	return c.retryIf != nil && c.retryIf(err)
}

// retryAfterer is what an error implements to choose the next delay itself.
type retryAfterer interface{ RetryAfter() time.Duration }

// delay is the wait after the attempt-th failure.
func (c *config) delay(attempt int, err error, prev *time.Duration) time.Duration {
	var ra retryAfterer
	if errors.As(err, &ra) {
		if d := ra.RetryAfter(); d > 0 {
			return min(d, c.maxHint)
		}
	}
	if c.jitter == DecorrelatedJitter {
		// AWS: sleep = min(cap, random_between(base, sleep * 3)).
		hi := min(mulSat(*prev, 3), c.max)
		d := c.base + time.Duration(c.rand()*float64(hi-c.base))
		d = min(d, c.max)
		*prev = d
		return d
	}
	d := c.backoffDelay(attempt)
	switch c.jitter {
	case FullJitter:
		return time.Duration(c.rand() * float64(d))
	case EqualJitter:
		return d/2 + time.Duration(c.rand()*float64(d-d/2))
	}
	return d
}

// backoffDelay is the un-jittered delay after the attempt-th failure.
func (c *config) backoffDelay(attempt int) time.Duration {
	var d time.Duration
	switch c.backoff {
	case Constant:
		d = c.base
	case Linear:
		d = mulSat(c.base, int64(attempt))
	default:
		if attempt-1 >= 63 {
			d = math.MaxInt64
		} else {
			d = mulSat(c.base, int64(1)<<(attempt-1))
		}
	}
	return min(d, c.max)
}

func mulSat(d time.Duration, n int64) time.Duration {
	if d == 0 || n == 0 {
		return 0
	}
	if int64(d) > math.MaxInt64/n {
		return math.MaxInt64
	}
	return d * time.Duration(n)
}

// Do is Retry for a function that returns a value; it returns the value of
// the attempt that succeeded, or the zero T with the error.
func Do[T any](ctx context.Context, fn func(context.Context) (T, error), opts ...Option) (T, error) {
	var v T
	err := Retry(ctx, func(ctx context.Context) error {
		var err error
		v, err = fn(ctx)
		return err
	}, opts...)
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}
