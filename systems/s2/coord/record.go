package coord

import (
	"time"

	cb "github.com/viable-systems/vsm-connections/breaker"
)

// Record is one shared breaker state as published on the bus and stored
// under the state key.
type Record struct {
	// State is the cluster's state: half_open means Node is probing.
	State cb.State `json:"state"`
	// Manual: opened by hand, no recovery until closed or reset.
	Manual bool `json:"manual,omitempty"`
	// Reason of the change on Node.
	Reason cb.Reason `json:"reason"`
	// Node is the id of the node that decided it.
	Node string `json:"node"`
	// Version numbers Records of one breaker (INCR); higher wins.
	Version int64 `json:"version"`
	// At is Node's wall-clock time of the change.
	At time.Time `json:"at"`
}

// Channel is the bus channel of a shared breaker: vsm:{<cluster>:breaker:<name>}.
// The braces are a Redis Cluster hash tag: the channel and every key of
// the breaker hash to one slot, so the lease transaction, which watches
// the lease and state keys, can run on a cluster (and the sharded channel
// lives on the same shard).
func Channel(cluster, name string) string { return "vsm:{" + cluster + ":breaker:" + name + "}" }

// StateKey holds the last Record of a shared breaker.
func StateKey(cluster, name string) string { return Channel(cluster, name) + ":state" }

// VersionKey is the counter that numbers Records.
func VersionKey(cluster, name string) string { return Channel(cluster, name) + ":version" }

// LeaseKey is the half-open probe lease.
func LeaseKey(cluster, name string) string { return Channel(cluster, name) + ":probe" }
