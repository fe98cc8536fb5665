package breaker

import (
	"context"
	"errors"
	"fmt"
	"time"
)

var (
	// ErrOpen is matched by every rejection: the breaker is open, or it is
	// half-open and its probe slots are taken.
	ErrOpen = errors.New("breaker: open")
	// ErrTooManyProbes is matched (as well as ErrOpen) when a half-open
	// breaker already runs HalfOpenMaxCalls probes.
	ErrTooManyProbes = errors.New("breaker: too many half-open probes")
	// ErrTimeout is matched (as well as context.DeadlineExceeded) when a call
	// ran past CallTimeout.
	ErrTimeout = errors.New("breaker: call timeout")
)

// RejectedError is returned, without running the call, by a breaker that
// does not let it through. errors.Is matches ErrOpen, and ErrTooManyProbes
// when State is HalfOpen. Each breaker preallocates its two rejections, so
// the rejection path does not allocate; do not modify them.
type RejectedError struct {
	Name  string
	State State
}

func (e *RejectedError) Error() string {
	if e.State == HalfOpen {
		return fmt.Sprintf("breaker %s: half_open, too many probes", e.Name)
	}
	return fmt.Sprintf("breaker %s: open", e.Name)
}

// Is matches ErrOpen always and ErrTooManyProbes for a half-open rejection.
func (e *RejectedError) Is(target error) bool {
	return target == ErrOpen || (target == ErrTooManyProbes && e.State == HalfOpen)
}

// TimeoutError is returned when a call ran past CallTimeout; it counts as a
// failure and a timeout. errors.Is matches ErrTimeout and
// context.DeadlineExceeded; Unwrap gives the function's own error, if any.
type TimeoutError struct {
	Name    string
	Timeout time.Duration
	Err     error
}

func (e *TimeoutError) Error() string {
	if e.Err == nil || errors.Is(e.Err, context.DeadlineExceeded) {
		return fmt.Sprintf("breaker %s: call exceeded %v", e.Name, e.Timeout)
	}
	return fmt.Sprintf("breaker %s: call exceeded %v: %v", e.Name, e.Timeout, e.Err)
}

// Is matches ErrTimeout and context.DeadlineExceeded.
func (e *TimeoutError) Is(target error) bool {
	return target == ErrTimeout || target == context.DeadlineExceeded
}

func (e *TimeoutError) Unwrap() error { return e.Err }

// errPanicked is the outcome recorded for a call whose function panicked.
var errPanicked = errors.New("breaker: call panicked")
