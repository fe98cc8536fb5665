// Package memory is the in-process backend of the state API: what a node
// uses when no Redis is configured. It has the same semantics as the Redis
// backend, checked by the same behaviour suite (statetest):
//
//   - values with optional expiry; time comes from an injectable clock
//     ([WithClock]); expired keys are removed lazily on access and by a sweep
//     of an expiry heap on every write, so no goroutine runs a timer;
//
//   - pub/sub with Redis glob patterns (*, ?, [abc], [^a-z], \ escapes); each
//     subscription has its own goroutine and a bounded queue
//     ([WithSubscriptionBuffer]); a message published to a full queue is
//     dropped and counted, as Redis drops a client whose output buffer
//     overflows, so a stuck handler never blocks publishers;
//
//   - transactions with a per-key revision: Transaction snapshots the
//     revisions of the watched keys, runs fn without holding the lock, and
//     commits only if every watched key still has its revision (a deleted or
//     expired key counts as changed; unlike Redis, a key that was absent at
//     the start and is absent again at commit, created and deleted meanwhile,
//     does not);
//
//   - Pipeline of this subset of commands, case-insensitive:
//
//     GET key
//     SET key value [EX seconds | PX milliseconds]
//     DEL key [key ...]
//     EXISTS key [key ...]
//     INCR key
//     INCRBY key n
//     EXPIRE key seconds
//     PEXPIRE key milliseconds
//     PUBLISH channel message
//
// Any other command is answered with an error matching state.ErrUnsupported
// in its own Result; the rest of the pipeline runs.
//
// The store keeps one mutex; handlers never run under it.
package memory
