package redisstore

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
