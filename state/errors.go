package state

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound: the key does not exist (or has expired).
	ErrNotFound = errors.New("state: not found")
	// ErrDecode: a stored value does not decode into the destination.
	ErrDecode = errors.New("state: cannot decode value")
	// ErrConflict: a transaction kept losing to concurrent writers.
	ErrConflict = errors.New("state: transaction conflict")
	// ErrUnavailable: the backend could not be reached or did not answer in
	// time. Retrying later may succeed.
	ErrUnavailable = errors.New("state: backend unavailable")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("state: store closed")
	// ErrUnsupported: a pipeline command the backend does not know.
	ErrUnsupported = errors.New("state: unsupported command")
	// ErrNotInteger: an increment of a value that is not an integer.
	ErrNotInteger = errors.New("state: value is not an integer")
	// ErrCrossSlot: a multi-key operation that must be atomic (a
	// Transaction) names keys in different Redis Cluster hash slots. Put
	// such keys in one slot with a hash tag: "{user:42}:a", "{user:42}:b".
	ErrCrossSlot = errors.New("state: keys in different cluster slots")
)

// DecodeError is returned when a stored value or message does not decode
// into the destination. It matches ErrDecode and unwraps to the JSON error.
type DecodeError struct {
	// Key is the key (or channel) whose value did not decode.
	Key string
	// Err is the decoder's error.
	Err error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("state: cannot decode value of %q: %v", e.Key, e.Err)
}

// Is makes errors.Is(err, ErrDecode) true.
func (e *DecodeError) Is(target error) bool { return target == ErrDecode }

// Unwrap returns the decoder's error.
func (e *DecodeError) Unwrap() error { return e.Err }
