package coord

import cb "github.com/viable-systems/vsm-connections/breaker"

// Ping is answered with *Pong by the coordinator and the alert bridge. Both
// subscribe and join when they start, so a Pong means they are connected
// (or retrying, when the store was unreachable). The coordinator answers
// Pings that arrive before its first connection attempt has finished once
// it has.
type Ping struct{}

// Pong answers Ping.
type Pong struct{}

// GetStatus asks a coordinator for its view of its shared breaker; the
// reply is a *Status. The coordinator answers at once, whatever its store
// is doing (its store calls run off its mailbox).
type GetStatus struct{}

// Status is a coordinator's view of its shared breaker.
type Status struct {
	// State is the local handle's state.
	State cb.State
	// Cluster is the last Record known (applied, or published by this
	// node); Version the highest version seen.
	Cluster Record
	Version int64
	// Joined: the stored state was read (or found absent) since start.
	Joined bool
	// Lease: this node holds the probe lease.
	Lease bool
	// Recovering: a recovery timer is armed (never for a manual open).
	Recovering bool
	// Pending: a decision waits to be published (the store did not answer).
	Pending bool
	// Queued is the number of store operations queued or running.
	Queued int
	// Deferred is the version of a Record from the bus that waits for
	// those operations (0: none).
	Deferred int64
}
