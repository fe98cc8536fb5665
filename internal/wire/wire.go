package wire

import (
	"context"
	"errors"
	"time"

	"github.com/viable-systems/vsm-connections/actors/pb"
	"github.com/viable-systems/vsm-connections/internal/ask"
)

// Kind names a sentinel error on the wire.
type Kind struct {
	Name string
	Err  error
}

// Common are the kinds every package's table includes.
var common = []Kind{
	{"context.deadline_exceeded", context.DeadlineExceeded},
	{"context.canceled", context.Canceled},
	{"ask.no_actor", ask.ErrNoActor},
}

// Table is a package's kinds plus the common ones.
func Table(kinds ...Kind) []Kind { return append(append([]Kind(nil), kinds...), common...) }

// Encode is err for a reply: its message, and the name of every kind of
// table that errors.Is matches (an error can match several: an HTTP
// attempt timeout is both httppool.ErrTimeout and context.DeadlineExceeded).
// nil for a nil err.
func Encode(err error, table []Kind) *pb.Error {
	if err == nil {
		return nil
	}
	e := &pb.Error{Message: err.Error()}
	for _, k := range table {
		if errors.Is(err, k.Err) {
			e.Kinds = append(e.Kinds, k.Name)
		}
	}
	return e
}

// Decode turns a reply's error back into one that errors.Is matches with
// the same sentinels as the original (those of table it names; kinds this
// side does not know are ignored). nil for a nil e.
func Decode(e *pb.Error, table []Kind) error {
	if e == nil {
		return nil
	}
	re := &RemoteError{Message: e.GetMessage()}
	for _, name := range e.GetKinds() {
		for _, k := range table {
			if k.Name == name {
				re.errs = append(re.errs, k.Err)
				break
			}
		}
	}
	return re
}

// RemoteError is an error that happened on another member: the original
// message, matching (errors.Is) the sentinels the original matched.
type RemoteError struct {
	Message string
	errs    []error
}

func (e *RemoteError) Error() string { return e.Message }

// Unwrap is the sentinels, for errors.Is.
func (e *RemoteError) Unwrap() []error { return e.errs }

// Nanos is t as Unix nanoseconds, 0 for the zero time.
func Nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// Time is the time n Unix nanoseconds stand for; the zero time for 0.
func Time(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
