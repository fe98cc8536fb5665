package ws

import (
	"errors"
	"fmt"
)

var (
	// ErrConfig is matched by errors from New and NewPool for a bad Config.
	ErrConfig = errors.New("ws: invalid config")
	// ErrQueueFull: the bounded send queue is full while the connection is
	// down (or, for TrySend and actor messages, at any time).
	ErrQueueFull = errors.New("ws: send queue full")
	// ErrNotConnected: a FailFast connection is down.
	ErrNotConnected = errors.New("ws: not connected")
	// ErrClosed: the connection (or pool) was closed by Close.
	ErrClosed = errors.New("ws: closed")
	// ErrMessageTooLarge: a message larger than MaxMessageSize, sent or
	// received. A received one closes the connection.
	ErrMessageTooLarge = errors.New("ws: message too large")
	// ErrHeartbeatTimeout: no pong within HeartbeatInterval +
	// HeartbeatGrace; the connection was closed and is redialled.
	ErrHeartbeatTimeout = errors.New("ws: heartbeat timeout (no pong)")
	// ErrHandlerPanic: the Handler panicked; the connection was closed and
	// its actor restarted.
	ErrHandlerPanic = errors.New("ws: handler panicked")
	// ErrRestarting: the connection's actor is restarting in place (a
	// protoactor supervisor's restart directive); it redials at once. Under
	// this project's supervisors a sibling restarted with a failed one is
	// stopped and started anew instead, and sees ErrClosed.
	ErrRestarting = errors.New("ws: connection actor restarting")
	// ErrExpired: a queued send passed its deadline before it could be
	// written (reported to the handler of dropped sends and counted).
	ErrExpired = errors.New("ws: queued send expired")
)

// TooLargeError is a message over the limit. It matches
// ErrMessageTooLarge.
type TooLargeError struct {
	Size     int64 // 0 when unknown (an incoming frame is refused unread)
	Limit    int64
	Incoming bool
}

func (e *TooLargeError) Error() string {
	if e.Incoming {
		return fmt.Sprintf("ws: incoming message over the %d-byte limit; connection closed (1009)", e.Limit)
	}
	return fmt.Sprintf("ws: message of %d bytes over the %d-byte limit", e.Size, e.Limit)
}

func (e *TooLargeError) Is(target error) bool { return target == ErrMessageTooLarge }

// PanicError carries a handler's panic value. It matches ErrHandlerPanic.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("ws: handler panicked: %v", e.Value) }

func (e *PanicError) Is(target error) bool { return target == ErrHandlerPanic }

// DialError is one failed dial attempt.
type DialError struct {
	Endpoint string
	Status   int // HTTP status of a refused handshake, 0 if none
	Err      error
}

func (e *DialError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("ws: dial %s: handshake status %d: %v", e.Endpoint, e.Status, e.Err)
	}
	return fmt.Sprintf("ws: dial %s: %v", e.Endpoint, e.Err)
}

func (e *DialError) Unwrap() error { return e.Err }
