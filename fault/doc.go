// Package fault retries calls with backoff and bounds them with deadlines.
// It is usable on its own and by the protocol adapters; it imports the
// breaker package only to know that breaker.ErrOpen is not worth retrying.
//
// # Retry
//
// [Retry] runs fn until it succeeds, its error is not retryable, the attempts
// run out or the context says stop:
//
//   - delays grow by a [Backoff] (Exponential by default, Linear, Constant)
//     from BaseDelay up to MaxDelay, then a [Jitter] (Full by default, Equal,
//     Decorrelated, None) spreads them;
//   - an error that has a RetryAfter() time.Duration method (an HTTP 429 or
//     503 with Retry-After) sets the next delay itself, capped at MaxDelay
//     (a hostile Retry-After: 86400 waits MaxDelay, not a day) unless
//     [MaxRetryAfter] raises that cap;
//   - by default every error is retryable except breaker.ErrOpen and errors
//     marked with [Permanent]; RetryOn and RetryIf replace that rule;
//   - it never sleeps past the context's deadline: when the next delay would
//     reach it, Retry returns at once an *[InterruptedError] matching
//     [ErrDeadline], context.DeadlineExceeded and the last error;
//   - when the context is cancelled it stops at once, even mid-sleep, with an
//     *InterruptedError matching the context's error and the last error;
//   - when the attempts run out it returns an *[ExhaustedError] matching
//     [ErrExhausted] and the last error.
//
// A call that succeeds at the first attempt costs one ctx.Err check and
// allocates nothing: the options are read only after a failure.
//
// # Deadlines
//
// [WithDeadline] runs fn on a goroutine of its own with a context that ends
// at the deadline, and returns at the deadline even if fn ignores its
// context. The goroutine is not leaked, but it outlives the call until fn
// returns: fn must return eventually. [RetryWithDeadline] puts one deadline
// over all attempts and their delays.
package fault
