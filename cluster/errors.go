package cluster

import "errors"

var (
	// ErrConfig is matched by every invalid Config reported by Start.
	ErrConfig = errors.New("cluster: invalid config")
	// ErrStart is matched when the remote or gossip layer cannot start
	// (a port in use, an address that cannot be bound).
	ErrStart = errors.New("cluster: cannot start member")
	// ErrStopped is matched by calls on a Node after Stop.
	ErrStopped = errors.New("cluster: node stopped")
	// ErrUnknownMember is matched when no live member has the name asked.
	ErrUnknownMember = errors.New("cluster: unknown member")
	// ErrNotProto is matched when a message for another member is not a
	// proto.Message: protoactor would drop it with a log line and the
	// caller would only see a timeout.
	ErrNotProto = errors.New("cluster: message to a remote PID must be a proto.Message")
)
