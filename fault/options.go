package fault

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// Backoff is how delays grow from one attempt to the next.
type Backoff uint8

const (
	// Exponential: BaseDelay × 2^(n-1) before attempt n+1 (the default).
	Exponential Backoff = iota
	// Linear: BaseDelay × n.
	Linear
	// Constant: BaseDelay.
	Constant
)

func (b Backoff) String() string {
	switch b {
	case Exponential:
		return "exponential"
	case Linear:
		return "linear"
	case Constant:
		return "constant"
	}
	return fmt.Sprintf("backoff(%d)", uint8(b))
}

// Jitter is how a delay is randomised so that callers that failed together
// do not retry together.
type Jitter uint8

const (
	// FullJitter: uniform in [0, d) (the default).
	FullJitter Jitter = iota
	// EqualJitter: d/2 plus uniform in [0, d/2).
	EqualJitter
	// DecorrelatedJitter: uniform in [BaseDelay, 3 × previous delay), capped
	// at MaxDelay (AWS's "decorrelated jitter"); it replaces the Backoff.
	DecorrelatedJitter
	// NoJitter: d itself.
	NoJitter
)

func (j Jitter) String() string {
	switch j {
	case FullJitter:
		return "full"
	case EqualJitter:
		return "equal"
	case DecorrelatedJitter:
		return "decorrelated"
	case NoJitter:
		return "none"
	}
	return fmt.Sprintf("jitter(%d)", uint8(j))
}

// ParseJitter accepts "full", "equal", "decorrelated" or "none", and, as in
// the config file, "true" (full), "false" (none) or "" (full).
func ParseJitter(s string) (Jitter, error) {
	switch s {
	case "", "full", "true":
		return FullJitter, nil
	case "equal":
		return EqualJitter, nil
	case "decorrelated":
		return DecorrelatedJitter, nil
	case "none", "false":
		return NoJitter, nil
	}
	return 0, fmt.Errorf("fault: unknown jitter %q (want full, equal, decorrelated or none)", s)
}

// Defaults used when no option says otherwise.
const (
	DefaultMaxAttempts = 3
	DefaultBaseDelay   = 100 * time.Millisecond
	DefaultMaxDelay    = 10 * time.Second
)

// Clock is the time source of Retry: Now for the deadline check, Sleep for
// the delays. Sleep returns ctx.Err() if ctx ends first. Tests inject a fake.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Option configures Retry.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	maxAttempts int
	base, max   time.Duration
	// maxHint caps a RetryAfter hint; 0 follows max, so a hint never
	// stretches a wait past MaxDelay unless MaxRetryAfter says so.
	maxHint time.Duration
	jitter  Jitter
	backoff Backoff
	on      []error
	retryIf func(error) bool
	onRetry func(int, error, time.Duration)
	clock   Clock
	rand    func() float64
}

func newConfig(opts []Option) *config {
	c := &config{
		maxAttempts: DefaultMaxAttempts,
		base:        DefaultBaseDelay,
		max:         DefaultMaxDelay,
		clock:       realClock{},
		rand:        rand.Float64,
	}
	for _, o := range opts {
		o.apply(c)
	}
	if c.max < c.base {
		c.max = c.base
	}
	if c.maxHint <= 0 {
		c.maxHint = c.max
	}
	return c
}

// MaxAttempts is how many times fn may run, the first try included
// (default 3). n < 1 means no limit: only the context stops the retries.
func MaxAttempts(n int) Option { return optionFunc(func(c *config) { c.maxAttempts = n }) }

// BaseDelay is the first delay and the unit of the backoff (default 100ms).
// Negative means 0.
func BaseDelay(d time.Duration) Option {
	return optionFunc(func(c *config) { c.base = max(d, 0) })
}

// MaxDelay caps every delay (default 10s), a RetryAfter hint's included
// unless MaxRetryAfter says otherwise. A MaxDelay below BaseDelay is raised
// to it.
func MaxDelay(d time.Duration) Option {
	return optionFunc(func(c *config) { c.max = max(d, 0) })
}

// MaxRetryAfter caps the delay an error's RetryAfter hint (an HTTP
// Retry-After header) may ask for. By default a hint is capped at MaxDelay,
// so a hostile or broken server cannot park a caller for a day; d above
// MaxDelay opts in to honouring longer hints, up to d; d below MaxDelay
// caps hints lower than computed delays. d <= 0 restores the default. A
// hint above the cap is not ignored: the wait is the cap.
func MaxRetryAfter(d time.Duration) Option {
	return optionFunc(func(c *config) { c.maxHint = max(d, 0) })
}

// WithJitter sets the jitter (default FullJitter).
func WithJitter(j Jitter) Option { return optionFunc(func(c *config) { c.jitter = j }) }

// WithBackoff sets the backoff (default Exponential).
func WithBackoff(b Backoff) Option { return optionFunc(func(c *config) { c.backoff = b }) }

// RetryOn makes only the errors matching one of errs (errors.Is) retryable,
// plus those RetryIf accepts. Repeated RetryOn options add up.
func RetryOn(errs ...error) Option {
	return optionFunc(func(c *config) { c.on = append(c.on, errs...) })
}

// RetryIf makes the errors for which f returns true retryable, plus those
// RetryOn lists. It replaces the default rule, so f decides about
// breaker.ErrOpen too.
func RetryIf(f func(error) bool) Option { return optionFunc(func(c *config) { c.retryIf = f }) }

// OnRetry is called before each delay with the number of the attempt that
// just failed (1 for the first try), its error and the delay to come.
func OnRetry(f func(attempt int, err error, next time.Duration)) Option {
	return optionFunc(func(c *config) { c.onRetry = f })
}

// WithClock replaces the real clock (for tests).
func WithClock(clk Clock) Option { return optionFunc(func(c *config) { c.clock = clk }) }

// WithRand replaces the source of jitter, a func returning values in [0, 1)
// (for tests).
func WithRand(f func() float64) Option { return optionFunc(func(c *config) { c.rand = f }) }
