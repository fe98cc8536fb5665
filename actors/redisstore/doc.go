// Package redisstore is the Redis backend of the state API and the only package
// of the module that imports go-redis (github.com/redis/go-redis/v9).
//
// [New] builds a [Store] from the node's `redis:` configuration:
//
//   - url: redis://[user:pass@]host:port/db, or rediss:// for TLS, parsed by
//     go-redis's ParseURL; or addrs: several host:port, a Sentinel set when
//     master_name is given, otherwise a Redis Cluster (one address without
//     master_name is a single server);
//   - username/password override the URL's; tls.ca_file, cert_file, key_file
//     and server_name configure TLS (any of them turns TLS on);
//   - pool_size is go-redis's pool size (default 10 per CPU);
//   - replica_acks (default 0) makes every write WAIT for that many
//     replicas, failing with [ErrNotReplicated] when they do not confirm
//     in a quarter of the timeout (acks.go);
//   - timeout (default 5s) bounds every call: it is the deadline of the
//     call's context (whichever of it and the caller's is earlier) and
//     go-redis's dial, read, write and pool-wait timeouts;
//   - disable_auto_pipeline (default false) sends every Get and Set on its
//     own round trip (see auto-pipelining below).
//
// Credentials are never shown: String, every returned error and every log
// line go through a redactor that knows the configured password.
//
// Errors: a call that cannot reach Redis, or gets no answer within the
// timeout, fails with an error matching state.ErrUnavailable (and still
// matching the cause, such as context.DeadlineExceeded or a *net.OpError);
// with Redis down it fails fast rather than waiting for the timeout, since
// go-redis stops dialling a refused address after pool_size failures.
// Replies map onto the state sentinels: a nil reply is state.ErrNotFound,
// "not an integer" is state.ErrNotInteger, "unknown command" is
// state.ErrUnsupported.
//
// Subscriptions: each Subscribe has its own go-redis PubSub connection and
// goroutine. When the connection breaks (Redis restarted, network cut) the
// goroutine keeps receiving with a capped exponential backoff; go-redis
// redials and re-issues SUBSCRIBE/PSUBSCRIBE, so the handler receives
// messages again without the user subscribing again. Messages published
// while the connection was down are lost, as with any Redis pub/sub. An idle
// subscription pings Redis every 15s to notice a dead connection that sent
// no reset.
//
// Redis Cluster (cluster.go): Del and Exists split their keys by hash
// slot; a Transaction must keep to one slot (state.ErrCrossSlot
// otherwise); an exact Subscribe is sharded (SSUBSCRIBE) and Publish sends
// SPUBLISH and PUBLISH together to the slot's master, so that pattern
// subscriptions (PSUBSCRIBE, which sharded pub/sub lacks) receive too; the
// slot map is reloaded after every error that means unavailability, so
// calls resume soon after a failover.
//
// Store is safe for concurrent use: commands go straight to go-redis's
// connection pool from the caller's goroutine, with no actor hop.
//
// Auto-pipelining (autopipe.go): a Get or Set made while another is in
// flight is handed to go-redis's AutoPipeliner, which sends the concurrent
// callers' commands as one pipeline per round trip (per node on a Redis
// Cluster); a call alone goes straight to the pool. Each call still ends at
// its own deadline or cancellation, even while its command is queued or in
// flight (go-redis's pipeliner ignores the caller's context once a command
// is queued: the caller waits on its context and the reply, whichever comes
// first, and a late reply is dropped with its command). Until a command so
// abandoned has completed, every Get and Set is batched behind it, so a
// newer write cannot be overtaken by an older abandoned one. Writes with
// replica_acks, pipelines, transactions, pub/sub and the other commands
// are not batched. Close gives the pipeliner 100ms to complete what it
// holds, then closes the connections under it, so a hung server does not
// hold Close for the timeout per batch.
//
// The actor: [Props] wraps any state.Store (this one or the in-process one)
// in an actor for custom actors that talk by message. It owns the store's
// lifecycle (closes it on Stopping) and accepts:
//
//	message        reply          does
//	*Get           *GetResult     raw value of a key
//	*Set           *Result        store a value, optional TTL
//	*Del           *CountResult   delete keys
//	*Incr          *CountResult   increment
//	*Publish       *Result        publish
//	*Subscribe     *Result        forward a channel's messages to a PID as *Published
//	*Unsubscribe   *Result        stop forwarding
//	*Ping          *Result        health probe
//
// Each request runs on its own goroutine (at most [MaxInFlight]; beyond that
// the reply is [ErrBusy] at once) and the reply goes to the captured sender:
// the mailbox never waits for Redis.
//
// State: the actor keeps its subscription specs (channel, subscriber) and
// its in-flight requests in the Props, not in the instance. A panic
// restarts the actor with its subscriptions live; a restart of its
// supervisor (which stops it and spawns it again from the same Props) ends
// them and the new incarnation subscribes again on Started, retrying with
// backoff while the store is unavailable, or giving up with a
// [*SubscriptionLost] to the subscriber. [AskGet], [AskSet], [AskPublish] and
// [AskSubscribe] are typed, context-aware helpers over these requests.
// [SubscribePID] subscribes an actor directly, without the state actor.
package redisstore
