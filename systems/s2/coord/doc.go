// Package coord is System 2's cluster-wide circuit breaker coordination:
// breakers configured with `coordination: shared` agree on their state
// across every node with the same node.cluster, through a state.Store
// (Redis; the in-process backend makes it work among nodes sharing one
// store in one process, for tests).
//
// One actor per shared breaker, supervised by S2 as "s2/breaker/<name>",
// owns the breaker's side of the protocol. Calls never come here: they
// decide on the *breaker.Breaker handle, lock-free, as for local breakers.
//
// # Keys and channels
//
//	vsm:<cluster>:breaker:<name>          bus channel: every Record
//	vsm:<cluster>:breaker:<name>:state    last Record (JSON), read on join
//	vsm:<cluster>:breaker:<name>:version  INCR counter numbering Records
//	vsm:<cluster>:breaker:<name>:probe    probe lease: node id, with expiry
//
// # Protocol
//
// Every change a node decides (its breaker tripped, its probe's verdict,
// a manual open, close or reset through the breaker actor or the admin API)
// becomes a Record numbered by INCR on the version key, published on the
// channel and stored under the state key. A node applies a Record only if
// its version is above every version it has seen, so late, duplicated or
// replayed messages never move a breaker backwards; it ignores its own
// Records (node id). Transitions the coordinator itself makes on the
// handle are marked as echoes and never published again.
//
//	cluster state   every node's handle            recovery
//	closed          closed                         -
//	open            held open (Open: forced)       each node arms a timer for
//	                                               RecoveryTimeout, then tries
//	                                               the probe lease
//	half_open       the lease holder: half-open    others keep rejecting and
//	                (HalfOpen); others: held open  retry the lease after its TTL
//	open (manual)   held open                      none until close or reset
//
// The probe lease is taken in a transaction watching its key (SET with an
// expiry only when absent), so exactly one node at a time probes; its
// expiry (Env.LeaseTTL) lets recovery go on when the prober dies. The
// prober publishes its verdict (closed, or open again with
// ReasonProbeFailed) and releases the lease; every node applies it.
//
// A node that starts reads the state key and joins in the cluster's state;
// every node reads it again every Env.SyncEvery, which repairs what pub/sub
// lost while a subscription was reconnecting.
// While the store is unreachable, a node that cannot take the lease probes
// on its own (local behaviour) rather than stay open for ever, and a Record
// that could not be published is retried until a newer one supersedes it.
//
// # Actor and I/O
//
// The coordinator serialises one breaker's protocol in its mailbox: its
// store calls (a few round trips per transition, none per breaker call)
// run in the actor, each bounded by Env.Timeout, so that Records leave in
// the order the node decided them. Transitions reach it from a listener on
// the handle; bus messages from its subscription; timers are its own.
// The alert bridge (AlertBridge) does its publishing on a goroutine of its
// actor, since S5 hands it alerts and must never wait.
//
// # Limits
//
// A manual Open of a breaker that the cluster already holds open changes
// nothing on the handle, so it is not published: recovery goes on.
package coord
