// Package state is the contract of the node's distributed state layer: a
// small key/value, counter, pub/sub, transaction and pipeline API that two
// backends serve with the same semantics.
//
//   - [github.com/viable-systems/vsm-connections/state/memory]: in-process,
//     used when no Redis is configured (a single vsmnode needs nothing else);
//   - [github.com/viable-systems/vsm-connections/actors/redisstore]: Redis through
//     go-redis v9, shared by every node of a cluster.
//
// Both are checked by one behaviour suite,
// [github.com/viable-systems/vsm-connections/state/statetest]. Sessions are
// built on top of [Store] in
// [github.com/viable-systems/vsm-connections/state/session].
//
// Values: [Store.Set] stores a Go value as JSON, except []byte and
// [json.RawMessage], stored as they are. [Store.Get] decodes into dst; into a
// *[]byte it copies the stored bytes. A value that does not decode into dst
// returns a [*DecodeError] (matching [ErrDecode]) and leaves dst as it was: it
// is never half-written or zeroed. On success dst holds exactly the stored
// value (fields absent from the JSON are zero, not kept from before).
//
// Errors are matched with errors.Is: [ErrNotFound], [ErrDecode],
// [ErrConflict], [ErrUnavailable] (the backend cannot be reached in time;
// retry later), [ErrClosed], [ErrUnsupported], [ErrNotInteger].
//
// Guard: [Guard] puts any Store behind a [Gate] that is asked before every
// call (an atomic load) and, while the backend is known to be down, fails the
// call at once with a [*UnavailableError] (matching [ErrUnavailable]) instead
// of letting it wait for the backend's timeout. The node gates its store on
// the Redis health breaker.
//
// Pub/sub: a [Handler] runs on the subscription's own goroutine, one message
// at a time, in publish order. A handler that panics is recovered and
// counted ([Subscription.Panics]); the subscription goes on. A channel name
// containing any of "*?[" is a Redis glob pattern.
package state
