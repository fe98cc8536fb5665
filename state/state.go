package state

import (
	"context"
	"strings"
	"time"
)

// Store is the API both backends serve. Every method is safe for concurrent
// use; every method that talks to the backend takes a context and returns
// when it is done (the Redis backend also bounds each call by its configured
// timeout).
type Store interface {
	// Set stores value under key, replacing any value and any expiry.
	Set(ctx context.Context, key string, value any, opts ...SetOption) error
	// Get decodes the value under key into dst, a non-nil pointer. A missing
	// key matches ErrNotFound; a value that does not decode is a *DecodeError
	// and dst is left untouched.
	Get(ctx context.Context, key string, dst any) error
	// Del removes keys and returns how many existed.
	Del(ctx context.Context, keys ...string) (int64, error)
	// Exists returns how many of keys exist (a key named twice counts twice).
	Exists(ctx context.Context, keys ...string) (int64, error)
	// Incr adds one to the integer under key (missing counts as 0) and
	// returns the new value; a non-integer value matches ErrNotInteger. The
	// key keeps its expiry.
	Incr(ctx context.Context, key string) (int64, error)
	// IncrBy adds n, as Incr.
	IncrBy(ctx context.Context, key string, n int64) (int64, error)
	// Expire sets key to expire after d and reports whether the key exists.
	// d <= 0 deletes the key.
	Expire(ctx context.Context, key string, d time.Duration) (bool, error)
	// Publish sends value (encoded as by Set) to channel's subscribers.
	Publish(ctx context.Context, channel string, value any) error
	// Subscribe calls h for every message on channel, or on every channel
	// matching it when it is a pattern (see IsPattern). It returns once the
	// subscription is active; ctx bounds only that. The subscription lasts
	// until Close, surviving reconnections of the backend.
	Subscribe(ctx context.Context, channel string, h Handler) (Subscription, error)
	// Transaction watches keys, runs fn (which reads through tx and queues
	// writes) and applies the queued writes atomically if no watched key
	// changed meanwhile; otherwise it runs fn again, up to the backend's
	// attempt limit, then returns an error matching ErrConflict. An error
	// from fn aborts without writing and is returned as is. fn may run
	// several times: it must have no other side effects.
	Transaction(ctx context.Context, keys []string, fn func(tx Tx) error) error
	// Pipeline sends raw commands in one round trip. Each Result holds its
	// command's own value or error; the returned error is only for a failure
	// of the whole batch (for example ErrUnavailable).
	Pipeline(ctx context.Context, cmds ...Cmd) ([]Result, error)
	// Ping checks that the backend answers.
	Ping(ctx context.Context) error
	// Close ends every subscription and releases the backend. It is
	// idempotent; other calls after it return ErrClosed.
	Close() error
}

// Tx is what a Transaction's fn sees: reads happen at once, writes are
// queued and applied only if the transaction commits.
type Tx interface {
	// Get reads key now, as Store.Get.
	Get(ctx context.Context, key string, dst any) error
	// Set queues a Set. It fails only when value cannot be encoded.
	Set(key string, value any, opts ...SetOption) error
	// Incr queues an increment by one.
	Incr(key string)
	// IncrBy queues an increment by n.
	IncrBy(key string, n int64)
	// Del queues a deletion.
	Del(keys ...string)
	// Expire queues an expiry, as Store.Expire.
	Expire(key string, d time.Duration)
}

// Handler receives pub/sub messages. It runs on the subscription's goroutine:
// a slow handler delays the messages behind it (and, on Redis, may get the
// connection dropped by the server's output buffer limit).
type Handler func(Message)

// Message is one pub/sub delivery.
type Message struct {
	// Channel the message was published on.
	Channel string
	// Pattern that matched Channel, empty for an exact subscription.
	Pattern string
	// Payload as published (JSON unless raw bytes were published). It may
	// be shared with other subscriptions: do not modify it.
	Payload []byte
}

// Decode decodes the payload into dst as Store.Get does.
func (m Message) Decode(dst any) error { return Decode(m.Channel, m.Payload, dst) }

// Subscription is an active Subscribe.
type Subscription interface {
	// Close stops deliveries: when it returns, the handler is not running
	// and will not be called again. Idempotent.
	Close() error
	// Panics counts handler panics recovered so far.
	Panics() uint64
}

// IsPattern reports whether a Subscribe channel is a glob pattern.
func IsPattern(channel string) bool { return strings.ContainsAny(channel, "*?[") }

// SetOption modifies a Set.
type SetOption interface{ applySet(*SetOptions) }

// SetOptions is the resolved form of SetOptions, for backends.
type SetOptions struct {
	// TTL is the expiry; 0 means none.
	TTL time.Duration
}

// ResolveSetOptions applies opts in order; backends call it.
func ResolveSetOptions(opts []SetOption) SetOptions {
	var o SetOptions
	for _, opt := range opts {
		opt.applySet(&o)
	}
	return o
}

type expireOption time.Duration

func (e expireOption) applySet(o *SetOptions) { o.TTL = max(time.Duration(e), 0) }

// Expire makes a Set expire after d (d > 0; otherwise no expiry). Redis
// keeps millisecond precision.
func Expire(d time.Duration) SetOption { return expireOption(d) }
