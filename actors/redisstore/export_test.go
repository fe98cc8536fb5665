package redisstore

import "context"

// WithAlwaysBatch makes every Get and Set go through the auto-pipeliner,
// even with nothing else in flight, so that tests reach the batching path
// deterministically.
func WithAlwaysBatch() Option {
	return optionFunc(func(o *options) { o.testAlwaysBatch = true })
}

// WithBatchHook runs f each time a call is handed to the auto-pipeliner.
func WithBatchHook(f func()) Option {
	return optionFunc(func(o *options) { o.testOnBatch = f })
}

// AutoPipelined reports whether st batches concurrent Get and Set calls.
func AutoPipelined(st *Store) bool { return st.pipe != nil }

// SetAlwaysBatch turns WithAlwaysBatch on or off on a running store.
func SetAlwaysBatch(st *Store, on bool) { st.pipe.always.Store(on) }

// WaitAbandoned waits within ctx until every command abandoned in the
// auto-pipeliner by its caller's deadline has completed.
func WaitAbandoned(ctx context.Context, st *Store) error { return st.pipe.waitAbandoned(ctx) }
