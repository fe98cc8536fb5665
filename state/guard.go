package state

import (
	"context"
	"fmt"
	"time"
)

// Gate decides whether the calls of a guarded Store may go to its backend.
type Gate interface {
	// Unavailable returns nil when calls may go, or the error to fail them
	// with at once, which should match ErrUnavailable. It runs before every
	// call: keep it to an atomic load, and return a preallocated error.
	Unavailable() error
}

// GateFunc adapts a function to Gate.
type GateFunc func() error

// Unavailable implements Gate.
func (f GateFunc) Unavailable() error { return f() }

// UnavailableError is the failure of a call that a Gate refused without
// trying the backend. It matches ErrUnavailable and unwraps to Err (for a
// health breaker, its rejection, which matches breaker.ErrOpen).
type UnavailableError struct {
	// Reason says why the backend is known to be down.
	Reason string
	// Err is the cause, if any.
	Err error
}

func (e *UnavailableError) Error() string {
	return ErrUnavailable.Error() + ": " + e.Reason
}

// Is makes errors.Is(err, ErrUnavailable) true.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// Unwrap returns the cause.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Guard returns st behind g: every call asks g first and, while g reports
// the backend unavailable, fails at once with g's error instead of waiting
// for the backend's own timeout against a server that does not answer.
//
// Close is never refused. Subscriptions made before g closed keep running
// and reconnecting on their own; a new Subscribe is refused. A Transaction
// is asked about once, before it starts; its reads then go to the backend.
// Ping is refused too: a health probe that must reach the backend while g
// is shut calls st itself.
func Guard(st Store, g Gate) Store { return &guarded{st: st, g: g} }

type guarded struct {
	st Store
	g  Gate
}

var _ Store = (*guarded)(nil)

// String describes the backend (Guard adds nothing worth showing).
func (s *guarded) String() string { return fmt.Sprint(s.st) }

// Unwrap returns the store behind the guard.
func (s *guarded) Unwrap() Store { return s.st }

func (s *guarded) Set(ctx context.Context, key string, value any, opts ...SetOption) error {
	if err := s.g.Unavailable(); err != nil {
		return err
	}
	return s.st.Set(ctx, key, value, opts...)
}

func (s *guarded) Get(ctx context.Context, key string, dst any) error {
	if err := s.g.Unavailable(); err != nil {
		return err
	}
	return s.st.Get(ctx, key, dst)
}

func (s *guarded) Del(ctx context.Context, keys ...string) (int64, error) {
	if err := s.g.Unavailable(); err != nil {
		return 0, err
	}
	return s.st.Del(ctx, keys...)
}

func (s *guarded) Exists(ctx context.Context, keys ...string) (int64, error) {
	if err := s.g.Unavailable(); err != nil {
		return 0, err
	}
	return s.st.Exists(ctx, keys...)
}

func (s *guarded) Incr(ctx context.Context, key string) (int64, error) {
	if err := s.g.Unavailable(); err != nil {
		return 0, err
	}
	return s.st.Incr(ctx, key)
}

func (s *guarded) IncrBy(ctx context.Context, key string, n int64) (int64, error) {
	if err := s.g.Unavailable(); err != nil {
		return 0, err
	}
	return s.st.IncrBy(ctx, key, n)
}

func (s *guarded) Expire(ctx context.Context, key string, d time.Duration) (bool, error) {
	if err := s.g.Unavailable(); err != nil {
		return false, err
	}
	return s.st.Expire(ctx, key, d)
}

func (s *guarded) Publish(ctx context.Context, channel string, value any) error {
	if err := s.g.Unavailable(); err != nil {
		return err
	}
	return s.st.Publish(ctx, channel, value)
}

func (s *guarded) Subscribe(ctx context.Context, channel string, h Handler) (Subscription, error) {
	if err := s.g.Unavailable(); err != nil {
		return nil, err
	}
	return s.st.Subscribe(ctx, channel, h)
}

func (s *guarded) Transaction(ctx context.Context, keys []string, fn func(tx Tx) error) error {
	if err := s.g.Unavailable(); err != nil {
		return err
	}
	return s.st.Transaction(ctx, keys, fn)
}

func (s *guarded) Pipeline(ctx context.Context, cmds ...Cmd) ([]Result, error) {
	if err := s.g.Unavailable(); err != nil {
		return nil, err
	}
	return s.st.Pipeline(ctx, cmds...)
}

func (s *guarded) Ping(ctx context.Context) error {
	if err := s.g.Unavailable(); err != nil {
		return err
	}
	return s.st.Ping(ctx)
}

func (s *guarded) Close() error { return s.st.Close() }
