package grpcpool

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/viable-systems/vsm-connections/internal/offload"
)

// Errors matched with errors.Is. Those a call returns also carry a gRPC
// status (status.Code reads it), so code written for plain grpc-go keeps
// working.
var (
	// ErrConfig: the Config is invalid.
	ErrConfig = errors.New("grpcpool: invalid config")
	// ErrClosed: the channel was closed (status Canceled, as grpc-go's own
	// closed ClientConn).
	ErrClosed = errors.New("grpcpool: channel closed")
	// ErrUnknownMethod: a message call named a method no registered proto
	// file describes, or a request of the wrong type.
	ErrUnknownMethod = errors.New("grpcpool: unknown method")
	// ErrNotServing: a health check answered, but not SERVING.
	ErrNotServing = errors.New("grpcpool: service not serving")
	// ErrBusy: the channel actor already runs its maximum of message calls.
	ErrBusy = offload.ErrBusy
)

// statusError is an error of ours that also reads as a gRPC status, so
// status.Code and errors.Is both work on it (breaker.ErrOpen is
// Unavailable: the call was not sent).
type statusError struct {
	code codes.Code
	err  error
}

func (e *statusError) Error() string              { return e.err.Error() }
func (e *statusError) Unwrap() error              { return e.err }
func (e *statusError) GRPCStatus() *status.Status { return status.New(e.code, e.err.Error()) }

func withCode(code codes.Code, err error) error { return &statusError{code: code, err: err} }

// NotServingError is a health answer other than SERVING. It matches
// ErrNotServing.
type NotServingError struct {
	Service string
	Status  string // the grpc.health.v1 status name, e.g. NOT_SERVING
}

func (e *NotServingError) Error() string {
	return fmt.Sprintf("grpcpool: health of %q: %s", e.Service, e.Status)
}

// Is matches ErrNotServing.
func (e *NotServingError) Is(target error) bool { return target == ErrNotServing }
