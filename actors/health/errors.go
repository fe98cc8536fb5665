package health

import (
	"errors"
	"fmt"
	"slices"

	"github.com/viable-systems/vsm-connections/internal/offload"
)

var (
	// ErrTimeout is matched by a result whose probe ran past Spec.Timeout
	// (the same error matches context.DeadlineExceeded).
	ErrTimeout = errors.New("health check timed out")
	// ErrPanicked is matched by a result whose probe panicked; the panic is
	// contained and counts as a failure.
	ErrPanicked = offload.ErrPanicked
	// ErrStatus is matched by an HTTP result whose status code is not
	// expected (see *StatusError).
	ErrStatus = errors.New("unexpected HTTP status")
	// ErrBody is matched by an HTTP result whose body does not match.
	ErrBody = errors.New("response body does not match")
	// ErrNotServing is matched by a gRPC result whose service is not
	// SERVING, and a WebSocket one that got no pong.
	ErrNotServing = errors.New("not serving")
	// ErrUnknownCheck is returned for a name no check is registered under.
	ErrUnknownCheck = errors.New("no such health check")
	// ErrExists is returned when a name is registered twice.
	ErrExists = errors.New("health check already registered")
	// ErrNotRunning is returned by Check for a registered check whose actor
	// has not started or has stopped.
	ErrNotRunning = errors.New("health checker not running")
	// ErrNoSupervisor is returned by Register before Supervise.
	ErrNoSupervisor = errors.New("health registry has no supervisor")
	// ErrSpec is matched by an invalid Spec.
	ErrSpec = errors.New("invalid health check")
)

// StatusError is an HTTP status outside the expected ones.
type StatusError struct {
	Got  int
	Want []int // empty: any 2xx
}

func (e *StatusError) Error() string {
	if len(e.Want) == 0 {
		return fmt.Sprintf("HTTP status %d, want 2xx", e.Got)
	}
	return fmt.Sprintf("HTTP status %d, want one of %v", e.Got, e.Want)
}

// Is makes errors.Is(err, ErrStatus) true.
func (e *StatusError) Is(target error) bool { return target == ErrStatus }

func (e *StatusError) expected() bool {
	if len(e.Want) == 0 {
		return e.Got >= 200 && e.Got <= 299
	}
	return slices.Contains(e.Want, e.Got)
}
