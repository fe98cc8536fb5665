package fault

import (
	"context"
	"errors"
	"fmt"
)

var (
	// ErrExhausted is matched by the error of a Retry whose attempts ran out.
	ErrExhausted = errors.New("fault: retry attempts exhausted")
	// ErrDeadline is matched by the error of a Retry that stopped because its
	// next delay would reach the context's deadline. It wraps
	// context.DeadlineExceeded, so errors.Is matches that too.
	ErrDeadline = fmt.Errorf("fault: next retry would pass the deadline: %w", context.DeadlineExceeded)
)

// ExhaustedError is returned when every attempt failed with a retryable
// error. It matches ErrExhausted and unwraps to the last error.
type ExhaustedError struct {
	Attempts int
	Last     error
}

func (e *ExhaustedError) Error() string {
	return fmt.Sprintf("fault: %d attempts failed, last: %v", e.Attempts, e.Last)
}

// Is matches ErrExhausted.
func (e *ExhaustedError) Is(target error) bool { return target == ErrExhausted }

func (e *ExhaustedError) Unwrap() error { return e.Last }

// InterruptedError is returned when a Retry stopped before its attempts ran
// out: its context was cancelled or expired (Cause is the context's error),
// or the next delay would pass the deadline (Cause is ErrDeadline). It
// unwraps to both Cause and Last.
type InterruptedError struct {
	Attempts int
	Last     error
	Cause    error
}

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("fault: retry stopped after %d attempts (%v), last: %v", e.Attempts, e.Cause, e.Last)
}

func (e *InterruptedError) Unwrap() []error { return []error{e.Cause, e.Last} }

// Permanent marks err as not worth retrying: Retry returns err (unwrapped
// from the mark) at once. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }
