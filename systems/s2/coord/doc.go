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
// # Transports
//
// The protocol below runs over a Transport: by default the state.Store
// (Env.Store: the keys and channel listed next); with Env.Transport set,
// whatever that carries (package cluster/signals: the cluster's own
// remote messages, with a leader member in Redis's part, for clusters
// without Redis). The coordinator is the same state machine either way.
//
// # Keys and channels
//
//	vsm:{<cluster>:breaker:<name>}          bus channel: every Record
//	vsm:{<cluster>:breaker:<name>}:state    last Record (JSON), read on join
//	vsm:{<cluster>:breaker:<name>}:version  INCR counter numbering Records
//	vsm:{<cluster>:breaker:<name>}:probe    probe lease: node id, with expiry
//
// The braces are a Redis Cluster hash tag: a breaker's keys share one hash
// slot, which the lease transaction (watching the lease and state keys)
// needs on a cluster. Before this layout the keys had no braces; nodes of
// the two layouts do not see each other's Records.
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
//	open            held open (Hold: reason        each node arms a timer for
//	                cluster_open where it did not  RecoveryTimeout, then tries
//	                trip; Forced false)            the probe lease
//	half_open       the lease holder: half-open    others keep rejecting and
//	                (HalfOpen); others: held open  retry the lease after its TTL
//	open (manual)   opened by hand (Open: forced,  none until close or reset
//	                reason manual_open)
//
// A manual open on any node, even while the cluster holds the breaker open,
// is published as a manual Record and applied on every node as a manual
// open.
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
// The coordinator serialises one breaker's protocol in its mailbox, but its
// store calls (a few round trips per transition, none per breaker call) run
// off the mailbox, on a queue of its own: one at a time, in the order the
// node decided them (so Records leave in that order), each bounded by
// Env.Timeout, with each result coming back as a message. A slow store
// never stalls the mailbox: GetStatus is answered at once. While a call
// that may number a Record or read one is under way, a Record from the bus
// waits (only the newest is kept) and is applied when it is done, so it is
// compared with the versions this node took. Ping is answered once the
// first connection attempt has finished, so a node that returns from Start
// has joined. Transitions reach it from a listener on the handle, in
// generation order (installed by Props, so none made before the actor
// starts is lost); bus messages from its subscription; timers are its own.
// On Stopping it finishes the queued calls and releases its lease, within
// Env.Timeout.
// The alert bridge (AlertBridge) does its publishing on a goroutine of its
// actor, since S5 hands it alerts and must never wait.
//
// # Echoes
//
// The coordinator remembers the generations of the transitions it makes on
// the handle itself (holding it, applying another node's Record) and never
// publishes them again. A local transition that races with one of those
// to the same state is taken for an echo; the cluster's state already is
// that state.
package coord
