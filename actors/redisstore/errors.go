package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	goredis "github.com/redis/go-redis/v9"

	"github.com/viable-systems/vsm-connections/state"
)

// ErrInvalidConfig matches every configuration error of New.
var ErrInvalidConfig = errors.New("redis: invalid configuration")

// ErrNotReplicated matches a write that the master applied but fewer
// replicas than required (config.Redis.ReplicaAcks) confirmed in time: it
// was not acknowledged and may be lost if the master fails. It also
// matches state.ErrUnavailable (retrying later may succeed).
var ErrNotReplicated = errors.New("redis: write not confirmed by enough replicas")

type notReplicatedError struct {
	op        string
	got, want int64
}

func (e *notReplicatedError) Error() string {
	return fmt.Sprintf("redis %s: %v (%d of %d)", e.op, ErrNotReplicated, e.got, e.want)
}
func (e *notReplicatedError) Is(target error) bool {
	return target == ErrNotReplicated || target == state.ErrUnavailable
}

// unavailableError matches state.ErrUnavailable and unwraps to its cause.
type unavailableError struct {
	op  string
	msg string
	err error
}

func (e *unavailableError) Error() string {
	return "redis " + e.op + ": " + state.ErrUnavailable.Error() + ": " + e.msg
}
func (e *unavailableError) Is(target error) bool { return target == state.ErrUnavailable }
func (e *unavailableError) Unwrap() error        { return e.err }

// sentinelError matches a state sentinel and unwraps to the server's reply.
type sentinelError struct {
	sentinel error
	msg      string
	err      error
}

func (e *sentinelError) Error() string        { return e.msg }
func (e *sentinelError) Is(target error) bool { return target == e.sentinel }
func (e *sentinelError) Unwrap() error        { return e.err }

// wrapKey is wrap for an operation on key, building the name only on error.
func (s *Store) wrapKey(op, key string, err error) error {
	if err == nil {
		return nil
	}
	return s.wrap(op+" "+key, err)
}

// wrap classifies an error from go-redis for operation op (a command name
// and key, shown in the message).
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	werr := s.classify(op, err)
	if errors.Is(werr, state.ErrUnavailable) {
		s.reloadOnUnavailable()
	}
	return werr
}

func (s *Store) classify(op string, err error) error {
	msg := s.red.redact(err.Error())
	if errors.Is(err, goredis.Nil) {
		return &sentinelError{sentinel: state.ErrNotFound, msg: "redis " + op + ": " + state.ErrNotFound.Error(), err: err}
	}
	if errors.Is(err, goredis.ErrClosed) {
		return fmt.Errorf("redis %s: %w", op, state.ErrClosed)
	}
	var rerr goredis.Error
	if errors.As(err, &rerr) {
		text := rerr.Error()
		switch {
		case strings.Contains(text, "not an integer"):
			return &sentinelError{sentinel: state.ErrNotInteger, msg: "redis " + op + ": " + msg, err: err}
		case strings.HasPrefix(text, "ERR unknown command"):
			return &sentinelError{sentinel: state.ErrUnsupported, msg: "redis " + op + ": " + msg, err: err}
		case strings.HasPrefix(text, "CROSSSLOT"):
			return &sentinelError{sentinel: state.ErrCrossSlot, msg: "redis " + op + ": " + msg, err: err}
		case strings.HasPrefix(text, "LOADING"), strings.HasPrefix(text, "MASTERDOWN"),
			strings.HasPrefix(text, "CLUSTERDOWN"), strings.HasPrefix(text, "TRYAGAIN"),
			strings.HasPrefix(text, "MOVED "), strings.HasPrefix(text, "ASK "),
			strings.HasPrefix(text, "READONLY"), strings.HasPrefix(text, "BUSY "):
			return &unavailableError{op: op, msg: msg, err: err}
		}
		return &redactedError{msg: "redis " + op + ": " + msg, err: err}
	}
	if unavailable(err) {
		return &unavailableError{op: op, msg: msg, err: err}
	}
	return &redactedError{msg: "redis " + op + ": " + msg, err: err}
}

// unavailable reports whether err means Redis could not be reached or did
// not answer in time. A caller's own cancellation is not unavailability.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, goredis.ErrPoolTimeout) ||
		errors.Is(err, goredis.ErrPoolExhausted) ||
		errors.Is(err, goredis.ErrAutoPipelineQueueFull) ||
		errors.Is(err, goredis.ErrAutoPipelineTimeout) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) ||
		errors.As(err, &ne)
}
