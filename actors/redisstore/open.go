package redisstore

import (
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/state/memory"
)

// Open returns the store a node uses: the Redis backend when cfg is enabled
// (a URL or addresses), otherwise the in-process backend, so a single node
// runs with nothing else installed.
func Open(cfg config.Redis, opts ...Option) (state.Store, error) {
	if !cfg.Enabled() {
		o := options{txAttempts: 64}
		for _, opt := range opts {
			opt.apply(&o)
		}
		return memory.New(memory.WithTxAttempts(o.txAttempts)), nil
	}
	return New(cfg, opts...)
}
